from __future__ import annotations

import subprocess
import sys

from xqg.cli.main import COMMAND_MODULES


def test_help_lists_every_stage_without_importing_torch():
    code = (
        "import sys\n"
        "from xqg.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("NO-TORCH")
    for stage in (
        "data",
        "encode",
        "search",
        "evaluate",
        "compare",
        "train-generator",
        "generate",
        "fuse",
        "train-retriever",
        "mine-negatives",
        "typos",
        "robustness",
        "run",
    ):
        assert f"    {stage}" in out, stage
    assert COMMAND_MODULES


def test_run_check_with_a_subset_of_systems(capsys) -> None:
    from pathlib import Path

    from xqg.cli.main import main

    config = Path(__file__).resolve().parents[2] / "configs" / "rq2_typo_training_low_vs_high.toml"
    assert main(["run", str(config), "--systems", "fine-tuned:multi-positive", "--check"]) == 0
    out = capsys.readouterr().out
    assert "system fine-tuned:" in out and "system fine-tuned:multi-positive:" in out
    assert "typos-aware" not in out
    assert main(["run", str(config), "--systems", "zero-shot+xqg", "--check"]) != 0
    assert "not in [systems] names" in capsys.readouterr().err
