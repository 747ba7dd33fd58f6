"""Compare several systems against a baseline: per-language tables with significance marks.

:func:`compare_systems` takes per-query values of every system (``{system: {metric: {qid: v}}}``),
averages them per language and over languages (macro), and tests each system against the baseline
in every cell (:func:`xqg.evaluate.significance.compare_per_query`). Holm's correction is applied
per cell (metric x language column) across the systems compared with the baseline, the family of
comparisons a reader makes when looking down that column. :mod:`xqg.evaluate.tables` renders the
result as Markdown, LaTeX or JSON.

Example:
    >>> per_query = {"base": {"Hit@1": {"a": 0.0, "b": 1.0}}, "new": {"Hit@1": {"a": 1.0, "b": 1.0}}}
    >>> table = compare_systems(per_query, {"a": "de", "b": "de"}, baseline="base")[0]
    >>> table.scores["new"], round(table.pvalues["new"]["de"], 3)
    ({'de': 1.0, 'avg': 1.0}, 0.5)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from xqg.errors import ConfigError, InputError
from xqg.evaluate.aggregate import AVERAGE_KEY, aggregate, count_scored
from xqg.evaluate.significance import compare_per_query, holm


@dataclass(slots=True)
class ComparisonTable:
    """One metric: mean per system and column, and adjusted p-values against the baseline.

    Args:
        metric: metric name.
        systems: system names in table order (the baseline first).
        baseline: the baseline's name.
        columns: languages (sorted) then ``"avg"`` (macro average).
        scores: ``{system: {column: mean}}`` (fractions in [0, 1]).
        pvalues: ``{system: {column: p}}`` for every non-baseline system, Holm-adjusted unless
            ``correction == "none"``.
        counts: scored queries per column (``"avg"``: all).
        test: ``"ttest"`` or ``"randomisation"``.
        correction: ``"holm"`` or ``"none"``.
        alpha: significance level for the marks.
    """

    metric: str
    systems: list[str]
    baseline: str
    columns: list[str]
    scores: dict[str, dict[str, float]]
    pvalues: dict[str, dict[str, float]]
    counts: dict[str, int]
    test: str = "ttest"
    correction: str = "holm"
    alpha: float = 0.05
    num_permutations: int = 10_000
    seed: int = 0
    raw_pvalues: dict[str, dict[str, float]] = field(default_factory=dict)

    def significant(self, system: str, column: str) -> bool:
        """Whether ``system`` differs significantly from the baseline in ``column``."""
        p = self.pvalues.get(system, {}).get(column)
        return p is not None and p < self.alpha

    def direction(self, system: str, column: str) -> int:
        """+1 if ``system`` is significantly better than the baseline in ``column``, -1 if
        significantly worse, 0 otherwise (by the sign of the difference of the means)."""
        if system == self.baseline or not self.significant(system, column):
            return 0
        diff = self.scores[system].get(column, 0.0) - self.scores[self.baseline].get(column, 0.0)
        return 1 if diff > 0 else -1 if diff < 0 else 0

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return asdict(self)


def compare_systems(
    per_query: Mapping[str, Mapping[str, Mapping[str, float]]],
    query_lang: Mapping[str, str],
    baseline: str,
    metrics: list[str] | None = None,
    test: str = "ttest",
    correction: str = "holm",
    alpha: float = 0.05,
    num_permutations: int = 10_000,
    seed: int = 0,
) -> list[ComparisonTable]:
    """Tables comparing every system with ``baseline``, one per metric.

    Args:
        per_query: ``{system: {metric: {qid: value}}}``; every system must have every metric, on
            the same queries.
        query_lang: ``{qid: lang}``.
        baseline: name of the baseline system (listed first).
        metrics: metrics to tabulate (default: the baseline's, in its order).
        test: ``"ttest"`` (paired t-test) or ``"randomisation"``.
        correction: ``"holm"`` (across the systems compared in a cell) or ``"none"``.
        alpha: significance level.
        num_permutations: for the randomisation test.
        seed: for the randomisation test.

    Raises:
        ConfigError: unknown baseline, correction, or a metric missing from a system.
        InputError: systems scored different queries.
    """
    if baseline not in per_query:
        raise ConfigError(f"baseline {baseline!r} is not one of the systems: {', '.join(per_query)}")
    if correction not in ("holm", "none"):
        raise ConfigError(f"unknown correction {correction!r}; use holm or none")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha}")
    systems = [baseline] + [s for s in per_query if s != baseline]
    metrics = list(metrics or per_query[baseline])
    tables = []
    for metric in metrics:
        for system in systems:
            if metric not in per_query[system]:
                raise ConfigError(f"system {system!r} has no values for {metric}")
        base_values = per_query[baseline][metric]
        means = {s: aggregate({metric: per_query[s][metric]}, query_lang)[metric] for s in systems}
        counts = count_scored({metric: base_values}, query_lang)[metric]
        columns = [c for c in counts if c != AVERAGE_KEY] + [AVERAGE_KEY]
        raw: dict[str, dict[str, float]] = {}
        for system in systems[1:]:
            try:
                results = compare_per_query(
                    per_query[system][metric], base_values, query_lang, test, num_permutations, seed
                )
            except InputError as exc:
                raise InputError(f"{metric}, {system} vs {baseline}: {exc}") from None
            raw[system] = {col: results[col].pvalue for col in columns if col in results}
        adjusted: dict[str, dict[str, float]] = {s: {} for s in raw}
        for col in columns:
            cell = {s: raw[s][col] for s in raw if col in raw[s]}
            corrected = holm(cell) if correction == "holm" else dict(cell)
            for s, p in corrected.items():  # type: ignore[union-attr]
                adjusted[s][col] = p
        tables.append(
            ComparisonTable(
                metric=metric,
                systems=systems,
                baseline=baseline,
                columns=columns,
                scores=means,
                pvalues=adjusted,
                counts=counts,
                test=test,
                correction=correction,
                alpha=alpha,
                num_permutations=num_permutations,
                seed=seed,
                raw_pvalues=raw,
            )
        )
    return tables
