"""Evaluation input readers: good files, and bad ones reported with file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xqg.data.answers import read_answers_and_languages as read_answers
from xqg.errors import InputError
from xqg.evaluate.inputs import lang_from_ids, read_per_query, read_query_lang


def test_read_answers_json_and_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"q1": ["x", "y"]}))
    assert read_answers(path) == ({"q1": ["x", "y"]}, {})
    path.write_text(json.dumps({"q1": "x"}))
    with pytest.raises(InputError, match="list of strings"):
        read_answers(path)
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"id": "q1", "answers": ["x"]}\n{"id": "q1", "answers": ["z"]}\n')
    with pytest.raises(InputError, match=r"a.jsonl:2: .*duplicate"):
        read_answers(jsonl)


def test_read_query_lang(tmp_path: Path) -> None:
    tsv = tmp_path / "l.tsv"
    tsv.write_text("q1\tar\n\nq2 te\n")
    with pytest.raises(InputError, match=r"l.tsv:3:"):
        read_query_lang(tsv)
    js = tmp_path / "l.json"
    js.write_text(json.dumps({"q1": "ar"}))
    assert read_query_lang(js) == {"q1": "ar"}


def test_lang_from_ids_and_per_query(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="'abc'"):
        lang_from_ids(["x/de", "abc"])
    path = tmp_path / "pq.json"
    path.write_text(json.dumps({"Hit@1": {"q": 1}}))
    assert read_per_query(path) == {"Hit@1": {"q": 1.0}}
    path.write_text(json.dumps({"Hit@1": {"q": "high"}}))
    with pytest.raises(InputError, match="pq.json"):
        read_per_query(path)
