"""`xqg run` end to end on real XQuAD with tiny random encoders: every system kind that needs no
generator, typo conditions, the report folder, and the stage cache (a re-run redoes nothing, a
changed setting redoes only what depends on it)."""

from __future__ import annotations

import json

import pytest

from xqg.encode.testing import tiny_encoder
from xqg.errors import ConfigError
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


def _write_locomo(path, conversations=4, sessions=2, turns=5):
    """A LoCoMo-format file: conversations of numbered sessions, questions whose evidence is one or
    two turns (some in two sessions), and one adversarial question (category 5, excluded)."""
    people = ["Ana", "Ben", "Caro", "Dev", "Eli", "Fay", "Gus", "Hana"]
    things = ["cat", "bike", "garden", "violin", "boat", "kiln", "novel", "tent", "drone", "loom"]
    data = []
    for c in range(conversations):
        a, b = people[(2 * c) % len(people)], people[(2 * c + 1) % len(people)]
        sample = {"sample_id": f"conv-{c}", "speaker_a": a, "speaker_b": b}
        qa = []
        for s in range(1, sessions + 1):
            sample[f"session_{s}_date_time"] = f"10:00 am on {s} May, 2023"
            sample[f"session_{s}"] = [
                {
                    "speaker": (a, b)[t % 2],
                    "dia_id": f"D{s}:{t + 1}",
                    "text": f"{(a, b)[t % 2]} talks about the {things[(c + s * t) % len(things)]} number {c}{s}{t}.",
                }
                for t in range(turns)
            ]
            for t in range(0, turns, 2):
                evidence = [f"D{s}:{t + 1}"] + ([f"D{sessions}:{turns}"] if t == 0 else [])
                qa.append(
                    {
                        "question": f"What did {(a, b)[t % 2]} say about the {things[(c + s * t) % len(things)]}?",
                        "answer": "something",
                        "evidence": evidence,
                        "category": 1 + t % 4,
                    }
                )
        qa.append(
            {"question": "What is unanswerable?", "adversarial_answer": "x", "evidence": [], "category": 5}
        )
        sample["qa"] = qa
        data.append(sample)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _locomo_config(tmp_path, model, data_path, **data):
    return parse_config(
        {
            "experiment": {"name": "tiny-locomo", "seed": 5, "output": str(tmp_path / "report")},
            "data": {
                "dataset": "locomo",
                "path": str(data_path),
                "num_folds": 2,
                "eval_folds": [0, 1],
                **data,
            },
            "encoder": {"model": str(model), "batch_size": 64},
            "training": {"towers": "query", "max_steps": 2, "batch_size": 4},
            "fusion": {"alpha_sweep": [0.0, 0.5], "mode": "mean"},
            "typos": {"protocols": ["one-typo"], "variants": 1},
            "systems": {
                "names": ["zero-shot", "zero-shot+oracle", "zero-shot+predicted", "fine-tuned"],
                "baseline": "zero-shot",
            },
            "metrics": {"names": ["Success@1", "Recall@10"], "primary": "Success@1"},
        },
        where="tiny-locomo.toml",
    )


def test_run_on_locomo_folds_over_conversations(tmp_path, models):
    data_path = _write_locomo(tmp_path / "locomo10.json")
    summary = run_experiment(_locomo_config(tmp_path, models[0], data_path), cache_dir=tmp_path / "cache")
    results = json.loads(summary.results_json.read_text(encoding="utf-8"))
    assert results["languages"] == ["en"]
    assert "fold0" in results and "fold1" in results
    per_query = tmp_path / "report" / "per_query"
    # every loaded question (4 conversations x 2 sessions x 3; the adversarial one excluded) is
    # evaluated exactly once over the two folds
    evaluated = json.loads((per_query / "zero-shot.clean.json").read_text(encoding="utf-8"))["Success@1"]
    assert len(evaluated) == 24
    assert all(not qid.endswith("/q6") for qid in evaluated)
    for system in ("zero-shot+oracle", "zero-shot+predicted", "fine-tuned"):
        typo = json.loads((per_query / f"{system}.one-typo_0.json").read_text(encoding="utf-8"))
        assert set(typo["Recall@10"]) == set(evaluated)
    # a fold holds whole conversations; the two test blocks cover all four; α was chosen on dev ones
    folds = [results[f"fold{k}"]["articles"] for k in (0, 1)]
    assert sorted(folds[0]["test"] + folds[1]["test"]) == ["conv-0", "conv-1", "conv-2", "conv-3"]
    for split in folds:
        assert len(split["dev"]) == 1 and not set(split["test"]) & set(split["train"] + split["dev"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"languages": ["de"]}, "have no questions in locomo"),
        ({"num_folds": 5, "eval_folds": [0]}, "only 4 articles/conversations"),
        ({"level": "sentence"}, "XQuAD option"),
    ],
)
def test_locomo_config_errors_name_the_problem(tmp_path, models, data, message):
    data_path = _write_locomo(tmp_path / "locomo10.json")
    with pytest.raises(ConfigError, match=message):
        run_experiment(_locomo_config(tmp_path, models[0], data_path, **data), cache_dir=tmp_path / "cache")


def test_datasets_without_fold_wiring_stop_with_a_message(tmp_path, models):
    config = parse_config(
        {
            "experiment": {"name": "x", "output": str(tmp_path / "r")},
            "data": {"dataset": "mkqa", "languages": ["de"]},
            "systems": {"names": ["zero-shot"], "baseline": "zero-shot"},
        },
        where="x.toml",
    )
    with pytest.raises(ConfigError, match="'mkqa' has loaders"):
        run_experiment(config, cache_dir=tmp_path / "cache")
