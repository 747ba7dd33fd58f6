"""The prepared GPU check script runs end to end (on the CPU, at toy sizes) before a GPU is lent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_checks_prepare_and_quick_run_on_the_cpu(tmp_path: Path) -> None:
    script = str(REPO / "benchmarks" / "gpu_checks.py")
    assets, out = tmp_path / "assets", tmp_path / "out"
    subprocess.run([sys.executable, script, "prepare", "--assets", str(assets)], check=True, timeout=600)
    assert not (assets / "encoder" / "model.safetensors").exists()  # the weights never travel
    done = subprocess.run(
        [
            sys.executable,
            script,
            "run",
            "--assets",
            str(assets),
            "--out",
            str(out),
            "--device",
            "cpu",
            "--quick",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    results = json.loads((out / "gpu_checks.json").read_text(encoding="utf-8"))
    assert done.returncode == 0, {k: v.get("error") for k, v in results.items() if isinstance(v, dict)}
    assert results["encode"]["bfloat16"]["min_cos_vs_device_fp32"] > 0.99
    assert all(results["search"][p]["top100_equal_to_fp32"] == 1.0 for p in ("float16", "bfloat16"))
    assert results["generate"]["identical_to_cpu_share"] == 1.0  # the same device: the same queries
    assert results["train"]["seconds_per_step"] > 0
    assert "| precision |" in (out / "gpu_checks.md").read_text(encoding="utf-8")
