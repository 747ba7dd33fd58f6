"""Exact search over sharded vector folders (FAISS ``IndexFlatIP`` per shard, merged top-k).

Example:
    >>> from xqg.index import search
    >>> run = search(query_vectors, query_ids, "vectors/corpus", k=100)  # doctest: +SKIP
"""

from __future__ import annotations

from xqg.index.exact_search import search, search_by_language, search_to_trec

__all__ = ["search", "search_by_language", "search_to_trec"]
