"""Any Hugging Face seq2seq model as a query generator (mT5, ByT5, mBART, an ``EncoderDecoderModel`` ...).

The language is named in the prompt (the paper's ``Generate a {Language} question for this passage:
{title} {passage}``), so each language has its own encoder pass; decoding scores the whole vocabulary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from xqg.errors import ConfigError, InputError
from xqg.generate.encoder_decoder import (
    EncodedBatch,
    EncoderDecoderGenerator,
    cache_argument,
    returned_cache,
)
from xqg.generate.settings import GeneratorSettings


class Seq2SeqGenerator(EncoderDecoderGenerator):
    """A Hugging Face seq2seq model with the language in its prompt.

    Example:
        >>> from xqg.data.records import Passage
        >>> from xqg.generate.testing import tiny_generator
        >>> gen = tiny_generator(kind="seq2seq")
        >>> [row[:3] for row in gen.generate([Passage("d", "Paris")], ["de"], n=2, seed=0)]
        [('d', 'de', 0), ('d', 'de', 1)]
    """

    kind = "seq2seq"

    def check_language(self, lang: str) -> None:
        super().check_language(lang)
        if self.shares_encoder_across_languages:
            raise ConfigError("a seq2seq generator's prompt must name the language ({language})")

    def decoder_logits(
        self,
        decoder_ids: torch.Tensor,
        encoded: EncodedBatch,
        lang: str,
        decoder_mask: torch.Tensor | None = None,
        past: Any = None,
        use_cache: bool = False,
        subset: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, Any]:
        """Next-token logits over the whole vocabulary for every decoder position, and the updated cache."""
        out = self.model(
            encoder_outputs=(encoded.hidden,),
            attention_mask=encoded.mask,
            decoder_input_ids=decoder_ids,
            decoder_attention_mask=decoder_mask,
            use_cache=use_cache,
            **cache_argument(self.model, past),
        )
        return out.logits, (returned_cache(out) if use_cache else None)

    def _decoding_steps(self, encoded: EncodedBatch, row_langs: list[str], max_new: int) -> _Seq2SeqSteps:
        return _Seq2SeqSteps(self, encoded, row_langs[0])

    @classmethod
    def _load_folder(cls, folder: str | Path, settings: GeneratorSettings) -> Seq2SeqGenerator:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        try:
            model = AutoModelForSeq2SeqLM.from_pretrained(str(folder))
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot load a seq2seq model from {folder}: {exc}", path=str(folder)) from None
        return cls(model, tokenizer, settings)


class _Seq2SeqSteps:
    """Decoding steps of a seq2seq model: its own forward with the ``transformers`` cache."""

    def __init__(self, generator: Seq2SeqGenerator, encoded: EncodedBatch, lang: str) -> None:
        self.generator, self.encoded, self.lang = generator, encoded, lang
        self.rows = encoded.hidden.shape[0]
        self.device = encoded.hidden.device
        self.eos_column = generator.eos_id
        self.banned_columns = sorted({generator.pad_id, generator.start_id} - {generator.eos_id})
        self.past: Any = None
        self.current = torch.full((self.rows, 1), generator.start_id, dtype=torch.long, device=self.device)

    def _logits(self) -> torch.Tensor:
        logits, self.past = self.generator.decoder_logits(
            self.current, self.encoded, self.lang, past=self.past, use_cache=True
        )
        return logits[:, -1, :].float()

    def start(self) -> torch.Tensor:
        return self._logits()

    def keep(self, index: torch.Tensor) -> None:
        self.past.reorder_cache(index)
        self.encoded = self.encoded.rows(index)

    def advance(self, columns: np.ndarray) -> torch.Tensor:
        self.current = torch.from_numpy(columns).to(self.device).view(-1, 1)
        return self._logits()
