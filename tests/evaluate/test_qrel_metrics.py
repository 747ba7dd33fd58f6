"""Qrel metrics: hand-computed values, and equivalence with trec_eval through ir_measures."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xqg.errors import ConfigError, InputError
from xqg.evaluate import aggregate, count_scored, evaluate_run, parse_measure, rank_documents

ir_measures = pytest.importorskip("ir_measures")
from ir_measures import RR, P, R, Success, nDCG  # noqa: E402

QRELS = {"q1": {"a": 1, "b": 0, "c": 2}, "q2": {"x": 0}, "q3": {"z": 1}}
RUN = {"q1": {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}, "q2": {"x": 1.0}, "q4": {"z": 1.0}}


def test_ties_are_broken_by_docid_descending_as_trec_eval() -> None:
    assert rank_documents(RUN["q1"]) == ["d", "c", "b", "a"]
    assert rank_documents({"b": 0.5, "a": 2.0, "c": 0.5}) == ["a", "c", "b"]


def test_hand_computed_values() -> None:
    res = evaluate_run(
        RUN, QRELS, ["Success@1", "Success@2", "MRR@10", "Recall@2", "Recall@4", "nDCG@10", "P@2"]
    )
    # q1 ranking d, c(2), b(0), a(1); two relevant docs (a, c).
    assert res["Success@1"] == {"q1": 0.0, "q2": 0.0, "q3": 0.0}
    assert res["Success@2"]["q1"] == 1.0
    assert res["MRR@10"]["q1"] == 0.5
    assert res["Recall@2"]["q1"] == 0.5
    assert res["Recall@4"]["q1"] == 1.0
    assert res["P@2"]["q1"] == 0.5
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert res["nDCG@10"]["q1"] == pytest.approx(dcg / idcg)
    # q2: no relevant document -> 0 (trec_eval); q3: missing from the run -> 0; q4: no qrels -> unscored.
    assert res["nDCG@10"]["q2"] == 0.0 and res["MRR@10"]["q3"] == 0.0
    assert "q4" not in res["MRR@10"]


def test_relevance_level_parameter() -> None:
    res = evaluate_run(RUN, QRELS, ["Recall(rel=2)@2", "Success(rel=2)@1"])
    assert res["Recall(rel=2)@2"]["q1"] == 1.0  # only c counts, at rank 2
    assert res["Success(rel=2)@1"]["q1"] == 0.0


def test_metric_keys_are_the_names_given_and_aliases_agree() -> None:
    res = evaluate_run(RUN, QRELS, "Hit@2, Success@2, RR@10, MRR@10")
    assert res["Hit@2"] == res["Success@2"]
    assert res["RR@10"] == res["MRR@10"]


def test_bad_metric_names_and_strict_mode() -> None:
    with pytest.raises(ConfigError):
        evaluate_run(RUN, QRELS, ["Foo@3"])
    with pytest.raises(ConfigError):
        evaluate_run(RUN, QRELS, ["Recall"])  # needs a cutoff
    with pytest.raises(ConfigError):
        evaluate_run(RUN, QRELS, ["R@2kt"])  # needs answers
    with pytest.raises(ConfigError):
        parse_measure("Recall(foo=1)@3")
    with pytest.raises(InputError):
        evaluate_run(RUN, QRELS, ["Recall@3"], strict=True)


def test_measure_names_round_trip() -> None:
    for name in [
        "Success@1",
        "Recall@100",
        "MRR@10",
        "nDCG@10",
        "nDCG",
        "R@2kt",
        "R@5kt",
        "AnswerRecall@20",
        "AnswerRecall(mode=substring)@20",
        "Recall(rel=2)@10",
        "P@5",
    ]:
        assert parse_measure(name).name == name
        assert parse_measure(parse_measure(name).name) == parse_measure(name)
    assert parse_measure("hit@1") == parse_measure("S@1") == parse_measure("Success@1")
    assert parse_measure("R@10").family == "Recall" and parse_measure("R@10kt").family == "RKT"


def test_aggregate_macro_average_and_unknown_language() -> None:
    per_query = {"M": {"a": 1.0, "b": 0.0, "c": 0.0, "d": 1.0, "e": 1.0}}
    lang = {"a": "de", "b": "de", "c": "ar", "d": "ar", "e": "ar", "unscored": "zh"}
    table = aggregate(per_query, lang, micro=True)["M"]
    assert table == {
        "ar": pytest.approx(2 / 3),
        "de": 0.5,
        "avg": pytest.approx((2 / 3 + 0.5) / 2),
        "all": 0.6,
    }
    assert count_scored(per_query, lang)["M"] == {"ar": 3, "de": 2, "avg": 5}
    with pytest.raises(InputError):
        aggregate({"M": {"nolang": 1.0}}, lang)


DOCS = [f"d{i}" for i in range(8)]
QIDS = [f"q{i}" for i in range(6)]


@st.composite
def runs_and_qrels(draw, distinct_scores: bool = False):  # noqa: ANN201
    qrels = {}
    for qid in draw(st.lists(st.sampled_from(QIDS), min_size=1, max_size=6, unique=True)):
        qrels[qid] = draw(st.dictionaries(st.sampled_from(DOCS), st.integers(0, 3), min_size=1, max_size=5))
    run = {}
    for qid in draw(st.lists(st.sampled_from(QIDS), max_size=6, unique=True)):
        docs = draw(st.lists(st.sampled_from(DOCS), min_size=1, max_size=8, unique=True))
        if distinct_scores:
            scores = draw(st.permutations(range(len(docs))))
        else:
            # Few distinct score values, so that ties are frequent.
            scores = draw(
                st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, -2.0]), min_size=len(docs), max_size=len(docs))
            )
        run[qid] = {doc: float(score) for doc, score in zip(docs, scores, strict=True)}
    return run, qrels


MEASURES = {
    "Success@1": Success @ 1,
    "Success@3": Success @ 3,
    "Recall@2": R @ 2,
    "Recall@5": R @ 5,
    "P@3": P @ 3,
    "MRR": RR,
    "nDCG@3": nDCG @ 3,
    "nDCG@10": nDCG @ 10,
    "nDCG": nDCG,
    "Recall(rel=2)@3": R(rel=2) @ 3,
}


def _compare(run, qrels, measures, provider) -> None:  # noqa: ANN001
    ours = evaluate_run(run, qrels, list(measures))
    theirs: dict[str, dict[str, float]] = {name: {} for name in measures}
    by_measure = {str(m): name for name, m in measures.items()}
    for metric in provider.iter_calc(list(measures.values()), qrels, run):
        theirs[by_measure[str(metric.measure)]][metric.query_id] = metric.value
    for name in measures:
        # Same scored queries (all queries of the qrels; missing ones padded with 0), same values.
        assert set(theirs[name]) == set(ours[name]) == set(qrels), name
        for qid, value in theirs[name].items():
            assert ours[name][qid] == pytest.approx(value, abs=1e-12), (name, qid)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs_and_qrels())
def test_equals_trec_eval_with_ties(data) -> None:  # noqa: ANN001
    """pytrec_eval (trec_eval's C code) through ir_measures, on runs full of tied scores."""
    _compare(*data, MEASURES, ir_measures.pytrec_eval)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs_and_qrels(distinct_scores=True))
def test_equals_ir_measures_default_providers(data) -> None:  # noqa: ANN001
    """ir_measures' default providers (its own RR@k) on runs without ties (their tie rules differ)."""
    _compare(*data, {**MEASURES, "MRR@10": RR @ 10, "MRR@2": RR @ 2}, ir_measures)
