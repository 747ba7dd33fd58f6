"""configs/distill_ablation.py end to end on real XQuAD with a tiny encoder (slow: two trainings)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from xqg.encode.testing import tiny_encoder

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_ablation_runs_each_variant_and_tabulates_them(tmp_path, xquad_dir, monkeypatch):
    monkeypatch.setenv("XQG_DATA_MIRROR", str(xquad_dir.parent))
    model = tiny_encoder(seed=0).save(tmp_path / "model")
    experiment = tmp_path / "ablation.toml"
    experiment.write_text(
        f"""
[experiment]
name = "tiny-ablation"
seed = 3

[data]
dataset = "xquad"
languages = ["de", "th"]
num_folds = 4
eval_folds = [1]
max_queries_per_language = 8

[encoder]
model = "{model}"

[training]
towers = "query"
max_steps = 2
batch_size = 8
languages = ["de", "th"]
distill_pieces_per_passage = 1

[typos]
protocols = ["one-typo"]
variants = 2

[systems]
names = ["zero-shot", "fine-tuned:distill"]
baseline = "zero-shot"
""",
        encoding="utf-8",
    )
    spec = importlib.util.spec_from_file_location(
        "distill_ablation", REPO / "configs" / "distill_ablation.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "out"
    args = [
        str(experiment),
        "--out",
        str(out),
        "--variants",
        "default,lora",
        "--cache",
        str(tmp_path / "cache"),
    ]
    assert module.main(args) == 0
    table = (out / "ablation.md").read_text(encoding="utf-8")
    assert "| zero-shot |" in table and "| default |" in table and "| lora |" in table
    summary = json.loads((out / "ablation.json").read_text(encoding="utf-8"))
    assert set(summary["rows"]) == {"zero-shot", "default", "lora"}
    assert (
        summary["costs"]["lora"]["trainable_parameters"] < summary["costs"]["default"]["trainable_parameters"]
    )
    assert set(summary["rows"]["default"]) >= {"clean", "one-typo", "clean low", "clean high"}
    assert module.main(["--variants", "nope", str(experiment)]) == 2
