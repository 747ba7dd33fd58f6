"""Atomic file writes: a reader never sees a half-written file, and a crash leaves the old file.

Write to a temporary file in the same directory, flush and fsync, then ``os.replace`` it over the
target. Used by every stage that writes results; :func:`build_folder_atomically` does the same for a
whole folder (the models rebuilt into the cache).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_open(
    path: str | Path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None
) -> Iterator[IO[Any]]:
    """Open ``path`` for writing so that it appears only when the block ends without error.

    Args:
        path: target file; its parent directory is created if needed.
        mode: ``"w"`` (text) or ``"wb"`` (binary).
        encoding: text encoding, ignored for binary mode.
        newline: as for :func:`open` in text mode (``""`` for the :mod:`csv` module).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
        >>> with atomic_open(p) as f:
        ...     _ = f.write("hello")
        >>> p.read_text()
        'hello'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open supports 'w' and 'wb', not {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        text = "b" not in mode
        with os.fdopen(
            fd, mode, encoding=encoding if text else None, newline=newline if text else None
        ) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_open(path, "w") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON (UTF-8, keys in given order, non-ASCII kept) to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


def build_folder_atomically(
    target: str | Path, build: Callable[[Path], None], is_complete: Callable[[Path], bool]
) -> Path:
    """Build a folder in a temporary sibling and rename it into place (the caches' models).

    A crash never leaves half a folder at ``target``, and two processes building at once both end up
    with one complete copy (the loser's rename fails and the winner's folder is kept).

    Args:
        target: the folder to build.
        build: writes the folder's content into the (empty) folder it is given.
        is_complete: whether a folder holds a finished build (its record written last).

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> done = lambda folder: (folder / "DONE").exists()
        >>> build_folder_atomically(root / "m", lambda f: (f / "DONE").write_text("1"), done).name
        'm'
    """
    import shutil

    target = Path(target)
    if is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.build-", dir=target.parent))
    try:
        build(staging)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; the cache is shared like any cache
        if target.exists() and not is_complete(target):
            shutil.rmtree(target)  # an unfinished folder from an older, non-atomic build
        try:
            os.rename(staging, target)
        except OSError:
            if not is_complete(target):  # someone else won the race but their copy is broken
                raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)
    return target
