"""Paired significance tests between two systems on the same queries, and Holm's correction.

* :func:`paired_ttest`: Student's paired t-test, two-sided (``scipy.stats.ttest_rel``); p = 1 when
  every difference is zero.
* :func:`randomisation_test`: the paired (sign-flip) randomisation test of Smucker et al. (CIKM
  2007): under the null hypothesis each query's two scores are exchangeable, so the sign of each
  difference is flipped at random; the p-value is the share of flips whose |statistic| is at least
  the observed one. With few queries (2^n <= ``num_permutations``) every flip is enumerated and the
  p-value is exact; otherwise ``num_permutations`` seeded random flips are drawn and
  ``p = (count + 1) / (num_permutations + 1)`` (never 0, and a valid test). The statistic is the
  mean difference, or a weighted sum when ``weights`` are given: :func:`compare_per_query` uses
  this to test the *macro* average over languages exactly as it is reported.
* :func:`holm`: Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1).

Example:
    >>> a, b = [0.0, 1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0, 1.0]
    >>> round(paired_ttest(a, b).pvalue, 4)
    0.0705
    >>> randomisation_test(a, b).pvalue  # exact: 2 of the 8 sign patterns of the 3 non-zero differences
    0.25
    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from xqg.errors import ConfigError, InputError
from xqg.seeding import derive_seed

TESTS = ("ttest", "randomisation")


@dataclass(frozen=True, slots=True)
class TestResult:
    """Outcome of a paired test.

    Args:
        statistic: t for the t-test; the observed (weighted) mean difference for the randomisation test.
        pvalue: two-sided p-value.
        mean_difference: mean of ``a - b`` (weighted when weights were given).
        n: number of paired observations.
    """

    __test__ = False  # not a pytest class

    statistic: float
    pvalue: float
    mean_difference: float
    n: int


def _pair(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError(f"paired tests need two equally long score lists, got {x.shape} and {y.shape}")
    if x.size == 0:
        raise InputError("paired tests need at least one query")
    return x - y


def paired_ttest(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """Two-sided paired t-test of ``mean(a - b) = 0``.

    Args:
        a: per-query scores of system A.
        b: per-query scores of system B, same queries in the same order.

    Example:
        >>> paired_ttest([1, 2, 3], [1, 2, 3]).pvalue
        1.0
    """
    from scipy import stats

    d = _pair(a, b)
    mean = float(d.mean())
    if d.size < 2 or np.allclose(d, d[0]):
        # No variance: identical systems (p = 1), or a constant non-zero shift (undefined; report p = 0
        # only if there is more than one query, as the evidence is then unambiguous).
        if np.all(d == 0):
            return TestResult(0.0, 1.0, 0.0, int(d.size))
        if d.size < 2:
            return TestResult(math.nan, 1.0, mean, 1)
        return TestResult(math.copysign(math.inf, mean), 0.0, mean, int(d.size))
    result = stats.ttest_1samp(d, 0.0)
    return TestResult(float(result.statistic), float(result.pvalue), mean, int(d.size))


def randomisation_test(
    a: Sequence[float],
    b: Sequence[float],
    num_permutations: int = 10_000,
    seed: int = 0,
    weights: Sequence[float] | None = None,
    batch_size: int = 1_000,
) -> TestResult:
    """Two-sided paired randomisation (sign-flip) test.

    Args:
        a: per-query scores of system A.
        b: per-query scores of system B (same queries, same order).
        num_permutations: random sign patterns drawn (ignored when all 2^n can be enumerated).
        seed: seed of the sign patterns: same inputs + same seed = same p-value.
        weights: per-query weights of the statistic ``sum(w * d)`` (default: ``1/n``, the mean).
        batch_size: sign patterns drawn per batch (memory: batch_size x n bytes).

    Example:
        >>> randomisation_test([1, 1, 1], [0, 0, 0]).pvalue  # exact: 2 of 8 patterns reach |3|
        0.25
    """
    d = _pair(a, b)
    n = d.size
    w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != d.shape:
        raise InputError(f"weights must match the {n} queries, got shape {w.shape}")
    wd = w * d
    observed = float(wd.sum())
    # Tolerance so that sign patterns equal to the observed statistic up to rounding count as extreme.
    threshold = abs(observed) - 1e-12 * max(1.0, float(np.abs(wd).sum()))
    if n <= 20 and 2**n <= num_permutations:
        patterns = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1) * 2 - 1
        stats_ = patterns @ wd
        count = int(np.count_nonzero(np.abs(stats_) >= threshold))
        return TestResult(observed, count / 2**n, observed, n)
    if num_permutations < 1:
        raise ConfigError("num_permutations must be at least 1")
    rng = np.random.default_rng(seed)
    count = 0
    remaining = num_permutations
    while remaining > 0:
        size = min(batch_size, remaining)
        signs = rng.integers(0, 2, size=(size, n), dtype=np.int8) * 2 - 1
        count += int(np.count_nonzero(np.abs(signs @ wd) >= threshold))
        remaining -= size
    return TestResult(observed, (count + 1) / (num_permutations + 1), observed, n)


def holm(pvalues: Sequence[float] | Mapping[str, float]) -> list[float] | dict[str, float]:
    """Holm-Bonferroni adjusted p-values: compare each with the significance level directly.

    Args:
        pvalues: a list, or ``{name: p}`` (returns the same shape).

    Example:
        >>> holm({"x": 0.01, "y": 0.02})
        {'x': 0.02, 'y': 0.02}
    """
    if isinstance(pvalues, Mapping):
        keys = list(pvalues)
        adjusted = holm([pvalues[k] for k in keys])
        return dict(zip(keys, adjusted, strict=True))  # type: ignore[arg-type]
    p = [float(x) for x in pvalues]
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def paired_test(
    a: Sequence[float],
    b: Sequence[float],
    test: str = "ttest",
    num_permutations: int = 10_000,
    seed: int = 0,
    weights: Sequence[float] | None = None,
) -> TestResult:
    """Run the named test (``"ttest"`` or ``"randomisation"``).

    Example:
        >>> paired_test([1, 0, 1, 1], [0, 0, 0, 1], test="randomisation").pvalue
        0.5
    """
    if test == "ttest":
        return paired_ttest(a, b)
    if test in ("randomisation", "randomization", "permutation"):
        return randomisation_test(a, b, num_permutations=num_permutations, seed=seed, weights=weights)
    raise ConfigError(f"unknown significance test {test!r}; use one of {', '.join(TESTS)}")


def compare_per_query(
    system: Mapping[str, float],
    baseline: Mapping[str, float],
    query_lang: Mapping[str, str],
    test: str = "ttest",
    num_permutations: int = 10_000,
    seed: int = 0,
) -> dict[str, TestResult]:
    """Test a system against a baseline per language and on the macro average.

    Per language the queries of that language are paired. For the ``"avg"`` column the
    randomisation test uses the macro average itself as statistic (each query weighted by
    1 / (languages x queries of its language)); the t-test pools all queries (a t-test of a
    weighted mean is not standard), which is the usual approximation and is stated in tables.

    Args:
        system: ``{qid: value}`` of the system.
        baseline: ``{qid: value}`` of the baseline; must score exactly the same queries.
        query_lang: ``{qid: lang}``.
        test: ``"ttest"`` or ``"randomisation"``.
        num_permutations: for the randomisation test.
        seed: for the randomisation test (each language gets its own derived seed).

    Raises:
        InputError: the two systems scored different queries, or a query has no language.

    Example:
        >>> sys_, base = {"a": 1.0, "b": 1.0, "c": 0.0}, {"a": 0.0, "b": 1.0, "c": 0.0}
        >>> sorted(compare_per_query(sys_, base, {"a": "de", "b": "de", "c": "ar"}))
        ['ar', 'avg', 'de']
    """

    if set(system) != set(baseline):
        only_sys = sorted(set(system) - set(baseline))[:3]
        only_base = sorted(set(baseline) - set(system))[:3]
        raise InputError(
            "the two systems scored different queries (run them on the same queries); "
            f"only in the system: {only_sys}, only in the baseline: {only_base}"
        )
    by_lang: dict[str, list[str]] = {}
    for qid in sorted(system):
        if qid not in query_lang:
            raise InputError(f"query {qid!r} has no language")
        by_lang.setdefault(query_lang[qid], []).append(qid)
    results: dict[str, TestResult] = {}
    for lang, qids in sorted(by_lang.items()):
        results[lang] = paired_test(
            [system[q] for q in qids],
            [baseline[q] for q in qids],
            test,
            num_permutations,
            derive_seed(seed, "significance", lang),
        )
    if by_lang:
        qids = [q for lang in sorted(by_lang) for q in by_lang[lang]]
        weights = [1.0 / (len(by_lang) * len(by_lang[query_lang[q]])) for q in qids]
        results["avg"] = paired_test(
            [system[q] for q in qids],
            [baseline[q] for q in qids],
            test,
            num_permutations,
            derive_seed(seed, "significance", "avg"),
            weights=weights if test != "ttest" else None,
        )
    return results
