"""Exact top-k from a reduced-precision matrix product: a shortlist bounded by the product's rounding error.

A ``bfloat16`` product of queries and documents costs a fraction of the ``float32`` one (on a CPU with
``avx512_bf16`` one ``vdpbf16ps`` does the work of two fused multiply-adds, and the vectors move at half
the bytes), but its scores are only accurate to about 1 % and would reorder documents. Here it only
*shortlists*: a document becomes a candidate when its reduced-precision score, widened by a proven bound
of the rounding error, could still reach the running ``keep``-th best **exact** score; candidates are
re-scored in float32 from the documents' own vectors. No document of the float32 top ``keep`` can be
left out, so the result is the float32 search's whatever the data; scores are float32 dot products, as
a float32 search computes them up to the order of its additions (a few units in the last place apart:
only documents whose scores are that close can change places). The data decide only how many
candidates are re-scored.

The bound (:func:`product_error_bound`). With unit roundoff ``u`` of the reduced precision (``2**-8``
for bfloat16, ``2**-11`` for float16) each rounded coordinate is ``x (1 + d)`` with ``|d| <= u``, so

* rounding the inputs moves ``q.p`` by at most ``(2u + u**2) * sum |q_i p_i| <= (2u + u**2) |q| |p|``;
* the float32 accumulation over ``dim`` terms adds at most ``gamma_dim (1 + u)**2 |q| |p|`` with
  ``gamma_n = n 2**-24 / (1 - n 2**-24)``;
* rounding the result ``x`` to the reduced precision adds ``|x| u``, at most ``|s| u / (1 - u)`` for the
  rounded score ``s``, which :func:`candidate_threshold` applies per score;
* values below the normal range (float16's subnormals, from ``6.1e-5`` down) round with an absolute
  error of half the subnormal spacing ``eta``: ``eta / 2 (sqrt(dim) (|q| + (1 + u) |p|) + 1)`` more.
  float16 products need coordinates below 65504 (checked).

Sentence embeddings share a large common component (multilingual-e5's unrelated texts have cosines
around 0.75), and the rounding errs in proportion to the vectors' norms; so a center ``c`` (the mean of
the first block's first rows) is taken out of every document before rounding, ``q.p = q.(p - c) + q.c``,
the product rounds ``q.(p - c)`` and ``q.c`` is added back in float64. ``|p|`` above is then the largest
``|p - c|`` in the block (the float32 subtraction adds ``2**-24 |q| |p - c|``), so the widening is
``A_q = c' |q| max|p - c|`` per query and block: for e5-like unit vectors about half of the uncentered
``0.008``. A document is shortlisted when its rounded centered score could still reach the running
``keep``-th exact score minus ``q.c``.

Example:
    >>> rng = np.random.default_rng(0)
    >>> docs = rng.normal(size=(500, 32)).astype(np.float32)
    >>> queries = rng.normal(size=(3, 32)).astype(np.float32)
    >>> scores, rows = shortlist_topk(queries, docs, 5)
    >>> exact = queries @ docs.T
    >>> bool((np.argsort(-exact, axis=1)[:, :5] == rows).all())
    True
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from xqg.errors import ConfigError, InputError

if TYPE_CHECKING:
    import torch

#: the unit roundoff of each reduced precision the shortlist supports (round to nearest)
UNIT_ROUNDOFF = {"bfloat16": 2.0**-8, "float16": 2.0**-11}
#: the spacing of each precision's subnormal numbers (rounding below the normal range is absolute)
SUBNORMAL_SPACING = {"bfloat16": 2.0**-133, "float16": 2.0**-24}
#: the largest finite float16 (bfloat16 has float32's range)
FLOAT16_MAX = 65504.0
FLOAT32_ROUNDOFF = 2.0**-24
#: rows of the first block whose mean becomes the center taken out of every document before rounding
CENTER_ROWS = 4096
#: the subtraction of the center in float32 (|fl(p - c) - (p - c)| <= 2**-24 |p - c|, with margin)
CENTERING_ROUNDOFF = 1.01 * FLOAT32_ROUNDOFF
#: a relative margin on the bound for the rounding of the norms and of the bound's own arithmetic
BOUND_SAFETY = 1.0 + 2.0**-10
#: documents converted and multiplied at a time
DOC_BLOCK = 32768
#: queries multiplied at a time (with DOC_BLOCK: a score block of 128 MiB in bfloat16)
QUERY_BLOCK = 2048
#: queries re-scored together (their candidates gathered into one padded batch)
RESCORE_QUERIES = 32
#: columns whose maximum is compared first when finding the candidates (see _candidates)
GROUP = 64


def product_error_bound(query_norms: np.ndarray, max_doc_norm: float, dim: int, precision: str) -> np.ndarray:
    """Per query, a bound ``A_q`` on ``|q.p - fl(q~.p~)|`` before the result is rounded, for every
    document of norm at most ``max_doc_norm`` (see the module docstring).

    Args:
        query_norms: ``(num_queries,)`` Euclidean norms of the float32 queries.
        max_doc_norm: the largest Euclidean norm of the float32 documents.
        dim: the vectors' dimension (the length of each dot product).
        precision: ``"bfloat16"`` or ``"float16"``.

    Returns:
        ``(num_queries,)`` float64 bounds.

    Example:
        >>> round(float(product_error_bound(np.array([1.0]), 1.0, 384, "bfloat16")[0]), 5)
        0.00786
    """
    if precision not in UNIT_ROUNDOFF:
        raise ConfigError(f"no rounding bound for precision {precision!r}")
    u = UNIT_ROUNDOFF[precision]
    gamma = dim * FLOAT32_ROUNDOFF / (1.0 - dim * FLOAT32_ROUNDOFF)
    c = (2.0 * u + u * u) + gamma * (1.0 + u) ** 2
    norms = np.asarray(query_norms, dtype=np.float64)
    # coordinates (and a result) below the normal range round with an absolute error of half a spacing
    half = SUBNORMAL_SPACING[precision] / 2.0
    underflow = half * (np.sqrt(dim) * (norms + (1.0 + u) * float(max_doc_norm)) + 1.0)
    return (c * norms * float(max_doc_norm) + underflow) * BOUND_SAFETY


def candidate_threshold(floor: np.ndarray, bound: np.ndarray, precision: str) -> np.ndarray:
    """The smallest rounded score whose document may still have an exact score ``>= floor``.

    A document with rounded score ``s`` has exact score at most ``s + A + u' |s|`` (``u' = u / (1 - u)``,
    the result's rounding), an increasing function of ``s``; this inverts it at ``floor``.

    Args:
        floor: ``(num_queries,)`` the running ``keep``-th best exact score (``-inf``: none yet).
        bound: ``(num_queries,)`` :func:`product_error_bound`.
        precision: ``"bfloat16"`` or ``"float16"``.

    Returns:
        ``(num_queries,)`` float64 thresholds (``-inf`` where ``floor`` is).

    Example:
        >>> float(candidate_threshold(np.array([0.5]), np.array([0.0]), "bfloat16")[0]) < 0.5
        True
    """
    u = UNIT_ROUNDOFF[precision]
    widened = u / (1.0 - u)
    y = np.asarray(floor, dtype=np.float64) - np.asarray(bound, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(y >= 0, y / (1.0 + widened), y / (1.0 - widened))


def _bfloat16_keys(thresholds: np.ndarray) -> np.ndarray:
    """Non-negative thresholds as int16 bit patterns of a bfloat16 at most the threshold: for scores
    ``>= 0`` the bit patterns order like the values, and negative scores (sign bit set) are negative
    int16s, below every key. ``+inf`` maps to bfloat16 ``+inf`` (selects nothing finite)."""
    t32 = thresholds.astype(np.float32)
    t32 = np.where(t32 > thresholds, np.nextafter(t32, np.float32(-np.inf)), t32).astype(np.float32)
    return (t32.view(np.int32) >> 16).astype(np.int16)  # truncation: rounds a positive value down


def _slots(group: np.ndarray, num_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Items laid out as rows of a padded matrix, one row per group: ``(order, counts, slot)``, where
    ``order`` lists the items group by group (stable), ``counts`` is each group's size and ``slot`` the
    column of ``order``'s items within their group's row."""
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=num_groups)
    firsts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return order, counts, np.arange(len(order)) - firsts[group[order]]


class _Pool:
    """Each query's best ``keep`` exact scores so far and their rows (``-inf`` / ``-1`` where empty)."""

    def __init__(self, num_queries: int, keep: int) -> None:
        self.scores = np.full((num_queries, keep), -np.inf, dtype=np.float32)
        self.rows = np.full((num_queries, keep), -1, dtype=np.int64)
        self.keep = keep

    def floor(self, start: int, stop: int) -> np.ndarray:
        """The ``keep``-th best exact score of queries ``start:stop`` (``-inf`` while fewer)."""
        return self.scores[start:stop].min(axis=1).astype(np.float64)

    def add(self, start: int, stop: int, query: np.ndarray, rows: np.ndarray, scores: np.ndarray) -> None:
        """Merge candidates (``query`` offsets within ``start:stop``) into the pool: score descending,
        then row ascending (as FAISS and ``torch.topk`` order equal scores)."""
        if not len(query):
            return
        width = stop - start
        order, counts, slot = _slots(query, width)
        query, rows, scores = query[order], rows[order], scores[order]
        new_scores = np.full((width, int(counts.max())), -np.inf, dtype=np.float32)
        new_rows = np.full((width, int(counts.max())), -1, dtype=np.int64)
        new_scores[query, slot] = scores
        new_rows[query, slot] = rows
        all_scores = np.concatenate([self.scores[start:stop], new_scores], axis=1)
        all_rows = np.concatenate([self.rows[start:stop], new_rows], axis=1)
        # empty slots (row -1) last among equal scores
        tie_key = np.where(all_rows < 0, np.iinfo(np.int64).max, all_rows)
        best = np.lexsort((tie_key, -all_scores), axis=1)[:, : self.keep]
        self.scores[start:stop] = np.take_along_axis(all_scores, best, axis=1)
        self.rows[start:stop] = np.take_along_axis(all_rows, best, axis=1)


def _exact_scores(queries: np.ndarray, block: np.ndarray, query: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """float32 dot products of the pairs (``queries[query]``, ``block[cols]``).

    Queries are taken in order of how many candidates they have, :data:`RESCORE_QUERIES` at a time;
    each group's candidate rows are gathered into a batch padded to the group's widest and multiplied
    by its queries (a batched matrix-vector product): query rows are not gathered, and little padding."""
    out = np.empty(len(query), dtype=np.float32)
    if not len(query):
        return out
    by_count = np.argsort(np.bincount(query, minlength=len(queries)), kind="stable")
    position = np.empty_like(by_count)
    position[by_count] = np.arange(len(by_count))
    # pairs grouped by query, the queries in order of their count
    order, counts, slot = _slots(position[query], len(queries))
    ends = np.cumsum(counts)
    for start in range(0, len(by_count), RESCORE_QUERIES):
        group = by_count[start : start + RESCORE_QUERIES]
        width = int(counts[start : start + len(group)].max())
        if width == 0:
            continue
        lo, hi = ends[start] - counts[start], ends[start + len(group) - 1]
        row = position[query[order[lo:hi]]] - start
        padded = np.zeros((len(group), width), dtype=np.int64)
        padded[row, slot[lo:hi]] = cols[order[lo:hi]]
        products = np.matmul(block[padded], queries[group][:, :, None])[:, :, 0]
        out[order[lo:hi]] = products[row, slot[lo:hi]]
    return out


def _candidates(approx: torch.Tensor, threshold: np.ndarray, precision: str) -> tuple[np.ndarray, np.ndarray]:
    """``(query, column)`` of every rounded score ``>= threshold`` of its row.

    bfloat16 with thresholds ``> 0``: on the scores' int16 bit patterns (which order like the values
    from +0 up, negative values and -0 below), first the maximum of each run of :data:`GROUP`
    columns, then the runs whose maximum reaches the key: a pass that reads the scores once and
    writes nothing of their size. Otherwise a float32 comparison of every score."""
    import torch  # the caller holds torch already

    rows, width = approx.shape
    if precision == "bfloat16" and (threshold > 0).all():
        keys = torch.from_numpy(_bfloat16_keys(threshold)).to(approx.device)
        bits = approx.view(torch.int16)
        whole = width - width % GROUP
        query_parts, col_parts = [], []
        if whole:
            runs = bits[:, :whole].reshape(rows, whole // GROUP, GROUP)  # a view: rows are contiguous
            hit_q, hit_run = (runs.amax(dim=2) >= keys[:, None]).nonzero(as_tuple=True)
            if len(hit_q):
                inside_q, inside_col = (runs[hit_q, hit_run] >= keys[hit_q][:, None]).nonzero(as_tuple=True)
                query_parts.append(hit_q[inside_q])
                col_parts.append(hit_run[inside_q] * GROUP + inside_col)
        if whole < width:
            tail_q, tail_col = (bits[:, whole:] >= keys[:, None]).nonzero(as_tuple=True)
            query_parts.append(tail_q)
            col_parts.append(tail_col + whole)
        if not query_parts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return torch.cat(query_parts).cpu().numpy(), torch.cat(col_parts).cpu().numpy()
    low = torch.from_numpy(threshold.astype(np.float32))
    low = torch.where(low > torch.from_numpy(threshold), torch.nextafter(low, -low.abs() - 1), low)
    query_t, cols_t = (approx.float() >= low.to(approx.device)[:, None]).nonzero(as_tuple=True)
    return query_t.cpu().numpy(), cols_t.cpu().numpy()


def shortlist_topk(
    queries: np.ndarray,
    vectors: np.ndarray,
    keep: int,
    precision: str = "bfloat16",
    device: str = "cpu",
    floor: np.ndarray | None = None,
    doc_block: int = DOC_BLOCK,
    query_block: int = QUERY_BLOCK,
) -> tuple[np.ndarray, np.ndarray]:
    """Each query's exact float32 top ``keep`` of ``vectors``, found through a reduced-precision product.

    Args:
        queries: ``(num_queries, dim)`` float32.
        vectors: ``(num_docs, dim)`` documents (float32 or float16; a memory-mapped shard is read in
            blocks, not copied).
        keep: rows kept per query.
        precision: the product's precision, ``"bfloat16"`` or ``"float16"``.
        device: where the product runs (``"cpu"``, ``"cuda"``); the float32 re-scoring runs on the CPU.
        floor: ``(num_queries,)`` exact scores already held elsewhere (e.g. the ``keep``-th best of the
            shards searched before): rows scoring below a query's floor are not returned.
        doc_block, query_block: block sizes of the product (memory: ``query_block * doc_block`` scores).

    Returns:
        ``(scores, rows)``, both ``(num_queries, keep)``, best first (equal scores: lower row first);
        where fewer than ``keep`` rows reach the floor (or exist), the rest is ``-inf`` / ``-1``.

    Example:
        >>> docs = np.eye(4, dtype=np.float32)
        >>> scores, rows = shortlist_topk(np.array([[0.0, 1.0, 0.5, 0.0]], dtype=np.float32), docs, 2)
        >>> rows.tolist(), scores.tolist()
        ([[1, 2]], [[1.0, 0.5]])
    """
    if precision not in UNIT_ROUNDOFF:
        raise ConfigError(f"the shortlist's product is bfloat16 or float16, not {precision!r}")
    if keep < 1:
        raise ConfigError(f"keep must be >= 1, got {keep}")
    scan = _ShortlistScan(queries, keep, precision, device, floor, query_block)
    with _float32_accumulation(device):
        for doc_start in range(0, len(vectors), doc_block):
            scan.add_block(vectors[doc_start : doc_start + doc_block], doc_start)
    return scan.result()


@contextlib.contextmanager
def _float32_accumulation(device: str) -> Iterator[None]:
    """On a GPU, forbid cuBLAS's half-precision reductions of split sums while the shortlist runs: the
    bound assumes float32 accumulation (the CPU kernels accumulate in float32)."""
    import torch  # the caller holds torch already

    if not str(device).startswith("cuda"):
        yield
        return
    matmul = torch.backends.cuda.matmul
    saved = matmul.allow_bf16_reduced_precision_reduction, matmul.allow_fp16_reduced_precision_reduction
    matmul.allow_bf16_reduced_precision_reduction = matmul.allow_fp16_reduced_precision_reduction = False
    try:
        yield
    finally:
        matmul.allow_bf16_reduced_precision_reduction, matmul.allow_fp16_reduced_precision_reduction = saved


class _ShortlistScan:
    """The state of :func:`shortlist_topk` over the blocks of one set of documents."""

    def __init__(
        self,
        queries: np.ndarray,
        keep: int,
        precision: str,
        device: str,
        floor: np.ndarray | None,
        query_block: int,
    ) -> None:
        import torch  # only the reduced-precision search path needs torch

        self.dtype = getattr(torch, precision)
        self.queries = np.ascontiguousarray(queries, dtype=np.float32)
        if precision == "float16" and self.queries.size and np.abs(self.queries).max() > FLOAT16_MAX:
            raise InputError(
                f"query vectors outside float16's range (|x| > {FLOAT16_MAX:g}): search in float32"
            )
        self.precision, self.device, self.keep, self.query_block = precision, device, keep, query_block
        num_queries = len(self.queries)
        self.pool = _Pool(num_queries, keep)
        self.floor = None if floor is None else np.asarray(floor, dtype=np.float64)
        self.outside = np.full(num_queries, -np.inf) if floor is None else self.floor
        self.query_norms = np.linalg.norm(self.queries, axis=1)
        self.center: np.ndarray | None = None
        self._centered: torch.Tensor | None = None
        self._low: torch.Tensor | None = None
        self.low_queries = [
            torch.from_numpy(self.queries[s : s + query_block]).to(device=device, dtype=self.dtype)
            for s in range(0, num_queries, query_block)
        ]

    def add_block(self, vectors: np.ndarray, doc_start: int) -> None:
        """One block of documents against every query block: seed, threshold, candidates, re-score."""
        import torch  # the caller holds torch already

        block = np.ascontiguousarray(vectors, dtype=np.float32)  # a float32 mapped shard: no copy
        # a center is taken out before rounding (sentence embeddings share a large common component:
        # rounding then errs in proportion to what is left) and q.c added back exactly per query; any
        # vector serves: the mean of the first block's first rows, kept for every block
        if self.center is None:
            self.center = block[:CENTER_ROWS].mean(axis=0).astype(np.float32)
        center = self.center
        with warnings.catch_warnings():  # a memory-mapped shard is read-only; it is only read (converted)
            warnings.simplefilter("ignore", UserWarning)
            source = torch.from_numpy(block).to(self.device)
        rows = len(block)
        if self._centered is None or len(self._centered) < rows:  # buffers reused from block to block
            self._centered = torch.empty(source.shape, dtype=torch.float32, device=self.device)
            self._low = torch.empty(source.shape, dtype=self.dtype, device=self.device)
        centered, low_block = self._centered[:rows], self._low[:rows]
        # float32 subtraction: off (p - c) by at most 2**-24 |p - c| per coordinate (CENTERING_ROUNDOFF)
        torch.sub(source, torch.from_numpy(center).to(self.device), out=centered)
        if self.precision == "float16" and rows and float(centered.abs().max()) > FLOAT16_MAX:
            raise InputError(
                f"document vectors outside float16's range (|p - c| > {FLOAT16_MAX:g}): search in float32"
            )
        low_block.copy_(centered)
        max_norm = float(torch.linalg.vector_norm(centered, dim=1).max())
        pool, dim = self.pool, block.shape[1]
        for number, low_q in enumerate(self.low_queries):
            start = number * self.query_block
            stop = start + len(low_q)
            queries = self.queries[start:stop]
            shift = queries.astype(np.float64) @ center.astype(np.float64)  # q.c, exactly enough
            approx = low_q @ low_block.T  # ~ q.(p - c)
            current = np.maximum(pool.floor(start, stop), self.outside[start:stop])
            empty = np.flatnonzero(np.isneginf(current))
            if len(empty):
                # queries without a floor yet: their best rows of this block by the rounded score
                # seed the pool, and are taken out of the comparison below
                seed = torch.topk(approx[empty], min(self.keep, approx.shape[1]), dim=1).indices
                seed_np = seed.cpu().numpy()
                query, cols = np.repeat(empty, seed_np.shape[1]), seed_np.reshape(-1)
                pool.add(start, stop, query, cols + doc_start, _exact_scores(queries, block, query, cols))
                taken = torch.from_numpy(empty).to(approx.device)
                approx[taken] = approx[taken].scatter(1, seed, float("-inf"))
                current = np.maximum(pool.floor(start, stop), self.outside[start:stop])
            norms = self.query_norms[start:stop]
            bound = product_error_bound(norms, max_norm, dim, self.precision)
            bound += CENTERING_ROUNDOFF * norms * max_norm  # the float32 subtraction p - c
            threshold = candidate_threshold(current - shift, bound, self.precision)
            # still no floor: the block had fewer rows than keep and all were seeded
            threshold = np.where(np.isneginf(threshold), np.inf, threshold)
            query, cols = _candidates(approx, threshold, self.precision)
            pool.add(start, stop, query, cols + doc_start, _exact_scores(queries, block, query, cols))

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, rows)`` of the pool, without the rows below the floor given from outside."""
        if self.floor is not None:
            below = self.pool.scores < self.floor.astype(np.float32)[:, None]
            self.pool.scores[below] = -np.inf
            self.pool.rows[below] = -1
        return self.pool.scores, self.pool.rows
