"""Typo drops: per-query means over variants, relative drops, resource groups (one home for the
robustness harness, the report of ``xqg run`` and the training experiments)."""

from __future__ import annotations

import pytest

from xqg.errors import InputError
from xqg.evaluate import group_means, mean_over_variants, relative_drop, relative_drops, resource_groups


def test_mean_over_variants_pairs_each_query_with_its_variants():
    assert mean_over_variants([{"a": 1.0, "b": 0.5}, {"b": 0.0, "a": 0.0}]) == {"a": 0.5, "b": 0.25}
    with pytest.raises(InputError, match="different queries"):
        mean_over_variants([{"a": 1.0}, {"b": 1.0}])
    with pytest.raises(InputError, match="no misspelled variant"):
        mean_over_variants([])


def test_relative_drop_is_zero_from_a_zero_clean_score():
    assert relative_drop(0.8, 0.2) == pytest.approx(0.75)
    assert relative_drop(0.5, 0.6) == pytest.approx(-0.2)  # typos helped
    # nothing to lose: the report and the robustness harness both wrote 0 where clean and typo are 0
    assert relative_drop(0.0, 0.0) == 0.0
    assert relative_drops({"de": 1.0, "ar": 0.5}, {"de": 0.5, "ar": 0.5}) == {"de": 0.5, "ar": 0.0}


def test_resource_groups_keep_the_given_order_and_skip_empty_groups():
    assert resource_groups(["zh", "el", "de", "th"]) == {"low": ["el", "th"], "high": ["zh", "de"]}
    assert resource_groups(["de"]) == {"high": ["de"]}
    assert group_means({"el": 0.1, "th": 0.3, "de": 0.2}, {"low": ["el", "th"], "high": ["de"]}) == {
        "low": pytest.approx(0.2),
        "high": 0.2,
    }
