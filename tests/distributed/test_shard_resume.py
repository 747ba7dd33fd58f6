"""The shard worker's commit and resume rules: skip valid shards, redo unfinished ones, refuse corrupt
ones and other settings, and write the same bytes whatever the execution order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xqg.distributed import (
    CorruptShardError,
    FingerprintMismatchError,
    IncompleteOutputError,
    ShardSpec,
    TaskSpec,
    iter_finished_shards,
    iter_shards,
    load_vectors,
    run_shard,
    run_sharded,
)
from xqg.distributed.testing import NumpyVectorTask


def snapshot(out_dir: Path) -> dict[str, bytes]:
    """Every file of an output folder, by relative path."""
    return {
        p.relative_to(out_dir).as_posix(): p.read_bytes() for p in sorted(out_dir.rglob("*")) if p.is_file()
    }


def run(out_dir: Path, **kwargs) -> list[Path]:
    task = kwargs.pop("task", NumpyVectorTask(dim=6, seed=3))
    return run_sharded(
        task, kwargs.pop("num_rows", 23), out_dir, kwargs.pop("shard_size", 5), show_progress=False, **kwargs
    )


def test_layout_manifests_and_vectors(tmp_path: Path) -> None:
    paths = run(tmp_path)
    assert [p.name for p in paths] == [f"shard-0000{i}" for i in range(5)]
    job = json.loads((tmp_path / "manifest.json").read_text())
    assert job["task"] == "numpy-vectors"
    assert job["fingerprint"] == {"task": "numpy-vectors", "dim": 6, "seed": 3, "dtype": "float32"}
    assert job["plan"] == {"num_rows": 23, "shard_size": 5, "num_plan_shards": 5}
    shard = json.loads((paths[-1] / "manifest.json").read_text())
    assert shard["shard"] == {"index": 4, "start": 20, "stop": 23}
    assert shard["count"] == 3
    assert set(shard["files"]) == {"vectors.npy", "ids.txt"}
    assert shard["extras"] == {"rows": 3, "dim": 6, "dtype": "float32"}
    assert (paths[-1] / "DONE").exists()
    assert not list(tmp_path.glob(".shard-*"))

    ids, vectors = load_vectors(tmp_path)
    assert ids == [f"doc-{i}" for i in range(23)]
    np.testing.assert_array_equal(vectors, NumpyVectorTask(dim=6, seed=3).vectors(0, 23))


def test_resume_skips_finished_shards(tmp_path: Path) -> None:
    run(tmp_path)
    inodes = {p.name: p.stat().st_ino for p in tmp_path.glob("shard-*")}
    before = snapshot(tmp_path)
    result = run_shard(NumpyVectorTask(dim=6, seed=3), ShardSpec(1, 5, 10), tmp_path)
    assert result.status == "skipped"
    run(tmp_path)
    assert {p.name: p.stat().st_ino for p in tmp_path.glob("shard-*")} == inodes
    assert snapshot(tmp_path) == before


def test_unfinished_shard_and_stale_temp_folder_are_redone(tmp_path: Path) -> None:
    reference = tmp_path / "ref"
    run(reference)
    out = tmp_path / "out"
    run(out)
    # A shard folder without DONE (e.g. copied by hand, half) and a temp folder of a killed worker.
    (out / "shard-00002" / "DONE").unlink()
    (out / "shard-00002" / "vectors.npy").write_bytes(b"half")
    stale = out / ".shard-00003.tmp-999-deadbeef"
    stale.mkdir()
    (stale / "vectors.npy").write_bytes(b"partial")
    assert run_shard(NumpyVectorTask(dim=6, seed=3), ShardSpec(2, 10, 15), out).status == "redone"
    run(out)
    assert not stale.exists()
    assert snapshot(out) == snapshot(reference)


@pytest.mark.parametrize("victim", ["vectors.npy", "ids.txt", "manifest.json"])
def test_corrupt_shard_is_an_error_naming_the_file_unless_redo(tmp_path: Path, victim: str) -> None:
    reference = tmp_path / "ref"
    run(reference)
    out = tmp_path / "out"
    run(out)
    target = out / "shard-00001" / victim
    data = bytearray(target.read_bytes())
    data[-2] ^= 0xFF  # same size, different content
    target.write_bytes(bytes(data))
    with pytest.raises(CorruptShardError) as info:
        run(out)
    assert info.value.path == str(target)
    assert "--redo-corrupt" in str(info.value)
    with pytest.raises(CorruptShardError):
        load_vectors(out)
    run(out, redo_corrupt=True)
    assert snapshot(out) == snapshot(reference)


def test_truncated_part_file_is_caught_by_size_check(tmp_path: Path) -> None:
    run(tmp_path)
    target = tmp_path / "shard-00000" / "vectors.npy"
    target.write_bytes(target.read_bytes()[:-4])
    with pytest.raises(CorruptShardError, match="bytes"):
        run(tmp_path, verify="size")


def test_other_settings_in_same_folder_are_refused(tmp_path: Path) -> None:
    run(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(FingerprintMismatchError, match="seed") as info:
        run(tmp_path, task=NumpyVectorTask(dim=6, seed=4))
    assert info.value.path == str(tmp_path / "manifest.json")
    with pytest.raises(FingerprintMismatchError, match="shard-size"):
        run(tmp_path, shard_size=6)
    with pytest.raises(FingerprintMismatchError, match="rows"):
        run(tmp_path, num_rows=24)
    # A shard written with other settings (the job manifest edited or copied over) is refused too.
    with pytest.raises(FingerprintMismatchError):
        run_shard(NumpyVectorTask(dim=6, seed=9), ShardSpec(0, 0, 5), tmp_path)
    assert snapshot(tmp_path) == before


def test_worker_refuses_a_task_that_differs_from_the_driver(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="fingerprint"):
        run_shard(
            NumpyVectorTask(dim=6, seed=1), ShardSpec(0, 0, 5), tmp_path, expected_fingerprint={"seed": 2}
        )
    assert not list(tmp_path.iterdir())


def test_slices_of_an_array_job_give_the_same_bytes_as_one_run(tmp_path: Path) -> None:
    reference = tmp_path / "ref"
    run(reference)
    out = tmp_path / "array"
    for index in (2, 0, 1):  # array tasks finish in any order
        paths = run(out, num_shards=3, shard_index=index)
        assert [int(p.name.split("-")[1]) % 3 for p in paths] == [index] * len(paths)
        if index != 1:
            with pytest.raises(IncompleteOutputError):
                load_vectors(out)
    assert snapshot(out) == snapshot(reference)


def test_batch_size_does_not_change_the_output(tmp_path: Path) -> None:
    run(tmp_path / "a", task=NumpyVectorTask(dim=6, seed=3, batch_size=1))
    run(tmp_path / "b", task=NumpyVectorTask(dim=6, seed=3, batch_size=64))
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def test_task_spec_builds_the_task(tmp_path: Path) -> None:
    spec = TaskSpec("xqg.distributed.testing:NumpyVectorTask", {"dim": 6, "seed": 3})
    run(tmp_path / "spec", task=spec)
    run(tmp_path / "obj")
    assert snapshot(tmp_path / "spec") == snapshot(tmp_path / "obj")


def test_readers_stream_shards_in_docid_order(tmp_path: Path) -> None:
    run(tmp_path, task=NumpyVectorTask(dim=4, seed=0, dtype="float16"), num_rows=12, shard_size=5)
    shards = list(iter_finished_shards(tmp_path))
    assert [(s.spec.start, s.spec.stop) for s in shards] == [(0, 5), (5, 10), (10, 12)]
    assert shards[0].part("ids.txt").name == "ids.txt"
    with pytest.raises(KeyError, match="qsum.npy"):
        shards[0].part("qsum.npy")
    parts = list(iter_shards(tmp_path, mmap=True))
    assert [ids[0] for ids, _ in parts] == ["doc-0", "doc-5", "doc-10"]
    assert all(v.dtype == np.float16 for _, v in parts)


def test_empty_input(tmp_path: Path) -> None:
    assert run(tmp_path, num_rows=0) == []
    ids, vectors = load_vectors(tmp_path)
    assert ids == [] and vectors.shape[0] == 0


def test_array_tasks_starting_together_agree_on_one_job_manifest(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from xqg.distributed import JobPlan
    from xqg.distributed.manifest import ensure_job_manifest

    def start(seed: int) -> str:
        try:
            ensure_job_manifest(tmp_path, JobPlan("numpy-vectors", {"seed": seed % 2}, 10, 5))
            return f"ok{seed % 2}"
        except FingerprintMismatchError:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(start, range(16)))
    winner = json.loads((tmp_path / "manifest.json").read_text())["fingerprint"]["seed"]
    assert outcomes.count(f"ok{winner}") == 8 and outcomes.count("refused") == 8
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]
