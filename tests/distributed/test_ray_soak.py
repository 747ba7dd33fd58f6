"""Soak (slow): Ray workers SIGKILLed at random moments, a bounded number of times, while a job runs;
the job finishes (resuming where needed) with output byte-identical to the in-process run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from xqg.distributed import run_sharded
from xqg.distributed.testing import NumpyVectorTask, soak_on_ray

pytestmark = pytest.mark.slow


def snapshot(out_dir: Path) -> dict[str, bytes]:
    """Every file and folder (hidden ones too: a stale temporary folder would show)."""
    return {
        p.relative_to(out_dir).as_posix(): (p.read_bytes() if p.is_file() else b"<dir>")
        for p in sorted(out_dir.rglob("*"))
    }


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    pytest.importorskip("psutil")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_random_kills_numpy_task(ray_cluster: None, tmp_path: Path) -> None:
    task = NumpyVectorTask(dim=16, seed=7, batch_size=2, delay=0.05)
    run_sharded(task, 320, tmp_path / "local", 8, show_progress=False)
    report = soak_on_ray(
        task,
        320,
        8,
        tmp_path / "ray",
        max_kills=6,
        max_seconds=60,
        min_interval=0.3,
        max_interval=1.2,
        seed=1,
        max_restarts=1,  # an actor killed twice gives up: the job is re-run and resumes
    )
    print(
        f"soak numpy: {len(report.kills)} kills, {report.attempts} run(s), {report.seconds} s: {report.kills}"
    )
    assert 1 <= len(report.kills) <= 6
    assert snapshot(tmp_path / "ray") == snapshot(tmp_path / "local")


def test_random_kills_encode_task(ray_cluster: None, tmp_path: Path) -> None:
    from xqg.encode.task import EncodeTask
    from xqg.encode.testing import tiny_encoder

    tiny_encoder(seed=5).save(tmp_path / "encoder")
    rows = [
        {"_id": f"d{i}", "title": f"t{i}", "text": f"passage {i} about river {i % 7} " * 8}
        for i in range(600)
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    def task() -> EncodeTask:
        return EncodeTask(str(corpus), model=str(tmp_path / "encoder"), precision="float32", batch_size=4)

    run_sharded(task(), 600, tmp_path / "local", 20, show_progress=False)
    report = soak_on_ray(
        task(),
        600,
        20,
        tmp_path / "ray",
        max_kills=4,
        max_seconds=120,
        min_interval=0.5,
        max_interval=2.0,
        seed=2,
        only_running=True,  # mid-shard, after the model is loaded
    )
    print(
        f"soak encode: {len(report.kills)} kills, {report.attempts} run(s), {report.seconds} s: {report.kills}"
    )
    assert 1 <= len(report.kills) <= 4
    assert all(kill.name.endswith(".run") for kill in report.kills)
    assert snapshot(tmp_path / "ray") == snapshot(tmp_path / "local")
