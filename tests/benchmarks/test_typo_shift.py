"""benchmarks/typo_shift.py: its statistics on vectors whose answer is known, and a run on a tiny encoder."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture()
def typo_shift(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sys.modules.pop("typo_shift", None)
    import typo_shift

    return typo_shift


def test_a_shared_shift_and_unrelated_shifts_are_told_apart(typo_shift) -> None:
    rng = np.random.default_rng(0)
    clean = rng.normal(size=(50, 64))
    passages = rng.normal(size=(30, 64))
    shared = np.tile(rng.normal(size=64), (50, 1))
    same = typo_shift.shift_statistics(clean, clean + shared, clean + shared, passages)
    assert same["cos other q"] == pytest.approx(1.0) and same["cos same q"] == pytest.approx(1.0)
    assert same["mean-shift share"] == pytest.approx(1.0)
    apart = typo_shift.shift_statistics(
        clean, clean + rng.normal(size=(50, 64)), clean + rng.normal(size=(50, 64)), passages
    )
    assert abs(apart["cos other q"]) < 0.05 and abs(apart["cos same q"]) < 0.1
    assert apart["mean-shift share"] < 0.1 and apart["shift spread / clean spread"] > 0.5


def test_the_table_runs_on_a_tiny_encoder(typo_shift, tmp_path, data_mirror, monkeypatch, capsys) -> None:
    from xqg.encode.testing import tiny_encoder

    monkeypatch.setenv("XQG_DATA_MIRROR", str(data_mirror))
    tiny_encoder(seed=0).save(tmp_path / "enc")
    code = typo_shift.main(
        ["--per-language", "6", "--languages", "de,th", "--encoder", str(tmp_path / "enc")]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "| de |" in out and "| th |" in out and "| all |" in out
