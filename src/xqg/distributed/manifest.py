"""On-disk layout of a sharded output folder, its manifests, and their verification.

::

    out_dir/
      manifest.json          job: task name, fingerprint, plan (num_rows, shard_size, shards)
      shard-00000/
        <part files>         written by the task (vector tasks: vectors.npy + ids.txt)
        manifest.json        task, fingerprint, row range, count, sha256 + size of every part file, extras
        DONE                 sha256 of manifest.json; present only in a finished shard
      .shard-00001.tmp-...   a shard being written (never looks finished; removed on restart)

A shard folder only ever appears under its final name complete: the worker writes it under a
temporary name, fsyncs every file and the folder, and renames it (atomic on one file system).
No timestamps or host names go into manifests, so a re-run writes byte-identical folders.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from xqg.data.atomic import atomic_write_json
from xqg.distributed.plan import ShardSpec, plan_shards
from xqg.distributed.task import normalise_fingerprint
from xqg.errors import InputError

JOB_MANIFEST = "manifest.json"
SHARD_MANIFEST = "manifest.json"
DONE_MARKER = "DONE"
JOB_FORMAT = "xqg-sharded-job/1"
SHARD_FORMAT = "xqg-shard/1"
_RESERVED = {SHARD_MANIFEST, DONE_MARKER}


class ShardError(InputError):
    """A problem with a sharded output folder (names the file at fault)."""


class CorruptShardError(ShardError):
    """A finished shard whose files do not match its manifest (re-run with ``--redo-corrupt``)."""


class FingerprintMismatchError(ShardError):
    """The output folder was written by another task, model or setting."""


class IncompleteOutputError(ShardError):
    """A reader asked for a sharded output in which some shards are not finished."""


class ShardWorkerError(ShardError):
    """A shard's worker kept dying (after the executor's retries)."""


class ShardState(StrEnum):
    """What a shard folder holds."""

    MISSING = "missing"  # no folder
    UNFINISHED = "unfinished"  # folder without DONE marker (not written by xqg's atomic commit)
    DONE = "done"  # marker and checksums valid


@dataclass(frozen=True)
class JobPlan:
    """The job manifest's content: which task wrote the folder, and how its rows were split."""

    task: str
    fingerprint: dict[str, Any]
    num_rows: int
    shard_size: int

    @property
    def shards(self) -> list[ShardSpec]:
        """The full plan."""
        return plan_shards(self.num_rows, self.shard_size)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": JOB_FORMAT,
            "task": self.task,
            "fingerprint": normalise_fingerprint(self.fingerprint),
            "plan": {
                "num_rows": self.num_rows,
                "shard_size": self.shard_size,
                "num_plan_shards": len(self.shards),
            },
        }


def sha256_file(path: Path, chunk_size: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in chunks (memory bounded).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"abc")
        >>> sha256_file(p)[:8]
        'ba7816bf'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_path(path: Path) -> None:
    """Flush a file's or folder's content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_json(path: Path, error: type[ShardError] = ShardError) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"cannot read manifest: {exc}", path=path) from None
    if not isinstance(data, dict):
        raise error("manifest is not a JSON object", path=path)
    return data


def read_job_plan(out_dir: str | Path) -> JobPlan:
    """Read ``out_dir/manifest.json``.

    Args:
        out_dir: a sharded output folder.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> ensure_job_manifest(d, JobPlan("t", {"m": 1}, 10, 4)).num_rows
        10
        >>> read_job_plan(d).shards[-1]
        ShardSpec(index=2, start=8, stop=10)
    """
    path = Path(out_dir) / JOB_MANIFEST
    if not path.exists():
        raise ShardError("not a sharded output folder (no manifest.json)", path=Path(out_dir))
    data = _read_json(path)
    try:
        if data.get("format") != JOB_FORMAT:
            raise ShardError(f"unknown manifest format {data.get('format')!r}", path=path)
        plan = data["plan"]
        return JobPlan(
            str(data["task"]), dict(data["fingerprint"]), int(plan["num_rows"]), int(plan["shard_size"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ShardError(f"malformed job manifest: {exc!r}", path=path) from None


def _diff_keys(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(set(old) | set(new))
    diffs = [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]
    return "; ".join(diffs[:6]) or "(same keys, different values)"


def _create_exclusively(path: Path, text: str) -> bool:
    """Create ``path`` with ``text`` atomically unless it exists (two array tasks starting together:
    exactly one wins, the other then checks the winner's manifest). Returns whether this call created it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)  # fails if path exists: an atomic create-if-absent
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: last writer wins, then everyone compares
        os.replace(tmp, path)
        return False
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_path(path.parent)
    return True


def ensure_job_manifest(out_dir: str | Path, plan: JobPlan) -> JobPlan:
    """Write the job manifest, or check that the existing one describes the same task and plan.

    Raises:
        FingerprintMismatchError: the folder holds the output of another task, model or settings,
            or was split with another shard size / row count. Nothing is overwritten.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / JOB_MANIFEST
    wanted = plan.to_dict()
    if not path.exists() and _create_exclusively(
        path, json.dumps(wanted, ensure_ascii=False, indent=2) + "\n"
    ):
        return plan
    existing = read_job_plan(out)
    if existing.task != plan.task or normalise_fingerprint(existing.fingerprint) != wanted["fingerprint"]:
        raise FingerprintMismatchError(
            f"this folder holds the output of task {existing.task!r} with other settings than this run "
            f"({_diff_keys(existing.fingerprint, wanted['fingerprint'])}); use another output folder "
            "or delete this one",
            path=path,
        )
    if (existing.num_rows, existing.shard_size) != (plan.num_rows, plan.shard_size):
        raise FingerprintMismatchError(
            f"this folder was planned for {existing.num_rows} rows in shards of {existing.shard_size}, "
            f"this run has {plan.num_rows} rows in shards of {plan.shard_size}; the input or --shard-size "
            "changed: use another output folder",
            path=path,
        )
    return existing


def build_shard_manifest(
    task: str, fingerprint: dict[str, Any], shard: ShardSpec, workdir: Path, extras: dict[str, Any]
) -> dict[str, Any]:
    """Checksum every part file in ``workdir`` (fsyncing it) and return the shard manifest."""
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(workdir.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(workdir).as_posix()
        if rel in _RESERVED:
            raise ShardError(f"task {task!r} wrote a file named {rel!r}, which is reserved", path=path)
        fsync_path(path)
        files[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return {
        "format": SHARD_FORMAT,
        "task": task,
        "fingerprint": normalise_fingerprint(fingerprint),
        "shard": shard.to_dict(),
        "count": len(shard),
        "files": files,
        "extras": json.loads(json.dumps(extras if extras is not None else {}, sort_keys=True)),
    }


def write_shard_manifest(workdir: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` and then the ``DONE`` marker (the manifest's sha256) into ``workdir``."""
    atomic_write_json(workdir / SHARD_MANIFEST, manifest)
    digest = sha256_file(workdir / SHARD_MANIFEST)
    with open(workdir / DONE_MARKER, "w", encoding="utf-8") as handle:
        handle.write(digest + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def shard_state(
    shard_dir: Path,
    shard: ShardSpec,
    task: str | None = None,
    fingerprint: dict[str, Any] | None = None,
    verify: str = "sha256",
) -> tuple[ShardState, dict[str, Any] | None]:
    """Inspect a shard folder: missing, unfinished, or done (returning its manifest).

    Args:
        shard_dir: ``out_dir/shard-NNNNN``.
        shard: the row range the plan expects there.
        task, fingerprint: expected task name and fingerprint (``None``: not checked).
        verify: ``"sha256"`` (hash every part file), ``"size"`` (sizes only, fast) or ``"none"``.

    Raises:
        CorruptShardError: the DONE marker, the manifest or a part file does not match (names the file).
        FingerprintMismatchError: the shard was written for another task, settings or row range.
    """
    if not shard_dir.exists():
        return ShardState.MISSING, None
    done = shard_dir / DONE_MARKER
    manifest_path = shard_dir / SHARD_MANIFEST
    if not done.exists():
        return ShardState.UNFINISHED, None
    if not manifest_path.exists():
        raise CorruptShardError("DONE marker without manifest.json", path=done)
    marker = done.read_text(encoding="utf-8", errors="replace").strip()
    if verify != "none" and marker != sha256_file(manifest_path):
        raise CorruptShardError("manifest.json does not match the checksum in DONE", path=manifest_path)
    manifest = _read_json(manifest_path, CorruptShardError)
    try:
        recorded = ShardSpec.from_dict(manifest["shard"])
        files = dict(manifest["files"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptShardError(f"malformed shard manifest: {exc!r}", path=manifest_path) from None
    if recorded != shard:
        raise FingerprintMismatchError(
            f"shard holds rows [{recorded.start}, {recorded.stop}), the plan expects [{shard.start}, {shard.stop})",
            path=manifest_path,
        )
    if task is not None and manifest.get("task") != task:
        raise FingerprintMismatchError(
            f"shard written by task {manifest.get('task')!r}, not {task!r}", path=manifest_path
        )
    if fingerprint is not None:
        wanted = normalise_fingerprint(fingerprint)
        if manifest.get("fingerprint") != wanted:
            raise FingerprintMismatchError(
                f"shard written with other settings ({_diff_keys(manifest.get('fingerprint') or {}, wanted)})",
                path=manifest_path,
            )
    if verify in ("sha256", "size"):
        for rel, info in sorted(files.items()):
            path = shard_dir / rel
            if not path.is_file():
                raise CorruptShardError("part file listed in manifest.json is missing", path=path)
            size = path.stat().st_size
            if size != info.get("bytes"):
                raise CorruptShardError(
                    f"part file has {size} bytes, manifest.json says {info.get('bytes')}", path=path
                )
            if verify == "sha256" and sha256_file(path) != info.get("sha256"):
                raise CorruptShardError("part file's sha256 does not match manifest.json", path=path)
    elif verify != "none":
        raise ValueError(f"verify must be 'sha256', 'size' or 'none', not {verify!r}")
    return ShardState.DONE, manifest
