"""The one ranking rule (score descending, then doc id ascending) and the functions that apply it.

Where the rule changed a ranking when the copies were merged into :mod:`xqg.index.ranking`:

* ``fuse.sweep.dense_top_k`` and ``train.dev.dense_run`` kept an arbitrary member of a tie at the
  ``k``-th place (``argpartition`` order) and returned the run unordered: they now keep the smaller
  ids (``test_a_tie_at_the_cut_off_keeps_the_smaller_ids``);
* ``train.negatives.mine_hard_negatives`` ordered tied passages by their position in the
  ``argpartition`` output: tied passages are now mined in id order
  (``tests/train/test_examples_negatives.py::test_tied_passages_are_mined_in_id_order``);
* ``experiments/xqg_xquad.py`` (now ``configs/xqg_xquad.py``) ranked ties by corpus row: now by id.

Rows with distinct scores rank exactly as before everywhere.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.index import dense_search, id_ranks, merge_candidates, rank_scores, top_k
from xqg.index.ranking import tied_candidates


def _reference(scores: np.ndarray, doc_ids: list[str], k: int) -> list[list[str]]:
    return [
        [doc_ids[j] for j in sorted(range(len(doc_ids)), key=lambda j: (-row[j], doc_ids[j]))[:k]]
        for row in scores
    ]


def test_orders_by_score_then_doc_id() -> None:
    run = rank_scores(np.array([[0.5, 0.9, 0.5, 0.1]]), ["q1"], ["d3", "d1", "d2", "d0"], k=3)
    assert list(run["q1"]) == ["d1", "d2", "d3"]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 30), st.integers(1, 12), st.integers(0, 10_000))
def test_rank_scores_matches_a_full_python_sort(m: int, n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, size=(m, n)).astype(np.float32)  # many ties
    doc_ids = [f"d{j:02d}" for j in rng.permutation(n)]
    run = rank_scores(scores, [f"q{i}" for i in range(m)], doc_ids, k=k)
    for i, expected in enumerate(_reference(scores, doc_ids, k)):
        assert list(run[f"q{i}"]) == expected
        assert list(run[f"q{i}"].values()) == [float(scores[i, doc_ids.index(d)]) for d in expected]


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 10), st.integers(1, 15), st.integers(1, 9), st.integers(0, 10_000))
def test_shards_merged_by_their_candidates_equal_the_whole(n, shard, k, chunk, seed) -> None:
    rng = np.random.default_rng(seed)
    queries = rng.integers(-2, 3, size=(7, 3)).astype(np.float32)
    docs = rng.integers(-2, 3, size=(n, 3)).astype(np.float32)  # integer vectors: exact ties
    doc_ids = [f"doc{j:03d}" for j in rng.permutation(n)]
    whole = dense_search(queries, [f"q{i}" for i in range(7)], docs, doc_ids, k=k, chunk=chunk)
    # each shard hands on its tied candidates; the merge applies the rule across shards
    parts_scores, parts_ids = [], []
    for start in range(0, n, shard):
        scores = queries @ docs[start : start + shard].T
        cols = tied_candidates(scores, k)
        parts_scores.append(np.take_along_axis(scores, cols, axis=1))
        parts_ids.append(np.asarray(doc_ids[start : start + shard], dtype=object)[cols])
    merged_scores, merged_ids = merge_candidates(
        np.concatenate(parts_scores, 1), np.concatenate(parts_ids, 1), k
    )
    expected = _reference(queries @ docs.T, doc_ids, k)
    for i in range(7):
        assert list(whole[f"q{i}"]) == expected[i]
        assert merged_ids[i].tolist() == expected[i]
        assert merged_scores[i].tolist() == list(whole[f"q{i}"].values())


def test_a_tie_at_the_cut_off_keeps_the_smaller_ids() -> None:
    # d2, d0 and d1 tie for the second place; the old argpartition copies kept any one of them
    docs = np.array([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    run = dense_search(np.array([[1.0, 0.0]]), ["q"], docs, ["d2", "d0", "top", "d1"], k=2)
    assert run == {"q": {"top": 2.0, "d0": 1.0}}


def test_top_k_over_given_candidates_and_id_ranks() -> None:
    assert id_ranks(["b", "c", "a"]).tolist() == [1, 2, 0]
    scores, cols = top_k(
        np.array([[0.5, 0.5, 0.9]]), 2, id_ranks(["x", "y", "a", "b"]), columns=np.array([[1, 3, 0]])
    )
    assert cols.tolist() == [[0, 3]] and scores.tolist() == [[0.9, 0.5]]
    with pytest.raises(Exception, match="k must be"):
        top_k(np.zeros((1, 2)), 0, id_ranks(["a", "b"]))


def test_empty_inputs() -> None:
    assert rank_scores(np.zeros((1, 0)), ["q"], [], k=3) == {"q": {}}
    s, i = merge_candidates(np.zeros((2, 0), np.float32), np.zeros((2, 0), dtype=object), 3)
    assert s.shape == (2, 0) and i.shape == (2, 0)
    with pytest.raises(ValueError, match="do not match"):
        rank_scores(np.zeros((2, 2)), ["q"], ["a", "b"])


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 30), st.integers(1, 12), st.integers(0, 10_000))
def test_merge_orders_untied_rows_by_score_and_tied_rows_by_id(width, k, seed) -> None:
    """The merge's fast path (rows whose best k + 1 scores are all distinct, ordered by score alone)
    and its tie path (ids decide) give the full sort's order, rows of both kinds in one call."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(6, width)).astype(np.float32)
    scores[::2] = rng.integers(0, 3, size=(3, width))  # every other row: many ties
    ids = np.asarray([[f"d{j:02d}" for j in rng.permutation(width)] for _ in range(6)], dtype=object)
    top_scores, top_ids = merge_candidates(scores, ids, k)
    for i in range(6):
        expected = _reference(scores[i : i + 1], ids[i].tolist(), k)[0]
        assert top_ids[i].tolist() == expected
        assert top_scores[i].tolist() == [float(scores[i, ids[i].tolist().index(d)]) for d in expected]
