"""An exact inner-product index held in memory: shards loaded (and verified) once, searched many times.

:func:`xqg.index.search` streams every shard from disk on every call, verifying its checksum: right
for one large batch of queries over an index bigger than memory, slow for many small batches.
:class:`LoadedIndex` reads the shards once (optionally memory-mapped) and answers each call with a
blocked matrix product (queries × a block of documents, BLAS ``sgemm``) and ``argpartition``, so one
pass over the vectors serves a whole query batch; batches of at most ``SMALL_BATCH`` queries (memory
bound) use FAISS's fused scan-and-select (``faiss.knn``) per block, falling back to the matrix path
for a block where ties at rank ``k`` could reach past its candidate margin. Rankings are the same as :func:`xqg.index.search`:
exact scores, equal scores ordered by doc id (``tests/benchmarks`` checks identical doc lists and
scores to 1e-5 against it).

Example:
    >>> import tempfile
    >>> from xqg.distributed import run_sharded, load_vectors
    >>> from xqg.distributed.testing import NumpyVectorTask
    >>> out = tempfile.mkdtemp()
    >>> _ = run_sharded(NumpyVectorTask(dim=4), 10, out, shard_size=3, show_progress=False)
    >>> index = LoadedIndex.open(out)
    >>> ids, vecs = load_vectors(out)
    >>> list(index.search(vecs[:1], ["q0"], k=1)["q0"])
    ['doc-0']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from xqg.data.records import Run
from xqg.distributed import iter_shards
from xqg.errors import ConfigError, InputError
from xqg.index.ranking import id_ranks, tied_candidates, top_k

#: query batches up to this size take the few-queries path (FAISS scan, else matrix-vector products)
SMALL_BATCH = 8
#: extra candidates FAISS returns per block, to prove that no tie at rank k was cut off
TIE_MARGIN = 8

try:  # FAISS's exhaustive k-NN without building an index (a project dependency; optional here)
    from faiss import METRIC_INNER_PRODUCT as faiss_inner_product
    from faiss import knn as faiss_knn
except ImportError:  # pragma: no cover
    faiss_knn = None
    faiss_inner_product = None


class LoadedIndex:
    """Document vectors and ids in memory, searched exactly by blocked matrix products.

    Args:
        ids: one doc id per row.
        vectors: ``(num_docs, dim)`` float32 (a memory map is fine).
        block_rows: documents scored per matrix product (bounds the score buffer to
            ``query_batch × block_rows`` floats).
        query_batch: queries scored together (one pass over the vectors per batch).

    Example:
        >>> index = LoadedIndex(["a", "b", "c"], np.eye(3, dtype=np.float32))
        >>> index.search(np.array([[0.0, 1.0, 0.0]]), ["q"], k=2)["q"]
        {'b': 1.0, 'a': 0.0}
    """

    def __init__(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        block_rows: int = 65536,
        query_batch: int = 256,
    ) -> None:
        if vectors.ndim != 2 or vectors.shape[0] != len(ids):
            raise InputError(f"{len(ids)} ids for vectors of shape {vectors.shape}")
        if len(set(ids)) != len(ids):
            raise InputError("duplicate doc ids in the index")
        if block_rows < 1 or query_batch < 1:
            raise ConfigError("block_rows and query_batch must be >= 1")
        self.ids = np.asarray(list(ids), dtype=object)
        self.vectors = vectors if vectors.dtype == np.float32 else vectors.astype(np.float32)
        self.block_rows = block_rows
        self.query_batch = query_batch
        # tie-break key: position of each doc id in id order (xqg.index.ranking's rule)
        self._id_rank = id_ranks(list(ids))

    @classmethod
    def open(
        cls,
        shard_dir_or_dirs: str | Path | Iterable[str | Path],
        mmap: bool = False,
        verify: str = "remembered",
        **options: int,
    ) -> LoadedIndex:
        """Load every shard of one or more ``xqg encode`` output folders (checksums verified once).

        Args:
            shard_dir_or_dirs: sharded vector folder(s).
            mmap: memory-map the shards instead of reading them into memory (float32 shards only).
            verify: ``"remembered"`` (default), ``"sha256"``, ``"size"`` or ``"none"`` (see
                :func:`xqg.distributed.iter_finished_shards`).
            **options: ``block_rows``, ``query_batch``.

        Example:
            >>> LoadedIndex.open("vectors/corpus")  # doctest: +SKIP
        """

        dirs = (
            [Path(shard_dir_or_dirs)]
            if isinstance(shard_dir_or_dirs, str | Path)
            else list(shard_dir_or_dirs)
        )
        all_ids: list[str] = []
        arrays: list[np.ndarray] = []
        for folder in dirs:
            for ids, vectors in iter_shards(folder, mmap=mmap, verify=verify):
                all_ids.extend(ids)
                arrays.append(vectors)
        if not arrays:
            raise InputError("no vectors found", path=str(dirs[0]) if dirs else None)
        if len({a.shape[1] for a in arrays}) != 1:
            raise InputError("shards have different dimensions", path=str(dirs[0]))
        vectors = arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=0)
        return cls(all_ids, np.asarray(vectors, dtype=np.float32), **options)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self.vectors.shape[1])

    def topk(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` scores and row numbers per query, ordered by score then doc id.

        Args:
            query_vectors: ``(num_queries, dim)``.
            k: results per query (at most the number of documents).

        Returns:
            ``(scores, rows)``, both ``(num_queries, min(k, num_docs))``.

        Example:
            >>> LoadedIndex(["a", "b"], np.eye(2, dtype=np.float32)).topk(np.eye(2), 1)[1].tolist()
            [[0], [1]]
        """
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        queries = np.ascontiguousarray(np.asarray(query_vectors, dtype=np.float32))
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise InputError(f"query vectors of shape {queries.shape} for an index of dimension {self.dim}")
        n = len(self)
        k = min(k, n)
        out_scores = np.empty((queries.shape[0], k), dtype=np.float32)
        out_rows = np.empty((queries.shape[0], k), dtype=np.int64)
        for qs in range(0, queries.shape[0], self.query_batch):
            q = queries[qs : qs + self.query_batch]
            cand_scores: list[np.ndarray] = []
            cand_rows: list[np.ndarray] = []
            for start in range(0, n, self.block_rows):
                block = self.vectors[start : start + self.block_rows]
                found = self._block_topk_faiss(q, block, k) if len(q) <= SMALL_BATCH else None
                if found is not None:
                    scores, rows = found[0], found[1] + start
                else:
                    scores, rows = self._block_topk_numpy(q, block, k)
                    rows = rows + start
                cand_scores.append(scores)
                cand_rows.append(rows)
            scores = np.concatenate(cand_scores, axis=1)
            rows = np.concatenate(cand_rows, axis=1)
            # score descending, then doc id ascending (xqg.index.ranking.top_k)
            out_scores[qs : qs + len(q)], out_rows[qs : qs + len(q)] = top_k(
                scores, k, self._id_rank, columns=rows
            )
        return out_scores, out_rows

    @staticmethod
    def _block_topk_numpy(q: np.ndarray, block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidates of one block: the top ``k`` and every document tied with the ``k``-th score."""
        # few queries: a matrix-vector product over the row-major block streams it best
        scores = np.ascontiguousarray((block @ q.T).T) if len(q) <= SMALL_BATCH else q @ block.T
        part = tied_candidates(scores, k)
        return np.take_along_axis(scores, part, axis=1), part

    @staticmethod
    def _block_topk_faiss(q: np.ndarray, block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """FAISS's fused scan-and-select for a few queries; ``None`` when ties may reach past its margin."""
        if faiss_knn is None or len(block) <= k:
            return None
        take = min(k + TIE_MARGIN, len(block))
        scores, rows = faiss_knn(q, np.ascontiguousarray(block), take, metric=faiss_inner_product)
        # exact only if every document tied with the k-th score was returned
        if take < len(block) and not bool((scores[:, take - 1] < scores[:, k - 1]).all()):
            return None
        return scores, rows.astype(np.int64, copy=False)

    def search(self, query_vectors: np.ndarray, query_ids: Sequence[str], k: int = 100) -> Run:
        """Exact top-``k`` as a run ``{query_id: {doc_id: score}}`` (the format of :func:`xqg.index.search`).

        Example:
            >>> index = LoadedIndex(["x", "y"], np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
            >>> index.search(np.array([[2.0, 1.0]]), ["q"], k=1)
            {'q': {'x': 2.0}}
        """
        if len(query_ids) != len(query_vectors):
            raise InputError(f"{len(query_ids)} query ids for {len(query_vectors)} query vectors")
        scores, rows = self.topk(query_vectors, k)
        run: Run = {}
        for i, qid in enumerate(query_ids):
            run[qid] = {
                self.ids[r]: float(s) for s, r in zip(scores[i].tolist(), rows[i].tolist(), strict=True)
            }
        return run
