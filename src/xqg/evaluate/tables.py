"""Render evaluation results and comparisons as Markdown, LaTeX and JSON.

Values are stored as fractions in [0, 1] and printed as percentages (``scale=100``), as papers
report R@kt, Success@k and Recall@k. In comparison tables a cell that differs significantly from the
baseline carries ``†`` when better and ``‡`` when worse; the p-values (Holm-adjusted where stated) follow in a second table.

Example:
    >>> print(evaluation_markdown({"Hit@1": {"ar": 0.5, "de": 1.0, "avg": 0.75}}))
    | metric | ar | de | avg |
    |---|---|---|---|
    | Hit@1 | 50.00 | 100.00 | 75.00 |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from xqg.evaluate.aggregate import AVERAGE_KEY
from xqg.evaluate.comparison import ComparisonTable

MARK = "†"
"""Marks a cell significantly better than the baseline."""
WORSE_MARK = "‡"
"""Marks a cell significantly worse than the baseline."""
DAGGER = r"$^\dagger$"
DDAGGER = r"$^\ddagger$"


def _columns(aggregated: Mapping[str, Mapping[str, float]]) -> list[str]:
    langs = sorted({c for row in aggregated.values() for c in row if c not in (AVERAGE_KEY, "all")})
    extra = [c for c in (AVERAGE_KEY, "all") if any(c in row for row in aggregated.values())]
    return langs + extra


def _fmt(value: float | None, scale: float, digits: int) -> str:
    return "–" if value is None else f"{value * scale:.{digits}f}"


def _fmt_p(p: float | None) -> str:
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def evaluation_markdown(
    aggregated: Mapping[str, Mapping[str, float]],
    counts: Mapping[str, Mapping[str, int]] | None = None,
    scale: float = 100.0,
    digits: int = 2,
) -> str:
    """One system: a row per metric, a column per language, then the macro average.

    Args:
        aggregated: ``{metric: {lang: mean, "avg": macro}}`` from :func:`xqg.evaluate.aggregate`.
        counts: optional ``{metric: {lang: n}}`` (from :func:`xqg.evaluate.count_scored`); adds a
            row with the number of scored queries (of the first metric; a row per metric when
            they differ).
        scale: multiply values (100 = percentages).
        digits: decimals.
    """
    columns = _columns(aggregated)
    lines = ["| metric | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 1)]
    for metric, row in aggregated.items():
        lines.append(f"| {metric} | " + " | ".join(_fmt(row.get(c), scale, digits) for c in columns) + " |")
    if counts:
        distinct = {tuple(sorted(c.items())) for c in counts.values()}
        items = list(counts.items())[:1] if len(distinct) == 1 else list(counts.items())
        for metric, row in items:
            label = "queries" if len(distinct) == 1 else f"queries ({metric})"
            lines.append(f"| {label} | " + " | ".join(str(row.get(c, "–")) for c in columns) + " |")
    return "\n".join(lines)


def comparison_markdown(
    tables: Sequence[ComparisonTable], scale: float = 100.0, digits: int = 1, pvalues: bool = True
) -> str:
    """Several systems: per metric a table (systems x languages + avg) and its p-value table."""
    blocks = []
    for t in tables:
        lines = [f"### {t.metric}", "", "| system | " + " | ".join(t.columns) + " |"]
        lines.append("|" + "---|" * (len(t.columns) + 1))
        for s in t.systems:
            cells = []
            for c in t.columns:
                cell = _fmt(t.scores[s].get(c), scale, digits)
                cell += {1: MARK, -1: WORSE_MARK, 0: ""}[t.direction(s, c)]
                cells.append(cell)
            name = f"{s} (baseline)" if s == t.baseline else s
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("| queries | " + " | ".join(str(t.counts.get(c, "–")) for c in t.columns) + " |")
        lines += ["", _legend(t)]
        if pvalues and len(t.systems) > 1:
            lines += ["", f"p-values vs {t.baseline}:", "", "| system | " + " | ".join(t.columns) + " |"]
            lines.append("|" + "---|" * (len(t.columns) + 1))
            for s in t.systems[1:]:
                lines.append(f"| {s} | " + " | ".join(_fmt_p(t.pvalues[s].get(c)) for c in t.columns) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _legend(t: ComparisonTable) -> str:
    test = (
        "paired t-test"
        if t.test == "ttest"
        else f"paired randomisation test ({t.num_permutations} permutations, seed {t.seed})"
    )
    corr = ", Holm-corrected across the systems in each column" if t.correction == "holm" else ""
    avg = (
        "; avg: macro average over languages, tested on all queries pooled"
        if t.test == "ttest"
        else "; avg: macro average over languages, tested with the macro average as statistic"
    )
    return f"{MARK} better, {WORSE_MARK} worse than {t.baseline} at p < {t.alpha:g} ({test}{corr}{avg})."


_LATEX_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "<": r"$<$",
    ">": r"$>$",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters.

    Example:
        >>> latex_escape("mE5_small & xQG")
        'mE5\\\\_small \\\\& xQG'
    """
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def comparison_latex(tables: Sequence[ComparisonTable], scale: float = 100.0, digits: int = 1) -> str:
    """A ``booktabs`` table per metric; significantly better cells get ``$^\\dagger$``, worse ``$^\\ddagger$``; p-values in a comment row."""
    blocks = []
    for t in tables:
        spec = "l" + "r" * len(t.columns)
        caption = (
            latex_escape(t.metric)
            + ". "
            + latex_escape(_legend(t)).replace(MARK, DAGGER).replace(WORSE_MARK, DDAGGER)
        )
        header = " & ".join(["System"] + [latex_escape(c) for c in t.columns]) + r" \\"
        lines = [
            r"\begin{table}[t]",
            r"\centering",
            rf"\caption{{{caption}}}",
            rf"\begin{{tabular}}{{{spec}}}",
            r"\toprule",
            header,
            r"\midrule",
        ]
        for s in t.systems:
            cells = []
            for c in t.columns:
                cell = _fmt(t.scores[s].get(c), scale, digits)
                cell += {1: DAGGER, -1: DDAGGER, 0: ""}[t.direction(s, c)]
                cells.append(cell)
            lines.append(" & ".join([latex_escape(s)] + cells) + r" \\")
            if s != t.baseline:
                ps = " & ".join(_fmt_p(t.pvalues[s].get(c)) for c in t.columns)
                lines.append(f"% p-values {latex_escape(s)} vs {latex_escape(t.baseline)}: {ps}")
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def comparison_json(tables: Sequence[ComparisonTable]) -> dict[str, Any]:
    """``{"tables": [...]}`` with every score, adjusted and raw p-value, count and setting."""
    return {"tables": [t.to_dict() for t in tables]}
