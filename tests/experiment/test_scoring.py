from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.experiment.scoring import oracle_scores, rank_dense


def test_rank_dense_orders_by_score_then_docid() -> None:
    run = rank_dense(np.array([[0.5, 0.9, 0.5, 0.1]]), ["q1"], ["d3", "d1", "d2", "d0"], k=3)
    assert list(run["q1"]) == ["d1", "d2", "d3"]


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 12), st.integers(0, 10_000))
def test_rank_dense_matches_python_sort(m: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, size=(m, n)).astype(np.float32)  # many ties
    doc_ids = [f"d{j:02d}" for j in rng.permutation(n)]
    run = rank_dense(scores, [f"q{i}" for i in range(m)], doc_ids, k=5)
    for i in range(m):
        expected = sorted(range(n), key=lambda j: (-scores[i, j], doc_ids[j]))[:5]
        assert list(run[f"q{i}"]) == [doc_ids[j] for j in expected]


def test_oracle_leaves_the_evaluated_question_out() -> None:
    rng = np.random.default_rng(0)
    passages = rng.normal(size=(3, 4)).astype(np.float32)
    qvecs = rng.normal(size=(5, 4)).astype(np.float32)
    q_passage = [0, 0, 0, 1, 2]
    q_group = ["a", "a", "b", "c", "d"]  # "a" in two languages, both on passage 0
    alpha = 0.3
    scores = oracle_scores(qvecs[:1], passages, qvecs, q_passage, q_group, [0], ["a"], alpha)
    # passage 0 keeps only question "b"; passages 1, 2 keep theirs
    expected0 = (1 - alpha) * passages[0] + alpha * qvecs[2]
    expected1 = (1 - alpha) * passages[1] + alpha * qvecs[3]
    assert scores[0, 0] == pytest.approx(float(qvecs[0] @ expected0), rel=1e-5)
    assert scores[0, 1] == pytest.approx(float(qvecs[0] @ expected1), rel=1e-5)


def test_oracle_leaves_the_question_out_of_each_of_its_gold_passages() -> None:
    rng = np.random.default_rng(1)
    passages = rng.normal(size=(3, 4)).astype(np.float32)
    qvecs = rng.normal(size=(4, 4)).astype(np.float32)
    # question "a" is relevant to passages 0 and 1 (listed once per passage), "b" to 0, "c" to 1
    vectors = qvecs[[0, 0, 1, 2]]
    q_passage = [0, 1, 0, 1]
    q_group = ["a", "a", "b", "c"]
    alpha = 0.5
    scores = oracle_scores(qvecs[:1], passages, vectors, q_passage, q_group, [[0, 1]], ["a"], alpha)
    for gold, other in ((0, 1), (1, 2)):
        expected = (1 - alpha) * passages[gold] + alpha * qvecs[other]
        assert scores[0, gold] == pytest.approx(float(qvecs[0] @ expected), rel=1e-5)
    # a single int gold still means one passage: passage 1 then keeps "a"'s own vector
    single = oracle_scores(qvecs[:1], passages, vectors, q_passage, q_group, [0], ["a"], alpha)
    assert single[0, 1] == pytest.approx(
        float(qvecs[0] @ ((1 - alpha) * passages[1] + alpha * (qvecs[0] + qvecs[2]) / 2)), rel=1e-5
    )
