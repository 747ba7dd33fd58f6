"""Errors raised for bad user input.

Every error about a file names the file and, where it applies, the 1-based line, so that a user
can open the file at the right place. The CLI prints these without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class XqgError(Exception):
    """Base class of the errors xqg raises on purpose (bad input, bad configuration)."""


class InputError(XqgError):
    """A problem with an input file or value.

    Args:
        message: what is wrong, in words.
        path: the file the problem is in, if any.
        line: the 1-based line number in ``path``, if any.

    Example:
        >>> str(InputError("missing field 'text'", path="corpus.jsonl", line=3))
        "corpus.jsonl:3: missing field 'text'"
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


class ConfigError(XqgError):
    """An invalid setting or configuration (unknown option value, mismatched model, ...)."""
