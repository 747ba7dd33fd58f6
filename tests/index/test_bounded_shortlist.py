"""The bounded shortlist (xqg.index.bounded_shortlist): its error bound holds, and its top-k is the exact
top-k, ties, blocks, floors and negative scores included."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.index.bounded_shortlist import (
    UNIT_ROUNDOFF,
    candidate_threshold,
    product_error_bound,
    shortlist_topk,
)


def _exact_topk(queries: np.ndarray, docs: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference: float64 scores rounded to float32 (what float32 products give up to a few ulp),
    best first, equal scores by lower row."""
    scores = (queries.astype(np.float64) @ docs.astype(np.float64).T).astype(np.float32)
    order = np.lexsort((np.broadcast_to(np.arange(len(docs)), scores.shape), -scores), axis=1)[:, :keep]
    return np.take_along_axis(scores, order, axis=1), order


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    dim=st.integers(1, 96),
    scale=st.sampled_from([1e-3, 1.0, 37.0]),
    precision=st.sampled_from(["bfloat16", "float16"]),
)
def test_the_rounding_bound_holds_for_every_pair(seed, dim, scale, precision) -> None:
    rng = np.random.default_rng(seed)
    queries = (rng.normal(size=(7, dim)) * scale).astype(np.float32)
    docs = (rng.normal(size=(50, dim)) * rng.uniform(0.1, 1.0, size=(50, 1))).astype(np.float32)
    if precision == "float16":  # keep the products inside float16's range
        queries, docs = queries / max(1.0, scale), docs
    dtype = getattr(torch, precision)
    approx = (torch.from_numpy(queries).to(dtype) @ torch.from_numpy(docs).to(dtype).T).double().numpy()
    exact = queries.astype(np.float64) @ docs.astype(np.float64).T
    bound = product_error_bound(
        np.linalg.norm(queries, axis=1), np.linalg.norm(docs, axis=1).max(), dim, precision
    )
    u = UNIT_ROUNDOFF[precision]
    assert (np.abs(exact - approx) <= bound[:, None] + u / (1 - u) * np.abs(approx)).all()
    # the threshold inverts the widening: a rounded score at the threshold can just reach the floor
    floor = exact.max(axis=1)
    threshold = candidate_threshold(floor, bound, precision)
    reach = threshold + bound + u / (1 - u) * np.abs(threshold)
    np.testing.assert_allclose(reach, floor, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    num_docs=st.integers(1, 300),
    keep=st.integers(1, 30),
    doc_block=st.one_of(st.integers(1, 40), st.sampled_from([64, 100, 128, 200, 1000])),
    query_block=st.integers(1, 9),
    ties=st.booleans(),
    sign=st.sampled_from([1.0, -1.0]),
)
def test_the_shortlist_gives_the_exact_top_k(
    seed, num_docs, keep, doc_block, query_block, ties, sign
) -> None:
    """Whatever the blocks (runs of 64 columns compared by their maximum, and the columns after the
    last whole run): many tied scores (small integer vectors), all-negative scores (the float
    comparison), fewer documents than ``keep``."""
    rng = np.random.default_rng(seed)
    if ties:
        docs = rng.integers(-2, 3, size=(num_docs, 6)).astype(np.float32)
        queries = rng.integers(-2, 3, size=(5, 6)).astype(np.float32)
    else:
        docs = rng.normal(size=(num_docs, 12)).astype(np.float32)
        queries = rng.normal(size=(5, 12)).astype(np.float32)
    docs = np.abs(docs) if sign > 0 else -np.abs(docs)
    queries = np.abs(queries)
    keep_now = min(keep, num_docs)
    scores, rows = shortlist_topk(queries, docs, keep_now, doc_block=doc_block, query_block=query_block)
    want_scores, want_rows = _exact_topk(queries, docs, keep_now)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-6)


def test_a_floor_keeps_only_rows_that_reach_it() -> None:
    rng = np.random.default_rng(1)
    docs = rng.normal(size=(200, 16)).astype(np.float32)
    queries = rng.normal(size=(4, 16)).astype(np.float32)
    want_scores, want_rows = _exact_topk(queries, docs, 10)
    floor = want_scores[:, 4].astype(np.float64) - 1e-6  # as if another shard held 5 better ones
    scores, rows = shortlist_topk(queries, docs, 10, floor=floor, doc_block=32)
    for q in range(4):
        reached = want_scores[q] >= floor[q]
        np.testing.assert_array_equal(rows[q][: reached.sum()], want_rows[q][reached])
        assert (rows[q][reached.sum() :] == -1).all() and np.isneginf(scores[q][reached.sum() :]).all()


@pytest.mark.parametrize("common", [0.0, 3.0])
def test_near_twins_the_rounded_product_misorders_are_ranked_exactly(common: float) -> None:
    """Isotropic vectors, and vectors sharing a large common direction (as sentence embeddings do:
    the shortlist takes the documents' mean out before rounding)."""
    rng = np.random.default_rng(5)
    docs = rng.normal(size=(400, 32)).astype(np.float32) + common * np.ones(32, dtype=np.float32) / np.sqrt(
        32
    )
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    docs[1::2] = docs[::2] + rng.normal(scale=1e-5, size=(200, 32)).astype(np.float32)
    queries = docs[:8] + rng.normal(scale=0.02, size=(8, 32)).astype(np.float32)
    rounded = torch.topk(
        torch.from_numpy(queries).bfloat16() @ torch.from_numpy(docs).bfloat16().T, 10
    ).indices
    want_scores, want_rows = _exact_topk(queries, docs, 10)
    assert (np.sort(rounded.numpy(), axis=1) != np.sort(want_rows, axis=1)).any() or (
        rounded.numpy() != want_rows
    ).any()
    scores, rows = shortlist_topk(queries, docs, 10, doc_block=64)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-6)


def test_bad_settings_are_refused() -> None:
    from xqg.errors import ConfigError

    with pytest.raises(ConfigError, match="bfloat16 or float16"):
        shortlist_topk(np.ones((1, 2), np.float32), np.ones((3, 2), np.float32), 1, precision="int8")
    with pytest.raises(ConfigError, match="keep must be"):
        shortlist_topk(np.ones((1, 2), np.float32), np.ones((3, 2), np.float32), 0)


def test_float16_out_of_range_vectors_are_refused() -> None:
    from xqg.errors import InputError

    docs = np.array([[7e4, 0.0], [-7e4, 1.0], [0.0, 2.0]], dtype=np.float32)  # centered: still > 65504
    with pytest.raises(InputError, match="float16's range"):
        shortlist_topk(np.ones((1, 2), np.float32), docs, 1, precision="float16")
    with pytest.raises(InputError, match="float16's range"):
        shortlist_topk(np.full((1, 2), 1e5, np.float32), docs[2:], 1, precision="float16")
    scores, rows = shortlist_topk(np.ones((1, 2), np.float32), docs, 1, precision="bfloat16")
    assert rows.tolist() == [[0]]  # bfloat16 has float32's range
    # a large common offset is taken out before rounding: float16 then holds what is left
    shifted = np.array([[7e4, 0.0], [7e4 + 1.0, 0.0]], dtype=np.float32)
    assert shortlist_topk(np.ones((1, 2), np.float32), shifted, 1, precision="float16")[1].tolist() == [[1]]
