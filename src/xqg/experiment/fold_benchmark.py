"""The fold engine of ``xqg run``: XQuAD and LoCoMo, article-level folds, everything in memory.

For each evaluated fold (nothing trained ever sees the evaluated articles' questions):

1. encoders: zero-shot, or fine-tuned on the train fold (``fine-tuned[:method]``, cached);
2. vectors: the corpus, every real question (for the oracle and the embedding predictor), and the
   test questions under each typo condition (cached per encoder);
3. passage representations: plain, ``+xqg`` (default generator trained on the train fold, n queries
   per passage per language, their query-path embeddings summed per passage and fused),
   ``+xqg-typos`` (the same with each query's misspelled copies),
   ``+predicted`` (fusion without text) and ``+oracle`` (the other real questions: a ceiling);
4. exact search and per-query metrics under every condition, α and number-of-queries curves, into
   a :class:`~xqg.experiment.stages.SystemResults` for the report builder.

Every stage goes through :class:`~xqg.experiment.stages.ExperimentStages` (cached by content).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from xqg.data.folds import fold_split, split_by_articles
from xqg.data.locomo import load_locomo
from xqg.data.records import Passage, Query, RetrievalDataset, passage_text
from xqg.data.xquad import XQUAD_LANGUAGES, available_xquad_languages, load_xquad, load_xquad_contexts
from xqg.errors import ConfigError
from xqg.evaluate.evaluator import evaluate
from xqg.experiment.config_schema import SystemSpec
from xqg.experiment.stages import (
    CLEAN,
    EncodedVectors,
    ExperimentStages,
    SystemResults,
    hash_texts,
    query_conditions,
    split_path,
)
from xqg.fuse.misspelled import misspelled_copies
from xqg.fuse.oracle import oracle_scores_by_language
from xqg.fuse.predictor import QueryEmbeddingPredictor
from xqg.fuse.representation import (
    Representation,
    SlotSums,
    fuse_predictions,
    fuse_slot_sums,
    score_representation,
    slot_sums,
)
from xqg.fuse.sweep import choose_alpha
from xqg.index.ranking import rank_scores
from xqg.precision import resolve_precision
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
            # torch (the generator package): imported when this runs, so that importing this module stays light
            from xqg.generate.examples import examples_from_dataset
            from xqg.generate.recipes import train_default_generator

            training = examples_from_dataset(train, gen_languages)
            extra: list[str] = []
            if self.config.data.dataset == "xquad":
                # the training paragraphs' translations widen the output vocabulary (never the
                # evaluated or the dev articles': only the generator's own training paragraphs)
                contexts = load_xquad_contexts(list(gen_languages))
                extra = [text for p in train.corpus for text in contexts.get(p.id, {}).values()]
            if g.translation_pairs:
                # torch: imported when this runs, so that importing this module stays light
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
            from xqg.generate.loading import load_generator  # torch: only when queries are generated

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
        copies: int = 0,
    ) -> SlotSums:
        """The fold's generated queries as per-language, per-slot cumulative sums (:func:`xqg.fuse.slot_sums`);
        with ``copies``, each query's seeded one-typo copies are summed into its passage, language and slot too."""
        g = self.config.generator
        _, rows, matrix = self.generated_queries(fold, train, corpus, enc_key, enc_path, gen_languages)
        result.generated_samples = rows[: 3 * len(gen_languages) * g.queries_per_language]
        if copies:
            typos = [
                misspelled_copies(r["docid"], r["lang"], int(r["slot"]), r["query"], copies, self.seed)
                for r in rows
            ]
            misspelled = [
                (f"{r['docid']}|{r['lang']}|{r['slot']}|typo{c}", texts[c])
                for c in range(copies)
                for r, texts in zip(rows, typos, strict=True)
            ]
            typo_vectors = self.stages.encode_cached(
                "encode-generated-typos", enc_key, enc_path, misspelled, "query"
            ).matrix
            rows = rows * (1 + copies)
            matrix = np.concatenate([matrix, typo_vectors])
        return slot_sums(rows, matrix, [p.id for p in corpus], gen_languages, g.queries_per_language)

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
        cfg, dataset, result = self.config, ctx.dataset, ctx.result
        primary = ctx.primary

        def evaluate_scores(scores: np.ndarray, queries: Sequence[Query]) -> dict[str, dict[str, float]]:
            run = rank_scores(scores, [q.id for q in queries], ctx.doc_ids, k=100)
            return evaluate(ctx.metrics, run=run, qrels={q.id: dataset.qrels[q.id] for q in queries})

        def mean_primary(scores: np.ndarray, queries: Sequence[Query]) -> float:
            return float(np.mean(list(evaluate_scores(scores, queries)[primary].values())))

        enc_key, enc_path = self.stages.encoder_model(spec, ctx.fold, ctx.train, ctx.corpus)
        passage_key, passage_path = self.stages.passage_model(spec) or (enc_key, enc_path)
        passages = self.stages.encode_cached(
            "encode-corpus",
            passage_key,
            passage_path,
            [(p.id, passage_text(p)) for p in ctx.corpus],
            "passage",
        ).matrix
        # plain passages need only the evaluated questions; fusion (α selection, the predictor,
        # the oracle) needs every question's vector
        encoded = ctx.all_questions if spec.passages != "plain" else ctx.test_queries
        questions = self.stages.encode_cached(
            "encode-questions", enc_key, enc_path, [(q.id, q.text) for q in encoded], "query"
        )
        represent = self._representation(ctx, spec, passages, questions, enc_key, enc_path)
        oracle = self._oracle(ctx, passages, questions) if spec.passages == "oracle" else None

        def scores_at(
            queries: Sequence[Query], vecs: np.ndarray, alpha: float, n: int | None = None
        ) -> np.ndarray:
            if oracle is not None:
                return oracle(queries, vecs, alpha)
            rep = represent(alpha, n) if represent is not None else passages
            return score_representation(vecs, [q.lang for q in queries], rep, passages)

        # α: chosen when a sweep is configured, never on test questions: the oracle on the training
        # articles' questions, +xqg / +predicted on the dev articles the generator did not see
        alpha = cfg.fusion.alpha
        if spec.passages != "plain" and cfg.fusion.alpha_sweep:
            select_queries = ctx.train_queries if spec.passages == "oracle" else ctx.dev_queries
            select_label = (
                "training articles (select α)" if spec.passages == "oracle" else "dev articles (select α)"
            )
            select_vecs = questions.rows([q.id for q in select_queries])
            test_vecs = questions.rows([q.id for q in ctx.test_queries])
            curve_select = [
                mean_primary(scores_at(select_queries, select_vecs, a), select_queries)
                for a in cfg.fusion.alpha_sweep
            ]
            curve_test = [
                mean_primary(scores_at(ctx.test_queries, test_vecs, a), ctx.test_queries)
                for a in cfg.fusion.alpha_sweep
            ]
            alpha = choose_alpha(cfg.fusion.alpha_sweep, curve_select)
            result.alpha_curves[name] = {select_label: curve_select, "test fold": curve_test}
        result.alpha_chosen[name] = alpha
        if spec.passages in ("xqg", "xqg-typos"):
            test_vecs = questions.rows([q.id for q in ctx.test_queries])
            result.n_curve[name] = [
                mean_primary(scores_at(ctx.test_queries, test_vecs, alpha, n), ctx.test_queries)
                for n in range(1, cfg.generator.queries_per_language + 1)
            ]

        result.values[name] = {}
        for condition, protocol, variant in ctx.conditions:
            if condition == CLEAN:
                queries = ctx.test_queries
                vecs = questions.rows([q.id for q in queries])
            else:
                queries = self.stages.typo_queries(ctx.test_queries, protocol, variant)
                # a question the protocol left unchanged keeps its clean vector
                vecs = questions.rows([q.id for q in ctx.test_queries]).copy()
                changed = [
                    i
                    for i, (q, c) in enumerate(zip(queries, ctx.test_queries, strict=True))
                    if q.text != c.text
                ]
                if changed:
                    vecs[changed] = self.stages.encode_cached(
                        "encode-typos",
                        enc_key,
                        enc_path,
                        [(queries[i].id, queries[i].text) for i in changed],
                        "query",
                    ).matrix
            result.values[name][condition] = evaluate_scores(scores_at(queries, vecs, alpha), queries)

    def _representation(
        self,
        ctx: FoldContext,
        spec: SystemSpec,
        passages: np.ndarray,
        questions: EncodedVectors,
        enc_key: str,
        enc_path: str | None,
    ) -> Callable[[float, int | None], Representation] | None:
        """``represent(α, n)``: the system's fused passages at α (``+xqg``: with ``n`` generated
        queries per language, default all), or ``None`` for plain passages and the oracle."""
        cfg, per_language = self.config, self.config.fusion.per_language
        if spec.passages in ("xqg", "xqg-typos"):
            sums = self.generated_sums(
                ctx.fold,
                ctx.generator_train,
                ctx.corpus,
                enc_key,
                enc_path,
                ctx.gen_languages,
                ctx.result,
                copies=cfg.fusion.misspelled_copies if spec.passages == "xqg-typos" else 0,
            )
            n_all = cfg.generator.queries_per_language
            return lambda a, n=None: fuse_slot_sums(
                passages, sums, n or n_all, a, cfg.fusion.mode, per_language
            )
        if spec.passages == "predicted":
            # one (passage, question) pair per relevant passage of each training question
            pairs = [
                (q, d) for q in ctx.generator_train.all_queries() for d in sorted(ctx.dataset.qrels[q.id])
            ]
            predictor = QueryEmbeddingPredictor.fit(
                passages[[ctx.doc_row[d] for _, d in pairs]],
                [q.lang for q, _ in pairs],
                questions.rows([q.id for q, _ in pairs]),
                kind="shared",
            )
            predictions = {lang: predictor.predict(passages, lang) for lang in ctx.gen_languages}
            return lambda a, n=None: fuse_predictions(passages, predictions, a, per_language)
        return None

    def _oracle(
        self, ctx: FoldContext, passages: np.ndarray, questions: EncodedVectors
    ) -> Callable[[Sequence[Query], np.ndarray, float], np.ndarray]:
        """``oracle(queries, vectors, α)``: the perfect generator's scores (:func:`xqg.fuse.oracle_scores_by_language`)."""
        dataset, doc_row, all_questions = ctx.dataset, ctx.doc_row, ctx.all_questions
        # every real question counts once for each of its relevant passages
        pool = [(n, doc_row[d]) for n, q in enumerate(all_questions) for d in sorted(dataset.qrels[q.id])]
        pool_vectors = questions.matrix[[n for n, _ in pool]]
        pool_langs = [all_questions[n].lang for n, _ in pool]
        pool_passages = [row for _, row in pool]
        pool_groups = [question_group(dataset, all_questions[n]) for n, _ in pool]

        def oracle(queries: Sequence[Query], vecs: np.ndarray, alpha: float) -> np.ndarray:
            return oracle_scores_by_language(
                vecs,
                [q.lang for q in queries],
                [[doc_row[d] for d in sorted(dataset.qrels[q.id])] for q in queries],
                [question_group(dataset, q) for q in queries],
                passages,
                pool_vectors,
                pool_langs,
                pool_passages,
                pool_groups,
                alpha,
                per_language=self.config.fusion.per_language,
            )

        return oracle


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
