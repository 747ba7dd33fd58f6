"""`xqg run` end to end on real XQuAD with tiny random encoders: every system kind that needs no
generator, typo conditions, the report folder, and the stage cache (a re-run redoes nothing, a
changed setting redoes only what depends on it)."""

from __future__ import annotations

import json

import pytest

from xqg.encode.testing import tiny_encoder
from xqg.experiment.config import parse_config
from xqg.experiment.pipeline import run_experiment


def _config(tmp_path, model, other, variants=2):
    return parse_config(
        {
            "experiment": {"name": "tiny", "seed": 3, "output": str(tmp_path / "report")},
            "data": {
                "dataset": "xquad",
                "languages": ["de", "th"],
                "num_folds": 4,
                "eval_folds": [1],
                "max_queries_per_language": 12,
            },
            "encoder": {"model": str(model), "batch_size": 64, "others": {"other": str(other)}},
            "training": {"towers": "query", "max_steps": 2, "batch_size": 8},
            "fusion": {"alpha_sweep": [0.0, 0.5], "mode": "mean"},
            "typos": {"protocols": ["one-typo"], "variants": variants},
            "systems": {
                "names": [
                    "zero-shot",
                    "zero-shot+oracle",
                    "zero-shot+predicted",
                    "fine-tuned",
                    "fine-tuned:typos-aware",
                    "other/zero-shot",
                ],
                "baseline": "zero-shot",
            },
            "metrics": {"names": ["Success@1", "MRR@10"], "primary": "Success@1"},
        },
        where="tiny.toml",
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    tiny_encoder(seed=0).save(root / "a")
    tiny_encoder(seed=1).save(root / "b")
    return root / "a", root / "b"


def _stage_dirs(cache):
    return sorted(p.name for p in cache.iterdir() if p.is_dir())


def test_run_writes_the_report_and_reuses_every_stage(tmp_path, models, xquad_dir, monkeypatch):
    monkeypatch.setenv("XQG_DATA_MIRROR", str(xquad_dir.parent))
    cache = tmp_path / "cache"
    summary = run_experiment(_config(tmp_path, *models), cache_dir=cache)
    results = json.loads(summary.results_json.read_text(encoding="utf-8"))
    assert summary.report_html.exists() and (tmp_path / "report" / "report.md").exists()
    assert set(results["systems"]) >= {"zero-shot", "fine-tuned:typos-aware", "other/zero-shot"}
    fold = results["fold1"]
    # α of the predictor is chosen on held-out dev articles, the oracle's on the training articles
    assert "dev articles (select α)" in fold["alpha_curves"]["zero-shot+predicted"]
    assert "training articles (select α)" in fold["alpha_curves"]["zero-shot+oracle"]
    assert fold["alpha"]["zero-shot+predicted"] in (0.0, 0.5)
    trained = [d for d in _stage_dirs(cache) if d.startswith("train-retriever")]
    assert len(trained) == 2  # plain and typos-aware
    per_query = list((tmp_path / "report" / "per_query").glob("*.json"))
    assert len(per_query) == 6 * 3  # systems x (clean + 2 variants)
    values = json.loads((tmp_path / "report" / "per_query" / "zero-shot.clean.json").read_text())
    assert len(values["Success@1"]) == 24 and set(values["Success@1"].values()) <= {0.0, 1.0}

    before = _stage_dirs(cache)
    again = run_experiment(_config(tmp_path, *models), cache_dir=cache)
    assert _stage_dirs(cache) == before
    assert json.loads(again.results_json.read_text(encoding="utf-8"))["fold1"] == fold

    # one more typo variant: only the new variant's queries are encoded (per encoder)
    run_experiment(_config(tmp_path, *models, variants=3), cache_dir=cache)
    new = sorted(set(_stage_dirs(cache)) - set(before))
    assert new and all(d.startswith("encode-typos") for d in new)
