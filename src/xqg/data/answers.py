"""Gold answer files: JSONL, one ``{"id": qid, "answers": [str, ...]}`` object a line.

An optional ``lang`` field is written when known; :func:`read_answers_and_languages` returns it
(``xqg evaluate`` groups by it when no query file is given). Used for answer-string metrics (R@kt,
answer recall). The one reader of answer files in xqg.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from xqg.data.jsonl import iter_jsonl, write_jsonl
from xqg.data.records import Answers
from xqg.data.text_input import read_json
from xqg.errors import InputError


def read_answers(path: str | Path) -> Answers:
    """Read a gold answers file into ``{qid: [answer, ...]}`` (:func:`read_answers_and_languages`).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "answers.jsonl"
        >>> _ = write_answers(p, {"q1": ["Paris", "paris"]})
        >>> read_answers(p)
        {'q1': ['Paris', 'paris']}
    """
    return read_answers_and_languages(path)[0]


def read_answers_and_languages(path: str | Path) -> tuple[Answers, dict[str, str]]:
    """Read gold answers and the ``lang`` fields the file has.

    Accepts JSONL, one ``{"id" | "_id" | "example_id": qid, "answers": [str, ...], ["lang"]}`` a line
    (as :func:`write_answers` and the XOR-TyDi data files have them), or a ``.json`` object
    ``{qid: [answer, ...]}``.

    Returns:
        ``(answers, query_lang)``; ``query_lang`` holds the ``lang`` fields present.

    Raises:
        InputError: malformed JSON, missing ``id``/``answers``, answers not a list of strings, or a
            duplicate id (names the file and line).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "dev.jsonl"
        >>> _ = p.write_text('{"id": "q1", "question": "?", "answers": ["yes"], "lang": "fi"}\\n')
        >>> read_answers_and_languages(p)
        ({'q1': ['yes']}, {'q1': 'fi'})
    """
    path = Path(path)
    answers: Answers = {}
    langs: dict[str, str] = {}
    if path.suffix == ".json":
        data = read_json(path)
        if not isinstance(data, dict):
            raise InputError("a JSON answers file is an object {qid: [answer, ...]}", path=path)
        for qid, values in data.items():
            answers[str(qid)] = _answer_list(values, path, None, qid)
        return answers, langs
    for line, obj in iter_jsonl(path):
        qid = obj.get("id", obj.get("_id", obj.get("example_id")))
        if qid is None:
            raise InputError("missing field 'id'", path=path, line=line)
        if "answers" not in obj:
            raise InputError("missing field 'answers'", path=path, line=line)
        key = str(qid)
        if key in answers:
            raise InputError(f"duplicate query id {key!r}", path=path, line=line)
        answers[key] = _answer_list(obj["answers"], path, line, key)
        if obj.get("lang"):
            langs[key] = str(obj["lang"])
    return answers, langs


def _answer_list(values: object, path: Path, line: int | None, qid: object) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InputError(f"field 'answers' of {qid!r} must be a list of strings", path=path, line=line)
    return list(values)


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
