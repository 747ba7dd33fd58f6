"""Streaming JSON Lines reading with errors that name the file and line.

:func:`open_text` (UTF-8, ``.gz``, decode errors as ``path:line``) lives in :mod:`xqg.data.text_input`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from xqg.data.atomic import atomic_open
from xqg.data.text_input import open_text
from xqg.errors import InputError


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSONL file, one at a time.

    Args:
        path: a ``.jsonl`` or ``.jsonl.gz`` file.

    Raises:
        InputError: a line is not valid JSON or not a JSON object (names the file and line).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.jsonl"
        >>> _ = p.write_text('{"id": "1"}\\n\\n{"id": "2"}\\n')
        >>> [(n, o["id"]) for n, o in iter_jsonl(p)]
        [(1, '1'), (3, '2')]
    """
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"malformed JSON ({exc.msg} at column {exc.colno})", path=path, line=number
                ) from None
            if not isinstance(obj, dict):
                raise InputError(f"expected a JSON object, got {type(obj).__name__}", path=path, line=number)
            yield number, obj


def require_fields(
    obj: dict[str, Any],
    fields: Sequence[str],
    path: str | Path,
    line: int,
    types: dict[str, type] | None = None,
) -> None:
    """Check that ``obj`` has every field in ``fields`` (and the given types), else raise InputError."""
    for name in fields:
        if name not in obj or obj[name] is None:
            raise InputError(f"missing field {name!r}", path=path, line=line)
    for name, expected in (types or {}).items():
        if name in obj and not isinstance(obj[name], expected):
            raise InputError(
                f"field {name!r} must be {expected.__name__}, got {type(obj[name]).__name__}",
                path=path,
                line=line,
            )


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as JSONL atomically (streams; returns the number of rows written)."""
    count = 0
    with atomic_open(path, "w") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
