"""The oracle ("perfect generator"): passages fused with their real questions, the evaluated one left out.

design.md §1: each passage is fused (mean mode) with the mean of the real questions that have it as
a relevant passage, in every language, and the evaluated question (its whole group: the same
question in every language) is left out of its own gold passages' means, so a query never meets
itself. It is the ceiling of fusion with a generator that writes exactly what users ask.

* :func:`oracle_scores`: the ``(queries, passages)`` scores for one pool of real questions;
* :func:`oracle_scores_by_language`: the same with ``per_language`` fusion (each query meets passages
  fused with its own language's questions only), as ``xqg run`` scores ``+oracle``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xqg.fuse.fusion import fuse_vectors


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


def oracle_scores_by_language(
    queries: np.ndarray,
    query_langs: Sequence[str],
    query_gold: Sequence[Sequence[int]],
    query_group: Sequence[str],
    passages: np.ndarray,
    question_vectors: np.ndarray,
    question_langs: Sequence[str],
    question_passage: Sequence[int],
    question_group: Sequence[str],
    alpha: float,
    per_language: bool = False,
) -> np.ndarray:
    """:func:`oracle_scores` over all real questions, or with ``per_language`` one pool per query language.

    Args:
        queries, query_gold, query_group, passages, question_vectors, question_passage,
            question_group, alpha: as for :func:`oracle_scores`.
        query_langs: the language of each evaluated query.
        question_langs: the language of each real question.
        per_language: each query meets passages fused with the questions of its own language only.

    Returns:
        ``(m, n)`` float32 scores.

    Example:
        >>> p = np.eye(2, dtype=np.float32); q = np.array([[0.0, 1.0]], dtype=np.float32)
        >>> s = oracle_scores_by_language(q, ["de"], [[1]], ["x"], p, q, ["de"], [0], ["y"], 0.5, True)
        >>> s.round(2).tolist()
        [[0.5, 0.5]]
    """
    groups = sorted(set(query_langs)) if per_language else [None]
    scores = np.empty((len(queries), len(passages)), dtype=np.float32)
    for lang in groups:
        rows = [i for i, q_lang in enumerate(query_langs) if lang is None or q_lang == lang]
        keep = [k for k, q_lang in enumerate(question_langs) if lang is None or q_lang == lang]
        scores[rows] = oracle_scores(
            queries[rows],
            passages,
            question_vectors[keep],
            [question_passage[k] for k in keep],
            [question_group[k] for k in keep],
            [query_gold[i] for i in rows],
            [query_group[i] for i in rows],
            alpha,
        )
    return scores
