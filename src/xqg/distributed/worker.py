"""The shard worker: run one task on one shard and commit the result atomically.

The same function runs in-process, inside a Ray actor, and in a batch-scheduler array task.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xqg.distributed.manifest import (
    CorruptShardError,
    ShardError,
    ShardState,
    build_shard_manifest,
    fsync_path,
    shard_state,
    write_shard_manifest,
)
from xqg.distributed.plan import ShardSpec
from xqg.distributed.task import ShardTask, normalise_fingerprint

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardResult:
    """What a worker reports back for one shard (small: never the data itself).

    Attributes:
        shard: the row range.
        path: the finished shard folder.
        status: ``"ran"`` (computed now), ``"skipped"`` (already done and valid) or ``"redone"``
            (was corrupt or unfinished, computed again).
    """

    shard: ShardSpec
    path: Path
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {"shard": self.shard.to_dict(), "path": str(self.path), "status": self.status}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShardResult:
        return cls(ShardSpec.from_dict(data["shard"]), Path(data["path"]), str(data["status"]))


def _temp_prefix(shard: ShardSpec) -> str:
    return f".{shard.dirname}.tmp-"


def _remove_stale_temps(out_dir: Path, shard: ShardSpec) -> None:
    for stale in out_dir.glob(_temp_prefix(shard) + "*"):
        logger.info("removing the unfinished attempt %s", stale)
        shutil.rmtree(stale, ignore_errors=True)


def _discard(path: Path) -> None:
    """Move a folder out of the way (rename first, so it never stays half-deleted under its name)."""
    trash = path.with_name(f".{path.name}.discard-{uuid.uuid4().hex[:8]}")
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def run_shard(
    task: ShardTask,
    shard: ShardSpec,
    out_dir: str | Path,
    expected_fingerprint: dict[str, Any] | None = None,
    redo_corrupt: bool = False,
    verify: str = "sha256",
) -> ShardResult:
    """Run ``task`` on ``shard`` unless a valid finished copy exists; commit atomically.

    Steps: check the existing folder (skip if done and valid; an unfinished one is removed; a corrupt
    one is an error unless ``redo_corrupt``); run the task into ``out_dir/.shard-NNNNN.tmp-<random>``;
    checksum and fsync every part file; write ``manifest.json`` and ``DONE``; fsync; rename to
    ``out_dir/shard-NNNNN``; fsync ``out_dir``. A worker killed at any point leaves either no shard
    folder or a complete one.

    Args:
        task: the task (its model is loaded on first use and reused across shards).
        shard: the row range to process.
        out_dir: the job's output folder (its ``manifest.json`` is written by :func:`run_sharded`).
        expected_fingerprint: the driver's fingerprint; a worker whose task differs (another code or
            model version on this node) refuses to write.
        redo_corrupt: recompute a finished shard whose checksums do not match instead of raising.
        verify: how to check an existing shard: ``"sha256"``, ``"size"`` or ``"none"``.

    Example:
        >>> import tempfile
        >>> from xqg.distributed.testing import NumpyVectorTask
        >>> out = tempfile.mkdtemp()
        >>> run_shard(NumpyVectorTask(dim=4), ShardSpec(0, 0, 10), out).status
        'ran'
        >>> run_shard(NumpyVectorTask(dim=4), ShardSpec(0, 0, 10), out).status
        'skipped'
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fingerprint = normalise_fingerprint(task.fingerprint())
    if expected_fingerprint is not None and fingerprint != normalise_fingerprint(expected_fingerprint):
        raise ShardError(
            f"the worker's task {task.name!r} has another fingerprint than the driver's "
            f"({fingerprint} vs {normalise_fingerprint(expected_fingerprint)}): different code or model "
            "versions on the nodes?",
            path=out,
        )
    final = out / shard.dirname
    status = "ran"
    try:
        state, _ = shard_state(final, shard, task.name, fingerprint, verify=verify)
    except CorruptShardError as exc:
        if not redo_corrupt:
            raise CorruptShardError(
                f"{exc.message}; re-run with --redo-corrupt (redo_corrupt=True) to recompute this shard",
                path=exc.path,
                line=exc.line,
            ) from None
        logger.warning("shard %s is corrupt (%s); recomputing it", final, exc)
        _discard(final)
        state, status = ShardState.MISSING, "redone"
    if state is ShardState.DONE:
        _remove_stale_temps(out, shard)
        return ShardResult(shard, final, "skipped")
    if state is ShardState.UNFINISHED:
        logger.warning("shard folder %s has no DONE marker; recomputing it", final)
        _discard(final)
        status = "redone"

    _remove_stale_temps(out, shard)
    workdir = out / f"{_temp_prefix(shard)}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    workdir.mkdir()
    try:
        extras = task.run(shard, workdir)
        manifest = build_shard_manifest(task.name, fingerprint, shard, workdir, extras or {})
        write_shard_manifest(workdir, manifest)
        fsync_path(workdir)
        try:
            os.rename(workdir, final)
        except OSError:
            # Another worker committed the same shard meanwhile: keep theirs if it is valid.
            state, _ = shard_state(final, shard, task.name, fingerprint, verify=verify)
            if state is not ShardState.DONE:
                raise
            shutil.rmtree(workdir, ignore_errors=True)
            return ShardResult(shard, final, "skipped")
        fsync_path(out)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return ShardResult(shard, final, status)
