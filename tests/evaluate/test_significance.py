"""Significance tests: hand-computed values, seeded stability, agreement on a large sample."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xqg.errors import InputError
from xqg.evaluate.significance import compare_per_query, holm, paired_test, paired_ttest, randomisation_test


def test_paired_ttest_hand_computed() -> None:
    a, b = [2.0, 3.0, 1.0, 4.0], [1.0, 2.0, 1.0, 2.0]  # d = 1, 1, 0, 2: mean 1, sd sqrt(2/3)
    result = paired_ttest(a, b)
    assert result.statistic == pytest.approx(1.0 / (math.sqrt(2 / 3) / 2))  # 2.449
    assert result.mean_difference == 1.0 and result.n == 4
    # Two-sided p for t = 2.449 with 3 degrees of freedom (tables: 0.0917).
    assert result.pvalue == pytest.approx(0.0917, abs=5e-4)
    assert paired_ttest([1, 2, 3], [1, 2, 3]).pvalue == 1.0
    assert paired_ttest([2, 3, 4], [1, 2, 3]).pvalue == 0.0  # constant shift: no variance


def test_randomisation_exact_enumeration_hand_computed() -> None:
    # d = 1, 2, -1 (sum 2): sign patterns give sums 2, 4, -2, 0, 0, 2, -4, -2; six of eight |s| >= 2.
    assert randomisation_test([1, 2, 0], [0, 0, 1]).pvalue == 0.75
    assert randomisation_test([1, 1, 1], [0, 0, 0]).pvalue == 0.25
    assert randomisation_test([1, 1, 1, 1, 1], [0, 0, 0, 0, 0]).pvalue == 2 / 32
    assert randomisation_test([0, 0], [0, 0]).pvalue == 1.0


def test_randomisation_is_seeded_and_stable() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.random(60), rng.random(60)
    p1 = randomisation_test(a, b, num_permutations=2000, seed=7).pvalue
    assert p1 == randomisation_test(a, b, num_permutations=2000, seed=7).pvalue
    p2 = randomisation_test(a, b, num_permutations=2000, seed=8).pvalue
    assert abs(p1 - p2) < 0.05  # another seed: another sample of the same distribution


@pytest.mark.parametrize("shift", [0.01, 0.025])
def test_randomisation_agrees_with_ttest_on_a_large_sample(shift: float) -> None:
    rng = np.random.default_rng(123)
    base = rng.random(2000)
    system = base + shift + rng.normal(0, 0.5, 2000)
    t = paired_ttest(system, base).pvalue
    r = randomisation_test(system, base, num_permutations=20_000, seed=0).pvalue
    assert 0.001 < t < 0.5
    assert r == pytest.approx(t, abs=0.01)


def test_holm_hand_computed() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.4]) == pytest.approx([0.8, 0.8])  # 0.4*2 = 0.8; then max(0.8, 0.5*1)
    assert holm([0.6, 0.7, 0.01]) == pytest.approx([1.0, 1.0, 0.03])  # capped at 1
    assert holm({"a": 0.01}) == {"a": 0.01}


def test_compare_per_query_languages_and_macro_statistic() -> None:
    system = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.0}
    base = {"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0}
    langs = {"a": "de", "b": "de", "c": "de", "d": "ar"}
    results = compare_per_query(system, base, langs, test="randomisation")
    assert results["de"].pvalue == 0.25 and results["ar"].pvalue == 1.0
    # Macro statistic: de diff 1.0, ar diff 0.0 -> avg 0.5; every de query weighs 1/6. The 8 sign
    # patterns of the three de queries give |s| in {0.5, 1/6}; 2 of 8 reach 0.5.
    assert results["avg"].statistic == pytest.approx(0.5)
    assert results["avg"].pvalue == 0.25
    with pytest.raises(InputError, match="different queries"):
        compare_per_query(system, {"a": 0.0}, langs)
    with pytest.raises(InputError, match="no language"):
        compare_per_query({"z": 1.0}, {"z": 0.0}, langs)


def test_paired_test_dispatch() -> None:
    assert paired_test([1, 0], [0, 0], test="randomisation").pvalue == 1.0
    with pytest.raises(Exception, match="unknown significance test"):
        paired_test([1], [0], test="wilcoxon")
