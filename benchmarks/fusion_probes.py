"""Can the embedded generator's queries be made to help fusion? Three cheap probes on one XQuAD fold.

Given an ``xqg run`` experiment whose generator and generated queries are in the stage cache (default:
``configs/xquad_translation_generator.toml``, the ``long`` recipe with translation pairs), each
English paragraph is fused (mean mode) with

* **sampled** — its generated queries as ``xqg run`` fuses them (n per language, top-k sampling);
* **round trip ≤ r** — only the sampled queries that retrieve their own paragraph at rank ≤ r among
  the corpus (consistency filtering, as PAQ and Promptagator filter generated questions), r = 1, 3;
  a paragraph left without a query keeps E(p);
* **greedy** — one query per language decoded greedily (top-k = 1): the generator's most likely
  question instead of samples;
* **sentence translations** — the generator's greedy output for each sentence of the paragraph (it
  was trained on sentence translation pairs): a pseudo-translation of the paragraph into each language;

each fused into one matrix (the paper's) and into one matrix per query language. α is chosen on the
dev articles' questions (never seen by the generator) and reported on the test fold, with the paired
randomisation test against zero-shot.

    XQG_DATA_MIRROR=/work/shared/data .venv/bin/python benchmarks/fusion_probes.py \
        --config configs/xquad_translation_generator.toml --fold 0

Without the cached stages it trains the generator first (about 25 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def fused_matrices(
    passages: np.ndarray,
    vectors: np.ndarray,
    rows: np.ndarray,
    langs: np.ndarray,
    alpha: float,
    per_language: bool,
) -> np.ndarray | dict[str, np.ndarray]:
    """``(1 − α) E(p) + α · mean E(q)`` over the queries ``vectors`` of passage rows ``rows`` (E(p) where a
    passage has none), one matrix, or one per language of ``langs``."""

    def fuse(mask: np.ndarray) -> np.ndarray:
        sums = np.zeros(passages.shape, dtype=np.float64)
        counts = np.zeros(len(passages))
        np.add.at(sums, rows[mask], vectors[mask])
        np.add.at(counts, rows[mask], 1)
        mean = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], passages)
        return ((1 - alpha) * passages + alpha * mean).astype(np.float32)

    if per_language:
        return {lang: fuse(langs == lang) for lang in sorted(set(langs.tolist()))}
    return fuse(np.ones(len(rows), dtype=bool))


def success_at_1(
    queries: Sequence[Any],
    vecs: np.ndarray,
    rep: np.ndarray | dict[str, np.ndarray],
    doc_ids: Sequence[str],
    qrels: dict[str, dict[str, int]],
    passages: np.ndarray,
) -> dict[str, float]:
    """Per-query Success@1 of ``rep`` (one matrix, or one per query language, scored as ``xqg run``
    scores them; ``passages`` for a language without a matrix), through ``xqg.evaluate``."""
    from xqg.evaluate.evaluator import evaluate
    from xqg.fuse import score_representation
    from xqg.index import rank_scores

    run = rank_scores(
        score_representation(vecs, [q.lang for q in queries], rep, passages),
        [q.id for q in queries],
        doc_ids,
        k=10,
    )
    return evaluate(["Success@1"], run=run, qrels={q.id: qrels[q.id] for q in queries})["Success@1"]


def macro(values: dict[str, float], queries: Sequence[Any]) -> float:
    """Mean over languages of the per-language mean (×100)."""
    by_lang: dict[str, list[float]] = {}
    for q in queries:
        by_lang.setdefault(q.lang, []).append(values[q.id])
    return 100 * float(np.mean([np.mean(v) for v in by_lang.values()]))


def greedy_rows(
    generator_dir: Path, items: Sequence[Any], languages: Sequence[str], path: Path
) -> list[dict]:
    """Greedy outputs (top-k 1, one per language) for ``items``, kept in ``path`` (JSONL) once written."""
    if path.exists():
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    from xqg.data.atomic import atomic_write_text
    from xqg.generate import QueryGenerator

    generator = QueryGenerator.load(generator_dir)
    out = [
        {"docid": docid, "lang": lang, "slot": slot, "query": text}
        for docid, lang, slot, text in generator.generate(
            list(items), list(languages), n=1, seed=0, top_k=1, max_new_tokens=48, show_progress=True
        )
    ]
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default="configs/xquad_translation_generator.toml")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--permutations", type=int, default=2000)
    parser.add_argument("--output", default="runs/fusion-probes")
    args = parser.parse_args(argv)

    from _common import markdown_table, set_data_mirror

    set_data_mirror()
    from xqg.data.records import Passage, passage_text
    from xqg.evaluate.significance import compare_per_query
    from xqg.experiment.config import load_config, parse_system
    from xqg.experiment.fold_benchmark import FoldBenchmark
    from xqg.experiment.stages import ExperimentStages
    from xqg.generate.parallel import split_parallel_sentences

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    config = load_config(args.config)
    stages = ExperimentStages(config)
    bench = FoldBenchmark(stages)
    dataset, languages = bench.load_dataset()
    ctx = bench.fold_context(args.fold, dataset, languages)
    enc_key, enc_path = stages.encoder_model(parse_system("zero-shot"), args.fold, ctx.train, ctx.corpus)
    passages = stages.encode_cached(
        "encode-corpus", enc_key, enc_path, [(p.id, passage_text(p)) for p in ctx.corpus], "passage"
    ).matrix
    questions = stages.encode_cached(
        "encode-questions", enc_key, enc_path, [(q.id, q.text) for q in ctx.all_questions], "query"
    )
    gen_dir, sampled, sampled_vectors = bench.generated_queries(
        args.fold, ctx.generator_train, ctx.corpus, enc_key, enc_path, ctx.gen_languages
    )
    doc_row = ctx.doc_row

    def variant(rows: list[dict], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        docs = np.array([doc_row[r["docid"].split("#s")[0]] for r in rows])
        return vectors, docs, np.array([r["lang"] for r in rows])

    def encode_rows(rows: list[dict]) -> np.ndarray:
        items = [(f"{r['docid']}|{r['lang']}|{r['slot']}", r["query"]) for r in rows]
        return stages.encode_cached("encode-generated", enc_key, enc_path, items, "query").matrix

    variants: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    variants["sampled"] = variant(sampled, sampled_vectors)
    vecs, docs, langs = variants["sampled"]
    scores = vecs @ passages.T
    rank = (scores > scores[np.arange(len(docs)), docs][:, None]).sum(axis=1)  # 0 = own paragraph first
    for r in (1, 3):
        keep = rank < r
        variants[f"round trip ≤ {r}"] = (vecs[keep], docs[keep], langs[keep])
    greedy = greedy_rows(gen_dir, ctx.corpus, ctx.gen_languages, out / "greedy.jsonl")
    variants["greedy (top-k 1)"] = variant(greedy, encode_rows(greedy))
    sentences = [
        Passage(f"{p.id}#s{i}", s)
        for p in ctx.corpus
        for i, s in enumerate(split_parallel_sentences(p.text))
        if len(s) >= 12
    ]
    translated = greedy_rows(gen_dir, sentences, ctx.gen_languages, out / "sentences.jsonl")
    variants["sentence translations"] = variant(translated, encode_rows(translated))

    qrels = dataset.qrels
    dev_vecs = questions.rows([q.id for q in ctx.dev_queries])
    test_vecs = questions.rows([q.id for q in ctx.test_queries])
    base_test = success_at_1(ctx.test_queries, test_vecs, passages, ctx.doc_ids, qrels, passages)
    base_dev = success_at_1(ctx.dev_queries, dev_vecs, passages, ctx.doc_ids, qrels, passages)
    query_lang = {q.id: q.lang for q in ctx.test_queries}
    alphas = [a for a in config.fusion.alpha_sweep if a > 0] or [0.05, 0.1, 0.2, 0.3, 0.5]
    table, results = (
        [],
        {"zero-shot": {"dev": macro(base_dev, ctx.dev_queries), "test": macro(base_test, ctx.test_queries)}},
    )
    for name, (vecs, docs, langs) in variants.items():
        for per_language in (False, True):
            dev_curve, test_curve, per_query = (
                [macro(base_dev, ctx.dev_queries)],
                [macro(base_test, ctx.test_queries)],
                [base_test],
            )
            for alpha in alphas:
                rep = fused_matrices(passages, vecs, docs, langs, alpha, per_language)
                dev_curve.append(
                    macro(
                        success_at_1(ctx.dev_queries, dev_vecs, rep, ctx.doc_ids, qrels, passages),
                        ctx.dev_queries,
                    )
                )
                values = success_at_1(ctx.test_queries, test_vecs, rep, ctx.doc_ids, qrels, passages)
                per_query.append(values)
                test_curve.append(macro(values, ctx.test_queries))
            best = int(np.argmax(dev_curve))
            grid = [0.0, *alphas]
            pvalue = 1.0
            if best > 0:
                pvalue = compare_per_query(
                    per_query[best],
                    base_test,
                    query_lang,
                    test="randomisation",
                    num_permutations=args.permutations,
                    seed=0,
                )["avg"].pvalue
            label = "per language" if per_language else "mixed"
            results[f"{name} / {label}"] = {
                "queries": int(len(vecs)),
                "alphas": grid,
                "dev": dev_curve,
                "test": test_curve,
                "alpha": grid[best],
                "test_at_alpha": test_curve[best],
                "p": pvalue,
            }
            table.append(
                [
                    name,
                    label,
                    len(vecs),
                    " / ".join(f"{v:.1f}" for v in dev_curve),
                    " / ".join(f"{v:.1f}" for v in test_curve),
                    f"{grid[best]:g}",
                    f"{test_curve[best]:.1f}",
                    f"{test_curve[best] - test_curve[0]:+.1f}",
                    "–" if best == 0 else f"{pvalue:.3f}",
                ]
            )
            print(table[-1], flush=True)
    header = [
        "queries fused",
        "fusion",
        "queries",
        f"dev S@1, α = 0 / {' / '.join(f'{a:g}' for a in alphas)}",
        "test S@1, same α",
        "α chosen on dev",
        "test S@1 at α",
        "vs zero-shot",
        "p (randomisation)",
    ]
    report = markdown_table(header, table)
    print(report)
    (out / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    (out / "results.md").write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
