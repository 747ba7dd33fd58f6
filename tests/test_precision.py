"""The one precision resolver (xqg.precision): spellings, auto on CPUs and GPUs, jobs keep what they recorded."""

from __future__ import annotations

import json
import warnings

import pytest

import xqg.precision
from xqg.errors import ConfigError
from xqg.precision import (
    PRECISION_CHOICES,
    autocast_context,
    choose_precision,
    normalise_precision,
    resolve_job_precision,
    resolve_precision,
)


@pytest.mark.parametrize("name", PRECISION_CHOICES)
def test_the_one_spelling_is_accepted_as_is(name) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert normalise_precision(name) == name
        assert normalise_precision(name.upper()) == name


@pytest.mark.parametrize(("alias", "name"), [("fp32", "float32"), ("bf16", "bfloat16"), ("fp16", "float16")])
def test_short_spellings_are_deprecated_aliases(alias, name) -> None:
    with pytest.warns(FutureWarning, match=f"write '{name}'"):
        assert normalise_precision(alias) == name


@pytest.mark.parametrize("bad", ["half", "int8", "", "float64"])
def test_unknown_settings_are_refused_naming_the_choices(bad) -> None:
    with pytest.raises(ConfigError, match="auto, float32, bfloat16, float16"):
        normalise_precision(bad)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"avx512f", "avx512_bf16"}, "bfloat16"),
        ({"amx_bf16", "amx_tile"}, "bfloat16"),
        ({"avx2", "avx512f"}, "float32"),
        (set(), "float32"),
    ],
)
def test_auto_on_a_cpu_follows_its_bf16_instructions(monkeypatch, flags, expected) -> None:
    monkeypatch.setattr(xqg.precision, "cpu_flags", lambda: flags)
    choice = choose_precision("auto", "cpu")
    assert choice.precision == resolve_precision("auto", "cpu") == expected
    assert choice.requested == "auto" and choice.device == "cpu"
    assert ("bf16" in choice.reason) and str(choice).startswith(expected)


def test_explicit_settings_are_kept_and_float16_is_refused_on_a_cpu(monkeypatch) -> None:
    monkeypatch.setattr(xqg.precision, "cpu_flags", lambda: set())
    assert resolve_precision("bfloat16", "cpu") == "bfloat16"  # asked for: emulated, but honoured
    assert resolve_precision("float32", "cpu") == "float32"
    with pytest.raises(ConfigError, match="GPU setting"):
        resolve_precision("float16", "cpu")
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_precision("auto", "tpu")


def _fake_gpu(monkeypatch, capability: tuple[int, int] | None) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: capability is not None)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index=0: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Fake GPU")


@pytest.mark.parametrize(
    ("capability", "expected"), [((9, 0), "bfloat16"), ((8, 0), "bfloat16"), ((7, 0), "float32")]
)
def test_auto_on_a_gpu_follows_native_bf16_support(monkeypatch, capability, expected) -> None:
    _fake_gpu(monkeypatch, capability)
    assert resolve_precision("auto", "cuda") == expected
    assert resolve_precision("auto", "cuda:0") == expected
    assert choose_precision("auto", "cuda").reason.startswith("auto: Fake GPU (compute capability")
    assert resolve_precision("float16", "cuda") == "float16"


def test_auto_for_a_gpu_this_machine_cannot_see_is_float32_with_the_reason(monkeypatch) -> None:
    _fake_gpu(monkeypatch, None)
    choice = choose_precision("auto", "cuda")
    assert choice.precision == "float32" and "not visible" in choice.reason


def test_autocast_needs_a_concrete_precision() -> None:
    with pytest.raises(ConfigError, match="resolve 'auto'"):
        autocast_context("cpu", "auto")


def _job(folder, fingerprint: dict) -> None:
    folder.mkdir()
    manifest = {
        "format": "xqg-sharded-job/1",
        "task": "encode",
        "fingerprint": fingerprint,
        "plan": {"num_rows": 1, "shard_size": 1, "num_plan_shards": 1},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_job_keeps_its_recorded_precision_under_auto(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(xqg.precision, "cpu_flags", lambda: set())  # here auto would be float32
    _job(tmp_path / "bf16", {"precision": "bfloat16"})
    kept = resolve_job_precision("auto", "cpu", tmp_path / "bf16", task="encode")
    assert kept.precision == "bfloat16" and "kept from" in kept.reason
    # an explicit setting is not overridden (the job's fingerprint check refuses a different one)
    assert resolve_job_precision("float32", "cpu", tmp_path / "bf16", task="encode").precision == "float32"
    # a new folder, or another task's folder, resolves afresh
    assert resolve_job_precision("auto", "cpu", tmp_path / "new", task="encode").precision == "float32"
    assert resolve_job_precision("auto", "cpu", tmp_path / "bf16", task="generate").precision == "float32"
    # a job from before precisions were recorded is float32
    _job(tmp_path / "old", {"model": "x"})
    monkeypatch.setattr(xqg.precision, "cpu_flags", lambda: {"avx512_bf16"})
    assert resolve_job_precision("auto", "cpu", tmp_path / "old", task="encode").precision == "float32"


def test_a_float16_job_is_not_resumed_on_a_cpu(tmp_path) -> None:
    _job(tmp_path / "fp16", {"precision": "float16"})
    with pytest.raises(ConfigError, match="float16"):
        resolve_job_precision("auto", "cpu", tmp_path / "fp16", task="encode")
