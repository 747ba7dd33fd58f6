"""The query-generator family's base: what every generator offers, whatever its architecture.

:class:`QueryGenerator` holds a model, its tokenizer and its :class:`~xqg.generate.settings.GeneratorSettings`,
and implements what does not depend on the architecture: generating ``n`` queries per passage and
language in passage batches with one random stream per (docid, language, slot), moving to a
device, fingerprints, saving and loading (a folder's ``xqg_generator.json`` names its kind). The
members of the family implement how a batch is sampled and how a training batch is scored:

* :class:`~xqg.generate.seq2seq.Seq2SeqGenerator`: any Hugging Face seq2seq model (mT5, mBART ...);
* :class:`~xqg.generate.causal.CausalLMGenerator`: any causal LM (Gemma, the embedded default; Qwen,
  Llama ...), the passage read once for all languages;
* :class:`~xqg.generate.bert2bert.Bert2BertGenerator`: the BERT-to-BERT model warm-started from the
  default encoder.

All of them decode with the same seeded top-k step (:mod:`xqg.generate.sampling`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from xqg.data.atomic import atomic_write_json
from xqg.data.languages import get_language
from xqg.data.records import Passage
from xqg.errors import ConfigError, InputError
from xqg.generate.prompt import CAUSAL_PROMPT
from xqg.generate.settings import SETTINGS_FILE, GeneratorSettings
from xqg.precision import autocast_context, resolve_precision


class QueryGenerator:
    """Generate queries for passages in chosen languages (base of the generator family).

    Args:
        model: the Hugging Face model.
        tokenizer: its tokenizer.
        settings: prompt and decoding settings.

    Example:
        >>> from xqg.generate.testing import tiny_generator
        >>> gen = tiny_generator(kind="causal")
        >>> rows = list(gen.generate([Passage("d1", "Paris is big.")], ["de", "ru"], n=2, seed=0))
        >>> [(docid, lang, slot) for docid, lang, slot, _ in rows]
        [('d1', 'de', 0), ('d1', 'de', 1), ('d1', 'ru', 0), ('d1', 'ru', 1)]
    """

    #: the settings' ``kind`` of this member of the family
    kind = ""
    #: the members of the family by ``kind``: each registers itself when its module is imported (the
    #: package ``xqg.generate`` imports all of them), so that this base imports none of them
    _family: dict[str, type[QueryGenerator]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind"):
            QueryGenerator._family[cls.kind] = cls

    def __init__(self, model: torch.nn.Module, tokenizer: Any, settings: GeneratorSettings) -> None:
        if settings.kind != self.kind:
            raise ConfigError(
                f"{type(self).__name__} needs settings of kind {self.kind!r}, got {settings.kind!r}"
            )
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings
        self.int8 = False
        #: compute precision of generation (``float32``, ``bfloat16``, ``float16``): autocast around
        #: each batch; :func:`~xqg.generate.loading.load_generator` resolves ``auto`` for the device
        self.precision = "float32"

    # ------------------------------------------------------------------ placement
    @property
    def device(self) -> torch.device:
        """Where the model's weights are (generation and training run there)."""
        return next(self.model.parameters()).device

    def to(self, device: str | torch.device) -> QueryGenerator:
        """Move the model to ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...), in place.

        Generation then runs there; only the top-k candidates of each decoding step (rows × k
        numbers) come back to the CPU, where each row draws from its own seeded generator, so a
        row's sample does not depend on the device beyond float rounding of the logits.

        Example:
            >>> from xqg.generate.testing import tiny_generator
            >>> tiny_generator().to("cpu").device.type
            'cpu'
        """
        if self.int8 and torch.device(device).type != "cpu":
            raise ConfigError("an int8-quantised generator runs on the CPU only")
        self.model.to(device)
        return self

    def set_precision(self, name: str) -> str:
        """Generate at ``name`` (``auto``, ``float32``, ``bfloat16``, ``float16``) from now on; ``auto`` is
        resolved for the model's device (:func:`xqg.precision.resolve_precision`: bfloat16 on a CPU with
        avx512_bf16/AMX or a GPU with native bf16). Returns the concrete precision.

        Example:
            >>> from xqg.generate.testing import tiny_generator
            >>> tiny_generator().set_precision("float32")
            'float32'
        """
        precision = resolve_precision(name, self.device)
        if self.int8 and precision != "float32":
            raise ConfigError("int8 and bfloat16 are two alternative fast paths: choose one")
        self.precision = precision
        return precision

    # ------------------------------------------------------------------ languages
    @property
    def languages(self) -> list[str]:
        """The languages the generator was trained for."""
        return list(self.settings.languages)

    def check_language(self, lang: str) -> None:
        """Raise if this generator cannot write ``lang`` (the base accepts any code its prompt can name)."""
        get_language(lang)

    def fingerprint(self) -> dict[str, Any]:
        """JSON-able description of the generator (for shard manifests)."""
        return {
            "settings": asdict(self.settings),
            "num_parameters": sum(p.numel() for p in self.model.parameters()),
            **({"precision": self.precision} if self.precision != "float32" else {}),
        }

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
        """``{(passage index, lang): [n texts]}`` for one batch; slot ``j`` draws from
        ``derive_seed(seed, docid, lang, j)``. Implemented by each member of the family."""
        raise NotImplementedError

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
        are the same queries). Runs at :attr:`precision` (autocast).

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
            with torch.no_grad(), autocast_context(self.device, self.precision):
                results = self._sample_batch(batch, languages, n, seed, top_k, max_new_tokens)
            for i, passage in enumerate(batch):
                for lang in languages:
                    for slot, text in enumerate(results[(i, lang)]):
                        yield passage.id, lang, slot, text
            if progress is not None:
                progress.update(len(batch))
        if progress is not None:
            progress.close()

    # ------------------------------------------------------------------ training (see xqg.generate.training)
    def configure_training(self, config: Any) -> None:
        """Freeze what ``config`` says stays fixed (called once before training)."""

    def training_mode(self, config: Any) -> None:
        """Put the model in training mode before a step (frozen parts may stay in evaluation mode)."""
        self.model.train()

    def training_batches(
        self, examples: Sequence[Any], batch_size: int, seed: int, epoch: int
    ) -> list[list[int]]:
        """The batches (lists of indices into ``examples``) of one epoch, a pure function of the arguments."""
        raise NotImplementedError

    def training_state(
        self, examples: Sequence[Any], config: Any, show_progress: bool = False, evaluation: bool = False
    ) -> Any:
        """Anything precomputed once for a training (or, with ``evaluation``, an evaluation) run, e.g.
        frozen encoder outputs; passed back to :meth:`batch_loss`."""
        return None

    def batch_loss(self, batch: Sequence[Any], config: Any, state: Any = None) -> torch.Tensor:
        """Mean token cross-entropy of the batch's questions given their passages (teacher forcing)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ fast path
    def quantize_int8(self) -> QueryGenerator:
        """Dynamic int8 quantisation of the transformer layers (CPU inference only), in place."""
        raise ConfigError(f"int8 quantisation is not available for {self.kind} generators; use bfloat16")

    # ------------------------------------------------------------------ files
    def save(self, folder: str | Path) -> Path:
        """Write model (safetensors), tokenizer and settings (and a member's extra files) into ``folder``."""
        if self.int8:
            raise ConfigError("an int8-quantised generator is for inference; save the float32 one")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)
        self._save_extra(folder)
        atomic_write_json(folder / SETTINGS_FILE, asdict(self.settings))
        return folder

    def _save_extra(self, folder: Path) -> None:
        """Files a member of the family keeps beside the model (vocabularies ...)."""

    @classmethod
    def _load_folder(cls, folder: str | Path, settings: GeneratorSettings) -> QueryGenerator:
        raise NotImplementedError

    @classmethod
    def load(cls, folder: str | Path, settings: GeneratorSettings | None = None) -> QueryGenerator:
        """Load a generator folder, or any Hugging Face model (hub id or folder) with ``settings``.

        A folder's ``xqg_generator.json`` names the kind; a folder or hub id without it is a plain
        Hugging Face model: a seq2seq model with the paper's prompt, or a causal LM with its
        passage-first form (the model's config says which).
        """
        path = Path(folder)
        settings_path = path / SETTINGS_FILE
        if settings is None and settings_path.exists():
            try:
                settings = GeneratorSettings(**json.loads(settings_path.read_text(encoding="utf-8")))
            except (ValueError, TypeError) as exc:
                raise InputError(f"bad generator settings: {exc}", path=str(settings_path)) from None
        if settings is None:
            settings = plain_model_settings(folder)
        member = generator_class(settings.kind)
        if cls is not QueryGenerator and not issubclass(member, cls):
            raise ConfigError(f"{folder} holds a {settings.kind} generator, not a {cls.kind} one")
        generator = member._load_folder(folder, settings)
        generator.model.eval()
        return generator


def generator_class(kind: str) -> type[QueryGenerator]:
    """The member of the family for a settings ``kind``.

    Example:
        >>> generator_class("causal").__name__
        'CausalLMGenerator'
    """
    try:
        return QueryGenerator._family[kind]
    except KeyError:
        raise ConfigError(
            f"unknown generator kind {kind!r} (one of {', '.join(sorted(QueryGenerator._family))})"
        ) from None


def plain_model_settings(name_or_path: str | Path) -> GeneratorSettings:
    """Settings for a Hugging Face model without ``xqg_generator.json``: ``seq2seq`` with the paper's
    prompt for an encoder-decoder, ``causal`` with the passage-first prompt for a decoder-only LM, a
    ``.gguf`` file a causal LM."""
    path = Path(name_or_path)
    if path.suffix == ".gguf":
        return GeneratorSettings(kind="causal", prompt=CAUSAL_PROMPT)
    try:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(str(name_or_path))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot load a Hugging Face model from {name_or_path}: {exc}", path=str(name_or_path)
        ) from None
    if getattr(config, "is_encoder_decoder", False):
        return GeneratorSettings(kind="seq2seq")
    return GeneratorSettings(kind="causal", prompt=CAUSAL_PROMPT)
