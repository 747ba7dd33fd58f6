"""The fold engine of ``xqg run``: XQuAD and LoCoMo, article-level folds, everything in memory.

For each evaluated fold (nothing trained ever sees the evaluated articles' questions):

1. encoders: zero-shot, or fine-tuned on the train fold (``fine-tuned[:method]``, cached);
2. vectors: the corpus, every real question (for the oracle and the embedding predictor), and the
   test questions under each typo condition (cached per encoder);
3. passage representations: plain, ``+xqg`` (default generator trained on the train fold, n queries
   per passage per language, their query-path embeddings summed per passage and fused),
   ``+predicted`` (fusion without text) and ``+oracle`` (the other real questions: a ceiling);
4. exact search and per-query metrics under every condition, α and number-of-queries curves, into
   a :class:`~xqg.experiment.stages.SystemResults` for the report builder.

Every stage goes through :class:`~xqg.experiment.stages.ExperimentStages` (cached by content).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from xqg.data.folds import fold_split, split_by_articles
from xqg.data.locomo import load_locomo
from xqg.data.records import Passage, Query, RetrievalDataset, passage_text
from xqg.data.xquad import XQUAD_LANGUAGES, available_xquad_languages, load_xquad
from xqg.errors import ConfigError
from xqg.evaluate.evaluator import evaluate
from xqg.experiment.config import SystemSpec
from xqg.experiment.scoring import oracle_scores, rank_dense
from xqg.experiment.stages import (
    CLEAN,
    ExperimentStages,
    SystemResults,
    hash_texts,
    query_conditions,
    split_path,
)
from xqg.fuse.fusion import fuse_vectors
from xqg.fuse.predictor import QueryEmbeddingPredictor
from xqg.seeding import derive_seed

logger = logging.getLogger(__name__)


@dataclass
class FoldContext:
    """One fold as its systems see it (:meth:`FoldBenchmark.fold_context`): the training split,
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
    result: SystemResults


class FoldBenchmark:
    """Every system of a fold experiment (XQuAD, LoCoMo) on each evaluated fold.

    Args:
        stages: the run's :class:`~xqg.experiment.stages.ExperimentStages` (cache, encoders, timings).

    Example:
        >>> bench = FoldBenchmark(ExperimentStages(config))  # doctest: +SKIP
        >>> dataset, languages = bench.load_dataset()  # doctest: +SKIP
        >>> result = bench.run_fold(0, dataset, languages)  # doctest: +SKIP
    """

    def __init__(self, stages: ExperimentStages) -> None:
        self.stages = stages
        self.config = stages.config
        self.seed = stages.seed
        self.device = stages.device

    def load_dataset(self) -> tuple[RetrievalDataset, list[str]]:
        """The configured dataset with ``meta["article"]`` on every passage (the unit of the folds),
        and the evaluated query languages."""
        data = self.config.data
        if data.dataset == "xquad":
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
            if data.level != "paragraph":
                raise ConfigError("[data] level 'sentence' is an XQuAD option; LoCoMo's unit is the turn")
            # a conversation is the fold unit: its questions share its people, places and events
            dataset = with_articles(load_locomo(**split_path(data.path)), "conversation")
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
        self.stages.use_full_dataset(dataset)
        articles = article_labels(dataset)
        if data.num_folds > len(articles):
            raise ConfigError(
                f"[data] num_folds = {data.num_folds}, but {data.dataset} has only {len(articles)} "
                "articles/conversations to split into folds"
            )
        return dataset, languages

    def dev_articles(self, train_articles: Sequence[int], fold: int) -> list[int]:
        """A seeded ``dev_fraction`` of a fold's training articles (at least one)."""
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
        ``{docid, lang, slot, query}`` for ``corpus``, and their query vectors (one row each); every
        step cached as a stage."""
        g = self.config.generator
        gen_settings = {
            "fold": fold,
            "recipe": g.recipe,
            "steps": g.steps,
            **({"epochs": g.epochs} if g.epochs else {}),
            "model": g.model,
            "languages": list(gen_languages),
            "seed": self.seed,
            "data": self.stages.fold_data_settings(),
            "train_questions": hash_texts([(q.id, q.text) for q in train.all_queries()]),
            **({"translation_pairs": True} if g.translation_pairs else {}),
        }

        def build_generator(out: Path) -> None:
            from xqg.generate.examples import examples_from_dataset
            from xqg.generate.recipes import train_default_generator

            training = examples_from_dataset(train, gen_languages)
            extra: list[str] = []
            if self.config.data.dataset == "xquad":
                from xqg.data.xquad import load_xquad_contexts

                # the training paragraphs' translations widen the output vocabulary (never the
                # evaluated or the dev articles': only the generator's own training paragraphs)
                contexts = load_xquad_contexts(list(gen_languages))
                extra = [text for p in train.corpus for text in contexts.get(p.id, {}).values()]
            if g.translation_pairs:
                from xqg.generate.parallel import xquad_translation_examples

                pairs = xquad_translation_examples(train, list(gen_languages))
                logger.info("generator: %d translation pairs from the training paragraphs", len(pairs))
                training = training + pairs
            train_default_generator(
                training,
                out / "generator",
                recipe=g.recipe,
                languages=gen_languages,
                seed=self.seed,
                base=None if g.model == "default" else g.model,
                vocabulary_extra=extra,
                show_progress=True,
                device=self.device,
                **({"steps": g.steps, "epochs": 0.0} if g.steps else {}),
                **({"epochs": g.epochs} if g.epochs else {}),
            )

        # resumable: an interrupted run continues from the generator's last checkpoint
        gen_key, gen_path = self.stages.run_stage(
            "train-generator", gen_settings, build_generator, resumable=True
        )
        from xqg.precision import resolve_precision

        precision = resolve_precision(g.precision, self.device)
        settings = {
            "n": g.queries_per_language,
            "top_k": g.top_k,
            "max_new_tokens": g.max_new_tokens,
            "seed": self.seed,
            "corpus": hash_texts([(p.id, p.text) for p in corpus]),
            **({"precision": precision} if precision != "float32" else {}),
        }

        def build_queries(out: Path) -> None:
            from xqg.generate.loading import load_generator

            generator = load_generator(gen_path / "generator", device=self.device, precision=precision)
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
                            {"docid": docid, "lang": lang, "slot": slot, "query": text}, ensure_ascii=False
                        )
                        + "\n"
                    )

        q_key, q_path = self.stages.run_stage("generate", settings, build_queries, {"generator": gen_key})
        rows = [
            json.loads(line) for line in (q_path / "generated.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        items = [(f"{r['docid']}|{r['lang']}|{r['slot']}", r["query"]) for r in rows]
        vectors = self.stages.encode_cached("encode-generated", enc_key, enc_path, items, "query")
        return gen_path / "generator", rows, vectors.matrix

    def generated_sums(
        self,
        fold: int,
        train: RetrievalDataset,
        corpus: Sequence[Passage],
        enc_key: str,
        enc_path: str | None,
        gen_languages: Sequence[str],
        result: SystemResults,
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
    def run_fold(self, fold: int, dataset: RetrievalDataset, languages: Sequence[str]) -> SystemResults:
        """Run every system and condition on one fold."""
        ctx = self.fold_context(fold, dataset, languages)
        for name, spec in self.config.system_specs.items():
            self.run_system(ctx, name, spec)
        return ctx.result

    def fold_context(self, fold: int, dataset: RetrievalDataset, languages: Sequence[str]) -> FoldContext:
        """The splits, queries and settings of one fold (training, generator-training, dev and test
        articles; the evaluated queries in ``languages``), as every system of the fold sees them."""
        cfg = self.config
        labels = article_labels(dataset)
        train_articles, test_articles = fold_split(
            cfg.data.num_folds, fold, seed=cfg.data.fold_seed, num_articles=len(labels)
        )
        train = split_by_articles(dataset, [labels[a] for a in train_articles])
        test = split_by_articles(dataset, [labels[a] for a in test_articles])
        # With an α sweep, the generator and the predictor do not see some training articles: α is
        # chosen on those articles' questions (see FusionSection).
        dev_articles = self.dev_articles(train_articles, fold) if cfg.fusion.alpha_sweep else []
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
        result = SystemResults()
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

    def run_system(self, ctx: FoldContext, name: str, spec: SystemSpec) -> None:
        """Evaluate one system under every condition of a fold, writing into ``ctx.result``."""
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

        enc_key, enc_path = self.stages.encoder_model(spec, fold, train, corpus)
        passage_key, passage_path = self.stages.passage_model(spec) or (enc_key, enc_path)
        passages = self.stages.encode_cached(
            "encode-corpus", passage_key, passage_path, [(p.id, passage_text(p)) for p in corpus], "passage"
        ).matrix
        # plain passages need only the evaluated questions; fusion (α selection, the predictor,
        # the oracle) needs every question's vector
        encoded = all_questions if spec.passages != "plain" else test_queries
        questions = self.stages.encode_cached(
            "encode-questions", enc_key, enc_path, [(q.id, q.text) for q in encoded], "query"
        )
        # the passage representation of this system: one matrix, or one per query language
        alpha = cfg.fusion.alpha
        per_language = cfg.fusion.per_language
        fused: Representation = passages
        if spec.passages == "xqg":
            by_lang = self.generated_sums(
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
        oracle_rows = (
            [(n, doc_row[d]) for n, q in enumerate(all_questions) for d in sorted(dataset.qrels[q.id])]
            if spec.passages == "oracle"
            else []
        )
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
                    [question_group(dataset, all_questions[oracle_rows[k][0]]) for k in keep],
                    [[doc_row[d] for d in sorted(dataset.qrels[queries[i].id])] for i in rows],
                    [question_group(dataset, queries[i]) for i in rows],
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
                        scores = score_representation(queries, vecs, represent(a), passages)
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
                                score_representation(test_queries, test_vecs, represent(alpha, n), passages),
                                test_queries,
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
                queries = self.stages.typo_queries(test_queries, protocol, variant)
                # a question the protocol left unchanged keeps its clean vector
                vecs = questions.rows([q.id for q in test_queries]).copy()
                changed = [
                    i for i, (q, c) in enumerate(zip(queries, test_queries, strict=True)) if q.text != c.text
                ]
                if changed:
                    vecs[changed] = self.stages.encode_cached(
                        "encode-typos",
                        enc_key,
                        enc_path,
                        [(queries[i].id, queries[i].text) for i in changed],
                        "query",
                    ).matrix
            if spec.passages == "oracle":
                scores = oracle(queries, vecs, alpha)
            else:
                scores = score_representation(queries, vecs, fused, passages)
            result.values[name][condition] = score_eval(scores, queries)


Representation = np.ndarray | dict[str, np.ndarray]
"""Passage vectors: one matrix for every query, or one per query language (``[fusion] per_language``)."""


def score_representation(
    queries: Sequence[Query], vecs: np.ndarray, rep: Representation, plain: np.ndarray
) -> np.ndarray:
    """Inner products of query vectors with a representation (a language without a matrix of its
    own, e.g. one the generator does not write, meets the plain passage vectors)."""
    if isinstance(rep, np.ndarray):
        return vecs @ rep.T
    scores = np.empty((len(queries), plain.shape[0]), dtype=np.float32)
    for lang in sorted({q.lang for q in queries}):
        rows = [i for i, q in enumerate(queries) if q.lang == lang]
        scores[rows] = vecs[rows] @ rep.get(lang, plain).T
    return scores


def article_labels(dataset: RetrievalDataset) -> list[str]:
    """The fold units (``meta["article"]``) of a dataset, numbers in numeric order (XQuAD's 0..47)."""
    labels = {p.meta.get("article") for p in dataset.corpus}
    if None in labels:
        raise ConfigError(f"{dataset.name}: a passage has no meta['article'], the unit of the folds")
    return sorted((str(a) for a in labels), key=lambda a: (0, int(a), "") if a.isdigit() else (1, 0, a))


def with_articles(dataset: RetrievalDataset, key: str) -> RetrievalDataset:
    """A copy of ``dataset`` whose passages carry ``meta["article"] = meta[key]``."""
    corpus = [replace(p, meta={**p.meta, "article": str(p.meta[key])}) for p in dataset.corpus]
    return replace(dataset, corpus=corpus)


def question_group(dataset: RetrievalDataset, query: Query) -> str:
    """What the oracle leaves out with an evaluated question: in XQuAD the same question in every
    language (ids ``{squad_id}/{lang}``), elsewhere the question itself."""
    return query.id.split("/")[0] if dataset.name == "xquad" else query.id
