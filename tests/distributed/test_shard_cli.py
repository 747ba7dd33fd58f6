"""The shared sharding flags and ``xqg shards status``."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from xqg.cli import distributed as shards_cli
from xqg.cli.main import COMMAND_MODULES
from xqg.cli.shard_options import add_shard_arguments, engine_from_args, sharding_options
from xqg.distributed import TaskSpec, run_sharded, spec_of
from xqg.distributed.testing import NumpyVectorTask
from xqg.errors import ConfigError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_shard_arguments(parser, default_shard_size=50)
    return parser.parse_args(list(argv))


def test_defaults_run_in_process() -> None:
    options = sharding_options(parse())
    assert options == {
        "shard_size": 50,
        "engine": "inprocess",
        "num_shards": None,
        "shard_index": None,
        "redo_corrupt": False,
        "verify": "sha256",
    }


def test_array_job_flags_reach_run_sharded(tmp_path: Path) -> None:
    args = parse("--shard-size", "4", "--num-shards", "2", "--shard-index", "1", "--verify", "size")
    paths = run_sharded(NumpyVectorTask(dim=2), 17, tmp_path, show_progress=False, **sharding_options(args))
    assert [p.name for p in paths] == ["shard-00001", "shard-00003"]


def test_ray_flags_configure_the_executor() -> None:
    engine = engine_from_args(
        parse("--engine", "ray", "--address", "auto", "--num-workers", "3", "--gpus-per-worker", "1")
    )
    assert (engine.address, engine.num_workers, engine.num_gpus_per_worker) == ("auto", 3, 1.0)


@pytest.mark.parametrize(
    "argv",
    [
        ("--num-shards", "2"),
        ("--shard-index", "0"),
        ("--num-shards", "2", "--shard-index", "2"),
        ("--address", "auto"),  # a Ray flag without --engine ray
        ("--num-workers", "2"),
    ],
)
def test_inconsistent_flags_are_config_errors(argv: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError):
        sharding_options(parse(*argv))


@pytest.mark.parametrize(
    "argv",
    [("--shard-size", "0"), ("--num-workers", "0"), ("--shard-index", "-1"), ("--gpus-per-worker", "-1")],
)
def test_out_of_range_values_are_refused_when_parsed(argv: tuple[str, ...], capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2
    assert f"argument {argv[0]}" in capsys.readouterr().err


def test_tasks_without_a_spec_cannot_go_to_remote_workers() -> None:
    class Local:
        name = "local"

        def fingerprint(self) -> dict:
            return {}

        def run(self, shard, workdir) -> dict:
            return {}

    with pytest.raises(ConfigError, match="to_spec"):
        spec_of(Local())
    spec = spec_of(NumpyVectorTask(dim=3, seed=1))
    assert spec == TaskSpec("xqg.distributed.testing:NumpyVectorTask", spec.kwargs)
    assert spec.kwargs["seed"] == 1
    with pytest.raises(ConfigError, match="JSON"):
        TaskSpec("a.b:C", {"model": object()})


def main(argv: list[str]) -> int:
    """``xqg`` with only the ``shards`` command (building every stage's parser imports torch)."""
    assert "distributed" in COMMAND_MODULES
    parser = argparse.ArgumentParser(prog="xqg")
    shards_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_status_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_sharded(NumpyVectorTask(dim=2), 17, tmp_path, 4, num_shards=2, shard_index=0, show_progress=False)
    assert main(["shards", "status", str(tmp_path), "--num-shards", "2"]) == 1
    out = capsys.readouterr().out
    assert "done 3, unfinished 2, corrupt 0" in out
    assert "shard-00001 rows 4-8 (--shard-index 1)" in out
    run_sharded(NumpyVectorTask(dim=2), 17, tmp_path, 4, show_progress=False)
    (tmp_path / "shard-00004" / "ids.txt").write_text("doc-16\nxx\n")
    assert main(["shards", "status", str(tmp_path)]) == 1
    assert "corrupt 1" in capsys.readouterr().out
    shutil.rmtree(tmp_path / "shard-00004")
    run_sharded(NumpyVectorTask(dim=2), 17, tmp_path, 4, show_progress=False)
    assert main(["shards", "status", str(tmp_path)]) == 0
