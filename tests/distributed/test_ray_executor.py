"""Ray executor on a local 2-CPU cluster (slow): same bytes as in-process; a dying worker is retried."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from xqg.distributed import load_vectors, run_sharded
from xqg.distributed.ray_executor import RayExecutor
from xqg.distributed.testing import NumpyVectorTask

pytestmark = pytest.mark.slow


def snapshot(out_dir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out_dir).as_posix(): p.read_bytes() for p in sorted(out_dir.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_matches_inprocess_bytes(ray_cluster: None, tmp_path: Path) -> None:
    task = NumpyVectorTask(dim=8, seed=11, batch_size=3)
    run_sharded(task, 50, tmp_path / "local", 7, show_progress=False)
    paths = run_sharded(task, 50, tmp_path / "ray", 7, engine=RayExecutor(num_workers=2), show_progress=False)
    assert len(paths) == 8
    assert snapshot(tmp_path / "ray") == snapshot(tmp_path / "local")
    # Resume on Ray: nothing to redo.
    inodes = [p.stat().st_ino for p in paths]
    run_sharded(task, 50, tmp_path / "ray", 7, engine=RayExecutor(num_workers=2), show_progress=False)
    assert [p.stat().st_ino for p in paths] == inodes


def test_worker_killed_mid_shard_is_restarted_and_retried(ray_cluster: None, tmp_path: Path) -> None:
    marker = tmp_path / "crashed"
    task = NumpyVectorTask(dim=8, seed=2, batch_size=2, crash_marker=str(marker), crash_shard=2)
    reference = NumpyVectorTask(dim=8, seed=2)
    run_sharded(reference, 40, tmp_path / "local", 8, show_progress=False)
    run_sharded(
        task, 40, tmp_path / "ray", 8, engine=RayExecutor(num_workers=2, max_restarts=2), show_progress=False
    )
    assert marker.exists()  # a worker really died (os._exit) halfway through shard 2
    assert snapshot(tmp_path / "ray") == snapshot(tmp_path / "local")


@pytest.mark.skipif(
    importlib.util.find_spec("xqg.encode.sharded") is None, reason="xqg.encode.sharded not written yet"
)
def test_ray_encode_matches_inprocess(
    ray_cluster: None, tmp_path: Path
) -> None:  # pragma: no cover - depends on encode
    from tests.distributed.encode_task_factory import make_encode_task  # noqa: F401  (wired when encode lands)

    task = make_encode_task(tmp_path)
    num_rows = task.num_rows()
    run_sharded(task, num_rows, tmp_path / "local", 16, show_progress=False)
    run_sharded(task, num_rows, tmp_path / "ray", 16, engine=RayExecutor(num_workers=2), show_progress=False)
    ids_a, a = load_vectors(tmp_path / "local")
    ids_b, b = load_vectors(tmp_path / "ray")
    assert ids_a == ids_b
    np.testing.assert_array_equal(a, b)
