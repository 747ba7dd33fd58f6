"""The xQG fusion formula on stored arrays: passage vectors, per-passage query sums and counts.

``ê_p = (1 − α) · E(p) + α · Σ_j E(q_j)`` (mode ``"sum"``, the paper's, α = 0.01 with 35 queries), or
``ê_p = (1 − α) · E(p) + α · mean_j E(q_j)`` (mode ``"mean"``). Because scores are dot products,
``⟨q, ê_p⟩ = (1 − α)⟨q, p⟩ + α Σ_j ⟨q, q_j⟩``: the passage is also scored by how much the user's query
looks like the queries it can answer.

The sum Σ E(q_j) and the count of queries per passage are kept as their own arrays
(:class:`FusionStore`), so trying another α is a cheap re-fusion and never a re-encode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from xqg.errors import ConfigError, InputError

FUSION_MODES = ("sum", "mean")

DEFAULT_ALPHA = 0.01
"""The paper's α for mode ``"sum"`` (35 generated queries per passage): the default of every fusion
call and of ``xqg fuse --alpha``."""

DEFAULT_MEAN_ALPHA = 0.3
"""α for mode ``"mean"``, about the paper's sum weight times its 35 queries (0.01 × 35 ≈ 0.3 of the
mean, design.md §1): the default of ``xqg run``'s ``[fusion]``, whose default mode is ``"mean"``."""


@dataclass
class FusionStore:
    """Everything fusion needs, aligned row by row on ``ids`` (docids, never positions in a file).

    Args:
        ids: passage docids, unique.
        passage_vectors: ``(n, d)`` float32, E(p) through the passage path.
        query_sums: ``(n, d)`` float32, Σ_j E(q_j) through the query path.
        query_counts: ``(n,)`` int64, how many query vectors went into each row of ``query_sums``.

    Example:
        >>> import numpy as np
        >>> store = FusionStore(["a", "b"], np.eye(2, dtype=np.float32),
        ...                     np.ones((2, 2), dtype=np.float32), np.array([2, 2]))
        >>> store.fuse(alpha=0.5).tolist()
        [[1.0, 0.5], [0.5, 1.0]]
    """

    ids: list[str]
    passage_vectors: np.ndarray
    query_sums: np.ndarray
    query_counts: np.ndarray

    def __post_init__(self) -> None:
        self.ids = [str(i) for i in self.ids]
        self.passage_vectors = np.asarray(self.passage_vectors, dtype=np.float32)
        self.query_sums = np.asarray(self.query_sums, dtype=np.float32)
        self.query_counts = np.asarray(self.query_counts, dtype=np.int64)
        n = len(self.ids)
        if self.passage_vectors.ndim != 2 or self.passage_vectors.shape[0] != n:
            raise InputError(f"passage_vectors must be ({n}, d), got {self.passage_vectors.shape}")
        if self.query_sums.shape != self.passage_vectors.shape:
            raise InputError(
                f"query_sums {self.query_sums.shape} must have the shape of passage_vectors "
                f"{self.passage_vectors.shape}"
            )
        if self.query_counts.shape != (n,):
            raise InputError(f"query_counts must be ({n},), got {self.query_counts.shape}")
        if (self.query_counts < 0).any():
            raise InputError("query_counts must not be negative")
        if len(set(self.ids)) != n:
            seen: set[str] = set()
            dup = next(i for i in self.ids if i in seen or seen.add(i))
            raise InputError(f"duplicate docid {dup!r} in a fusion store")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self.passage_vectors.shape[1])

    def fuse(
        self, alpha: float = DEFAULT_ALPHA, mode: str = "sum", allow_unequal_counts: bool = False
    ) -> np.ndarray:
        """Fused passage vectors; see :func:`fuse_vectors`."""
        return fuse_vectors(
            self.passage_vectors, self.query_sums, self.query_counts, alpha, mode, allow_unequal_counts
        )

    def select(self, ids: Sequence[str]) -> FusionStore:
        """The rows of ``ids``, in that order (a missing docid is an error)."""
        pos = {d: i for i, d in enumerate(self.ids)}
        missing = [d for d in ids if d not in pos]
        if missing:
            raise InputError(f"{len(missing)} docids not in the fusion store, e.g. {missing[0]!r}")
        rows = np.array([pos[d] for d in ids], dtype=np.int64)
        return FusionStore(
            list(ids), self.passage_vectors[rows], self.query_sums[rows], self.query_counts[rows]
        )


def check_equal_counts(query_counts: np.ndarray, ids: Sequence[str] | None = None) -> None:
    """Raise :class:`ConfigError` if passages were fused over different numbers of queries.

    With ``mode="sum"`` a passage with more generated queries gets a longer query term; because
    embeddings of E5-style encoders are anisotropic (any two texts have cosine 0.7–0.9), that term
    raises its score for *every* query, so passages end up ranked by how many queries they got rather
    than by relevance (measured on XQuAD: Success@1 fell from 75 to 2).
    """
    counts = np.asarray(query_counts)
    if counts.size == 0:
        return
    lo, hi = int(counts.min()), int(counts.max())
    if lo != hi:
        where = ""
        if ids is not None:
            where = f" (e.g. {ids[int(counts.argmin())]!r} has {lo}, {ids[int(counts.argmax())]!r} has {hi})"
        raise ConfigError(
            f"passages were fused over different numbers of queries, {lo} to {hi}{where}. With "
            "mode='sum' the query term grows with the count, and because embeddings are anisotropic "
            "(any two texts have a high cosine) passages would be ranked by how many queries they got, "
            "not by relevance. Use mode='mean' (with a larger alpha), regenerate so every passage has "
            "the same number, or pass allow_unequal_counts=True / --allow-unequal-counts if you mean it."
        )


def check_fusion_settings(alpha: float, mode: str) -> None:
    """Raise :class:`ConfigError` unless ``alpha`` is in [0, 1] and ``mode`` is a fusion mode.

    Example:
        >>> check_fusion_settings(1.5, "sum")
        Traceback (most recent call last):
        ...
        xqg.errors.ConfigError: alpha must be in [0, 1], not 1.5
    """
    if mode not in FUSION_MODES:
        raise ConfigError(f"fusion mode must be one of {FUSION_MODES}, not {mode!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"alpha must be in [0, 1], not {alpha}")


def fuse_vectors(
    passage_vectors: np.ndarray,
    query_sums: np.ndarray,
    query_counts: np.ndarray,
    alpha: float = DEFAULT_ALPHA,
    mode: str = "sum",
    allow_unequal_counts: bool = False,
) -> np.ndarray:
    """Fuse query embeddings into passage vectors.

    Args:
        passage_vectors: ``(n, d)`` E(p).
        query_sums: ``(n, d)`` Σ_j E(q_j) per passage.
        query_counts: ``(n,)`` number of queries in each sum.
        alpha: weight of the query term, in [0, 1]. The paper uses 0.01 with the sum of 35 queries
            (≈ 0.3 of the mean); tune it per encoder.
        mode: ``"sum"`` (the paper) or ``"mean"`` (sum divided by the count; a passage without queries
            keeps ``(1 − α) E(p)``).
        allow_unequal_counts: with ``"sum"``, accept passages fused over different numbers of queries.

    Returns:
        float32 ``(n, d)`` fused vectors (not normalised: scores stay dot products).

    Example:
        >>> import numpy as np
        >>> p = np.array([[1.0, 0.0]]); s = np.array([[0.0, 4.0]]); c = np.array([4])
        >>> fuse_vectors(p, s, c, alpha=0.5, mode="mean").tolist()
        [[0.5, 0.5]]
    """
    check_fusion_settings(alpha, mode)
    p = np.asarray(passage_vectors, dtype=np.float32)
    s = np.asarray(query_sums, dtype=np.float32)
    c = np.asarray(query_counts)
    if mode == "sum":
        if not allow_unequal_counts:
            check_equal_counts(c)
        term = s
    else:
        term = s / np.maximum(c, 1).astype(np.float32)[:, None]
    return ((1.0 - alpha) * p + alpha * term).astype(np.float32)


def accumulate(sums: np.ndarray, counts: np.ndarray, rows: np.ndarray, vectors: np.ndarray) -> None:
    """Add ``vectors[i]`` to ``sums[rows[i]]`` and count it, in place (rows may repeat).

    This is the running sum of the sharded worker: query vectors are added as soon as they are
    encoded and then dropped, never written to disk.

    Example:
        >>> import numpy as np
        >>> s = np.zeros((2, 1), np.float32); c = np.zeros(2, np.int64)
        >>> accumulate(s, c, np.array([1, 1, 0]), np.array([[1.0], [2.0], [5.0]]))
        >>> s.ravel().tolist(), c.tolist()
        ([5.0, 3.0], [1, 2])
    """
    rows = np.asarray(rows, dtype=np.int64)
    np.add.at(sums, rows, np.asarray(vectors, dtype=sums.dtype))
    np.add.at(counts, rows, 1)
