"""Errors raised for bad user input.

Every error about a file names the file and, where it applies, the 1-based line, so that a user
can open the file at the right place. The CLI prints these without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class XqgError(Exception):
    """Base class of the errors xqg raises on purpose (bad input, bad configuration)."""


class LocatedError(XqgError):
    """An error about a place in a file: printed as ``path:line: message``.

    Args:
        message: what is wrong, in words.
        path: the file the problem is in, if any.
        line: the 1-based line number in ``path``, if any.

    Example:
        >>> str(LocatedError("not valid UTF-8", path="queries.tsv", line=7))
        'queries.tsv:7: not valid UTF-8'
    """

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        return f"{where}{self.message}"


class InputError(LocatedError):
    """A problem with an input file or value (``path:line: message``).

    Example:
        >>> str(InputError("missing field 'text'", path="corpus.jsonl", line=3))
        "corpus.jsonl:3: missing field 'text'"
    """


class OutputError(LocatedError):
    """An output that cannot be written: a folder without write permission, a path below a file,
    a file name that is a folder. Found before any work starts (see :mod:`xqg.data.output_paths`).

    Example:
        >>> str(OutputError("cannot write here (Permission denied)", path="/sys/out"))
        '/sys/out: cannot write here (Permission denied)'
    """


class ConfigError(XqgError):
    """An invalid setting or configuration (unknown option value, mismatched model, ...)."""
