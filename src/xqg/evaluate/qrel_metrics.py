"""Relevance-judgement metrics (Success, Recall, P, MRR, nDCG) with trec_eval's definitions.

Conventions (identical to ``trec_eval`` / ``pytrec_eval``, checked against ``ir_measures``'
pytrec_eval provider in ``tests/evaluate/test_qrel_metrics.py``):

* **Ranking**: documents are ranked by score, highest first; **ties are broken by document id in
  descending order** (trec_eval compares docnos with ``strcmp`` and puts the larger one first). The
  order of a run's dict and the ranks written in a TREC file are ignored, as in trec_eval.
* **Relevant** means grade ``>= rel`` (1 unless set with ``Recall(rel=2)@10``). nDCG uses the grades
  as gains (grades <= 0 give no gain) and the discount ``log2(rank + 1)``; the ideal ranking is
  built from every judged document of the query, as trec_eval's ``ndcg_cut``.
* **Which queries are scored**: every query in the qrels. A query in the qrels that has no relevant
  document is scored 0 on every measure and counts in means (trec_eval does the same). A query in
  the qrels that is missing from the run is scored 0 (``trec_eval -c``, and ir_measures' default).
  A query in the run but not in the qrels is not scored (it has no judgements); pass
  ``strict=True`` to make that an error instead.

Example:
    >>> run = {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d3": 1.0}}
    >>> qrels = {"q1": {"d2": 1}, "q2": {"d4": 1}}
    >>> evaluate_run(run, qrels, ["Success@1", "MRR@10"])
    {'Success@1': {'q1': 0.0, 'q2': 0.0}, 'MRR@10': {'q1': 0.5, 'q2': 0.0}}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from xqg.errors import ConfigError, InputError
from xqg.evaluate.measures import QREL_FAMILIES, Measure, metric_names, parse_measures

DEFAULT_METRICS: tuple[str, ...] = ("Success@1", "Recall@10", "MRR@10", "nDCG@10")


def rank_documents(scores: Mapping[str, float]) -> list[str]:
    """Document ids ranked as trec_eval ranks them: score descending, ties by docid descending.

    Args:
        scores: ``{doc_id: score}`` of one query.

    Example:
        >>> rank_documents({"a": 1.0, "b": 1.0, "c": 2.0})
        ['c', 'b', 'a']
    """
    return [doc for doc, _ in sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)]


def _score_query(ranking: Sequence[str], judged: Mapping[str, int], measure: Measure) -> float:
    cutoff = measure.cutoff
    top = ranking if cutoff is None else ranking[:cutoff]
    family = measure.family
    if family == "nDCG":
        dcg = 0.0
        for i, doc in enumerate(top):
            gain = judged.get(doc, 0)
            if gain > 0:
                dcg += gain / math.log2(i + 2)
        ideal_gains = sorted((g for g in judged.values() if g > 0), reverse=True)
        if cutoff is not None:
            ideal_gains = ideal_gains[:cutoff]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal_gains))
        return dcg / idcg if idcg > 0 else 0.0
    level = int(measure.param("rel", 1))  # type: ignore[arg-type]
    num_rel = sum(1 for g in judged.values() if g >= level)
    if num_rel == 0:
        return 0.0
    if family == "MRR":
        for i, doc in enumerate(top):
            if judged.get(doc, 0) >= level:
                return 1.0 / (i + 1)
        return 0.0
    rel_ret = sum(1 for doc in top if judged.get(doc, 0) >= level)
    if family == "Success":
        return 1.0 if rel_ret > 0 else 0.0
    if family == "Recall":
        return rel_ret / num_rel
    if family == "P":
        return rel_ret / cutoff  # type: ignore[operator]
    raise ConfigError(f"{measure.name} is not a qrel metric")  # pragma: no cover


def evaluate_run(
    run: Mapping[str, Mapping[str, float]],
    qrels: Mapping[str, Mapping[str, int]],
    metrics: str | Measure | Iterable[str | Measure] = DEFAULT_METRICS,
    strict: bool = False,
) -> dict[str, dict[str, float]]:
    """Score a run against qrels, per query.

    Args:
        run: ``{qid: {docid: score}}``.
        qrels: ``{qid: {docid: grade}}``.
        metrics: names (``"Success@1"``, ``"Recall@100"``, ``"MRR@10"``, ``"nDCG@10"``, ``"P@5"`` and
            their aliases; see :mod:`xqg.evaluate.measures`), a comma-separated string, or
            :class:`~xqg.evaluate.measures.Measure` objects.
        strict: raise :class:`~xqg.errors.InputError` when the run has queries the qrels lack
            (by default they are not scored, as in trec_eval).

    Returns:
        ``{metric: {qid: value}}`` for every query of the qrels; the metric keys are the names as
        given (so ``"Hit@1"`` stays ``"Hit@1"``); values lie in [0, 1].

    Raises:
        ConfigError: a metric is unknown or needs answer strings (R@kt, AnswerRecall: use
            :func:`xqg.evaluate.rkt` / :func:`xqg.evaluate.answer_recall`).

    Example:
        >>> evaluate_run({"q": {"a": 0.9, "b": 0.5}}, {"q": {"b": 2}}, "nDCG@10, Hit@2")
        {'nDCG@10': {'q': 0.6309297535714575}, 'Hit@2': {'q': 1.0}}
    """
    names = metric_names(metrics)
    measures = parse_measures(names)
    for measure in measures:
        if measure.family not in QREL_FAMILIES:
            raise ConfigError(
                f"{measure.name} is computed from passage texts and answers, not qrels: "
                "use xqg.evaluate.rkt / answer_recall (or `xqg evaluate --answers`)"
            )
    if strict:
        extra = sorted(set(run) - set(qrels))
        if extra:
            raise InputError(f"{len(extra)} run queries have no qrels, e.g. {extra[:3]}")
    keys = [n if isinstance(n, str) else n.name for n in names]
    results: dict[str, dict[str, float]] = {key: {} for key in keys}
    for qid, judged in qrels.items():
        ranking = rank_documents(run.get(qid, {}))
        for key, measure in zip(keys, measures, strict=True):
            results[key][qid] = _score_query(ranking, judged, measure)
    return results
