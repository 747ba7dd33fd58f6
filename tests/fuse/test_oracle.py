"""The oracle (perfect generator): the evaluated question left out, per-language pools."""

from __future__ import annotations

import numpy as np
import pytest

from xqg.fuse import oracle_scores, oracle_scores_by_language


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


def test_per_language_pools_use_only_the_query_languages_questions() -> None:
    rng = np.random.default_rng(2)
    passages = rng.normal(size=(3, 4)).astype(np.float32)
    pool = rng.normal(size=(4, 4)).astype(np.float32)
    langs, rows, groups = ["de", "de", "ru", "ru"], [0, 1, 0, 1], ["a", "b", "c", "d"]
    queries = rng.normal(size=(2, 4)).astype(np.float32)
    args = ([[2], [2]], ["x", "y"], passages, pool, langs, rows, groups, 0.4)
    split = oracle_scores_by_language(queries, ["de", "ru"], *args, per_language=True)
    mixed = oracle_scores_by_language(queries, ["de", "ru"], *args, per_language=False)
    for i, lang in enumerate(["de", "ru"]):
        keep = [k for k, q_lang in enumerate(langs) if q_lang == lang]
        alone = oracle_scores(
            queries[i : i + 1],
            passages,
            pool[keep],
            [rows[k] for k in keep],
            [groups[k] for k in keep],
            [2],
            ["x"],
            0.4,
        )
        np.testing.assert_allclose(split[i], alone[0], rtol=1e-6)
    np.testing.assert_allclose(
        mixed, oracle_scores(queries, passages, pool, rows, groups, [[2], [2]], ["x", "y"], 0.4), rtol=1e-6
    )
