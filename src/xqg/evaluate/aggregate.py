"""Per-language means and the macro average over languages."""

from __future__ import annotations

from collections.abc import Mapping

from xqg.errors import InputError

AVERAGE_KEY = "avg"
"""Key of the macro average (mean of the per-language means) in :func:`aggregate`'s result."""

ALL_KEY = "all"
"""Key of the micro average (mean over all scored queries) when asked for."""


def aggregate(
    per_query: Mapping[str, Mapping[str, float]],
    query_lang: Mapping[str, str],
    micro: bool = False,
) -> dict[str, dict[str, float]]:
    """Average per-query values per language, then macro-average over languages.

    Only scored queries count: a query absent from ``per_query[metric]`` (for instance a question
    with no non-yes/no answer under R@kt) is not part of any mean. A language with no scored query
    is left out, as is the average when no language is left. Languages are sorted.

    Args:
        per_query: ``{metric: {qid: value}}`` as returned by :func:`xqg.evaluate.evaluate_run`.
        query_lang: ``{qid: lang}`` (e.g. ``dataset.query_language()``); may hold more queries.
        micro: also report the mean over all scored queries under ``"all"``.

    Returns:
        ``{metric: {lang: mean, ..., "avg": macro mean}}`` (values in the scale of the input).

    Raises:
        InputError: a scored query has no language.

    Example:
        >>> aggregate({"Hit@1": {"a": 1.0, "b": 0.0, "c": 1.0}}, {"a": "de", "b": "de", "c": "ar"})
        {'Hit@1': {'ar': 1.0, 'de': 0.5, 'avg': 0.75}}
    """
    result: dict[str, dict[str, float]] = {}
    for metric, values in per_query.items():
        by_lang: dict[str, list[float]] = {}
        for qid, value in values.items():
            lang = query_lang.get(qid)
            if lang is None:
                raise InputError(f"{metric}: query {qid!r} has no language (add it to the queries/lang map)")
            by_lang.setdefault(lang, []).append(float(value))
        table = {lang: sum(v) / len(v) for lang, v in sorted(by_lang.items())}
        if table:
            table[AVERAGE_KEY] = sum(table.values()) / len(table)
            if micro:
                table[ALL_KEY] = sum(float(v) for v in values.values()) / len(values)
        result[metric] = table
    return result


def count_scored(
    per_query: Mapping[str, Mapping[str, float]], query_lang: Mapping[str, str]
) -> dict[str, dict[str, int]]:
    """Number of scored queries per metric and language (``"avg"`` holds the total).

    Example:
        >>> count_scored({"Hit@1": {"a": 1.0, "b": 0.0}}, {"a": "de", "b": "ar"})
        {'Hit@1': {'ar': 1, 'de': 1, 'avg': 2}}
    """
    counts: dict[str, dict[str, int]] = {}
    for metric, values in per_query.items():
        table: dict[str, int] = {}
        for qid in values:
            lang = query_lang.get(qid)
            if lang is None:
                raise InputError(f"{metric}: query {qid!r} has no language")
            table[lang] = table.get(lang, 0) + 1
        table = dict(sorted(table.items()))
        if table:
            table[AVERAGE_KEY] = sum(table.values())
        counts[metric] = table
    return counts
