"""What the encoder-decoder members of the family share: encode the prompt once, decode from it.

:class:`EncoderDecoderGenerator` is the common part of :class:`~xqg.generate.seq2seq.Seq2SeqGenerator`
and :class:`~xqg.generate.bert2bert.Bert2BertGenerator`: prompts through the encoder
(:class:`EncodedBatch`, rows that repeat a prompt remember it, so work that depends only on the prompt
is done once), teacher-forced loss, the sampling loop over :func:`~xqg.generate.sampling.decode_rows`
(each member supplies its decoding steps), and training batches of one language with the frozen
encoder's outputs computed once per prompt.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from xqg.data.records import Passage
from xqg.errors import ConfigError
from xqg.generate.base import QueryGenerator
from xqg.generate.prompt import build_prompt, prompt_uses_language
from xqg.generate.sampling import DecodingSteps, TopKSampler, decode_rows
from xqg.generate.settings import GeneratorSettings
from xqg.seeding import derive_seed

logger = logging.getLogger(__name__)


@dataclass
class EncodedBatch:
    """Encoder outputs of a batch of prompts (padded).

    ``rows`` selects (and repeats) rows; the result remembers the batch it was taken from
    (``source``, ``source_rows``), so that work that depends only on a prompt, such as the decoder's
    cross-attention keys and values, can be done once per prompt rather than once per sampled row.
    """

    hidden: torch.Tensor  # [B, L, d]
    mask: torch.Tensor  # [B, L]
    source: EncodedBatch | None = None  # the batch of distinct prompts these rows repeat
    source_rows: torch.Tensor | None = None  # [B] row i is row source_rows[i] of source

    def rows(self, index: torch.Tensor) -> EncodedBatch:
        if self.source is None:
            source, source_rows = self, index
        else:
            source, source_rows = self.source, self.source_rows.index_select(0, index)
        return EncodedBatch(
            self.hidden.index_select(0, index), self.mask.index_select(0, index), source, source_rows
        )

    def distinct(self) -> tuple[EncodedBatch, torch.Tensor]:
        """The distinct prompts and, for each row, its index among them."""
        if self.source is None:
            return self, torch.arange(self.hidden.shape[0], device=self.hidden.device)
        return self.source, self.source_rows


def cache_argument(module: torch.nn.Module, past: Any) -> dict[str, Any]:
    """The decoding cache as the keyword ``module.forward`` takes: ``cache`` in newer ``transformers``
    (where ``past_key_values`` is deprecated, then removed), ``past_key_values`` before."""
    kind = type(module)
    if kind not in _CACHE_KEYWORD:
        import inspect

        parameters = inspect.signature(module.forward).parameters
        _CACHE_KEYWORD[kind] = "cache" if "cache" in parameters else "past_key_values"
    return {_CACHE_KEYWORD[kind]: past}


_CACHE_KEYWORD: dict[type, str] = {}


def returned_cache(output: Any) -> Any:
    """The cache a ``transformers`` forward returned (``cache`` or ``past_key_values``)."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values


def first_int(*values: Any) -> int | None:
    """The first value that is not ``None`` (the first element of a list), as an int."""
    for value in values:
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        if value is not None:
            return int(value)
    return None


class EncoderDecoderGenerator(QueryGenerator):
    """Base of the encoder-decoder generators (see the module docstring).

    Args:
        model: a Hugging Face encoder-decoder model.
        tokenizer: its tokenizer.
        settings: prompt and decoding settings.
    """

    def __init__(self, model: torch.nn.Module, tokenizer: Any, settings: GeneratorSettings) -> None:
        super().__init__(model, tokenizer, settings)
        config = model.config
        decoder_config = getattr(config, "decoder", None)
        self.pad_id = first_int(tokenizer.pad_token_id, config.pad_token_id)
        self.eos_id = first_int(
            getattr(config, "eos_token_id", None),
            getattr(decoder_config, "eos_token_id", None),
            tokenizer.eos_token_id,
            tokenizer.sep_token_id,
        )
        self.start_id = first_int(
            getattr(config, "decoder_start_token_id", None),
            getattr(decoder_config, "bos_token_id", None),
            tokenizer.bos_token_id,
            tokenizer.cls_token_id,
            self.pad_id,
        )
        if self.pad_id is None or self.eos_id is None:
            raise ConfigError("the tokenizer/model defines no pad or end-of-sequence token")

    @property
    def shares_encoder_across_languages(self) -> bool:
        """True when the encoder input does not name the language (one encoder pass per passage)."""
        return not prompt_uses_language(self.settings.prompt)

    # ------------------------------------------------------------------ encoder
    def encode(self, prompts: Sequence[str], max_length: int | None = None) -> EncodedBatch:
        """Run the encoder on prompts (no gradient if the encoder is frozen or in inference)."""
        enc = self.tokenizer(
            list(prompts),
            max_length=max_length or self.settings.max_input_length,
            truncation=True,
            padding=True,
            return_tensors="pt",
        )
        device = self.device
        input_ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
        hidden = self.model.get_encoder()(input_ids=input_ids, attention_mask=mask)[0]
        return EncodedBatch(hidden, mask)

    def prompts(self, passages: Sequence[Passage], lang: str) -> list[str]:
        return [build_prompt(p, lang, self.settings.prompt) for p in passages]

    # ------------------------------------------------------------------ decoder (members)
    def decoder_start(self, lang: str) -> int:
        """The decoder's first input id for ``lang``."""
        return self.start_id

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
        """Next-token logits for every decoder position, and the updated cache."""
        raise NotImplementedError

    def target_ids(self, texts: Sequence[str], lang: str, max_length: int) -> list[list[int]]:
        """Decoder input ids (excluding the start token) of target texts, ending with end-of-sequence."""
        enc = self.tokenizer(
            list(texts), add_special_tokens=False, truncation=True, max_length=max_length - 1
        )
        return [list(ids) + [self.eos_id] for ids in enc["input_ids"]]

    def _target_columns(self, lang: str) -> tuple[torch.Tensor | None, int | None]:
        """Position of each decoder id among ``lang``'s logit columns (``None``: the identity), and the
        column that stands in for ids outside them."""
        return None, None

    def _decoder_pad(self) -> int:
        return self.pad_id

    def loss(
        self, encoded: EncodedBatch, targets: Sequence[str], lang: str, max_target_length: int = 32
    ) -> torch.Tensor:
        """Teacher-forced mean token cross-entropy of ``targets`` (all in ``lang``) given encoder outputs."""
        rows = self.target_ids(targets, lang, max_target_length)
        width = max(len(r) for r in rows)
        start = self.decoder_start(lang)
        # built on the CPU row by row, moved to the model's device once
        cpu = torch.device("cpu")
        dec_in = torch.full((len(rows), width), self._decoder_pad(), dtype=torch.long, device=cpu)
        labels = torch.full((len(rows), width), -100, dtype=torch.long, device=cpu)
        position, unk_position = self._target_columns(lang)
        for i, r in enumerate(rows):
            dec_in[i, 0] = start
            dec_in[i, 1 : len(r)] = torch.tensor(r[:-1], dtype=torch.long, device=cpu)
            target = torch.tensor(r, dtype=torch.long, device=cpu)
            if position is not None:
                target = position[target]
                target[target < 0] = unk_position
            labels[i, : len(r)] = target
        device = encoded.hidden.device
        dec_in, labels = dec_in.to(device), labels.to(device)
        dec_mask = (labels != -100).long()
        logits, _ = self.decoder_logits(dec_in, encoded, lang, decoder_mask=dec_mask)
        return F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100
        )

    # ------------------------------------------------------------------ sampling
    def _decoding_steps(self, encoded: EncodedBatch, row_langs: list[str], max_new: int) -> DecodingSteps:
        """The member's decoding steps for these rows (see :class:`~xqg.generate.sampling.DecodingSteps`)."""
        raise NotImplementedError

    def _columns_text(self, steps: DecodingSteps, columns: Sequence[int]) -> str:
        return self.tokenizer.decode(list(columns), skip_special_tokens=True).strip()

    def _check_row_languages(self, row_langs: list[str]) -> None:
        if len(set(row_langs)) > 1:
            raise ConfigError("rows of several languages decode together only with per-language vocabularies")

    @torch.no_grad()
    def sample(
        self,
        encoded: EncodedBatch,
        lang: str | Sequence[str],
        seeds: Sequence[int],
        top_k: int = 10,
        max_new_tokens: int | None = None,
    ) -> list[str]:
        """Sample one output per row of ``encoded`` in ``lang``; row ``i`` draws from ``seeds[i]`` only.

        ``lang`` is one language for every row, or (``bert2bert``) one per row: rows of several
        languages then decode together, each restricted to its own language's vocabulary, so one
        decoding loop serves all languages of a batch (fewer, larger steps).

        Each step keeps the ``top_k`` most likely next tokens of a row (after the vocabulary,
        no-repeat n-gram and minimum-length constraints), renormalises them in float64 and picks one
        with the row's own uniform draw, so a row's output does not depend on the other rows
        (:class:`~xqg.generate.sampling.TopKSampler`).
        """
        rows = encoded.hidden.shape[0]
        if rows != len(seeds):
            raise ValueError("one seed per row")
        row_langs = [lang] * rows if isinstance(lang, str) else list(lang)
        if len(row_langs) != rows:
            raise ValueError("one language per row")
        self._check_row_languages(row_langs)
        max_new = max_new_tokens or self.settings.max_new_tokens
        steps = self._decoding_steps(encoded, row_langs, max_new)
        sampler = TopKSampler(
            seeds,
            top_k,
            steps.eos_column,
            steps.banned_columns,
            self.settings.min_new_tokens,
            self.settings.no_repeat_ngram_size,
        )
        generated = decode_rows(steps, sampler, max_new)
        return [self._columns_text(steps, seq) for seq in generated]

    def _decodes_languages_together(self) -> bool:
        """Whether one decoding loop may hold the rows of every language (one encoder pass)."""
        return False

    def _sample_batch(
        self,
        passages: Sequence[Passage],
        languages: Sequence[str],
        n: int,
        seed: int,
        top_k: int,
        max_new_tokens: int | None,
    ) -> dict[tuple[int, str], list[str]]:
        batch = list(passages)
        repeat = torch.arange(len(batch), device=self.device).repeat_interleave(n)
        results: dict[tuple[int, str], list[str]] = {}
        shared = (
            self.encode(self.prompts(batch, languages[0])) if self.shares_encoder_across_languages else None
        )
        if shared is not None and self._decodes_languages_together():
            # one decoding loop for every language of the batch (rows: language, passage, slot)
            seeds = [
                derive_seed(seed, p.id, lang, slot) for lang in languages for p in batch for slot in range(n)
            ]
            row_langs = [lang for lang in languages for _ in range(len(batch) * n)]
            texts = self.sample(
                shared.rows(repeat.repeat(len(languages))),
                row_langs,
                seeds,
                top_k=top_k,
                max_new_tokens=max_new_tokens,
            )
            width = len(batch) * n
            for li, lang in enumerate(languages):
                for i in range(len(batch)):
                    results[(i, lang)] = texts[li * width + i * n : li * width + (i + 1) * n]
            return results
        for lang in languages:
            encoded = shared if shared is not None else self.encode(self.prompts(batch, lang))
            seeds = [derive_seed(seed, p.id, lang, slot) for p in batch for slot in range(n)]
            texts = self.sample(encoded.rows(repeat), lang, seeds, top_k=top_k, max_new_tokens=max_new_tokens)
            for i in range(len(batch)):
                results[(i, lang)] = texts[i * n : (i + 1) * n]
        return results

    # ------------------------------------------------------------------ training
    def configure_training(self, config: Any) -> None:
        if config.freeze_encoder:
            self.model.get_encoder().requires_grad_(False)

    def training_mode(self, config: Any) -> None:
        self.model.train()
        if config.freeze_encoder:
            self.model.get_encoder().eval()

    def training_batches(
        self, examples: Sequence[Any], batch_size: int, seed: int, epoch: int
    ) -> list[list[int]]:
        """Batches of one language (so a member may score only that language's vocabulary)."""
        rng = np.random.default_rng(derive_seed(seed, "generator-batches", epoch))
        by_lang: dict[str, list[int]] = {}
        for i, ex in enumerate(examples):
            by_lang.setdefault(ex.lang, []).append(i)
        batches = []
        for lang in sorted(by_lang):
            order = [by_lang[lang][j] for j in rng.permutation(len(by_lang[lang]))]
            batches.extend(order[i : i + batch_size] for i in range(0, len(order), batch_size))
        return [batches[j] for j in rng.permutation(len(batches))]

    def training_state(
        self, examples: Sequence[Any], config: Any, show_progress: bool = False, evaluation: bool = False
    ) -> Any:
        """An :class:`EncoderCache`: with a frozen encoder (or for evaluation) the encoder outputs
        are computed once per distinct prompt and reused every epoch."""
        frozen = config.freeze_encoder or evaluation
        cache = EncoderCache(self, config.max_input_length, frozen=frozen)
        if config.freeze_encoder and examples:
            was_training = self.model.training
            self.model.eval()
            cache.fill(
                [self.prompts([ex.passage], ex.lang)[0] for ex in examples], show_progress=show_progress
            )
            self.model.train(was_training)
        return cache

    def batch_loss(self, batch: Sequence[Any], config: Any, state: Any = None) -> torch.Tensor:
        lang = batch[0].lang
        if any(ex.lang != lang for ex in batch):
            raise ConfigError("an encoder-decoder training batch holds one language")
        cache = state if state is not None else EncoderCache(self, config.max_input_length, frozen=False)
        prompts = [self.prompts([ex.passage], ex.lang)[0] for ex in batch]
        encoded = cache.batch(prompts)
        return self.loss(encoded, [ex.query for ex in batch], lang, config.max_target_length)

    # ------------------------------------------------------------------ fast path
    def _int8_stacks(self) -> list[tuple[str, torch.nn.Module]]:
        return [("encoder", self.model.get_encoder()), ("decoder", self.model.get_decoder())]

    def quantize_int8(self) -> QueryGenerator:
        """Quantise the encoder's and the decoder stack's linear layers to int8 (dynamic: int8 weights,
        activations quantised per batch), in place; CPU inference only.

        Faster generation on a CPU (``benchmarks/bench_generate.py``); an output layer that is also
        the embedding table stays float32. Outputs are not bit-identical to float32: sampling follows
        slightly different probabilities (tolerance in docs/performance.md). Uses
        ``torch.ao.quantization.quantize_dynamic`` (deprecated by PyTorch in favour of ``torchao``,
        still shipped; its deprecation warnings are silenced here).

        Example:
            >>> from xqg.generate.testing import tiny_generator
            >>> gen = tiny_generator().quantize_int8()
            >>> len(list(gen.generate([Passage("d", "x")], ["de"], n=2, seed=0)))
            2
        """
        if self.device.type != "cpu":
            raise ConfigError("int8 dynamic quantisation is a CPU path; on a GPU use bf16/fp16 autocast")
        quantize_linear_layers(self._int8_stacks())
        self.int8 = True
        return self


def quantize_linear_layers(stacks: Iterable[tuple[str, torch.nn.Module]]) -> None:
    """Dynamic int8 quantisation of every ``nn.Linear`` of each module, in place."""
    import warnings

    from torch import nn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
        from torch.ao.quantization import quantize_dynamic

        for name, module in stacks:
            quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8, inplace=True)
            logger.debug("int8: quantised the linear layers of %s", name)


class EncoderCache:
    """Encoder outputs per prompt text (frozen encoder), or live encoding (trainable encoder)."""

    def __init__(self, generator: EncoderDecoderGenerator, max_length: int, frozen: bool) -> None:
        self.generator = generator
        self.max_length = max_length
        self.frozen = frozen
        self.cache: dict[str, torch.Tensor] = {}

    def fill(self, prompts: Sequence[str], batch_size: int = 16, show_progress: bool = False) -> None:
        todo = sorted(set(p for p in prompts if p not in self.cache))
        if not self.frozen or not todo:
            return
        iterator: Iterable[int] = range(0, len(todo), batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc="encode passages", unit="batch")
        with torch.no_grad():
            for start in iterator:
                chunk = todo[start : start + batch_size]
                enc = self.generator.encode(chunk, max_length=self.max_length)
                for i, prompt in enumerate(chunk):
                    length = int(enc.mask[i].sum())
                    self.cache[prompt] = enc.hidden[i, :length].clone()

    def batch(self, prompts: Sequence[str]) -> EncodedBatch:
        if not self.frozen:
            return self.generator.encode(prompts, max_length=self.max_length)
        self.fill(prompts)
        states = [self.cache[p] for p in prompts]
        width = max(s.shape[0] for s in states)
        hidden = states[0].new_zeros((len(states), width, states[0].shape[1]))
        mask = torch.zeros((len(states), width), dtype=torch.long, device=hidden.device)
        for i, s in enumerate(states):
            hidden[i, : s.shape[0]] = s
            mask[i, : s.shape[0]] = 1
        return EncodedBatch(hidden, mask)
