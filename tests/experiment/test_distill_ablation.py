"""configs/distill_ablation.py end to end on real XQuAD with a tiny encoder (slow: two trainings)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from xqg.encode.testing import tiny_encoder

REPO = Path(__file__).resolve().parents[2]


def _ablation_module():
    spec = importlib.util.spec_from_file_location(
        "distill_ablation", REPO / "configs" / "distill_ablation.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_extra_texts_without_files_and_a_reference_not_run_are_refused(tmp_path, capsys):
    experiment = REPO / "configs" / "distill_ablation.toml"
    assert (
        _ablation_module().main([str(experiment), "--variants", "extra-texts", "--out", str(tmp_path)]) == 2
    )
    assert "--distill-files" in capsys.readouterr().err
    args = [str(experiment), "--variants", "default,lora", "--reference", "full", "--out", str(tmp_path)]
    assert _ablation_module().main(args) == 2  # a reference that is not run is refused, not ignored
    assert "--reference full" in capsys.readouterr().err


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
    module = _ablation_module()
    extra = tmp_path / "extra.jsonl"
    rows = [
        ("x1", "Wer schrieb das Buch?", "de"),
        ("x2", "Wann begann der Krieg?", "de"),
        ("x3", "ใครชนะ", "th"),
    ]
    extra.write_text(
        "".join(
            json.dumps({"id": i, "text": t, "lang": lang}, ensure_ascii=False) + "\n" for i, t, lang in rows
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = [
        str(experiment),
        "--out",
        str(out),
        "--variants",
        "default,lora,extra-texts",
        "--cache",
        str(tmp_path / "cache"),
        "--distill-files",
        str(extra),
    ]
    assert module.main(args) == 0
    table = (out / "ablation.md").read_text(encoding="utf-8")
    assert "| zero-shot |" in table and "| default |" in table and "| lora |" in table
    assert str(extra) in table  # the extra-texts row names its files
    summary = json.loads((out / "ablation.json").read_text(encoding="utf-8"))
    assert set(summary["rows"]) == {"zero-shot", "default", "lora", "extra-texts"}
    # every other variant is also tested against the default
    assert summary["reference"] == "default" and "Against default" in table
    assert set(summary["versus_reference"]["clean"]) == {"lora", "extra-texts"}
    assert all(0 < p <= 1 for p in summary["versus_reference"]["one-typo"].values())
    assert (
        summary["costs"]["lora"]["trainable_parameters"] < summary["costs"]["default"]["trainable_parameters"]
    )
    # the extra texts are trained on as well: three more label-free texts than the file's settings alone
    assert summary["costs"]["extra-texts"]["examples"] == summary["costs"]["default"]["examples"] + len(rows)
    assert set(summary["rows"]["default"]) >= {"clean", "one-typo", "clean low", "clean high"}
    assert module.main(["--variants", "nope", str(experiment)]) == 2
