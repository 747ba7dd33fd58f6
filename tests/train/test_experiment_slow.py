"""A reduced run of configs/robust_training_xquad.py end to end (slow: real XQuAD, every system)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_reduced_experiment_end_to_end(tmp_path, xquad_dir):
    from xqg.encode.testing import tiny_encoder

    tiny_encoder().save(tmp_path / "model")
    spec = importlib.util.spec_from_file_location(
        "robust_xquad", REPO / "configs" / "robust_training_xquad.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = [
        "--out",
        str(tmp_path / "run"),
        "--model",
        str(tmp_path / "model"),
        "--languages",
        "de,ar",
        "--eval-per-language",
        "4",
        "--typo-variants",
        "2",
        "--steps",
        "2",
        "--batch-size",
        "4",
        "--passage-max-length",
        "64",
        "--permutations",
        "100",
    ]
    assert module.main(args) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    table = summary["tables"]["Success@1 typo"]["mean"]
    assert set(table) == set(module.SYSTEMS) and set(table["zero-shot"]) == {"ar", "de", "avg"}
    assert summary["setup"]["typo_changed_fraction"] > 0.9
    assert module.main(args) == 0  # resume: everything is done, only the summary is rewritten
