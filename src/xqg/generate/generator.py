"""A query generator: a seq2seq model plus the settings that say how to prompt and decode it.

:class:`QueryGenerator` wraps either any Hugging Face seq2seq model (``kind="seq2seq"``: mT5, ByT5,
mBART, an ``EncoderDecoderModel`` ...; the language is named in the prompt) or the default
warm-started BERT-to-BERT model (``kind="bert2bert"``, see :mod:`xqg.generate.default`: language start
tokens and a reduced, per-language output vocabulary). Both share one decoding loop: top-k sampling
with a KV cache (for ``bert2bert``, cross-attention grouped by passage:
:mod:`xqg.generate.bert_decoder`), rows of finished samples dropped from the batch, no-repeat
n-grams, and one random stream per (docid, language, slot) so that the output depends on the seed
only, not on batching or sharding.

A generator folder holds the model (``save_pretrained``: safetensors), the tokenizer,
``xqg_generator.json`` (:class:`GeneratorSettings`) and, for ``bert2bert``, ``output_vocabulary.json``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from xqg.data.atomic import atomic_write_json
from xqg.data.records import Passage
from xqg.errors import ConfigError, InputError
from xqg.generate.bert_decoder import GroupedBertDecoder, supports_grouped_decoding
from xqg.generate.prompt import PAPER_PROMPT, build_prompt, check_prompt, prompt_uses_language
from xqg.generate.vocabulary import OutputVocabulary
from xqg.seeding import derive_seed

logger = logging.getLogger(__name__)

#: Settings file inside a generator folder.
SETTINGS_FILE = "xqg_generator.json"
KINDS = ("seq2seq", "bert2bert")


@dataclass
class GeneratorSettings:
    """How a generator is prompted and decoded (stored as ``xqg_generator.json``).

    Args:
        kind: ``"seq2seq"`` (any HF seq2seq model, language in the prompt) or ``"bert2bert"``
            (the default construction: language start tokens, reduced per-language vocabulary).
        prompt: encoder input template (see :mod:`xqg.generate.prompt`).
        max_input_length: encoder tokens at generation (256 in the paper).
        max_new_tokens: generated tokens at most (32 in the paper).
        no_repeat_ngram_size: forbid repeating an n-gram within one output (0 = off).
        min_new_tokens: end-of-sequence is forbidden before this many tokens.
        languages: the languages the generator was trained for (informative for ``seq2seq``).
        language_vocabulary: ``bert2bert``: score only the target language's subset of the output
            vocabulary (False: the whole reduced vocabulary, for every language).
        language_tokens: ``bert2bert``: start the decoder with the language's token (False: one shared
            start token; the prompt must then name the language).
        source: where the weights came from, and how they were trained (free-form).

    Example:
        >>> GeneratorSettings().max_new_tokens
        32
    """

    kind: str = "seq2seq"
    prompt: str = PAPER_PROMPT
    max_input_length: int = 256
    max_new_tokens: int = 32
    no_repeat_ngram_size: int = 3
    min_new_tokens: int = 2
    languages: list[str] = field(default_factory=list)
    language_vocabulary: bool = True
    language_tokens: bool = True
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"generator kind must be one of {KINDS}, got {self.kind!r}")
        check_prompt(self.prompt)
        if self.kind == "bert2bert" and not self.language_tokens and not prompt_uses_language(self.prompt):
            raise ConfigError("without language tokens the prompt must name the language ({language})")
        if self.max_new_tokens < 1 or self.max_input_length < 8:
            raise ConfigError("max_new_tokens must be >= 1 and max_input_length >= 8")


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


def _cache_argument(module: torch.nn.Module, past: Any) -> dict[str, Any]:
    """The decoding cache as the keyword ``module.forward`` takes: ``cache`` in newer ``transformers``
    (where ``past_key_values`` is deprecated, then removed), ``past_key_values`` before."""
    kind = type(module)
    if kind not in _CACHE_KEYWORD:
        import inspect

        parameters = inspect.signature(module.forward).parameters
        _CACHE_KEYWORD[kind] = "cache" if "cache" in parameters else "past_key_values"
    return {_CACHE_KEYWORD[kind]: past}


_CACHE_KEYWORD: dict[type, str] = {}


def _returned_cache(output: Any) -> Any:
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values


def _first_int(*values: Any) -> int | None:
    for value in values:
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        if value is not None:
            return int(value)
    return None


class QueryGenerator:
    """Generate queries for passages in chosen languages with a seq2seq model.

    Args:
        model: a Hugging Face seq2seq model (``bert2bert``: an ``EncoderDecoderModel`` whose decoder is a
            ``BertLMHeadModel`` over ``vocabulary.size`` rows).
        tokenizer: its tokenizer (the encoder's, for ``bert2bert``).
        settings: prompt and decoding settings.
        vocabulary: the reduced output vocabulary (``bert2bert`` only).

    Example:
        >>> from xqg.generate.testing import tiny_generator
        >>> gen = tiny_generator(kind="bert2bert")
        >>> rows = list(gen.generate([Passage("d1", "Paris is big.")], ["de", "ru"], n=2, seed=0))
        >>> [(docid, lang, slot) for docid, lang, slot, _ in rows]
        [('d1', 'de', 0), ('d1', 'de', 1), ('d1', 'ru', 0), ('d1', 'ru', 1)]
    """

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        settings: GeneratorSettings,
        vocabulary: OutputVocabulary | None = None,
    ) -> None:
        if settings.kind == "bert2bert" and vocabulary is None:
            raise ConfigError("a bert2bert generator needs its output vocabulary")
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings
        self.vocabulary = vocabulary
        config = model.config
        decoder_config = getattr(config, "decoder", None)
        self.pad_id = _first_int(tokenizer.pad_token_id, config.pad_token_id)
        self.eos_id = _first_int(
            getattr(config, "eos_token_id", None),
            getattr(decoder_config, "eos_token_id", None),
            tokenizer.eos_token_id,
            tokenizer.sep_token_id,
        )
        self.start_id = _first_int(
            getattr(config, "decoder_start_token_id", None),
            getattr(decoder_config, "bos_token_id", None),
            tokenizer.bos_token_id,
            tokenizer.cls_token_id,
            self.pad_id,
        )
        if self.pad_id is None or self.eos_id is None:
            raise ConfigError("the tokenizer/model defines no pad or end-of-sequence token")
        self._subsets: dict[tuple[str, torch.device], torch.Tensor] = {}
        self._int8_heads: dict[str, torch.nn.Module] = {}
        self.int8 = False

    # ------------------------------------------------------------------ basic properties
    @property
    def device(self) -> torch.device:
        """Where the model's weights are (generation and training run there)."""
        return next(self.model.parameters()).device

    def to(self, device: str | torch.device) -> QueryGenerator:
        """Move the model to ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...), in place.

        Generation then runs there: the encoder, every decoding step and the vocabulary projections;
        only the top-k candidates of each step (rows × k numbers) come back to the CPU, where each row
        draws from its own seeded generator, so a row's sample does not depend on the device beyond
        float rounding of the logits.

        Example:
            >>> from xqg.generate.testing import tiny_generator
            >>> tiny_generator().to("cpu").device.type
            'cpu'
        """
        if self.int8 and torch.device(device).type != "cpu":
            raise ConfigError("an int8-quantised generator runs on the CPU only")
        self.model.to(device)
        return self

    @property
    def languages(self) -> list[str]:
        """Languages the generator knows (``bert2bert``: those with a start token)."""
        return (
            list(self.vocabulary.languages) if self.vocabulary is not None else list(self.settings.languages)
        )

    @property
    def shares_encoder_across_languages(self) -> bool:
        """True when the encoder input does not name the language (one encoder pass per passage)."""
        return not prompt_uses_language(self.settings.prompt)

    def check_language(self, lang: str) -> None:
        if self.vocabulary is not None:
            self.vocabulary.start_id(lang)
        elif self.shares_encoder_across_languages:
            raise ConfigError("a seq2seq generator's prompt must name the language ({language})")

    def fingerprint(self) -> dict[str, Any]:
        """JSON-able description of the generator (for shard manifests)."""
        return {
            "settings": asdict(self.settings),
            "num_parameters": sum(p.numel() for p in self.model.parameters()),
        }

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

    # ------------------------------------------------------------------ decoder
    def _subset(self, lang: str) -> torch.Tensor | None:
        """Sorted small ids of ``lang``'s vocabulary subset, on the model's device."""
        if self.vocabulary is None:
            return None
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

    def decoder_start(self, lang: str) -> int:
        """The decoder's first input id for ``lang`` (a language token for ``bert2bert``)."""
        if self.vocabulary is None:
            return self.start_id
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
        """Next-token logits for every decoder position, and the updated cache.

        For ``bert2bert`` the logits are over ``lang``'s subset of the output vocabulary (column ``j`` is
        small id ``vocabulary.allowed(lang)[j]``), or over ``subset`` when given; for ``seq2seq`` over
        the whole vocabulary.
        """
        if self.vocabulary is None:
            out = self.model(
                encoder_outputs=(encoded.hidden,),
                attention_mask=encoded.mask,
                decoder_input_ids=decoder_ids,
                decoder_attention_mask=decoder_mask,
                use_cache=use_cache,
                **_cache_argument(self.model, past),
            )
            return out.logits, (_returned_cache(out) if use_cache else None)
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
        """``bert2bert``: the output head's transformed states (before the vocabulary projection)."""
        decoder = self.model.decoder
        out = decoder.bert(
            input_ids=decoder_ids,
            attention_mask=decoder_mask,
            encoder_hidden_states=self._to_decoder_width(encoded.hidden),
            encoder_attention_mask=encoded.mask,
            use_cache=use_cache,
            **_cache_argument(decoder.bert, past),
        )
        states = decoder.cls.predictions.transform(out.last_hidden_state)
        return states, (_returned_cache(out) if use_cache else None)

    def _to_decoder_width(self, hidden: torch.Tensor) -> torch.Tensor:
        proj = getattr(self.model, "enc_to_dec_proj", None)
        return hidden if proj is None else proj(hidden)

    def _output_layer(self, subset: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``bert2bert``: the rows of the output projection (weight, bias) for the columns ``subset``."""
        head = self.model.decoder.cls.predictions
        return head.decoder.weight.index_select(0, subset), head.bias.index_select(0, subset)

    def _language_head(self, lang: str) -> Any:
        """``bert2bert``: the output projection onto ``lang``'s vocabulary subset, as a callable.

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
        """Decoder input ids (excluding the start token) of target texts, ending with end-of-sequence."""
        enc = self.tokenizer(
            list(texts), add_special_tokens=False, truncation=True, max_length=max_length - 1
        )
        rows = [list(ids) + [self.eos_id] for ids in enc["input_ids"]]
        if self.vocabulary is not None:
            rows = [self.vocabulary.to_small(r) for r in rows]
        return rows

    def loss(
        self, encoded: EncodedBatch, targets: Sequence[str], lang: str, max_target_length: int = 32
    ) -> torch.Tensor:
        """Teacher-forced mean token cross-entropy of ``targets`` (all in ``lang``) given encoder outputs."""
        rows = self.target_ids(targets, lang, max_target_length)
        width = max(len(r) for r in rows)
        start = self.decoder_start(lang)
        pad_in = self.vocabulary.small_pad if self.vocabulary is not None else self.pad_id
        # built on the CPU row by row, moved to the model's device once
        cpu = torch.device("cpu")
        dec_in = torch.full((len(rows), width), pad_in, dtype=torch.long, device=cpu)
        labels = torch.full((len(rows), width), -100, dtype=torch.long, device=cpu)
        subset = self._subset(lang)
        position = None
        if subset is not None:
            position = torch.full((self.vocabulary.size,), -1, dtype=torch.long, device=cpu)
            position[subset.cpu()] = torch.arange(len(subset), device=cpu)
            unk_position = int(position[self.vocabulary.small_unk])
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
    def _rows_subset(self, row_langs: Sequence[str]) -> torch.Tensor:
        """The union of the rows' language subsets (sorted small ids: the logit columns of a mixed batch)."""
        langs = sorted(set(row_langs))
        if len(langs) == 1:
            return self._subset(langs[0])
        return self._on_device(
            "+".join(langs), lambda: torch.unique(torch.cat([self._subset(lang).cpu() for lang in langs]))
        )

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

        For ``bert2bert`` the steps run through :class:`~xqg.generate.bert_decoder.GroupedBertDecoder`:
        the cross-attention keys and values of each distinct prompt (``encoded.distinct()``) are
        computed once and read once per step for all the rows that share it, and each language's rows
        are projected onto that language's vocabulary only.

        Each step keeps the ``top_k`` most likely next tokens of a row (after the language subset,
        no-repeat n-gram and minimum-length constraints), renormalises them in float64 and picks one
        with the row's own uniform draw, so a row's output does not depend on the other rows.
        """
        rows = encoded.hidden.shape[0]
        if rows != len(seeds):
            raise ValueError("one seed per row")
        row_langs = [lang] * rows if isinstance(lang, str) else list(lang)
        if len(row_langs) != rows:
            raise ValueError("one language per row")
        if len(set(row_langs)) > 1 and (self.vocabulary is None or not self.settings.language_vocabulary):
            raise ConfigError("rows of several languages decode together only with per-language vocabularies")
        first = row_langs[0]
        max_new = max_new_tokens or self.settings.max_new_tokens
        rngs = [np.random.default_rng(int(s)) for s in seeds]
        device = encoded.hidden.device
        subset = self._rows_subset(row_langs) if self.vocabulary is not None else None
        heads: list[tuple[torch.Tensor, Any]] = []  # (columns in the union, projection)
        if subset is not None:
            # each language's rows are scored on its own vocabulary only, placed at its columns of the
            # union (the other columns stay -inf): no work on the other languages' pieces
            langs = sorted(set(row_langs))
            for code in langs:
                heads.append((torch.searchsorted(subset, self._subset(code)), self._language_head(code)))
            row_head = torch.tensor(
                [langs.index(code) for code in row_langs], dtype=torch.long, device=device
            )
            eos_col = int((subset == self.vocabulary.small_eos).nonzero()[0, 0])
            banned_cols = (subset == self.vocabulary.small_unk).nonzero().flatten()
        else:
            eos_col = self.eos_id
            banned = {self.pad_id, self.start_id} - {self.eos_id}
            banned_cols = torch.tensor(sorted(banned), dtype=torch.long, device=device)
        generated: list[list[int]] = [[] for _ in range(rows)]  # logit columns
        active = torch.arange(rows, device=device)
        active_rows = list(range(rows))  # the same rows on the host: no device sync to read them
        current = torch.tensor(
            [[self.decoder_start(code)] for code in row_langs], dtype=torch.long, device=device
        )
        enc = encoded
        past = None
        grouped = None
        if self.vocabulary is not None and supports_grouped_decoding(self.model):
            prompts, row_prompt = encoded.distinct()
            grouped = GroupedBertDecoder(self.model, prompts.hidden, prompts.mask, row_prompt, max_new)
        ngram = self.settings.no_repeat_ngram_size
        for step in range(max_new):
            if subset is None:
                logits, past = self.decoder_logits(current, enc, first, past=past, use_cache=True)
                logits = logits[:, -1, :].float()
            else:
                if grouped is not None:
                    states = grouped(current.view(-1))
                else:
                    states, past = self._decoder_states(current, enc, None, past, use_cache=True)
                    states = states[:, -1, :]
                if len(heads) == 1:
                    logits = heads[0][1](states).float()
                else:
                    logits = torch.full((len(active), len(subset)), -float("inf"), device=device)
                    active_heads = row_head.index_select(0, active)
                    for h, (columns_h, project) in enumerate(heads):
                        rows_h = (active_heads == h).nonzero().flatten()
                        if len(rows_h):
                            part = project(states.index_select(0, rows_h)).float()
                            logits[rows_h.unsqueeze(1), columns_h.unsqueeze(0)] = part
            if len(banned_cols):
                logits[:, banned_cols] = -float("inf")
            if step < self.settings.min_new_tokens:
                logits[:, eos_col] = -float("inf")
            if ngram > 0:
                blocked_rows: list[int] = []
                blocked_cols: list[int] = []
                for j, row in enumerate(active_rows):
                    seq = generated[row]
                    if len(seq) >= ngram - 1:
                        prefix = tuple(seq[len(seq) - ngram + 1 :]) if ngram > 1 else ()
                        for i in range(len(seq) - ngram + 1):
                            if tuple(seq[i : i + ngram - 1]) == prefix:
                                blocked_rows.append(j)
                                blocked_cols.append(seq[i + ngram - 1])
                if blocked_rows:  # one indexed write for every row (one kernel on a GPU)
                    logits[
                        torch.tensor(blocked_rows, device=device), torch.tensor(blocked_cols, device=device)
                    ] = -float("inf")
            k = min(top_k, logits.shape[-1])
            values, columns = logits.topk(k, dim=-1)
            # only the top-k candidates leave the device; each row draws on the CPU from its own seed
            probs = torch.softmax(values.double(), dim=-1).cpu().numpy()
            columns = columns.cpu().numpy()
            chosen = np.empty(len(active_rows), dtype=np.int64)
            for j, row in enumerate(active_rows):
                cdf = np.cumsum(probs[j])
                pick = int(np.searchsorted(cdf, rngs[row].random() * cdf[-1], side="right"))
                chosen[j] = columns[j, min(pick, k - 1)]
            keep = []
            for j, row in enumerate(active_rows):
                if chosen[j] == eos_col:
                    continue
                generated[row].append(int(chosen[j]))
                keep.append(j)
            if not keep or step == max_new - 1:
                break
            if len(keep) < len(active_rows):
                index = torch.tensor(keep, dtype=torch.long, device=device)
                if grouped is not None:
                    grouped.keep(index)
                else:
                    past.reorder_cache(index)
                    enc = enc.rows(index)
                active = active.index_select(0, index)
                active_rows = [active_rows[j] for j in keep]
                chosen = chosen[keep]
            next_ids = torch.from_numpy(chosen).to(device)
            if subset is not None:
                next_ids = subset.index_select(0, next_ids)
            current = next_ids.view(-1, 1)
        subset_cpu = subset.cpu() if subset is not None else None
        return [self._decode_columns(seq, subset_cpu) for seq in generated]

    def decode(self, columns: Sequence[int], lang: str) -> str:
        """Text of a sampled sequence of logit columns of ``lang``'s subset."""
        return self._decode_columns(columns, self._subset(lang))

    def _decode_columns(self, columns: Sequence[int], subset: torch.Tensor | None) -> str:
        ids = list(columns)
        if subset is not None:
            ids = (
                self.vocabulary.to_full(
                    subset.cpu()[torch.tensor(ids, dtype=torch.long, device="cpu")].tolist()
                )
                if ids
                else []
            )
        return self.tokenizer.decode(ids, skip_special_tokens=True).strip()

    def generate(
        self,
        passages: Sequence[Passage],
        languages: Sequence[str],
        n: int = 5,
        seed: int = 0,
        top_k: int = 10,
        batch_size: int = 8,
        max_new_tokens: int | None = None,
        show_progress: bool = False,
    ) -> Iterator[tuple[str, str, int, str]]:
        """Sample ``n`` queries per passage per language.

        Slot ``j`` of ``(docid, lang)`` draws from ``derive_seed(seed, docid, lang, j)``, so the output is
        the same whatever the batch size, the sharding, or ``n`` (slots ``0..n-1`` of a larger ``n``
        are the same queries).

        Args:
            passages: the passages (ids must be unique within a call).
            languages: target language codes.
            n: queries per passage per language.
            seed: base seed.
            top_k: sample among the ``top_k`` most likely tokens at each step.
            batch_size: passages per batch (a batch decodes ``batch_size * n`` rows per language).
            max_new_tokens: override of the settings' maximum output length.
            show_progress: tqdm bar over passages.

        Yields:
            ``(docid, lang, slot, text)`` in passage order, then language order, then slot.

        Example:
            >>> from xqg.generate.testing import tiny_generator
            >>> gen = tiny_generator()
            >>> len(list(gen.generate([Passage("a", "x"), Passage("b", "y")], ["de"], n=3)))
            6
        """
        if n < 1 or top_k < 1 or batch_size < 1:
            raise ConfigError("n, top_k and batch_size must be >= 1")
        languages = list(languages)
        for lang in languages:
            self.check_language(lang)
        self.model.eval()
        progress = None
        if show_progress:
            from tqdm.auto import tqdm

            progress = tqdm(total=len(passages), desc="generate", unit="passage")
        for start in range(0, len(passages), batch_size):
            batch = list(passages[start : start + batch_size])
            repeat = torch.arange(len(batch), device=self.device).repeat_interleave(n)
            results: dict[tuple[int, str], list[str]] = {}
            with torch.no_grad():
                shared = (
                    self.encode(self.prompts(batch, languages[0]))
                    if self.shares_encoder_across_languages
                    else None
                )
                if shared is not None and self.vocabulary is not None and self.settings.language_vocabulary:
                    # one decoding loop for every language of the batch (rows: language, passage, slot)
                    seeds = [
                        derive_seed(seed, p.id, lang, slot)
                        for lang in languages
                        for p in batch
                        for slot in range(n)
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
                else:
                    for lang in languages:
                        encoded = shared if shared is not None else self.encode(self.prompts(batch, lang))
                        seeds = [derive_seed(seed, p.id, lang, slot) for p in batch for slot in range(n)]
                        texts = self.sample(
                            encoded.rows(repeat), lang, seeds, top_k=top_k, max_new_tokens=max_new_tokens
                        )
                        for i in range(len(batch)):
                            results[(i, lang)] = texts[i * n : (i + 1) * n]
            for i, passage in enumerate(batch):
                for lang in languages:
                    for slot, text in enumerate(results[(i, lang)]):
                        yield passage.id, lang, slot, text
            if progress is not None:
                progress.update(len(batch))
        if progress is not None:
            progress.close()

    # ------------------------------------------------------------------ fast path
    def quantize_int8(self) -> QueryGenerator:
        """Quantise the encoder's and the decoder stack's linear layers to int8 (dynamic: int8 weights,
        activations quantised per batch), in place; CPU inference only.

        Faster generation on a CPU (``benchmarks/bench_generate.py``); the tied output layer stays
        float32 (it is also the embedding table), and each language's slice of it is an int8 layer
        of its own at sampling. Outputs are not bit-identical to float32: sampling
        follows slightly different probabilities, and the tolerance is measured on the trained
        default generator in docs/performance.md (share of queries in the right language, chrF).
        Uses ``torch.ao.quantization.quantize_dynamic`` (deprecated by PyTorch in favour of
        ``torchao``, still shipped; its deprecation warnings are silenced here).

        Example:
            >>> from xqg.generate.testing import tiny_generator
            >>> gen = tiny_generator().quantize_int8()
            >>> len(list(gen.generate([Passage("d", "x")], ["de"], n=2, seed=0)))
            2
        """
        import warnings

        from torch import nn

        if self.model.device.type != "cpu":
            raise ConfigError("int8 dynamic quantisation is a CPU path; on a GPU use bf16/fp16 autocast")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
            from torch.ao.quantization import quantize_dynamic

            stacks = (
                [("encoder", self.model.encoder), ("decoder.bert", self.model.decoder.bert)]
                if self.settings.kind == "bert2bert"
                else [("encoder", self.model.get_encoder()), ("decoder", self.model.get_decoder())]
            )
            for name, module in stacks:
                quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8, inplace=True)
                logger.debug("int8: quantised the linear layers of %s", name)
        self.int8 = True
        return self

    # ------------------------------------------------------------------ files
    def save(self, folder: str | Path) -> Path:
        """Write model (safetensors), tokenizer, settings and vocabulary into ``folder``."""
        if self.int8:
            raise ConfigError("an int8-quantised generator is for inference; save the float32 one")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)
        if self.vocabulary is not None:
            self.vocabulary.save(folder)
        atomic_write_json(folder / SETTINGS_FILE, asdict(self.settings))
        return folder

    @classmethod
    def load(cls, folder: str | Path, settings: GeneratorSettings | None = None) -> QueryGenerator:
        """Load a generator folder, or any Hugging Face seq2seq model (hub id or folder) with ``settings``.

        A folder without ``xqg_generator.json`` is taken as a plain seq2seq model with the paper's prompt.
        """
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        path = Path(folder)
        settings_path = path / SETTINGS_FILE
        if settings is None and settings_path.exists():
            try:
                settings = GeneratorSettings(**json.loads(settings_path.read_text(encoding="utf-8")))
            except (ValueError, TypeError) as exc:
                raise InputError(f"bad generator settings: {exc}", path=str(settings_path)) from None
        settings = settings or GeneratorSettings()
        vocabulary = OutputVocabulary.load(path) if settings.kind == "bert2bert" else None
        try:
            if settings.kind == "bert2bert":
                from transformers import EncoderDecoderModel
                from transformers.utils import logging as hf_logging

                # The encoder was saved without BERT's pooler (the decoder never reads it); the
                # load report that lists it as newly initialised is noise here.
                level = hf_logging.get_verbosity()
                hf_logging.set_verbosity_error()
                try:
                    model = EncoderDecoderModel.from_pretrained(str(folder))
                finally:
                    hf_logging.set_verbosity(level)
            else:
                model = AutoModelForSeq2SeqLM.from_pretrained(str(folder))
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
        except OSError as exc:
            raise InputError(f"cannot load a seq2seq model from {folder}: {exc}", path=str(folder)) from None
        model.eval()
        return cls(model, tokenizer, settings, vocabulary)
