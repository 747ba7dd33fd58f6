"""Peer of ``xqg search``: a FAISS ``IndexFlatIP`` script over the same files.

Loads every shard (``shard-*/vectors.npy`` + ``ids.txt``) of the index folder into one
``IndexFlatIP`` (``add`` shard by shard), the query vectors likewise, searches the top ``k`` and
writes a TREC run (``qid Q0 docid rank score tag``).

    python benchmarks/peers/faiss_search.py --queries QDIR --index DIR --output run.trec -k 100
"""

from __future__ import annotations

import argparse
from pathlib import Path

import faiss
import numpy as np


def shards(folder: Path):  # noqa: ANN201
    for shard in sorted(folder.glob("shard-*")):
        ids = (shard / "ids.txt").read_text(encoding="utf-8").splitlines()
        yield ids, np.load(shard / "vectors.npy")


def write_trec(path: str, qids: list[str], ids: list[str], scores: np.ndarray, rows: np.ndarray) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for i, qid in enumerate(qids):
            for rank, (row, score) in enumerate(zip(rows[i], scores[i], strict=True), start=1):
                out.write(f"{qid} Q0 {ids[row]} {rank} {score:.6f} faiss\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("-k", type=int, default=100)
    args = parser.parse_args()
    qids, qparts = [], []
    for ids, vectors in shards(Path(args.queries)):
        qids += ids
        qparts.append(vectors)
    queries = np.ascontiguousarray(np.concatenate(qparts), dtype=np.float32)
    doc_ids: list[str] = []
    index = None
    for ids, vectors in shards(Path(args.index)):
        if index is None:
            index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        doc_ids += ids
    scores, rows = index.search(queries, args.k)
    write_trec(args.output, qids, doc_ids, scores, rows)
    print(f"{args.output}: {len(qids)} queries, top {args.k}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
