"""Ray executor on a local 2-CPU cluster (slow): same bytes as in-process; a dying worker is retried."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from xqg.distributed import CorruptShardError, load_vectors, run_sharded
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


def test_worker_errors_reach_the_driver_as_themselves(ray_cluster: None, tmp_path: Path) -> None:
    task = NumpyVectorTask(dim=4, seed=1)
    run_sharded(task, 20, tmp_path, 5, engine=RayExecutor(num_workers=2), show_progress=False)
    victim = tmp_path / "shard-00002" / "vectors.npy"
    data = bytearray(victim.read_bytes())
    data[-1] ^= 1
    victim.write_bytes(bytes(data))
    with pytest.raises(CorruptShardError) as info:
        run_sharded(task, 20, tmp_path, 5, engine=RayExecutor(num_workers=2), show_progress=False)
    assert info.value.path == str(victim)
    run_sharded(
        task, 20, tmp_path, 5, engine=RayExecutor(num_workers=2), redo_corrupt=True, show_progress=False
    )
    np.testing.assert_array_equal(load_vectors(tmp_path)[1], task.vectors(0, 20))


def test_ray_encode_matches_inprocess(
    ray_cluster: None, tmp_path: Path, write_corpus, tiny_encoder_dir: Path, single_torch_thread: None
) -> None:
    from xqg.encode.task import EncodeTask

    corpus = tmp_path / "corpus.jsonl"
    num_rows = write_corpus(corpus)
    task = EncodeTask(str(corpus), model=str(tiny_encoder_dir), batch_size=8, chunk_size=16)
    run_sharded(task, num_rows, tmp_path / "local", 64, show_progress=False)
    run_sharded(task, num_rows, tmp_path / "ray", 64, engine=RayExecutor(num_workers=2), show_progress=False)
    ids_local, local = load_vectors(tmp_path / "local")
    ids_ray, remote = load_vectors(tmp_path / "ray")
    assert ids_ray == ids_local and len(ids_ray) == num_rows
    np.testing.assert_array_equal(remote, local)
    assert snapshot(tmp_path / "ray") == snapshot(tmp_path / "local")


def test_ray_generate_fuse_matches_inprocess(
    ray_cluster: None, tmp_path: Path, write_corpus, tiny_encoder_dir: Path, single_torch_thread: None
) -> None:
    fuse_task = pytest.importorskip("xqg.fuse.task")
    generate_testing = pytest.importorskip("xqg.generate.testing")
    generator_dir = tmp_path / "generator"
    generate_testing.tiny_generator(seed=0).save(generator_dir)
    corpus = tmp_path / "corpus.jsonl"
    write_corpus(corpus)
    num_rows = 48  # the first 48 paragraphs: generation is the slow part
    source = {
        "kind": "generator",
        "generator": str(generator_dir),
        "languages": ["de", "ru"],
        "n": 2,
        "seed": 7,
    }
    task = fuse_task.FuseShardTask(str(corpus), source, encoder=str(tiny_encoder_dir), batch_size=8)
    run_sharded(task, num_rows, tmp_path / "local", 16, show_progress=False)
    run_sharded(task, num_rows, tmp_path / "ray", 16, engine=RayExecutor(num_workers=2), show_progress=False)
    for name in ("vectors", "qsum"):
        ids_local, local = load_vectors(tmp_path / "local", name=name)
        ids_ray, remote = load_vectors(tmp_path / "ray", name=name)
        assert ids_ray == ids_local and len(ids_ray) == num_rows
        np.testing.assert_array_equal(remote, local)
    assert snapshot(tmp_path / "ray") == snapshot(tmp_path / "local")


def test_ray_generate_matches_inprocess(
    ray_cluster: None, tmp_path: Path, write_corpus, single_torch_thread: None
) -> None:
    generate = pytest.importorskip("xqg.generate")
    generate_testing = pytest.importorskip("xqg.generate.testing")
    generator_dir = tmp_path / "generator"
    generate_testing.tiny_generator(seed=0).save(generator_dir)
    corpus = tmp_path / "corpus.jsonl"
    write_corpus(corpus)
    task = generate.GenerateTask(str(corpus), ["de", "zh"], generator=str(generator_dir), n=3, seed=5)
    run_sharded(task, 40, tmp_path / "local", 10, show_progress=False)
    run_sharded(task, 40, tmp_path / "ray", 10, engine=RayExecutor(num_workers=2), show_progress=False)
    rows = list(generate.read_generated(tmp_path / "ray"))
    assert len(rows) == 40 * 2 * 3
    assert snapshot(tmp_path / "ray") == snapshot(tmp_path / "local")
