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


def test_a_busy_machine_makes_waiting_openmp_threads_sleep() -> None:
    from xqg.cli.main import sleep_waiting_threads

    env: dict[str, str] = {}
    assert sleep_waiting_threads(env, load=2.0, cores=2) and env == {"OMP_WAIT_POLICY": "PASSIVE"}
    assert not sleep_waiting_threads(idle := {}, load=1.9, cores=2) and idle == {}
    for chosen in ({"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "1000"}):  # the user's choice stays
        before = dict(chosen)
        assert not sleep_waiting_threads(chosen, load=50.0, cores=2) and chosen == before


def test_parsing_a_command_does_not_import_torch(tmp_path) -> None:
    """main() sets the OpenMP wait policy after parsing: torch (which starts OpenMP) must not be loaded yet."""
    import subprocess
    import sys

    (tmp_path / "q.tsv").write_text("q1\tWer?\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from xqg.cli.main import build_parser\n"
        f"build_parser().parse_args(['encode', {str(tmp_path / 'q.tsv')!r}, '--kind', 'query', '-o', "
        f"{str(tmp_path / 'out')!r}])\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
