"""Starting a sharded job: nothing is written before the checks pass, a failed start leaves the folder
as it was, a lost or broken job manifest is repaired or explained, fingerprint changes are named."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from xqg.distributed import FingerprintMismatchError, ShardError, load_vectors, run_sharded
from xqg.distributed.fingerprint import describe_changes
from xqg.distributed.plan import ShardSpec
from xqg.distributed.testing import NumpyVectorTask
from xqg.errors import ConfigError, OutputError


def tree(root: Path) -> dict[str, bytes]:
    """Every file and folder under ``root`` (folders as b"<dir>"), to compare before and after."""
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else b"<dir>")
        for p in sorted(root.rglob("*"))
    }


class FailingTask(NumpyVectorTask):
    """Fails in shard ``fail_at`` (a model that does not load, a bad row found late)."""

    def __init__(self, fail_at: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail_at = fail_at

    def run(self, shard: ShardSpec, workdir: Path) -> dict[str, Any]:
        if shard.index == self.fail_at:
            raise ConfigError("the model cannot be loaded")
        return super().run(shard, workdir)


class CheckedTask(NumpyVectorTask):
    """A task whose ``check()`` refuses (a missing model), before any manifest."""

    def check(self) -> None:
        raise ConfigError("encoder '/bad/path': no such folder")


def test_a_failed_start_leaves_no_folder_behind(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    with pytest.raises(ConfigError, match="cannot be loaded"):
        run_sharded(FailingTask(fail_at=0), 10, out, 5, show_progress=False)
    assert not (tmp_path / "new").exists()
    # the corrected run is not refused as "other settings"
    run_sharded(NumpyVectorTask(), 10, out, 5, show_progress=False)
    assert len(load_vectors(out)[0]) == 10


def test_a_failed_start_in_an_existing_folder_leaves_it_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    before = tree(tmp_path)
    with pytest.raises(ConfigError):
        run_sharded(FailingTask(fail_at=0), 10, out, 5, show_progress=False)
    assert tree(tmp_path) == before


def test_a_check_that_fails_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such folder"):
        run_sharded(CheckedTask(), 10, tmp_path / "out", 5, show_progress=False)
    assert tree(tmp_path) == {}


def test_a_failure_after_a_finished_shard_keeps_the_job_resumable(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ConfigError):
        run_sharded(FailingTask(fail_at=1), 10, out, 5, show_progress=False)
    assert (out / "manifest.json").exists() and (out / "shard-00000" / "DONE").exists()
    run_sharded(FailingTask(fail_at=99), 10, out, 5, show_progress=False)
    assert len(load_vectors(out)[0]) == 10


def test_unwritable_output_is_found_before_anything(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        run_sharded(NumpyVectorTask(), 10, tmp_path / "a-file" / "out", 5, show_progress=False)
    if os.geteuid() == 0:  # root writes through permission bits: sysfs refuses even root
        locked = Path("/sys/xqg-test-out")
    else:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        locked = ro / "out"
    with pytest.raises(OutputError, match="cannot write"):
        run_sharded(NumpyVectorTask(), 10, locked, 5, show_progress=False)
    assert not locked.exists()


def test_lost_job_manifest_is_rebuilt_from_matching_shards(tmp_path: Path, caplog) -> None:
    out = tmp_path / "out"
    with pytest.raises(ConfigError):
        run_sharded(FailingTask(fail_at=1), 10, out, 5, show_progress=False)
    first = (out / "shard-00000" / "DONE").stat().st_ino
    (out / "manifest.json").unlink()
    run_sharded(NumpyVectorTask(), 10, out, 5, show_progress=False)
    assert "rebuilt it from 1 finished shard" in caplog.text
    assert (out / "shard-00000" / "DONE").stat().st_ino == first  # skipped, not redone
    assert len(load_vectors(out)[0]) == 10


def test_lost_job_manifest_and_another_run_refused_naming_the_change(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_sharded(NumpyVectorTask(seed=1), 10, out, 5, show_progress=False)
    (out / "manifest.json").unlink()
    before = tree(tmp_path)
    with pytest.raises(FingerprintMismatchError, match=r"manifest.json is missing.*seed: 1 -> 2"):
        run_sharded(NumpyVectorTask(seed=2), 10, out, 5, show_progress=False)
    assert tree(tmp_path) == before  # the original job can still resume
    with pytest.raises(FingerprintMismatchError, match="not a shard of this run's plan"):
        run_sharded(NumpyVectorTask(seed=1), 10, out, 3, show_progress=False)
    run_sharded(NumpyVectorTask(seed=1), 10, out, 5, show_progress=False)
    assert (out / "manifest.json").exists()


def test_broken_job_manifest_says_how_to_repair_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_sharded(NumpyVectorTask(), 10, out, 5, show_progress=False)
    (out / "manifest.json").write_text("{not json")
    with pytest.raises(ShardError, match="move manifest.json aside and re-run"):
        run_sharded(NumpyVectorTask(), 10, out, 5, show_progress=False)
    with pytest.raises(ShardError, match="to repair it"):
        load_vectors(out)
    (out / "manifest.json").rename(tmp_path / "manifest.json.broken")  # the repair the message gives
    run_sharded(NumpyVectorTask(), 10, out, 5, show_progress=False)
    assert len(load_vectors(out)[0]) == 10


def test_a_manifest_without_results_says_it_can_be_deleted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    job = {"format": "xqg-sharded-job/1", "task": "numpy-vectors", "plan": {"num_rows": 10, "shard_size": 5}}
    job["fingerprint"] = {"task": "numpy-vectors", "dim": 8, "seed": 9, "dtype": "float32"}
    (out / "manifest.json").write_text(json.dumps(job))  # a start killed before its first shard
    with pytest.raises(FingerprintMismatchError, match="holds no results yet.*delete"):
        run_sharded(NumpyVectorTask(), 10, out, 5, show_progress=False)


def test_describe_changes_names_settings_and_contents() -> None:
    old = {"alpha": 1.5, "source": {"content": {"sha256": "a" * 64, "bytes": 10, "files": 2}}, "n": 2}
    new = {"alpha": 0.3, "source": {"content": {"sha256": "b" * 64, "bytes": 10, "files": 3}}, "lang": "de"}
    assert describe_changes(old, new) == [
        "alpha: 1.5 -> 0.3",
        "lang: (absent) -> 'de'",
        "n: 2 -> (absent)",
        "source.content: content changed (sha256 aaaaaaaa… -> bbbbbbbb…, 2 -> 3 files)",
    ]
    assert describe_changes({"x": list(range(9))}, {"x": list(range(8))}) == [
        "x: [0, 1, 2, 3, 4, 5, 6, 7, 8] -> [0, 1, 2, 3, 4, 5, 6, 7]"
    ]
