"""Any Hugging Face causal LM as a query generator (Gemma 3 270M, the embedded default; Qwen, Llama ...).

The prompt is the paper's, passage first (:data:`~xqg.generate.prompt.CAUSAL_PROMPT`)::

    <bos>{title} {passage}
    Generate a {Language} question for this passage: {question}<eos>

so the passage is a prefix that every language shares, and both training and generation read it
once per passage:

* **training** (:meth:`CausalLMGenerator.unit_loss`): a passage's examples in all languages are one
  unit: the passage runs through the model once, its keys and values are shared (with gradients) by
  a batch of blocks ``instruction + question``, each block attending to the passage and to itself
  only; the loss is on the question tokens only, and the logits are computed only there. This gives
  the loss of the unpacked examples (``packed=False``, tested) at a fraction of the cost: a passage of
  ~200 tokens is read once for its ~50 questions instead of 50 times.
* **generation** (:meth:`CausalLMGenerator.generate`): the passages of a batch are read once, each
  language's instruction once per passage, and the ``n`` samples of every language decode together
  from that shared cache; each (docid, language, slot) draws from its own seed
  (:mod:`xqg.generate.sampling`), so the queries do not depend on batching.
* **a trimmed output vocabulary** (``settings.trim_vocabulary``, :mod:`xqg.generate.token_subset`):
  the output layer scores the tokens of the generator's training text, the byte fallbacks and the
  passage's own tokens instead of the whole vocabulary (262k for Gemma), the largest cost of a small
  multilingual LM on a CPU.

Sequences must fit the model's sliding attention window (512 tokens for Gemma 3): the passage part is
truncated to ``max_input_length`` (256) tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from xqg.data.records import Passage
from xqg.errors import ConfigError, InputError
from xqg.generate.base import QueryGenerator
from xqg.generate.encoder_decoder import cache_argument, first_int, quantize_linear_layers, returned_cache
from xqg.generate.prompt import format_prompt_part, split_prompt
from xqg.generate.sampling import TopKSampler, decode_rows
from xqg.generate.settings import GeneratorSettings
from xqg.generate.token_subset import TOKEN_SUBSET_FILE, TokenSubset
from xqg.seeding import derive_seed

logger = logging.getLogger(__name__)
#: host-side index tensors are built here, then moved to the model's device once
_CPU = torch.device("cpu")


class CausalLMGenerator(QueryGenerator):
    """A decoder-only LM that reads the passage, then writes a question in the named language.

    Args:
        model: a Hugging Face ``*ForCausalLM`` model (its ``base_model`` gives hidden states, its output
            embeddings the vocabulary projection).
        tokenizer: its tokenizer.
        settings: prompt and decoding settings (``kind="causal"``).
        token_subset: the tokens the generator may write (with ``settings.trim_vocabulary``; ``None``:
            the whole vocabulary).

    Example:
        >>> from xqg.generate.testing import tiny_generator
        >>> gen = tiny_generator(kind="causal")
        >>> [row[:3] for row in gen.generate([Passage("d", "Paris")], ["de"], n=2, seed=0)]
        [('d', 'de', 0), ('d', 'de', 1)]
    """

    kind = "causal"

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        settings: GeneratorSettings,
        token_subset: TokenSubset | None = None,
    ) -> None:
        super().__init__(model, tokenizer, settings)
        self.token_subset = token_subset
        self.shared_template, self.language_template = split_prompt(settings.prompt)
        if not self.language_template:
            raise ConfigError("a causal generator's prompt must name the language ({language})")
        config = model.config
        self.eos_id = first_int(tokenizer.eos_token_id, getattr(config, "eos_token_id", None))
        if self.eos_id is None:
            raise ConfigError("the tokenizer/model defines no end-of-sequence token")
        # a sequence starts with the beginning-of-sequence token, or (models without one) a document break
        self.start_id = first_int(tokenizer.bos_token_id, getattr(config, "bos_token_id", None), self.eos_id)
        self.pad_id = first_int(tokenizer.pad_token_id, getattr(config, "pad_token_id", None), self.eos_id)
        self.special_ids = {int(i) for i in getattr(tokenizer, "all_special_ids", [])} - {self.eos_id}
        self.softcap = getattr(config, "final_logit_softcapping", None)
        self._weights: dict[tuple[Any, ...], torch.Tensor] = {}
        self._language_cache: dict[str, list[int]] = {}

    # ------------------------------------------------------------------ prompt and target ids
    @property
    def body(self) -> torch.nn.Module:
        """The transformer without its output layer (hidden states after the final norm)."""
        return self.model.base_model

    @property
    def trims_vocabulary(self) -> bool:
        return bool(self.settings.trim_vocabulary and self.token_subset is not None)

    def shared_ids(self, passage: Passage, max_length: int | None = None) -> list[int]:
        """The prompt's part read once for all languages: start token, title and passage, truncated to
        ``max_length`` tokens (default ``settings.max_input_length``)."""
        limit = max_length or self.settings.max_input_length
        text = format_prompt_part(self.shared_template, passage, "")
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
        return [self.start_id, *ids[: limit - 1]]

    def language_ids(self, passage: Passage, lang: str, max_length: int | None = None) -> list[int]:
        """The prompt's part for ``lang`` (the instruction line; the whole prompt, truncated to
        ``max_length``, when the template names the language in its first line)."""
        limit = max_length or self.settings.max_input_length
        per_passage = "{passage}" in self.language_template or "{title}" in self.language_template
        if not per_passage and lang in self._language_cache:
            return self._language_cache[lang]
        text = format_prompt_part(self.language_template, passage, lang)
        if self.shared_template:
            text = "\n" + text
        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"][:limit])
        if not per_passage:
            self._language_cache[lang] = ids
        return ids

    def passage_token_ids(self, passage: Passage) -> set[int]:
        """The tokens of the passage's title and text (as read, and word-initial): what a question about
        it may copy (names, numbers) beyond the trimmed vocabulary."""
        text = format_prompt_part("{title} {passage}", passage, "")
        rows = self.tokenizer([text, " " + text], add_special_tokens=False)["input_ids"]
        return {int(i) for row in rows for i in row}

    def target_ids(self, text: str, max_length: int) -> list[int]:
        """A question's ids as written after the instruction (a leading space), then end-of-sequence."""
        ids = self.tokenizer(" " + text.strip(), add_special_tokens=False)["input_ids"][: max_length - 1]
        return [*ids, self.eos_id]

    # ------------------------------------------------------------------ output layer
    def _output_weight(self) -> torch.Tensor:
        return self.model.get_output_embeddings().weight

    def _compute_dtype(self) -> torch.dtype:
        device_type = self.device.type
        if torch.is_autocast_enabled(device_type):
            return torch.get_autocast_dtype(device_type)
        return self._output_weight().dtype

    def columns(self, extra_ids: Iterable[int]) -> tuple[torch.Tensor, int]:
        """The logit columns (token ids) and how many of them are the trimmed subset: the subset first,
        then the ``extra_ids`` outside it (specials other than end-of-sequence excluded). Without
        trimming, the whole vocabulary (and 0).

        Example:
            >>> from xqg.generate.testing import tiny_generator
            >>> gen = tiny_generator(kind="causal")
            >>> cols, subset_size = gen.columns([])
            >>> subset_size == len(gen.token_subset) == len(cols)
            True
        """
        if not self.trims_vocabulary:
            vocab = self._output_weight().shape[0]
            return torch.arange(vocab, dtype=torch.long, device=self.device), 0
        subset = self.token_subset
        vocab = self._output_weight().shape[0]
        extra = sorted(
            {int(i) for i in extra_ids if int(i) not in subset and 0 <= int(i) < vocab} - self.special_ids
        )
        ids = torch.tensor(subset.ids + extra, dtype=torch.long, device=self.device)
        return ids, len(subset.ids)

    def _projection(self, columns: torch.Tensor, subset_size: int) -> torch.Tensor:
        """The output layer's rows for ``columns``, in the compute dtype; the subset's rows are cached
        while the output layer is frozen."""
        weight = self._output_weight()
        dtype = self._compute_dtype()
        if subset_size == 0:  # the whole vocabulary
            if weight.requires_grad:
                return weight.to(dtype)
            key: tuple[Any, ...] = (weight.data_ptr(), weight.device, dtype, "all")
            if key not in self._weights:
                self._weights.clear()
                self._weights[key] = weight.detach().to(dtype)
            return self._weights[key]
        if weight.requires_grad:
            return weight.index_select(0, columns).to(dtype)
        key = (weight.data_ptr(), weight.device, dtype, id(self.token_subset), subset_size)
        if key not in self._weights:
            self._weights.clear()
            self._weights[key] = weight.detach().index_select(0, columns[:subset_size]).to(dtype)
        head = self._weights[key]
        if len(columns) > subset_size:
            head = torch.cat([head, weight.detach().index_select(0, columns[subset_size:]).to(dtype)])
        return head

    def project(self, hidden: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
        """Logits over the columns of ``head`` for hidden states ``[..., d]`` (float32, soft-capped
        when the model caps its logits)."""
        logits = F.linear(hidden.to(head.dtype), head).float()
        if self.softcap:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits

    # ------------------------------------------------------------------ training
    def configure_training(self, config: Any) -> None:
        """Freeze the embeddings (tied to the output layer) and the layers below the top
        ``config.train_layers`` (``None``: train every layer)."""
        self.model.requires_grad_(True)
        self.model.get_input_embeddings().requires_grad_(False)
        self.model.get_output_embeddings().requires_grad_(False)
        layers = getattr(self.body, "layers", None)
        keep = getattr(config, "train_layers", None)
        if keep is not None and layers is not None:
            if not 1 <= keep <= len(layers):
                raise ConfigError(f"train_layers must be in 1..{len(layers)}, got {keep}")
            for layer in list(layers)[: len(layers) - keep]:
                layer.requires_grad_(False)
        self._weights.clear()

    def training_batches(
        self, examples: Sequence[Any], batch_size: int, seed: int, epoch: int
    ) -> list[list[int]]:
        """Units of one passage each: a passage's examples (all languages) shuffled and split into
        near-equal chunks of at most ``batch_size``; the units in a seeded order."""
        rng = np.random.default_rng(derive_seed(seed, "generator-units", epoch))
        by_passage: dict[tuple[str, str, str], list[int]] = {}
        for i, ex in enumerate(examples):
            by_passage.setdefault((ex.passage.id, ex.passage.title, ex.passage.text), []).append(i)
        units: list[list[int]] = []
        for key in sorted(by_passage):
            members = by_passage[key]
            order = [members[j] for j in rng.permutation(len(members))]
            chunks = -(-len(order) // batch_size)
            size = -(-len(order) // chunks)
            units.extend(order[i : i + size] for i in range(0, len(order), size))
        return [units[j] for j in rng.permutation(len(units))]

    def batch_loss(self, batch: Sequence[Any], config: Any, state: Any = None) -> torch.Tensor:
        """Mean token cross-entropy of the batch's questions, each passage's examples packed as one unit."""
        units: dict[tuple[str, str, str], list[Any]] = {}
        for ex in batch:
            units.setdefault((ex.passage.id, ex.passage.title, ex.passage.text), []).append(ex)
        total: torch.Tensor | None = None
        count = 0
        for members in units.values():
            loss, tokens = self.unit_loss(
                members[0].passage,
                [(ex.lang, ex.query) for ex in members],
                config.max_target_length,
                max_input_length=config.max_input_length,
            )
            total = loss if total is None else total + loss
            count += tokens
        assert total is not None
        return total / max(count, 1)

    def unit_loss(
        self,
        passage: Passage,
        blocks: Sequence[tuple[str, str]],
        max_target_length: int = 32,
        packed: bool = True,
        max_input_length: int | None = None,
    ) -> tuple[torch.Tensor, int]:
        """Summed cross-entropy of the questions ``blocks = [(lang, question)]`` about one passage, and
        their token count.

        Args:
            passage: the passage.
            blocks: the questions to score, with their languages.
            max_target_length: question tokens (end-of-sequence included).
            packed: read the passage once for all blocks (False: each block with its own copy of the
                passage, the plain way, to check against; same columns, same loss up to rounding).
            max_input_length: prompt tokens (the passage part; default ``settings.max_input_length``).

        The logit columns are the trimmed vocabulary, the passage's tokens and the questions' own
        tokens (which the training text's vocabulary holds already; held-out questions may have more).
        """
        device = self.device
        prefix = self.shared_ids(passage, max_input_length)
        rows = [
            (self.language_ids(passage, lang, max_input_length), self.target_ids(question, max_target_length))
            for lang, question in blocks
        ]
        extra = self.passage_token_ids(passage)
        for _, target in rows:
            extra.update(target)
        columns, subset_size = self.columns(extra)
        position = {int(token): j for j, token in enumerate(columns.tolist())} if subset_size else None
        labels_list = [position[t] if position is not None else t for _, target in rows for t in target]
        labels = torch.tensor(labels_list, dtype=torch.long, device=device)
        head = self._projection(columns, subset_size)
        if packed:
            hidden = self._packed_hidden(prefix, rows)
        else:
            hidden = torch.cat(
                [self._plain_hidden(prefix, instruction, target) for instruction, target in rows]
            )
        logits = self.project(hidden, head)
        return F.cross_entropy(logits, labels, reduction="sum"), len(labels_list)

    def _packed_hidden(self, prefix: list[int], rows: list[tuple[list[int], list[int]]]) -> torch.Tensor:
        """Hidden states at the positions that predict each block's question tokens (prefix read once)."""
        device = self.device
        out = self.body(input_ids=torch.tensor([prefix], device=device), use_cache=True)
        cache = returned_cache(out)
        length = len(prefix)
        width = max(len(i) + len(t) - 1 for i, t in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long, device=_CPU)
        mask = torch.zeros((len(rows), length + width), dtype=torch.long, device=_CPU)
        mask[:, :length] = 1
        select_rows, select_cols = [], []
        for r, (instruction, target) in enumerate(rows):
            sequence = instruction + target[:-1]
            ids[r, : len(sequence)] = torch.tensor(sequence, device=_CPU)
            mask[r, length : length + len(sequence)] = 1
            start = len(instruction) - 1
            select_rows.extend([r] * len(target))
            select_cols.extend(range(start, start + len(target)))
        cache.reorder_cache(torch.zeros(len(rows), dtype=torch.long, device=device))
        positions = (length + torch.arange(width, device=_CPU)).unsqueeze(0).expand(len(rows), -1)
        hidden = self.body(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            use_cache=True,
            **cache_argument(self.body, cache),
        ).last_hidden_state
        return hidden[torch.tensor(select_rows, device=device), torch.tensor(select_cols, device=device)]

    def _plain_hidden(self, prefix: list[int], instruction: list[int], target: list[int]) -> torch.Tensor:
        sequence = prefix + instruction + target[:-1]
        hidden = self.body(input_ids=torch.tensor([sequence], device=self.device)).last_hidden_state[0]
        start = len(prefix) + len(instruction) - 1
        return hidden[start : start + len(target)]

    # ------------------------------------------------------------------ generation
    def _sample_batch(
        self,
        passages: Sequence[Passage],
        languages: Sequence[str],
        n: int,
        seed: int,
        top_k: int,
        max_new_tokens: int | None,
    ) -> dict[tuple[int, str], list[str]]:
        max_new = max_new_tokens or self.settings.max_new_tokens
        device = self.device
        body = self.body
        # 1. every passage once
        prefixes = [self.shared_ids(p) for p in passages]
        prefix_len = torch.tensor([len(p) for p in prefixes], dtype=torch.long, device=_CPU)
        ids, mask = _right_padded(prefixes, self.pad_id)
        width = ids.shape[1]
        positions = torch.arange(width, device=_CPU).unsqueeze(0).expand(len(prefixes), -1)
        cache = returned_cache(
            body(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                position_ids=positions.to(device),
                use_cache=True,
            )
        )
        # 2. each language's instruction once per passage (rows: passage, language)
        pairs = [(i, lang) for i in range(len(passages)) for lang in languages]
        owner = torch.tensor([i for i, _ in pairs], dtype=torch.long, device=_CPU)
        instructions = [self.language_ids(passages[i], lang) for i, lang in pairs]
        inst_len = torch.tensor([len(x) for x in instructions], dtype=torch.long, device=_CPU)
        ids, inst_mask = _right_padded(instructions, self.pad_id)
        inst_width = ids.shape[1]
        cache.reorder_cache(owner.to(device))
        mask = torch.cat([mask.index_select(0, owner), inst_mask], dim=1)
        positions = prefix_len.index_select(0, owner).unsqueeze(1) + torch.arange(
            inst_width, device=_CPU
        ).unsqueeze(0)
        hidden = body(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            use_cache=True,
            **cache_argument(body, cache),
        ).last_hidden_state
        last = hidden[torch.arange(len(pairs), device=device), (inst_len - 1).to(device)]
        # 3. n samples of every (passage, language) from the shared cache (rows: passage, language, slot)
        expand = torch.arange(len(pairs), device=_CPU).repeat_interleave(n)
        cache.reorder_cache(expand.to(device))
        passage_tokens = [self.passage_token_ids(p) for p in passages]
        columns, subset_size = self.columns(set().union(*passage_tokens))
        allowed = None
        if subset_size and len(columns) > subset_size:
            # a row may write its own passage's tokens beyond the subset, not another passage's
            extra = columns[subset_size:].tolist()
            allowed = torch.tensor(
                [[token in passage_tokens[i] for token in extra] for i, _ in pairs], device=_CPU
            )
            allowed = allowed.index_select(0, expand).to(device)
        steps = _CausalSteps(
            self,
            cache,
            mask.index_select(0, expand).to(device),
            (prefix_len.index_select(0, owner) + inst_len).index_select(0, expand).to(device),
            last.index_select(0, expand.to(device)),
            columns,
            self._projection(columns, subset_size),
            subset_size,
            allowed,
        )
        seeds = [derive_seed(seed, passages[i].id, lang, slot) for i, lang in pairs for slot in range(n)]
        sampler = TopKSampler(
            seeds,
            top_k,
            steps.eos_column,
            steps.banned_columns,
            self.settings.min_new_tokens,
            self.settings.no_repeat_ngram_size,
        )
        generated = decode_rows(steps, sampler, max_new)
        column_ids = columns.cpu()
        results: dict[tuple[int, str], list[str]] = {}
        for r, (i, lang) in enumerate(pairs):
            texts = []
            for seq in generated[r * n : (r + 1) * n]:
                tokens = column_ids[torch.tensor(seq, dtype=torch.long, device=_CPU)].tolist() if seq else []
                texts.append(self.tokenizer.decode(tokens, skip_special_tokens=True).strip())
            results[(i, lang)] = texts
        return results

    # ------------------------------------------------------------------ fast path and files
    def quantize_int8(self) -> QueryGenerator:
        """Dynamic int8 quantisation of the transformer layers' linear layers (the output layer, tied
        to the embeddings, stays float), in place; CPU inference only."""
        if self.device.type != "cpu":
            raise ConfigError("int8 dynamic quantisation is a CPU path; on a GPU use bfloat16")
        quantize_linear_layers([("layers", self.body)])
        self.int8 = True
        return self

    def _save_extra(self, folder: Path) -> None:
        if self.token_subset is not None:
            self.token_subset.save(folder)

    @classmethod
    def _load_folder(cls, folder: str | Path, settings: GeneratorSettings) -> CausalLMGenerator:
        model, tokenizer = load_causal_lm(folder)
        path = Path(folder)
        subset = TokenSubset.load(path) if path.is_dir() and (path / TOKEN_SUBSET_FILE).exists() else None
        if settings.trim_vocabulary and subset is None and (path / "xqg_generator.json").exists():
            raise InputError("a trimmed-vocabulary generator folder without its token subset", path=str(path))
        return cls(model, tokenizer, settings, subset)


def load_causal_lm(name_or_path: str | Path) -> tuple[torch.nn.Module, Any]:
    """A trainable float32 causal LM and its tokenizer from a folder, a cached hub id or a ``.gguf`` file.

    A GGUF file is dequantised by ``transformers`` (needs the ``gguf`` package) and copied into a plain
    model of the same class, which can be trained and saved.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = Path(name_or_path)
    try:
        if path.suffix == ".gguf":
            if not path.is_file():
                raise InputError("no such GGUF file", path=str(path))
            level = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()
            try:
                loaded = AutoModelForCausalLM.from_pretrained(
                    str(path.parent), gguf_file=path.name, dtype=torch.float32
                )
                tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
            finally:
                hf_logging.set_verbosity(level)
            config = loaded.config
            if hasattr(config, "quantization_config"):
                del config.quantization_config
            model = type(loaded)(config)
            model.load_state_dict(loaded.state_dict(), strict=True)
        else:
            model = AutoModelForCausalLM.from_pretrained(str(name_or_path), dtype=torch.float32)
            tokenizer = AutoTokenizer.from_pretrained(str(name_or_path))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot load a causal LM from {name_or_path}: {exc}", path=str(name_or_path)
        ) from None
    return model, tokenizer


def _right_padded(rows: Sequence[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token rows as one right-padded ``(rows, longest)`` id tensor and its attention mask, on the CPU."""
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long, device=_CPU)
    mask = torch.zeros((len(rows), width), dtype=torch.long, device=_CPU)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = torch.tensor(row, device=_CPU)
        mask[r, : len(row)] = 1
    return ids, mask


class _CausalSteps:
    """Decoding steps of a causal LM from a shared cache (see :class:`CausalLMGenerator`)."""

    def __init__(
        self,
        generator: CausalLMGenerator,
        cache: Any,
        mask: torch.Tensor,
        positions: torch.Tensor,
        first_hidden: torch.Tensor,
        columns: torch.Tensor,
        head: torch.Tensor,
        subset_size: int,
        allowed: torch.Tensor | None,
    ) -> None:
        self.generator = generator
        self.cache = cache
        self.mask = mask
        self.positions = positions
        self.first_hidden = first_hidden
        self.columns = columns
        self.head = head
        self.subset_size = subset_size
        self.allowed = allowed
        self.rows = first_hidden.shape[0]
        self.device = first_hidden.device
        ids = columns.tolist()
        self.eos_column = ids.index(generator.eos_id)
        self.banned_columns = [j for j, token in enumerate(ids) if token in generator.special_ids]

    def _logits(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = self.generator.project(hidden, self.head)
        if self.allowed is not None:
            logits[:, self.subset_size :].masked_fill_(~self.allowed, -float("inf"))
        return logits

    def start(self) -> torch.Tensor:
        return self._logits(self.first_hidden)

    def keep(self, index: torch.Tensor) -> None:
        self.cache.reorder_cache(index)
        self.mask = self.mask.index_select(0, index)
        self.positions = self.positions.index_select(0, index)
        if self.allowed is not None:
            self.allowed = self.allowed.index_select(0, index)

    def advance(self, columns: np.ndarray) -> torch.Tensor:
        tokens = self.columns.index_select(0, torch.from_numpy(columns).to(self.device)).view(-1, 1)
        self.mask = torch.cat([self.mask, self.mask.new_ones((self.mask.shape[0], 1))], dim=1)
        hidden = self.generator.body(
            input_ids=tokens,
            attention_mask=self.mask,
            position_ids=self.positions.view(-1, 1),
            use_cache=True,
            **cache_argument(self.generator.body, self.cache),
        ).last_hidden_state[:, -1]
        self.positions = self.positions + 1
        return self._logits(hidden)
