"""Report folder of an experiment: ``report.md``, a self-contained ``report.html``, plots, ``results.json``.

Tables are per language with a macro average; a cell that differs significantly from the
baseline row is marked (``*`` in Markdown, bold with the p-value in a tooltip in HTML). Plots are
PNG files embedded into the HTML as data URIs, so the HTML is one file that opens anywhere.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from xqg.data.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text


@dataclass
class ResultTable:
    """One table: rows (systems or conditions) × columns (languages, then ``avg``).

    Args:
        title: caption.
        metric: the metric shown, e.g. ``"Success@1"`` (values are fractions in [0, 1] unless ``scale`` says).
        columns: column names (languages), without the average.
        values: ``{row: {column: value}}``; ``avg`` is filled in as the macro average if missing.
        baseline: the row others are tested against (``None``: no tests).
        pvalues: ``{row: {column: p}}`` of the test against the baseline.
        significance_level: α of the tests (after Holm correction, if the caller applied it).
        scale: multiplier for display (100 shows fractions as percentages).
        average: add the ``avg`` column (the macro average of the columns); ``False`` for tables
            whose columns are not languages.
    """

    title: str
    metric: str
    columns: list[str]
    values: dict[str, dict[str, float]]
    baseline: str | None = None
    pvalues: dict[str, dict[str, float]] = field(default_factory=dict)
    significance_level: float = 0.05
    scale: float = 100.0
    average: bool = True

    def __post_init__(self) -> None:
        for row in self.values.values() if self.average else ():
            if "avg" not in row:
                present = [row[c] for c in self.columns if c in row]
                if present:
                    row["avg"] = sum(present) / len(present)

    @property
    def all_columns(self) -> list[str]:
        """The language columns followed by ``avg`` (when :attr:`average`)."""
        return [*self.columns, "avg"] if self.average else list(self.columns)

    def is_significant(self, row: str, column: str) -> bool:
        """Whether ``row`` differs from the baseline in ``column`` at the table's level."""
        p = self.pvalues.get(row, {}).get(column)
        return p is not None and p < self.significance_level

    def cell(self, row: str, column: str) -> str:
        """The display text of one cell (no marks)."""
        value = self.values.get(row, {}).get(column)
        return "–" if value is None else f"{value * self.scale:.1f}"


@dataclass
class Plot:
    """A figure for the report: a grouped bar chart or a line chart.

    Args:
        name: file stem (``<name>.png``).
        title: caption.
        kind: ``"bars"`` (groups on x, one bar per series) or ``"lines"`` (numeric x).
        x: group labels (bars) or x values (lines).
        series: ``{label: [y per x]}``.
        xlabel, ylabel: axis labels.
    """

    name: str
    title: str
    kind: str
    x: list[Any]
    series: dict[str, list[float]]
    xlabel: str = ""
    ylabel: str = ""


def markdown_table(table: ResultTable) -> str:
    """Render a table as GitHub Markdown; significant cells get ``*`` (and ``†`` marks the baseline)."""
    header = ["system", *table.all_columns]
    lines = [
        f"**{table.title}** ({table.metric}, ×{table.scale:g})",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * len(table.all_columns)) + "|",
    ]
    for row in table.values:
        label = f"{row} †" if row == table.baseline else row
        cells = []
        for column in table.all_columns:
            text = table.cell(row, column)
            if table.is_significant(row, column):
                text += "*"
            cells.append(text)
        lines.append("| " + " | ".join([label, *cells]) + " |")
    if table.baseline:
        lines += [
            "",
            f"† baseline; * significant difference from the baseline (p < {table.significance_level:g}).",
        ]
    return "\n".join(lines)


def html_table(table: ResultTable) -> str:
    """Render a table as HTML; significant cells are bold with the p-value as a tooltip."""
    out = [
        f"<table><caption>{html.escape(table.title)} ({html.escape(table.metric)})</caption>",
        "<tr><th>system</th>",
    ]
    out += [f"<th>{html.escape(c)}</th>" for c in table.all_columns]
    out.append("</tr>")
    for row in table.values:
        cls = ' class="baseline"' if row == table.baseline else ""
        out.append(f"<tr{cls}><th>{html.escape(row)}</th>")
        for column in table.all_columns:
            text = html.escape(table.cell(row, column))
            p = table.pvalues.get(row, {}).get(column)
            if table.is_significant(row, column):
                out.append(f'<td class="sig" title="p = {p:.3g}"><b>{text}*</b></td>')
            elif p is not None:
                out.append(f'<td title="p = {p:.3g}">{text}</td>')
            else:
                out.append(f"<td>{text}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def render_plot(plot: Plot) -> bytes:
    """Draw a plot to PNG bytes with matplotlib's non-interactive backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=100)
    if plot.kind == "bars":
        n = max(1, len(plot.series))
        width = 0.8 / n
        positions = np.arange(len(plot.x))
        for i, (label, ys) in enumerate(plot.series.items()):
            ax.bar(positions + (i - (n - 1) / 2) * width, ys, width, label=label)
        ax.set_xticks(positions, [str(x) for x in plot.x])
    elif plot.kind == "lines":
        for label, ys in plot.series.items():
            ax.plot(plot.x, ys, marker="o", label=label)
    else:
        raise ValueError(f"unknown plot kind {plot.kind!r}")
    ax.set_title(plot.title)
    ax.set_xlabel(plot.xlabel)
    ax.set_ylabel(plot.ylabel)
    ax.grid(axis="y", alpha=0.3)
    if plot.series:
        ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child{text-align:left} caption{font-weight:bold;text-align:left;padding:4px 0}
tr.baseline{background:#f4f4f4} td.sig{background:#e8f4e8}
img{max-width:100%;border:1px solid #eee} pre{background:#f7f7f7;padding:8px;overflow:auto}
"""


def write_report(
    out_dir: str | Path,
    title: str,
    tables: Sequence[ResultTable],
    plots: Sequence[Plot] = (),
    notes: Sequence[str] = (),
    results: Mapping[str, Any] | None = None,
    config_text: str = "",
) -> dict[str, Path]:
    """Write ``report.md``, ``report.html``, ``results.json`` and one PNG per plot into ``out_dir``.

    Args:
        out_dir: the report folder (created).
        title: heading of the report.
        tables: result tables, in order.
        plots: figures, in order.
        notes: paragraphs of prose (Markdown-ish; shown as paragraphs in HTML).
        results: extra machine-readable results merged into ``results.json``.
        config_text: the experiment file, quoted at the end.

    Returns:
        ``{"markdown": ..., "html": ..., "json": ..., <plot name>: ...}`` paths.

    Example:
        >>> import tempfile
        >>> t = ResultTable("demo", "Success@1", ["ar"], {"a": {"ar": 0.5}, "b": {"ar": 0.6}}, baseline="a",
        ...                 pvalues={"b": {"ar": 0.01, "avg": 0.01}})
        >>> paths = write_report(tempfile.mkdtemp(), "Demo", [t])
        >>> "60.0*" in paths["markdown"].read_text()
        True
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    images: dict[str, bytes] = {}
    for plot in plots:
        png = render_plot(plot)
        images[plot.name] = png
        atomic_write_bytes(out / f"{plot.name}.png", png)
        paths[plot.name] = out / f"{plot.name}.png"

    md = [f"# {title}", ""]
    for note in notes:
        md += [note, ""]
    for table in tables:
        md += [markdown_table(table), ""]
    for plot in plots:
        md += [f"![{plot.title}]({plot.name}.png)", ""]
    if config_text:
        md += ["## Experiment file", "", "```toml", config_text.rstrip(), "```", ""]
    atomic_write_text(out / "report.md", "\n".join(md))
    paths["markdown"] = out / "report.md"

    body = [f"<h1>{html.escape(title)}</h1>"]
    body += [f"<p>{html.escape(note)}</p>" for note in notes]
    body += [html_table(t) for t in tables]
    for plot in plots:
        data = base64.b64encode(images[plot.name]).decode("ascii")
        body.append(
            f'<figure><img alt="{html.escape(plot.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(plot.title)}</figcaption></figure>"
        )
    if config_text:
        body.append(f"<h2>Experiment file</h2><pre>{html.escape(config_text)}</pre>")
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
    atomic_write_text(out / "report.html", page)
    paths["html"] = out / "report.html"

    payload = {"title": title, "tables": [asdict(t) for t in tables], "plots": [asdict(p) for p in plots]}
    payload.update(dict(results or {}))
    atomic_write_json(out / "results.json", payload)
    paths["json"] = out / "results.json"
    return paths


def dumps_results(results: Mapping[str, Any]) -> str:
    """Serialise results as stable, human-readable JSON."""
    return json.dumps(results, indent=2, ensure_ascii=False, sort_keys=True)
