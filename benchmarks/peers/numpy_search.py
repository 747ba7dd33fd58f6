"""Peer of ``xqg search``: a numpy script over the same files.

Loads and concatenates every shard (``shard-*/vectors.npy`` + ``ids.txt``) and the query vectors,
scores with one matrix product, keeps the top ``k`` by ``argpartition`` + ``argsort`` and writes a
TREC run (``qid Q0 docid rank score tag``).

    python benchmarks/peers/numpy_search.py --queries QDIR --index DIR --output run.trec -k 100
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def load(folder: Path) -> tuple[list[str], np.ndarray]:
    ids: list[str] = []
    parts = []
    for shard in sorted(folder.glob("shard-*")):
        ids += (shard / "ids.txt").read_text(encoding="utf-8").splitlines()
        parts.append(np.load(shard / "vectors.npy"))
    return ids, np.concatenate(parts).astype(np.float32, copy=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("-k", type=int, default=100)
    args = parser.parse_args()
    qids, queries = load(Path(args.queries))
    doc_ids, vectors = load(Path(args.index))
    k = args.k
    with open(args.output, "w", encoding="utf-8") as out:
        for start in range(0, len(qids), 256):  # bounded score matrix: 256 queries at a time
            scores = queries[start : start + 256] @ vectors.T
            part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            top = np.take_along_axis(scores, part, axis=1)
            order = np.argsort(-top, axis=1)
            for i in range(len(part)):
                for rank, j in enumerate(order[i], start=1):
                    out.write(f"{qids[start + i]} Q0 {doc_ids[part[i, j]]} {rank} {top[i, j]:.6f} numpy\n")
    print(f"{args.output}: {len(qids)} queries, top {k}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
