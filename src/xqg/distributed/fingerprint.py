"""Content identities of a job's inputs, and what changed between two fingerprints, in words.

A sharded job (``xqg encode``, ``xqg generate``, ``xqg fuse``) records in its ``manifest.json`` a
fingerprint of everything that determines its output. Inputs are identified by **content**, never by
their path alone, so that a corpus edited in place is never mixed with results computed from its old
version:

* a file: ``{"sha256": <hex digest of every byte>, "bytes": <size>}`` (:func:`file_identity`);
* a folder (a model, a folder of generated-query files): the SHA-256 over its files' relative names
  and contents (:func:`folder_identity`).

The whole file is hashed (0.61 GB/s measured on one core of the 2-core development machine: a 13 GB
corpus costs about 21 s, less than the pass that counts and validates its rows). Within one process
a digest is remembered by (path, size, modification time, inode), so a task asked for its
fingerprint twice hashes once.

:func:`describe_changes` turns two fingerprints into lines such as
``corpus: content changed (sha256 9f86d081… -> 60303ae2…, 1200 -> 1206 bytes)`` for the messages
that refuse to resume a folder with another input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from xqg.errors import InputError

_CHUNK = 1 << 22
_DIGESTS: dict[tuple[str, int, int, int], str] = {}


def _stat_key(path: Path) -> tuple[str, int, int, int]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (remembered per path, size, mtime and inode within the process).

    Args:
        path: the file.

    Raises:
        InputError: the file does not exist or cannot be read.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"abc")
        >>> file_sha256(p)[:8]
        'ba7816bf'
    """
    file = Path(path)
    try:
        key = _stat_key(file)
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path=file) from None
    cached = _DIGESTS.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    try:
        with open(file, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path=file) from None
    _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def file_identity(path: str | Path) -> dict[str, Any]:
    """``{"sha256", "bytes"}`` of a file: what a fingerprint records for an input file.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.jsonl"; _ = p.write_text("{}\\n")
        >>> file_identity(p)["bytes"]
        3
    """
    file = Path(path)
    if file.is_dir():
        raise InputError("expected a file, found a folder", path=file)
    sha = file_sha256(file)
    return {"sha256": sha, "bytes": file.stat().st_size}


def folder_files(path: str | Path, suffixes: Iterable[str] | None = None) -> list[Path]:
    """The files under a folder (recursively, sorted; hidden files and folders skipped), optionally
    only those whose name ends with one of ``suffixes``."""
    root = Path(path)
    wanted = tuple(suffixes) if suffixes is not None else None
    found = []
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not file.is_file():
            continue
        if wanted is None or file.name.endswith(wanted):
            found.append(file)
    return found


def folder_identity(path: str | Path, suffixes: Iterable[str] | None = None) -> dict[str, Any]:
    """``{"sha256", "files", "bytes"}`` of a folder: SHA-256 over each file's relative name and content.

    Args:
        path: the folder (a model, a folder of JSONL files).
        suffixes: only files whose names end with these (``None``: every file but hidden ones).

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a.json").write_text("{}")
        >>> folder_identity(d)["files"]
        1
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError("expected a folder", path=root)
    digest = hashlib.sha256()
    total = 0
    files = folder_files(root, suffixes)
    for file in files:
        digest.update(file.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(file_sha256(file).encode("ascii"))
        total += file.stat().st_size
    return {"sha256": digest.hexdigest(), "files": len(files), "bytes": total}


def path_identity(path: str | Path) -> dict[str, Any]:
    """:func:`file_identity` of a file or :func:`folder_identity` of a folder."""
    p = Path(path)
    if p.is_dir():
        return folder_identity(p)
    if not p.exists():
        raise InputError("not found", path=p)
    return file_identity(p)


def corpus_identity(corpus: str | Path | Sequence[Any]) -> dict[str, Any]:
    """A corpus identified by content: a file's name, size and SHA-256, or, for an in-memory list of
    passages, their number and a SHA-256 over their ids, titles and texts.

    Example:
        >>> from xqg.data.records import Passage
        >>> corpus_identity([Passage("d1", "text")])["passages"]
        1
    """
    if isinstance(corpus, (str, Path)):
        return {"name": Path(corpus).name, **file_identity(corpus)}
    digest = hashlib.sha256()
    for passage in corpus:
        for part in (passage.id, getattr(passage, "title", ""), passage.text):
            digest.update(str(part).encode("utf-8") + b"\x1f")
        digest.update(b"\x1e")
    return {"passages": len(corpus), "sha256": digest.hexdigest()}


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_identity(value: Any) -> bool:
    return isinstance(value, dict) and "sha256" in value


def _identity_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    parts = [f"sha256 {str(old.get('sha256'))[:8]}… -> {str(new.get('sha256'))[:8]}…"]
    if old.get("bytes") != new.get("bytes"):
        parts.append(f"{old.get('bytes')} -> {new.get('bytes')} bytes")
    if "files" in old and old.get("files") != new.get("files"):
        parts.append(f"{old.get('files')} -> {new.get('files')} files")
    return f"content changed ({', '.join(parts)})"


def describe_changes(old: Any, new: Any, limit: int = 6) -> list[str]:
    """What differs between two fingerprints, one line per changed setting or input.

    Nested settings are named by their dotted path; a changed content identity (a dict with a
    ``sha256``) reads ``content changed (...)``.

    Args:
        old: the recorded fingerprint.
        new: this run's fingerprint.
        limit: at most this many lines (a last line says how many more).

    Example:
        >>> describe_changes({"alpha": 1.5, "corpus": {"sha256": "aa" * 32, "bytes": 3}},
        ...                  {"alpha": 0.3, "corpus": {"sha256": "bb" * 32, "bytes": 4}})
        ['alpha: 1.5 -> 0.3', 'corpus: content changed (sha256 aaaaaaaa… -> bbbbbbbb…, 3 -> 4 bytes)']
    """
    lines: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if a == b:
            return
        name = path or "(fingerprint)"
        if _is_identity(a) and _is_identity(b):
            lines.append(f"{name}: {_identity_change(a, b)}")
        elif isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                sub = f"{path}.{key}" if path else str(key)
                if key not in a:
                    lines.append(f"{sub}: (absent) -> {_short(b[key])}")
                elif key not in b:
                    lines.append(f"{sub}: {_short(a[key])} -> (absent)")
                else:
                    walk(a[key], b[key], sub)
        elif (
            isinstance(a, list)
            and isinstance(b, list)
            and len(a) == len(b)
            and any(isinstance(x, (dict, list)) for x in a + b)
        ):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{name}[{i}]")
        else:
            lines.append(f"{name}: {_short(a)} -> {_short(b)}")

    walk(old, new, "")
    if len(lines) > limit:
        lines = lines[:limit] + [f"... and {len(lines) - limit} more"]
    return lines


def forget_digests() -> None:
    """Drop the remembered digests (tests that rewrite a file within one clock tick)."""
    _DIGESTS.clear()


__all__ = [
    "corpus_identity",
    "describe_changes",
    "file_identity",
    "file_sha256",
    "folder_files",
    "folder_identity",
    "forget_digests",
    "path_identity",
]
