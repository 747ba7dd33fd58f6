"""benchmarks/bench_search_precision.py runs end to end on a small index and finds the same documents."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_the_precision_table_runs_and_both_products_agree(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sys.modules.pop("bench_search_precision", None)
    import bench_search_precision

    code = bench_search_precision.main(
        ["--work", str(tmp_path), "--rows", "3000", "--batches", "1", "9", "--repeats", "1", "-k", "10"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "| 9 |" in out and "| 1/1 |" in out
    row = next(line for line in out.splitlines() if line.startswith("| 9 |"))
    assert row.split("|")[5].strip() == "9/9"  # the same documents for every query
