from __future__ import annotations

from pathlib import Path

import pytest

from xqg.experiment.cache import StageCache, content_key


def test_key_changes_with_settings_and_inputs() -> None:
    base = content_key("encode", {"model": "m", "batch": 8}, {"data": "abc"})
    assert base == content_key("encode", {"batch": 8, "model": "m"}, {"data": "abc"})  # order-free
    assert base != content_key("encode", {"model": "m2", "batch": 8}, {"data": "abc"})
    assert base != content_key("encode", {"model": "m", "batch": 8}, {"data": "abd"})
    assert base != content_key("search", {"model": "m", "batch": 8}, {"data": "abc"})


def test_stage_runs_once_and_reruns_on_change(tmp_path: Path) -> None:
    cache = StageCache(tmp_path)
    calls: list[int] = []

    def build(out: Path) -> None:
        calls.append(1)
        (out / "value.txt").write_text(str(len(calls)))

    first = cache.run("stage", {"x": 1}, build)
    again = cache.run("stage", {"x": 1}, build)
    changed = cache.run("stage", {"x": 2}, build)
    assert (first.cached, again.cached, changed.cached) == (False, True, False)
    assert first.path == again.path != changed.path
    assert (first.path / "value.txt").read_text() == "1"
    assert len(calls) == 2


def test_interrupted_stage_leaves_no_result(tmp_path: Path) -> None:
    cache = StageCache(tmp_path)

    def crash(out: Path) -> None:
        (out / "partial.txt").write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        cache.run("stage", {"x": 1}, crash)
    assert not list(tmp_path.iterdir())
    result = cache.run("stage", {"x": 1}, lambda out: (out / "ok.txt").write_text("ok"))
    assert not result.cached and (result.path / "ok.txt").exists()


def test_a_resumable_stage_keeps_its_partial_folder_for_the_next_run(tmp_path) -> None:
    from xqg.experiment.cache import StageCache

    cache = StageCache(tmp_path)
    attempts: list[list[str]] = []

    def build(out):
        attempts.append(sorted(p.name for p in out.iterdir()))
        (out / f"part{len(attempts)}").write_text("x")
        if len(attempts) == 1:
            raise KeyboardInterrupt  # killed mid-build

    with pytest.raises(KeyboardInterrupt):
        cache.run("shards", {"n": 1}, build, resumable=True)
    result = cache.run("shards", {"n": 1}, build, resumable=True)
    assert attempts == [[], ["part1"]]  # the second run found the first run's work
    assert sorted(p.name for p in result.path.iterdir()) == ["DONE", "part1", "part2", "stage.json"]
    assert not list(tmp_path.glob(".*partial"))


def test_a_cached_stage_is_reported_once_per_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from xqg.experiment.config import parse_config
    from xqg.experiment.stages import ExperimentStages

    stages = ExperimentStages(parse_config({}), tmp_path / "cache")

    def build(folder: Path) -> None:
        (folder / "out.txt").write_text("x", encoding="utf-8")

    for _ in range(3):
        stages.run_stage("demo-stage", {"a": 1}, build)
    stages.run_stage("demo-stage", {"a": 2}, build)
    lines = [line for line in capsys.readouterr().out.splitlines() if "demo-stage" in line]
    assert len(lines) == 2 and all("done in" in line for line in lines)  # reuse within the run: silent
    again = ExperimentStages(parse_config({}), tmp_path / "cache")  # the next run finds both cached
    for _ in range(3):
        assert (
            again.run_stage("demo-stage", {"a": 1}, build)[0]
            == stages.run_stage("demo-stage", {"a": 1}, build)[0]
        )
    lines = [line for line in capsys.readouterr().out.splitlines() if "demo-stage" in line]
    assert len(lines) == 1 and lines[0].endswith("cached")
