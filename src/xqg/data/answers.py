"""Gold answer files: JSONL, one ``{"id": qid, "answers": [str, ...]}`` object a line.

An optional ``lang`` field is written when known and ignored on reading (queries carry the
language). Used for answer-string metrics (R@kt, answer recall).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from xqg.data.jsonl import iter_jsonl, write_jsonl
from xqg.data.records import Answers
from xqg.errors import InputError


def read_answers(path: str | Path) -> Answers:
    """Read a gold answers JSONL file into ``{qid: [answer, ...]}``.

    Raises:
        InputError: malformed JSON, missing ``id``/``answers``, answers not a list of strings, or a
            duplicate id (names the file and line).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "answers.jsonl"
        >>> _ = write_answers(p, {"q1": ["Paris", "paris"]})
        >>> read_answers(p)
        {'q1': ['Paris', 'paris']}
    """
    answers: Answers = {}
    for line, obj in iter_jsonl(path):
        qid = obj.get("id", obj.get("_id"))
        if qid is None:
            raise InputError("missing field 'id'", path=path, line=line)
        raw = obj.get("answers")
        if raw is None:
            raise InputError("missing field 'answers'", path=path, line=line)
        if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
            raise InputError("field 'answers' must be a list of strings", path=path, line=line)
        key = str(qid)
        if key in answers:
            raise InputError(f"duplicate query id {key!r}", path=path, line=line)
        answers[key] = list(raw)
    return answers


def write_answers(
    path: str | Path, answers: Mapping[str, Sequence[str]], query_lang: Mapping[str, str] | None = None
) -> int:
    """Write ``{qid: [answer, ...]}`` as JSONL atomically (queries in sorted id order).

    Args:
        path: output file.
        answers: the answers.
        query_lang: optional ``{qid: lang}``; adds a ``lang`` field for readers' convenience.

    Returns:
        The number of lines written.

    Example:
        >>> import tempfile, pathlib
        >>> write_answers(pathlib.Path(tempfile.mkdtemp()) / "a.jsonl", {"q": ["x"]}, {"q": "de"})
        1
    """

    def rows():
        for qid in sorted(answers):
            row: dict[str, object] = {"id": qid, "answers": list(answers[qid])}
            if query_lang is not None and qid in query_lang:
                row["lang"] = query_lang[qid]
            yield row

    return write_jsonl(path, rows())
