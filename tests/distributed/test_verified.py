"""Remembered checksums: a shard is hashed once and trusted while its files are unchanged; any change,
copy or replacement is hashed again (and a corrupt file still stops the reader)."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

import xqg.distributed.manifest as manifest_module
from xqg.distributed import CorruptShardError, iter_shards, run_sharded
from xqg.distributed.testing import NumpyVectorTask
from xqg.distributed.verified import stamp_path


@pytest.fixture
def hashed(monkeypatch):
    """The part files hashed by the readers (the small manifest.json checks are not counted)."""
    calls: list[str] = []
    real = manifest_module.sha256_file

    def counting(path, *args, **kwargs):
        if path.name != "manifest.json":
            calls.append(f"{path.parent.name}/{path.name}")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(manifest_module, "sha256_file", counting)
    return calls


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XQG_STAMP_DIR", str(tmp_path / "stamps"))
    out = tmp_path / "vectors"
    run_sharded(NumpyVectorTask(dim=4), 10, out, shard_size=4, show_progress=False)
    return out


def _read(out, verify="remembered"):
    return [(ids, np.asarray(v)) for ids, v in iter_shards(out, verify=verify)]


def test_second_read_hashes_nothing_and_gives_the_same_vectors(folder, hashed) -> None:
    first = _read(folder)
    assert sorted(hashed) == sorted(
        f"shard-0000{i}/{n}" for i in range(3) for n in ("ids.txt", "vectors.npy")
    )
    assert all(stamp_path(folder / f"shard-0000{i}").exists() for i in range(3))
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == sorted(
        ["manifest.json"] + [f for _ in range(3) for f in ("DONE", "ids.txt", "manifest.json", "vectors.npy")]
    ), "a reader wrote into the data folder"
    stamps = json.loads(stamp_path(folder / "shard-00001").read_text(encoding="utf-8"))
    assert stamps["folder"] == str((folder / "shard-00001").resolve())
    assert set(stamps["files"]) == {"ids.txt", "vectors.npy"}
    hashed.clear()
    second = _read(folder)
    assert hashed == []
    assert [ids for ids, _ in first] == [ids for ids, _ in second]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(first, second, strict=True))
    # --verify (sha256) hashes every file again
    _read(folder, verify="sha256")
    assert len(hashed) == 6


def test_a_changed_file_is_hashed_again_and_corruption_is_caught(folder, hashed) -> None:
    _read(folder)
    target = folder / "shard-00001" / "vectors.npy"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF  # same size, other content
    target.write_bytes(bytes(data))
    hashed.clear()
    with pytest.raises(CorruptShardError, match="sha256"):
        _read(folder)
    assert "shard-00001/vectors.npy" in hashed


def test_a_touched_file_is_hashed_again_then_trusted(folder, hashed) -> None:
    _read(folder)
    target = folder / "shard-00002" / "ids.txt"
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    hashed.clear()
    _read(folder)
    assert hashed == ["shard-00002/ids.txt"]
    hashed.clear()
    _read(folder)
    assert hashed == []


def test_a_replaced_copy_with_the_old_mtime_is_hashed_again(folder, hashed) -> None:
    """``cp -p``/``rsync`` keep size and mtime: inode and ctime still tell the copy apart."""
    _read(folder)
    target = folder / "shard-00000" / "vectors.npy"
    stat = target.stat()
    corrupt = bytearray(target.read_bytes())
    corrupt[-2] ^= 0x01
    replacement = folder / "replacement.npy"
    replacement.write_bytes(bytes(corrupt))
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(replacement, target)
    assert (target.stat().st_size, target.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    hashed.clear()
    with pytest.raises(CorruptShardError):
        _read(folder)


def test_a_copied_folder_does_not_trust_the_stamps_it_carries(folder, hashed, tmp_path) -> None:
    _read(folder)
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    hashed.clear()
    _read(copy)
    assert len(hashed) == 6


def test_stamps_default_to_the_cache_and_a_failed_write_only_costs_a_rehash(
    folder, hashed, tmp_path, monkeypatch
) -> None:
    from xqg.distributed.verified import stamp_dir

    monkeypatch.delenv("XQG_STAMP_DIR")
    monkeypatch.setenv("XQG_CACHE", str(tmp_path / "cache"))
    assert stamp_dir() == tmp_path / "cache" / "verified"
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "verified").write_text("not a folder")  # stamps cannot be written
    _read(folder)
    hashed.clear()
    _read(folder)
    assert len(hashed) == 6  # nothing remembered, still verified
