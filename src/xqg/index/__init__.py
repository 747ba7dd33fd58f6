"""Exact search: over sharded vector folders (FAISS ``IndexFlatIP`` per shard, merged top-k), over
vectors in memory, and the one ranking rule they share (:mod:`xqg.index.ranking`: score descending,
then document id ascending).

Example:
    >>> from xqg.index import search
    >>> run = search(query_vectors, query_ids, "vectors/corpus", k=100)  # doctest: +SKIP
"""

from __future__ import annotations

from xqg.index.exact_search import search, search_by_language, search_to_trec
from xqg.index.ranking import dense_search, id_ranks, merge_candidates, rank_scores, top_k

__all__ = [
    "dense_search",
    "id_ranks",
    "merge_candidates",
    "rank_scores",
    "search",
    "search_by_language",
    "search_to_trec",
    "top_k",
]
