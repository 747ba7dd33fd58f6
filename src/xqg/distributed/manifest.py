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
import logging
import os
import re
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from xqg.data.atomic import atomic_write_json
from xqg.data.download import sha256_file
from xqg.distributed.fingerprint import describe_changes
from xqg.distributed.plan import ShardSpec, plan_shards
from xqg.distributed.task import normalise_fingerprint
from xqg.distributed.verified import StampBook, file_stamp
from xqg.errors import InputError

logger = logging.getLogger(__name__)

JOB_MANIFEST = "manifest.json"
SHARD_MANIFEST = "manifest.json"
DONE_MARKER = "DONE"
JOB_FORMAT = "xqg-sharded-job/1"
SHARD_FORMAT = "xqg-shard/1"
_RESERVED = {SHARD_MANIFEST, DONE_MARKER}
_SHARD_DIR = re.compile(r"^shard-(\d{5,})$")
REPAIR_HINT = (
    "to repair it, move manifest.json aside and re-run the command that wrote this folder: it rebuilds "
    "manifest.json from the finished shards' own manifests (and refuses if they were written with other "
    "inputs or settings)"
)
VERIFY_MODES = ("sha256", "remembered", "size", "none")
"""How a finished shard is checked: hash every part file; hash only those not verified before or
changed since (:mod:`xqg.distributed.verified`); compare sizes; nothing."""


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


def fsync_path(path: Path) -> None:
    """Flush a file's or folder's content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_json_object(path: Path, error: type[ShardError] = ShardError) -> dict[str, Any]:
    """A manifest's JSON object; ``error`` (naming the file) when it is unreadable or not an object."""
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

    Raises:
        ShardError: no manifest (naming the shard folders there if any), or one that cannot be read;
            the message says how to repair it.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> ensure_job_manifest(d, JobPlan("t", {"m": 1}, 10, 4)).num_rows
        10
        >>> read_job_plan(d).shards[-1]
        ShardSpec(index=2, start=8, stop=10)
    """
    out = Path(out_dir)
    path = out / JOB_MANIFEST
    if not path.exists():
        if not out.is_dir():
            raise ShardError("no such folder (expected the output folder of a sharded command)", path=out)
        shards = shard_folders(out)
        if shards:
            raise ShardError(
                f"manifest.json is missing but the folder holds {len(shards)} shard folder(s); re-run the "
                "command that wrote this folder: it rebuilds manifest.json from the shards' own manifests",
                path=out,
            )
        raise ShardError("not a sharded output folder (no manifest.json)", path=out)
    try:
        data = read_json_object(path)
    except ShardError as exc:
        raise ShardError(f"{exc.message}; {REPAIR_HINT}", path=path) from None
    try:
        if data.get("format") != JOB_FORMAT:
            raise ShardError(f"unknown manifest format {data.get('format')!r}; {REPAIR_HINT}", path=path)
        plan = data["plan"]
        return JobPlan(
            str(data["task"]), dict(data["fingerprint"]), int(plan["num_rows"]), int(plan["shard_size"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ShardError(f"malformed job manifest ({exc!r}); {REPAIR_HINT}", path=path) from None


def shard_folders(out_dir: str | Path) -> list[Path]:
    """The ``shard-NNNNN`` folders in ``out_dir`` (finished or not), in index order."""
    out = Path(out_dir)
    if not out.is_dir():
        return []
    found = [p for p in out.iterdir() if _SHARD_DIR.match(p.name) and p.is_dir()]
    return sorted(found, key=lambda p: int(_SHARD_DIR.match(p.name).group(1)))  # type: ignore[union-attr]


def holds_no_work(out_dir: str | Path) -> bool:
    """Whether ``out_dir`` has no shard folder, finished or in progress (only a job manifest, if any)."""
    out = Path(out_dir)
    if not out.is_dir():
        return True
    return not any(_SHARD_DIR.match(p.name) or p.name.startswith(".shard-") for p in out.iterdir())


def _diff_keys(old: dict[str, Any], new: dict[str, Any]) -> str:
    return "; ".join(describe_changes(old, new)) or "(same keys, different values)"


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


def _check_plan_against_shards(out: Path, plan: JobPlan) -> int:
    """Check every finished shard folder of ``out`` against ``plan`` (task, fingerprint, row range).

    Returns the number of finished shards; raises :class:`FingerprintMismatchError` naming what differs.
    """
    wanted = normalise_fingerprint(plan.fingerprint)
    expected = {spec.index: spec for spec in plan.shards}
    finished = 0
    for folder in shard_folders(out):
        if not (folder / DONE_MARKER).exists():
            continue  # unfinished: the worker redoes it
        manifest_path = folder / SHARD_MANIFEST
        manifest = read_json_object(manifest_path, CorruptShardError)
        try:
            recorded = ShardSpec.from_dict(manifest["shard"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptShardError(f"malformed shard manifest: {exc!r}", path=manifest_path) from None
        if manifest.get("task") != plan.task or manifest.get("fingerprint") != wanted:
            changes = (
                f"task {manifest.get('task')!r} -> {plan.task!r}"
                if manifest.get("task") != plan.task
                else _diff_keys(manifest.get("fingerprint") or {}, wanted)
            )
            raise FingerprintMismatchError(
                "manifest.json is missing and the finished shards here were written by another run than "
                f"this one ({changes}); re-run the command that wrote them (it rebuilds manifest.json), or "
                "use another output folder",
                path=manifest_path,
            )
        if expected.get(recorded.index) != recorded:
            raise FingerprintMismatchError(
                f"manifest.json is missing and this finished shard holds rows [{recorded.start}, "
                f"{recorded.stop}), which is not a shard of this run's plan ({plan.num_rows} rows in shards "
                f"of {plan.shard_size}): the input or --shard-size changed; use another output folder",
                path=manifest_path,
            )
        finished += 1
    return finished


def ensure_job_manifest(out_dir: str | Path, plan: JobPlan) -> JobPlan:
    """Write the job manifest, or check that the existing one describes the same task and plan.

    * No manifest and no shard folders: write it.
    * No manifest but finished shards (the manifest was lost or moved aside): rebuild it when every
      finished shard was written by this task, fingerprint and plan; refuse otherwise.
    * A manifest of another task, fingerprint or plan: refuse, naming what changed (the inputs by
      content, the settings by name); if the folder holds no shard yet (a start killed before it
      finished one), the message says that deleting the manifest is safe. (A start that fails with an
      error removes its own manifest: see :func:`undo_job_start`.)

    Raises:
        FingerprintMismatchError: the folder holds the output of another task, model, input or
            settings, or was split with another shard size / row count. Nothing is overwritten.
        ShardError: the existing manifest cannot be read (the message says how to repair it).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / JOB_MANIFEST
    wanted = plan.to_dict()
    text = json.dumps(wanted, ensure_ascii=False, indent=2) + "\n"
    if not path.exists():
        rebuilt = _check_plan_against_shards(out, plan)
        if _create_exclusively(path, text):
            if rebuilt:
                logger.warning(
                    "%s was missing; rebuilt it from %d finished shard(s) written by this same run",
                    path,
                    rebuilt,
                )
            return plan
    existing = read_job_plan(out)
    same_settings = (
        existing.task == plan.task and normalise_fingerprint(existing.fingerprint) == wanted["fingerprint"]
    )
    same_plan = (existing.num_rows, existing.shard_size) == (plan.num_rows, plan.shard_size)
    if same_settings and same_plan:
        return existing
    empty = (
        " The folder holds no results yet (only the manifest of a start that finished no shard): delete "
        f"{path} to start over with this run's settings."
        if holds_no_work(out)
        else ""
    )
    if not same_settings:
        what = (
            f"task {existing.task!r}, this run is {plan.task!r}"
            if existing.task != plan.task
            else _diff_keys(existing.fingerprint, wanted["fingerprint"])
        )
        raise FingerprintMismatchError(
            f"this folder holds the output of task {existing.task!r} with other inputs or settings than this "
            f"run ({what}); use another output folder, or delete this one to recompute it.{empty}",
            path=path,
        )
    raise FingerprintMismatchError(
        f"this folder was planned for {existing.num_rows} rows in shards of {existing.shard_size}, "
        f"this run has {plan.num_rows} rows in shards of {plan.shard_size}; the input or --shard-size "
        f"changed: use another output folder.{empty}",
        path=path,
    )


def undo_job_start(out_dir: str | Path, created_dirs: list[Path]) -> bool:
    """Undo what starting a job wrote, after it failed before finishing any shard.

    Removes ``manifest.json`` and then the folders in ``created_dirs`` (deepest first) that are
    empty, so a failed start leaves the file system as it was. Does nothing if a shard folder exists
    (finished or in progress, possibly by another array task).

    Returns:
        Whether the manifest was removed.
    """
    out = Path(out_dir)
    if not holds_no_work(out):
        return False
    manifest = out / JOB_MANIFEST
    removed = False
    if manifest.exists():
        manifest.unlink()
        removed = True
    for folder in created_dirs:
        try:
            folder.rmdir()
        except OSError:
            break
    return removed


def output_identity(out_dir: str | Path) -> str:
    """SHA-256 over a sharded output's job manifest and its finished shards' ``DONE`` markers (each the
    checksum of a shard manifest, which holds the checksum of every part file): the output's content,
    for the fingerprint of a job that reads it (``xqg fuse --output`` reads a fusion store).

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> _ = ensure_job_manifest(d, JobPlan("t", {"m": 1}, 10, 4))
        >>> len(output_identity(d))
        64
    """
    out = Path(out_dir)
    digest = hashlib.sha256((out / JOB_MANIFEST).read_bytes())
    for folder in shard_folders(out):
        done = folder / DONE_MARKER
        if done.exists():
            digest.update(folder.name.encode("ascii") + b"\0" + done.read_bytes())
    return digest.hexdigest()


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
        verify: ``"sha256"`` (hash every part file), ``"remembered"`` (hash the part files not
            verified before, or changed since: :mod:`xqg.distributed.verified`), ``"size"`` (sizes
            only, fast) or ``"none"``.

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
    manifest = read_json_object(manifest_path, CorruptShardError)
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
    if verify in VERIFY_MODES and verify != "none":
        book = StampBook(shard_dir) if verify == "remembered" else None
        for rel, info in sorted(files.items()):
            path = shard_dir / rel
            if not path.is_file():
                raise CorruptShardError("part file listed in manifest.json is missing", path=path)
            size = path.stat().st_size
            if size != info.get("bytes"):
                raise CorruptShardError(
                    f"part file has {size} bytes, manifest.json says {info.get('bytes')}", path=path
                )
            if verify == "size" or (book is not None and book.trusted(rel, info.get("sha256"))):
                continue
            stamp = file_stamp(path)  # taken before hashing: a change while hashing shows next time
            if sha256_file(path) != info.get("sha256"):
                raise CorruptShardError("part file's sha256 does not match manifest.json", path=path)
            if book is not None:
                book.remember(rel, str(info["sha256"]), stamp)
        if book is not None:
            book.save()
    elif verify != "none":
        raise ValueError(f"verify must be one of {', '.join(VERIFY_MODES)}, not {verify!r}")
    return ShardState.DONE, manifest
