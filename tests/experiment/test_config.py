from __future__ import annotations

from pathlib import Path

import pytest

from xqg.errors import ConfigError
from xqg.experiment.config import load_config, parse_config, select_systems

REPO = Path(__file__).resolve().parents[2]


def test_defaults_are_valid() -> None:
    cfg = parse_config({})
    assert cfg.systems.baseline in cfg.systems.names
    assert cfg.output_dir == Path("runs/experiment")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"bogus": {}}, "unknown table [bogus]"),
        ({"data": {"datset": "xquad"}}, "unknown key 'datset' in [data]"),
        ({"data": {"dataset": "squad"}}, "dataset 'squad'"),
        ({"data": {"languages": ["xx"]}}, "'xx' is not a language code"),
        ({"data": {"num_folds": "4"}}, "expected an integer"),
        ({"data": {"num_folds": 4, "eval_folds": [4]}}, "outside 0..3"),
        ({"fusion": {"alpha": 1.5}}, "outside [0, 1]"),
        ({"fusion": {"mode": "max"}}, "mode must be"),
        ({"fusion": {"misspelled_copies": 0}}, "misspelled_copies must be >= 1"),
        (
            {
                "data": {"dataset": "mkqa", "corpus": "c.jsonl"},
                "metrics": {"names": ["R@2kt"], "primary": "R@2kt"},
                "systems": {"names": ["zero-shot", "zero-shot+xqg-typos"]},
            },
            "+xqg-typos is implemented for fold experiments",
        ),
        ({"systems": {"names": ["zero-shot", "bm25"]}}, "'bm25': expected"),
        ({"systems": {"names": ["zero-shot", "zero-shot:adversarial"]}}, "only follows 'fine-tuned'"),
        ({"systems": {"names": ["zero-shot", "zero-shot+magic"]}}, "passages must be"),
        ({"systems": {"names": ["zero-shot", "minilm/zero-shot"]}}, "not defined in [encoder] others"),
        ({"encoder": {"others": {"m": 3}}}, "expected a table of strings"),
        ({"systems": {"names": ["zero-shot+xqg"], "baseline": "zero-shot"}}, "baseline 'zero-shot'"),
        ({"metrics": {"primary": "nDCG@10"}}, "primary 'nDCG@10'"),
        ({"training": {"towers": "passage"}}, "towers must be 'both' or 'query'"),
        ({"training": {"typo_variants": 0}}, "typo_variants and adversarial_candidates >= 1"),
        ({"experiment": {"device": "gpu"}}, "[experiment] device: unknown device 'gpu'"),
        (
            {"data": {"level": "sentence"}, "generator": {"translation_pairs": True}},
            "translation_pairs needs",
        ),
    ],
)
def test_invalid_configs_name_the_problem(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, where="exp.toml")
    assert message in str(info.value)
    assert "exp.toml" in str(info.value)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[data\n")
    with pytest.raises(ConfigError, match="broken.toml: invalid TOML"):
        load_config(path)


def test_shipped_experiments_validate() -> None:
    files = sorted((REPO / "configs").glob("*.toml"))
    assert files, "configs/ holds no experiment files"
    for path in files:
        cfg = load_config(path)
        assert cfg.experiment.name


def test_select_systems_keeps_the_baseline_and_the_file_order() -> None:
    cfg = load_config(REPO / "configs" / "rq2_typo_training_low_vs_high.toml")
    sub = select_systems(cfg, ["fine-tuned:multi-positive", "fine-tuned:typos-aware"])
    assert sub.systems.names == ("fine-tuned", "fine-tuned:typos-aware", "fine-tuned:multi-positive")
    assert sub.systems.baseline == "fine-tuned"
    assert sub.source_text == cfg.source_text  # the report still embeds the file as read
    assert sub.training == cfg.training
    with pytest.raises(ConfigError, match="'fine-tuned:adversarial'.*not in \\[systems\\] names"):
        select_systems(cfg, ["fine-tuned:adversarial"])


def test_system_grammar() -> None:
    from xqg.experiment.config import SystemSpec, parse_system

    assert parse_system("zero-shot") == SystemSpec()
    assert parse_system("fine-tuned+xqg") == SystemSpec(trained=True, passages="xqg")
    assert parse_system("m/fine-tuned:self-teaching") == SystemSpec("m", True, "self-teaching", "plain")
    cfg = parse_config(
        {
            "encoder": {"others": {"minilm": "/models/minilm"}},
            "systems": {"names": ["zero-shot", "minilm/zero-shot"]},
        }
    )
    assert cfg.encoder_model("minilm") == "/models/minilm"
    assert list(cfg.system_specs) == ["zero-shot", "minilm/zero-shot"]
