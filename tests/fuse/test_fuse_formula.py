"""The fusion formula, its score identity and the unequal-count guard."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.errors import ConfigError, InputError
from xqg.fuse import FusionStore, accumulate, fuse_vectors


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_docs=st.integers(1, 6),
    n_queries=st.integers(1, 5),
    dim=st.integers(1, 12),
    alpha=st.floats(0.0, 1.0),
)
def test_score_of_fused_vector_is_weighted_sum_of_query_similarities(seed, n_docs, n_queries, dim, alpha):
    # s(q, ê_p) = (1 − α)⟨q, p⟩ + α Σ_j ⟨q, q_j⟩
    rng = np.random.default_rng(seed)
    p = rng.standard_normal((n_docs, dim)).astype(np.float32)
    generated = rng.standard_normal((n_docs, n_queries, dim)).astype(np.float32)
    user = rng.standard_normal(dim).astype(np.float32)
    fused = fuse_vectors(p, generated.sum(axis=1), np.full(n_docs, n_queries), alpha, "sum")
    expected = (1 - alpha) * p @ user + alpha * np.einsum("njd,d->n", generated, user)
    np.testing.assert_allclose(fused @ user, expected, rtol=1e-4, atol=1e-4)


def test_mean_mode_divides_by_each_passage_count():
    p = np.zeros((2, 2), np.float32)
    sums = np.array([[4.0, 0.0], [0.0, 9.0]], np.float32)
    fused = fuse_vectors(p, sums, np.array([2, 3]), alpha=0.5, mode="mean")
    np.testing.assert_allclose(fused, [[1.0, 0.0], [0.0, 1.5]])


def test_mean_mode_passage_without_queries_keeps_scaled_passage_vector():
    fused = fuse_vectors(np.array([[2.0, 2.0]]), np.zeros((1, 2)), np.array([0]), alpha=0.25, mode="mean")
    np.testing.assert_allclose(fused, [[1.5, 1.5]])


def test_sum_over_unequal_counts_is_an_error_that_explains_why():
    p = np.eye(2, dtype=np.float32)
    with pytest.raises(ConfigError, match="anisotropic") as info:
        fuse_vectors(p, np.ones((2, 2)), np.array([5, 3]), alpha=0.01, mode="sum")
    assert "mode='mean'" in str(info.value)
    fused = fuse_vectors(p, np.ones((2, 2)), np.array([5, 3]), alpha=0.5, allow_unequal_counts=True)
    np.testing.assert_allclose(fused, [[1.0, 0.5], [0.5, 1.0]])


def test_unequal_counts_would_rank_by_count_with_anisotropic_vectors():
    # Why the guard exists: with a shared direction in every vector (anisotropy), the passage with more
    # queries wins for an unrelated query under 'sum', not under 'mean'.
    rng = np.random.default_rng(0)
    common = np.ones(16, np.float32) * 0.25

    def vec():
        return common + 0.05 * rng.standard_normal(16).astype(np.float32)

    p = np.stack([vec(), vec()])
    q_few = np.stack([vec() for _ in range(2)])
    q_many = np.stack([vec() for _ in range(20)])
    sums = np.stack([q_few.sum(0), q_many.sum(0)])
    counts = np.array([2, 20])
    user = vec()
    with_sum = fuse_vectors(p, sums, counts, 0.05, "sum", allow_unequal_counts=True) @ user
    with_mean = fuse_vectors(p, sums, counts, 0.05, "mean") @ user
    assert with_sum[1] - with_sum[0] > 10 * abs(with_mean[1] - with_mean[0])


@pytest.mark.parametrize("alpha,mode", [(-0.1, "sum"), (1.5, "mean"), (0.1, "max")])
def test_bad_settings_are_config_errors(alpha, mode):
    with pytest.raises(ConfigError):
        fuse_vectors(np.eye(2), np.eye(2), np.array([1, 1]), alpha, mode)


def test_store_rejects_misaligned_arrays_and_duplicate_ids():
    with pytest.raises(InputError, match="query_sums"):
        FusionStore(["a", "b"], np.eye(2), np.ones((3, 2)), np.array([1, 1]))
    with pytest.raises(InputError, match="duplicate docid 'a'"):
        FusionStore(["a", "a"], np.eye(2), np.eye(2), np.array([1, 1]))


def test_store_select_reorders_by_docid():
    store = FusionStore(["a", "b", "c"], np.arange(6).reshape(3, 2), np.zeros((3, 2)), np.array([1, 2, 3]))
    picked = store.select(["c", "a"])
    assert picked.ids == ["c", "a"]
    np.testing.assert_array_equal(picked.passage_vectors, [[4, 5], [0, 1]])
    np.testing.assert_array_equal(picked.query_counts, [3, 1])
    with pytest.raises(InputError, match="not in the fusion store"):
        store.select(["zzz"])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=0, max_size=30), st.integers(0, 2**31 - 1))
def test_accumulate_equals_dense_group_sum(rows, seed):
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((len(rows), 3)).astype(np.float32)
    sums = np.zeros((5, 3), np.float32)
    counts = np.zeros(5, np.int64)
    # in two uneven batches, as a worker would
    half = len(rows) // 3
    accumulate(sums, counts, np.array(rows[:half], dtype=np.int64), vectors[:half])
    accumulate(sums, counts, np.array(rows[half:], dtype=np.int64), vectors[half:])
    expected = np.zeros((5, 3))
    for r, v in zip(rows, vectors, strict=True):
        expected[r] += v
    np.testing.assert_allclose(sums, expected, atol=1e-5)
    np.testing.assert_array_equal(counts, np.bincount(np.array(rows, dtype=np.int64), minlength=5))
