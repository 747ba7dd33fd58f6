"""One entry point for every metric family: qrel metrics, R@kt and answer-string recall."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from xqg.errors import ConfigError
from xqg.evaluate.answer_recall import answer_recall
from xqg.evaluate.measures import QREL_FAMILIES, Measure, metric_names, parse_measure
from xqg.evaluate.qrel_metrics import evaluate_run
from xqg.evaluate.rkt import rkt


def evaluate(
    metrics: str | Measure | Iterable[str | Measure],
    *,
    run: Mapping[str, Mapping[str, float]] | None = None,
    qrels: Mapping[str, Mapping[str, int]] | None = None,
    run_texts: Mapping[str, Sequence[str]] | None = None,
    answers: Mapping[str, Sequence[str]] | None = None,
    score_missing_rkt: bool = False,
) -> dict[str, dict[str, float]]:
    """Per-query values of any mix of metrics, each computed from the inputs it needs.

    Args:
        metrics: names such as ``"nDCG@10, R@2kt, AnswerRecall@20"``.
        run: ``{qid: {docid: score}}`` (qrel metrics).
        qrels: ``{qid: {docid: grade}}`` (qrel metrics).
        run_texts: ``{qid: [passage text, ...]}`` in rank order (R@kt, AnswerRecall).
        answers: ``{qid: [answer, ...]}`` (R@kt, AnswerRecall).
        score_missing_rkt: R@kt only: count gold questions without prediction as misses.

    Returns:
        ``{metric name as given: {qid: value}}``.

    Raises:
        ConfigError: a metric's inputs were not given.

    Example:
        >>> evaluate("Hit@1, AnswerRecall@1", run={"q": {"d": 1.0}}, qrels={"q": {"d": 1}},
        ...          run_texts={"q": ["It was 1990."]}, answers={"q": ["1990"]})
        {'Hit@1': {'q': 1.0}, 'AnswerRecall@1': {'q': 1.0}}
    """
    names = metric_names(metrics)
    results: dict[str, dict[str, float]] = {}
    for name in names:
        measure = parse_measure(name)
        key = name if isinstance(name, str) else measure.name
        if measure.family in QREL_FAMILIES:
            if run is None or qrels is None:
                raise ConfigError(f"{key} needs a run and qrels")
            results[key] = evaluate_run(run, qrels, [measure])[measure.name]
        else:
            if run_texts is None or answers is None:
                raise ConfigError(f"{key} needs ranked passage texts and answers")
            if measure.family == "RKT":
                results[key] = rkt(run_texts, answers, k=measure.cutoff or 2, score_missing=score_missing_rkt)
            else:
                mode = str(measure.param("mode", "dpr"))
                results[key] = answer_recall(run_texts, answers, k=measure.cutoff or 20, mode=mode)
    return results
