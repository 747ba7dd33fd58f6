"""Remembered checksums: a shard's part files are hashed once, and not again while they are unchanged.

Verifying a finished shard means hashing every part file against the SHA-256 in its manifest: at 18M
passages that is 27 GB of vectors, more time than the search itself. With ``verify="remembered"``
(the readers' default) a file whose SHA-256 matched is *stamped*: its size, modification and
status-change times (nanoseconds), inode and device are written, with the SHA-256 they were checked
against and the shard folder's absolute path, to ``$XQG_STAMP_DIR`` (default ``$XQG_CACHE/verified``),
one small JSON file per shard. The next read trusts a file whose stamp is unchanged and hashes the
rest. The data folders are never written by a reader (they may be read-only or shared, and stay
byte-identical to what the job wrote); a copied or moved folder is hashed again.

What a stamp catches: any write to the file (mtime, ctime), a replaced or copied file (inode, ctime;
``rsync``/``cp -p`` keep the mtime but not those), a truncated or grown file (size), and a manifest
that now names another checksum. What it cannot catch: bits flipped on the disk under an unchanged
inode (silent media corruption), or a file rewritten within the file system's timestamp granularity
of the stamp (1-2 s on old file systems; nanoseconds on ext4/xfs/btrfs). ``verify="sha256"``
(``xqg search --verify``) hashes every file again and refreshes the stamps.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "x.npy").write_bytes(b"abc")
    >>> digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    >>> book = StampBook(d)
    >>> book.trusted("x.npy", digest)
    False
    >>> book.remember("x.npy", digest, file_stamp(d / "x.npy")); book.save()
    >>> StampBook(d).trusted("x.npy", digest)
    True
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from xqg.data.download import cache_root

logger = logging.getLogger(__name__)

STAMP_FORMAT = "xqg-verified/1"
STAMP_DIR_ENV = "XQG_STAMP_DIR"


def file_stamp(path: Path) -> dict[str, int]:
    """What identifies one version of a file without reading it: size, mtime and ctime (ns), inode, device.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "f"; _ = p.write_bytes(b"12")
        >>> file_stamp(p)["bytes"]
        2
    """
    st = os.stat(path)
    return {
        "bytes": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "inode": st.st_ino,
        "device": st.st_dev,
    }


def stamp_dir() -> Path:
    """Where stamps are kept: ``$XQG_STAMP_DIR``, else ``$XQG_CACHE/verified`` (``~/.cache/xqg/verified``).

    Example:
        >>> stamp_dir().name != ""
        True
    """
    env = os.environ.get(STAMP_DIR_ENV)
    if env:
        return Path(env).expanduser()

    return cache_root() / "verified"


def stamp_path(shard_dir: Path) -> Path:
    """The stamp file of one shard folder: ``stamp_dir()/<hash of its absolute path>.json``."""
    key = hashlib.sha256(str(shard_dir.resolve()).encode("utf-8")).hexdigest()[:32]
    return stamp_dir() / f"{key}.json"


def _read(path: Path, shard_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if not isinstance(data, dict) or data.get("format") != STAMP_FORMAT:
        return {}
    if data.get("folder") != str(shard_dir.resolve()):  # another folder (hash collision, or edited)
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


class StampBook:
    """The remembered checksums of one shard folder's part files.

    Args:
        shard_dir: the shard folder (``out_dir/shard-NNNNN``).

    Example:
        >>> import tempfile
        >>> StampBook(tempfile.mkdtemp()).trusted("vectors.npy", "0" * 64)
        False
    """

    def __init__(self, shard_dir: str | Path) -> None:
        self.shard_dir = Path(shard_dir)
        self.path = stamp_path(self.shard_dir)
        self._files = _read(self.path, self.shard_dir)
        self._changed = False

    def trusted(self, rel: str, sha256: str | None) -> bool:
        """Whether ``rel`` was verified against ``sha256`` and is unchanged since (no file read).

        Example:
            >>> import tempfile
            >>> StampBook(tempfile.mkdtemp()).trusted("missing", None)
            False
        """
        entry = self._files.get(rel)
        if not isinstance(entry, dict) or sha256 is None or entry.get("sha256") != sha256:
            return False
        try:
            return entry.get("stamp") == file_stamp(self.shard_dir / rel)
        except OSError:
            return False

    def remember(self, rel: str, sha256: str, stamp: dict[str, int]) -> None:
        """Record that ``rel``, as identified by ``stamp`` (taken *before* hashing it), has ``sha256``."""
        self._files[rel] = {"sha256": sha256, "stamp": stamp}
        self._changed = True

    def save(self) -> None:
        """Write the stamps (atomically). Failing only costs a re-hash next time (logged)."""
        if not self._changed:
            return
        data = {"format": STAMP_FORMAT, "folder": str(self.shard_dir.resolve()), "files": self._files}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, sort_keys=True, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            logger.warning("checksums of %s cannot be remembered in %s: %s", self.shard_dir, self.path, exc)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            return
        self._changed = False


def _check_record(name: str, files: list[Path]) -> tuple[Path, list[Any]]:
    """The record file of check ``name`` over ``files`` as they are now, and what it holds."""
    entries = [[str(Path(f).resolve()), file_stamp(Path(f))] for f in files]
    key = hashlib.sha256(json.dumps([name, entries], sort_keys=True).encode("utf-8")).hexdigest()[:32]
    return stamp_dir() / "checks" / f"{key}.json", entries


def check_remembered(name: str, files: list[Path]) -> bool:
    """Whether the check ``name`` passed over exactly these ``files``, each unchanged since (no file read).

    For checks over the contents of several files (e.g. that no doc id occurs in two shards): the record
    is keyed by the check's name and every file's path and stamp (:func:`file_stamp`), so any change to
    any file, or another set of files, is a new check.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "ids.txt"; _ = p.write_text("a\\n")
        >>> check_remembered("unique-ids", [p])
        False
        >>> remember_check("unique-ids", [p]); check_remembered("unique-ids", [p])
        True
    """
    try:
        path, _ = _check_record(name, files)
    except OSError:
        return False
    return path.exists()


def remember_check(name: str, files: list[Path], stamps: list[Any] | None = None) -> None:
    """Record that the check ``name`` passed over ``files`` (``stamps``: as taken before the check read
    them, from :func:`check_stamps`; default: now). Failing only costs a re-check next time (logged)."""
    path, entries = _check_record(name, files)
    if stamps is not None and stamps != entries:  # a file changed while it was checked: not remembered
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"format": STAMP_FORMAT, "check": name, "files": entries}) + "\n", "utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        logger.warning("check %s cannot be remembered in %s: %s", name, path, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def check_stamps(name: str, files: list[Path]) -> list[Any] | None:
    """The files' stamps before a check reads them (for :func:`remember_check`); ``None`` if one is missing."""
    try:
        return _check_record(name, files)[1]
    except OSError:
        return None
