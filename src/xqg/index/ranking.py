"""Exact top-k ranking: the one place that decides which documents a query gets and in what order.

The rule, everywhere in xqg (in-memory scoring, the sharded search, the loaded index, α sweeps, dev
evaluation during training, hard-negative mining): **score descending, then document id ascending**
(Python string order). A document tied with the ``k``-th score is kept or cut by its id alone, so a
ranking never depends on the order of the corpus, of its shards or of a partition.

* :func:`id_ranks`: each document's position in id order (the tie-break key);
* :func:`tied_candidates`: per row the ``k`` best columns and every column tied with the ``k``-th
  (what a block or a shard must hand on so that a later merge can apply the rule);
* :func:`top_k`: ``(scores, columns)`` of the ``k`` best per row, in rank order;
* :func:`merge_candidates`: candidates of several shards (scores and ids) merged by the rule;
* :func:`rank_scores`: a ``(queries, documents)`` score matrix as a :data:`~xqg.data.records.Run`;
* :func:`dense_search`: exact inner-product search of query vectors over document vectors in memory.

Evaluation re-ranks a run as trec_eval does (score descending, ties by id *descending*,
:func:`xqg.evaluate.rank_documents`); that is the evaluator's convention for scoring a run, not a
retrieval rule, and it only matters for exactly tied scores.

Example:
    >>> run = rank_scores(np.array([[0.1, 0.9, 0.9]]), ["q"], ["c", "b", "a"], k=2)
    >>> list(run["q"])
    ['a', 'b']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xqg.data.records import Run
from xqg.errors import ConfigError, InputError


def id_ranks(doc_ids: Sequence[str]) -> np.ndarray:
    """The position of each document id in ascending id order (the tie-break key of every ranking).

    Example:
        >>> id_ranks(["c", "a", "b"]).tolist()
        [2, 0, 1]
    """
    order = sorted(range(len(doc_ids)), key=lambda i: doc_ids[i])
    ranks = np.empty(len(doc_ids), dtype=np.int64)
    ranks[order] = np.arange(len(doc_ids))
    return ranks


def tied_candidates(scores: np.ndarray, k: int) -> np.ndarray:
    """Columns of each row's ``k`` best scores and of every score tied with the ``k``-th, unordered.

    All rows get the same number of columns (the widest row's count); a narrower row is padded with
    its next best columns, which the final ordering puts after its top ``k``.

    Args:
        scores: ``(rows, columns)`` matrix.
        k: how many each row needs (at least 1).

    Returns:
        ``(rows, width)`` column numbers, ``k <= width <= columns``.

    Example:
        >>> sorted(tied_candidates(np.array([[0.5, 0.9, 0.5, 0.1]]), 2)[0].tolist())
        [0, 1, 2]
    """
    width = scores.shape[1]
    if width <= k:
        return np.broadcast_to(np.arange(width), scores.shape)
    kth = np.partition(scores, width - k, axis=1)[:, width - k : width - k + 1]
    tied = int((scores >= kth).sum(axis=1).max())
    return np.argpartition(scores, width - tied, axis=1)[:, width - tied :]


def top_k(
    scores: np.ndarray, k: int, ranks: np.ndarray, columns: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best entries of each row in rank order (score descending, then id ascending).

    Args:
        scores: ``(rows, n)`` scores; with ``columns``, the scores of those candidates only.
        k: entries kept per row (at most ``n``).
        ranks: the tie-break key of each document (:func:`id_ranks`), indexed by column number.
        columns: ``(rows, n)`` document column of each candidate score (default: ``0..n-1``); a
            merge of candidates from several blocks or shards passes them here.

    Returns:
        ``(scores, columns)``, both ``(rows, min(k, n))``.

    Example:
        >>> s, c = top_k(np.array([[0.25, 0.75, 0.75]]), 2, id_ranks(["x", "z", "y"]))
        >>> c.tolist(), s.tolist()
        ([[2, 1]], [[0.75, 0.75]])
    """
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    scores = np.asarray(scores)
    if columns is None:
        candidates = tied_candidates(scores, k)
        cand_scores = np.take_along_axis(scores, candidates, axis=1)
    else:
        candidates, cand_scores = columns, scores
    # lexsort: the last key is the primary one -> score descending, then id ascending
    order = np.lexsort((ranks[candidates], -cand_scores), axis=1)[:, :k]
    return np.take_along_axis(cand_scores, order, axis=1), np.take_along_axis(candidates, order, axis=1)


def merge_candidates(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` best of candidates gathered from several blocks or shards, in rank order.

    Args:
        scores: ``(rows, width)`` candidate scores.
        ids: ``(rows, width)`` their document ids (an object array of ``str``).
        k: candidates kept per row.

    Returns:
        ``(scores, ids)``, both ``(rows, min(k, width))``.

    Example:
        >>> s, i = merge_candidates(np.array([[1.0, 2.0, 2.0]]), np.array([["a", "c", "b"]], dtype=object), 2)
        >>> i.tolist(), s.tolist()
        ([['b', 'c']], [[2.0, 2.0]])
    """
    if scores.shape[1] == 0 or k < 1:
        return scores[:, :0], ids[:, :0]
    keep = min(k, scores.shape[1])
    # by score alone first: ids decide only rows where two of the best keep + 1 scores are equal
    order = np.argsort(-scores, axis=1, kind="stable")[:, : keep + 1]
    head = np.take_along_axis(scores, order, axis=1)
    tied = (head[:, 1:] == head[:, :-1]).any(axis=1)
    top_scores, top_ids = head[:, :keep].copy(), np.take_along_axis(ids, order[:, :keep], axis=1)
    if tied.any():
        rows = np.flatnonzero(tied)
        names, columns = np.unique(ids[rows].astype(str), return_inverse=True)
        tie_scores, tie_columns = top_k(
            scores[rows], keep, np.arange(len(names)), columns=columns.reshape(len(rows), -1)
        )
        top_scores[rows] = tie_scores
        top_ids[rows] = np.asarray(names.tolist(), dtype=object)[tie_columns]
    return top_scores, top_ids


def rank_scores(scores: np.ndarray, query_ids: Sequence[str], doc_ids: Sequence[str], k: int = 100) -> Run:
    """Turn a ``(queries, docs)`` score matrix into a run of the top ``k`` documents per query.

    Args:
        scores: one row per query, one column per document.
        query_ids: ids of the rows.
        doc_ids: ids of the columns.
        k: depth of the run.

    Returns:
        ``{query_id: {doc_id: score}}``, each query's documents in rank order.

    Raises:
        ValueError: the matrix does not match the ids.

    Example:
        >>> rank_scores(np.array([[1.0, 3.0, 2.0]]), ["q"], ["a", "b", "c"], k=2)
        {'q': {'b': 3.0, 'c': 2.0}}
    """
    if scores.shape != (len(query_ids), len(doc_ids)):
        raise ValueError(f"scores {scores.shape} do not match {len(query_ids)} queries x {len(doc_ids)} docs")
    run: Run = {}
    if not len(doc_ids):
        return {qid: {} for qid in query_ids}
    top_scores, top_cols = top_k(scores, min(k, len(doc_ids)), id_ranks(doc_ids))
    for row, qid in enumerate(query_ids):
        run[qid] = {
            doc_ids[c]: float(s)
            for s, c in zip(top_scores[row].tolist(), top_cols[row].tolist(), strict=True)
        }
    return run


def dense_search(
    query_vectors: np.ndarray,
    query_ids: Sequence[str],
    doc_vectors: np.ndarray,
    doc_ids: Sequence[str],
    k: int = 100,
    chunk: int = 1024,
) -> Run:
    """Exact inner-product top-``k`` of every query over documents held in memory.

    Scores are computed in float32, ``chunk`` queries at a time (bounding the score buffer), and
    ranked by :func:`top_k`'s rule. For corpora on disk use :func:`xqg.index.search`.

    Example:
        >>> dense_search(np.array([[1.0, 0.0]]), ["q"], np.eye(2), ["a", "b"], k=1)
        {'q': {'a': 1.0}}
    """
    q = np.asarray(query_vectors, dtype=np.float32)
    d = np.asarray(doc_vectors, dtype=np.float32)
    if q.shape[0] != len(query_ids) or d.shape[0] != len(doc_ids):
        raise InputError("vectors and ids differ in length")
    run: Run = {}
    for start in range(0, q.shape[0], chunk):
        block = q[start : start + chunk] @ d.T
        run.update(rank_scores(block, query_ids[start : start + chunk], doc_ids, k=k))
    return run
