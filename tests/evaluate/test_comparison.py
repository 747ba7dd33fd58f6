"""Comparison tables: means, Holm-adjusted p-values, Markdown/LaTeX/JSON rendering."""

from __future__ import annotations

import json

import pytest

from xqg.errors import ConfigError, InputError
from xqg.evaluate.comparison import compare_systems
from xqg.evaluate.significance import holm, randomisation_test
from xqg.evaluate.tables import comparison_json, comparison_latex, comparison_markdown, evaluation_markdown

LANGS = {f"{lang}{i}": lang for lang in ("ar", "de") for i in range(6)}


def _system(hits: dict[str, list[int]]) -> dict[str, float]:
    return {f"{lang}{i}": float(v) for lang, values in hits.items() for i, v in enumerate(values)}


BASE = _system({"ar": [0, 0, 0, 0, 0, 0], "de": [1, 1, 1, 0, 0, 0]})
BETTER = _system({"ar": [1, 1, 1, 1, 1, 1], "de": [1, 1, 1, 0, 0, 0]})
SAME = _system({"ar": [1, 0, 0, 0, 0, 0], "de": [1, 1, 0, 1, 0, 0]})


def test_compare_systems_means_and_holm() -> None:
    per_query = {"base": {"Hit@1": BASE}, "better": {"Hit@1": BETTER}, "same": {"Hit@1": SAME}}
    (table,) = compare_systems(per_query, LANGS, baseline="base", test="randomisation")
    assert table.systems == ["base", "better", "same"]
    assert table.columns == ["ar", "de", "avg"]
    assert table.scores["better"] == {"ar": 1.0, "de": 0.5, "avg": 0.75}
    assert table.counts == {"ar": 6, "de": 6, "avg": 12}
    # Raw p, exact: better/ar: 2 of 64 sign patterns -> 1/32; same/ar: 1 non-zero difference -> 1.
    assert table.raw_pvalues["better"]["ar"] == pytest.approx(1 / 32)
    assert table.raw_pvalues["same"]["ar"] == 1.0
    expected = holm({"better": 1 / 32, "same": 1.0})
    assert table.pvalues["better"]["ar"] == pytest.approx(expected["better"])  # 2/32
    # Significant alone (1/32 < 0.05), not after Holm's correction over the two systems (2/32).
    assert not table.significant("better", "ar")
    (uncorrected,) = compare_systems(
        per_query, LANGS, baseline="base", test="randomisation", correction="none"
    )
    assert uncorrected.significant("better", "ar") and not uncorrected.significant("better", "de")
    # The avg column tests the macro average: same value as an explicit weighted randomisation test.
    order = sorted(LANGS, key=lambda q: (LANGS[q], q))
    weighted = randomisation_test(
        [BETTER[q] for q in order], [BASE[q] for q in order], weights=[1 / 12] * 12, seed=0
    ).pvalue
    assert table.raw_pvalues["better"]["avg"] == pytest.approx(weighted)


def test_rendering() -> None:
    per_query = {"base": {"Hit@1": BASE, "R@2kt": BASE}, "xqg_new": {"Hit@1": BETTER, "R@2kt": BETTER}}
    tables = compare_systems(per_query, LANGS, baseline="base", test="randomisation", correction="none")
    md = comparison_markdown(tables)
    assert "### Hit@1" in md and "### R@2kt" in md
    assert "| xqg_new | 100.0† | 50.0 | 75.0† |" in md
    assert "| base (baseline) | 0.0 | 50.0 | 25.0 |" in md
    assert "p-values vs base" in md
    latex = comparison_latex(tables)
    assert r"xqg\_new & 100.0$^\dagger$ & 50.0 & 75.0$^\dagger$ \\" in latex
    assert latex.count(r"\begin{tabular}") == 2
    data = json.loads(json.dumps(comparison_json(tables)))
    assert data["tables"][0]["scores"]["xqg_new"]["avg"] == 0.75
    assert data["tables"][0]["pvalues"]["xqg_new"]["ar"] == pytest.approx(1 / 32)


def test_evaluation_markdown_with_counts() -> None:
    md = evaluation_markdown(
        {"Hit@1": {"ar": 0.5, "de": 1.0, "avg": 0.75}}, {"Hit@1": {"ar": 2, "de": 1, "avg": 3}}
    )
    assert md.splitlines()[-1] == "| queries | 2 | 1 | 3 |"


def test_errors() -> None:
    per_query = {"base": {"Hit@1": BASE}, "other": {"Hit@1": {"ar0": 1.0}}}
    with pytest.raises(InputError, match="different queries"):
        compare_systems(per_query, LANGS, baseline="base")
    with pytest.raises(ConfigError):
        compare_systems(per_query, LANGS, baseline="nope")
    with pytest.raises(ConfigError):
        compare_systems({"base": {"Hit@1": BASE}, "x": {}}, LANGS, baseline="base")


def test_worse_systems_get_their_own_mark() -> None:
    per_query = {"better": {"Hit@1": BETTER}, "base": {"Hit@1": BASE}}
    (table,) = compare_systems(per_query, LANGS, baseline="better", test="randomisation", correction="none")
    assert table.direction("base", "ar") == -1 and table.direction("base", "de") == 0
    md = comparison_markdown([table])
    assert "| base | 0.0‡ | 50.0 | 25.0‡ |" in md
    assert r"0.0$^\ddagger$" in comparison_latex([table])
