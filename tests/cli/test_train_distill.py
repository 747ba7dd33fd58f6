"""`xqg train-retriever --robustness distill` on an XQuAD fold with a tiny encoder."""

from __future__ import annotations

import json

import pytest

from xqg.cli.main import main
from xqg.encode.testing import tiny_encoder


@pytest.mark.parametrize("towers", ["query", "both"])
def test_train_retriever_distill_on_an_xquad_fold(tmp_path, capsys, xquad_dir, towers):
    model = tiny_encoder(seed=0).save(tmp_path / "model")
    args = [
        "train-retriever",
        "--model",
        str(model),
        "--xquad-fold",
        "0",
        "--num-folds",
        "4",
        "--xquad-root",
        str(xquad_dir),
        "--languages",
        "de,zh",
        "--robustness",
        "distill",
        "--towers",
        towers,
        "--distill-pieces-per-passage",
        "1",
        "--distill-passages",
        "4",
        "--max-steps",
        "2",
        "--batch-size",
        "4",
        "--tuning",
        "lora",
        "--output",
        str(tmp_path / "run"),
        "--no-progress",
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == 2 and 0.0 <= out["dev"]["avg"] <= 1.0 and set(out["dev"]) == {"de", "zh", "avg"}
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()
