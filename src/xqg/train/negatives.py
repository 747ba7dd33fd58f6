"""Hard-negative mining: the passages a model ranks highest that are neither relevant nor answer-bearing."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

import numpy as np

from xqg.data.records import Answers, Passage, Qrels, Query, passage_text
from xqg.index.ranking import id_ranks, top_k
from xqg.train.dev import embed_texts


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def contains_answer(passage: Passage, answers: Sequence[str]) -> bool:
    """Whether the passage text (or title) contains any answer string (NFKC, case-folded).

    Example:
        >>> contains_answer(Passage("d", "Paris is the capital"), ["paris"])
        True
    """
    text = _normalise(passage_text(passage))
    return any(a.strip() and _normalise(a.strip()) in text for a in answers)


def mine_hard_negatives(
    model,
    queries: Sequence[Query],
    corpus: Sequence[Passage],
    qrels: Qrels,
    answers: Answers | None = None,
    num_negatives: int = 30,
    depth: int = 100,
    skip_top: int = 0,
    batch_size: int = 64,
    show_progress: bool = False,
    passage_vectors: np.ndarray | None = None,
) -> dict[str, list[str]]:
    """Rank the corpus for each query with ``model`` and keep the best non-relevant passages.

    A passage is skipped when it is judged relevant to the query, or (with ``answers``) contains one of
    the query's answer strings: such passages are likely unjudged positives (false negatives).

    Args:
        model: an encoder with ``embed(texts, kind)``.
        queries: the training queries.
        corpus: the passages to mine from (encoded in memory; pass ``passage_vectors`` to reuse).
        qrels: ``{qid: {docid: rel}}``; rel > 0 = positive.
        answers: ``{qid: [answer, ...]}``; optional.
        num_negatives: negatives kept per query (best first).
        depth: how many top passages are looked at per query.
        skip_top: ignore the first ``skip_top`` non-relevant passages (to avoid unjudged positives).
        batch_size: encoding batch size.
        show_progress: unused for in-memory corpora (kept for the CLI's interface).
        passage_vectors: precomputed (len(corpus), d) passage embeddings.

    Returns:
        ``{query_id: [docid, ...]}`` (a query may get fewer than ``num_negatives``).

    Example:
        >>> from xqg.train.testing import tiny_hash_encoder
        >>> corpus = [Passage("a", "cats"), Passage("b", "dogs"), Passage("c", "cats and dogs")]
        >>> mine_hard_negatives(tiny_hash_encoder(), [Query("q", "cats", "en")], corpus,
        ...     {"q": {"a": 1}}, {"q": ["dogs"]}, num_negatives=2)
        {'q': []}
    """
    del show_progress
    if passage_vectors is None:
        passage_vectors = embed_texts(model, [passage_text(p) for p in corpus], "passage", batch_size)
    query_vectors = embed_texts(model, [q.text for q in queries], "query", batch_size)
    depth = min(depth, len(corpus))
    ranks = id_ranks([p.id for p in corpus])
    result: dict[str, list[str]] = {}
    for start in range(0, len(queries), 1024):
        scores = query_vectors[start : start + 1024] @ passage_vectors.T
        _, top = top_k(scores, depth, ranks)  # score descending, then passage id (xqg.index.ranking)
        for row, query in enumerate(queries[start : start + 1024]):
            order = top[row]
            relevant = {d for d, rel in qrels.get(query.id, {}).items() if rel > 0}
            golden = (answers or {}).get(query.id, [])
            kept: list[str] = []
            skipped = 0
            for j in order:
                passage = corpus[int(j)]
                if passage.id in relevant or (golden and contains_answer(passage, golden)):
                    continue
                if skipped < skip_top:
                    skipped += 1
                    continue
                kept.append(passage.id)
                if len(kept) == num_negatives:
                    break
            result[query.id] = kept
    return result


def negatives_by_query(mined: Mapping[str, list[str]], queries: Sequence[Query]) -> dict[str, list[str]]:
    """Keep the mined lists of the given queries only (helper for fold splits)."""
    ids = {q.id for q in queries}
    return {qid: docs for qid, docs in mined.items() if qid in ids}
