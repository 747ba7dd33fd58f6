"""In-memory exact scoring for benchmark-sized corpora, and the oracle ("perfect generator") scores.

The experiment pipeline scores small corpora (XQuAD: 240 paragraphs, about 1,200 sentences)
densely; large corpora go through the sharded index (:mod:`xqg.index`). Both are exact inner
product and break ties by document id, so they give the same rankings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from xqg.data.records import Run
from xqg.fuse.fusion import fuse_vectors


def rank_dense(scores: np.ndarray, query_ids: Sequence[str], doc_ids: Sequence[str], k: int = 100) -> Run:
    """Turn a ``(queries, docs)`` score matrix into a run of the top ``k`` documents per query.

    Ties are broken by document id (ascending), the same rule as the sharded search.

    Args:
        scores: float matrix, one row per query.
        query_ids: ids of the rows.
        doc_ids: ids of the columns.
        k: depth of the run.

    Example:
        >>> run = rank_dense(np.array([[0.1, 0.9, 0.9]]), ["q"], ["c", "b", "a"], k=2)
        >>> list(run["q"])
        ['a', 'b']
    """
    if scores.shape != (len(query_ids), len(doc_ids)):
        raise ValueError(f"scores {scores.shape} do not match {len(query_ids)} queries x {len(doc_ids)} docs")
    order_by_id = np.argsort(np.asarray(doc_ids, dtype=object).astype(str), kind="stable")
    rank_of_id = np.empty(len(doc_ids), dtype=np.int64)
    rank_of_id[order_by_id] = np.arange(len(doc_ids))
    depth = min(k, len(doc_ids))
    run: Run = {}
    for row, qid in enumerate(query_ids):
        s = scores[row]
        # lexsort: last key is primary -> sort by -score, then by doc-id rank
        top = np.lexsort((rank_of_id, -s))[:depth]
        run[qid] = {doc_ids[j]: float(s[j]) for j in top}
    return run


def oracle_scores(
    queries: np.ndarray,
    passages: np.ndarray,
    question_vectors: np.ndarray,
    question_passage: Sequence[int],
    question_group: Sequence[str],
    query_gold: Sequence[int | Sequence[int]],
    query_group: Sequence[str],
    alpha: float,
) -> np.ndarray:
    """Scores of the "perfect generator": each passage fused with the mean of its real questions.

    The evaluated question (its whole group: the same question in every language) is left out of
    the mean of each of its gold passages, so a query never meets itself. A question with several
    relevant passages appears once per passage in ``question_vectors``/``question_passage``.

    Args:
        queries: ``(m, d)`` vectors of the evaluated queries.
        passages: ``(n, d)`` passage vectors.
        question_vectors: ``(t, d)`` vectors of all real questions (every language).
        question_passage: passage row of each real question.
        question_group: group id of each real question (same id across its translations).
        query_gold: gold passage row (or rows) of each evaluated query.
        query_group: group id of each evaluated query.
        alpha: fusion weight on the mean.

    Returns:
        ``(m, n)`` score matrix.
    """
    n, d = passages.shape
    sums = np.zeros((n, d), dtype=np.float64)
    counts = np.zeros(n, dtype=np.float64)
    np.add.at(sums, np.asarray(question_passage), question_vectors.astype(np.float64))
    np.add.at(counts, np.asarray(question_passage), 1.0)
    scores = (queries @ fuse_vectors(passages, sums, counts, alpha, mode="mean").T).astype(np.float64)
    group_sums: dict[tuple[str, int], np.ndarray] = {}
    group_counts: dict[tuple[str, int], int] = {}
    for vec, row, group in zip(question_vectors, question_passage, question_group, strict=True):
        key = (group, int(row))
        group_sums[key] = group_sums.get(key, 0.0) + vec.astype(np.float64)
        group_counts[key] = group_counts.get(key, 0) + 1
    for i, (golds, group) in enumerate(zip(query_gold, query_group, strict=True)):
        for gold in [golds] if isinstance(golds, (int, np.integer)) else golds:
            key = (group, int(gold))
            if key not in group_sums:
                continue
            rest = counts[gold] - group_counts[key]
            if rest <= 0:
                fused = passages[gold]
            else:
                fused = (1.0 - alpha) * passages[gold] + alpha * (sums[gold] - group_sums[key]) / rest
            scores[i, gold] = float(queries[i] @ fused)
    return scores.astype(np.float32)


def per_language(values: Mapping[str, float], query_lang: Mapping[str, str]) -> dict[str, list[float]]:
    """Group per-query values by language."""
    grouped: dict[str, list[float]] = {}
    for qid, value in values.items():
        grouped.setdefault(query_lang[qid], []).append(value)
    return grouped
