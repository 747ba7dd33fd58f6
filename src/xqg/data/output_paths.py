"""Check, before any work starts, that an output can be written.

A command that would discover an unwritable output only when it saves its result (after a whole
search, after printing a table) instead probes first: :func:`check_output_folder` for the folder of
a sharded job, :func:`check_output_file` for a single result file. A probe creates and removes one
empty file in the nearest existing folder, so it leaves the file system as it was; it catches what
permission bits do not show (read-only mounts, a root user on /sys, quota-less network shares).

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> check_output_folder(d / "new" / "out") == d / "new" / "out"
    True
    >>> (d / "a-file").write_text("x") and None
    >>> check_output_file(d / "a-file" / "run.trec")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xqg.errors.OutputError: .../a-file/run.trec: cannot be written: .../a-file is a file, not a folder
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from xqg.errors import OutputError


def _nearest_existing(path: Path) -> Path:
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _probe_folder(folder: Path, target: Path) -> None:
    """Create and remove one empty file in ``folder`` (raises OutputError naming ``target``)."""
    probe = folder / f".xqg-write-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as exc:
        where = "" if folder == target else f" (to create {target})"
        raise OutputError(f"cannot write in this folder{where}: {exc.strerror}", path=folder) from None
    os.close(fd)
    os.unlink(probe)


def _check_ancestors(folder: Path, target: Path) -> Path:
    existing = _nearest_existing(folder.absolute())
    if not existing.is_dir():
        raise OutputError(f"cannot be written: {existing} is a file, not a folder", path=target)
    return existing


def check_output_folder(path: str | Path) -> Path:
    """Check that ``path`` is, or can be created as, a writable folder; create nothing.

    Args:
        path: the output folder of a job.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OutputError: ``path`` is a file, lies below a file, or its nearest existing folder cannot be
            written (names the folder and the reason).
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputError("the output folder is a file; give a folder name", path=out)
    _probe_folder(_check_ancestors(out, out), out)
    return out


def check_output_file(path: str | Path) -> Path:
    """Check that the file ``path`` can be written (created or replaced); create nothing.

    Args:
        path: an output file (a TREC run, a JSON report).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OutputError: ``path`` is a folder, lies below a file, or its folder cannot be written.
    """
    out = Path(path)
    if out.is_dir():
        raise OutputError("the output file is a folder; give a file name", path=out)
    _probe_folder(_check_ancestors(out.parent, out), out)
    return out
