from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from xqg.experiment.report import Plot, ResultTable, markdown_table, write_report


def _table() -> ResultTable:
    return ResultTable(
        title="Cross-lingual XQuAD",
        metric="Success@1",
        columns=["ar", "de"],
        values={"zero-shot": {"ar": 0.50, "de": 0.80}, "zero-shot+xqg": {"ar": 0.56, "de": 0.80}},
        baseline="zero-shot",
        pvalues={"zero-shot+xqg": {"ar": 0.004, "de": 1.0, "avg": 0.03}},
    )


def test_average_and_marks() -> None:
    table = _table()
    assert table.values["zero-shot"]["avg"] == pytest.approx(0.65)
    assert table.values["zero-shot+xqg"]["avg"] == pytest.approx(0.68)
    text = markdown_table(table)
    assert "| zero-shot+xqg | 56.0* | 80.0 | 68.0* |" in text
    assert "| zero-shot † | 50.0 | 80.0 | 65.0 |" in text


def test_report_folder(tmp_path: Path) -> None:
    plot = Plot(
        "per_language",
        "Success@1 per language",
        "bars",
        ["ar", "de"],
        {"zero-shot": [50.0, 80.0], "zero-shot+xqg": [56.0, 80.0]},
    )
    paths = write_report(tmp_path, "Demo", [_table()], [plot], notes=["A note."], config_text="[x]\n")
    assert paths["per_language"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = paths["html"].read_text()
    assert html.count("<table>") == 1 and "data:image/png;base64," in html
    results = json.loads(paths["json"].read_text())
    assert results["tables"][0]["values"]["zero-shot+xqg"]["ar"] == 0.56


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium not installed (.ci/run installs it)")
def test_html_report_renders_in_a_real_browser(tmp_path: Path) -> None:
    plot = Plot("alpha", "alpha curve", "lines", [0.0, 0.1, 0.3], {"Success@1": [70.0, 71.0, 72.5]})
    paths = write_report(tmp_path / "r", "Browser check", [_table()], [plot])
    # A probe script (added to a copy only) records what the browser laid out.
    probe = (
        "<script>window.addEventListener('load',()=>{const imgs=[...document.images];"
        "document.body.setAttribute('data-probe',JSON.stringify({tables:document.querySelectorAll('table').length,"
        "rows:document.querySelectorAll('tr').length,"
        "images:imgs.map(i=>[i.complete,i.naturalWidth,i.naturalHeight,i.getBoundingClientRect().width])}));});"
        "</script>"
    )
    page = tmp_path / "probe.html"
    page.write_text(paths["html"].read_text().replace("</body>", probe + "</body>"))
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [_chromium(), *flags, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    match = re.search(r"data-probe=\"([^\"]+)\"", dom)
    assert match, dom[:500]
    probe_data = json.loads(match.group(1).replace("&quot;", '"'))
    assert probe_data["tables"] == 1 and probe_data["rows"] == 3
    (complete, width, height, shown) = probe_data["images"][0]
    assert complete and width == 800 and height == 360 and shown > 100
    shot = tmp_path / "shot.png"
    subprocess.run(
        [_chromium(), *flags, f"--screenshot={shot}", "--window-size=1200,900", paths["html"].as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.read_bytes()[:4] == b"\x89PNG"
