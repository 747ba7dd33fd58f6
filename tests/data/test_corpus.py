from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.data.answers import read_answers, write_answers
from xqg.data.corpus import iter_corpus, read_corpus, read_queries, write_corpus, write_queries
from xqg.data.records import Passage, Query
from xqg.errors import InputError

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
passage_ids = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=10)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(st.tuples(passage_ids, texts, texts), max_size=8, unique_by=lambda r: r[0]),
    fmt=st.sampled_from(["jsonl", "tsv"]),
)
def test_corpus_round_trip(tmp_path_factory: pytest.TempPathFactory, rows: list, fmt: str) -> None:
    """Any text (quotes, tabs, newlines, non-Latin scripts) survives a write/read in both formats."""
    if (
        fmt == "tsv"
    ):  # a TSV row whose first cell is "id" would read as a header; ids never look like that here
        rows = [r for r in rows if r[0].strip().lower() not in ("id", "_id", "docid", "doc_id")]
    passages = [Passage(i, text, title) for i, text, title in rows]
    path = tmp_path_factory.mktemp("c") / f"corpus.{fmt}"
    assert write_corpus(path, passages) == len(passages)
    assert read_corpus(path) == passages


def test_jsonl_meta_and_gzip_round_trip(tmp_path: Path) -> None:
    passages = [Passage("a", "x", "T", {"speaker": "Ana", "date": "8 May"}), Passage("b", "y")]
    path = tmp_path / "corpus.jsonl"
    write_corpus(path, passages)
    gz = tmp_path / "corpus.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert read_corpus(gz) == passages


def test_reads_dpr_tsv_with_quotes_and_tabs(fixtures: Path) -> None:
    passages = list(iter_corpus(fixtures / "xor_tydi" / "enwiki_20190201_w100.tsv"))
    assert [p.id for p in passages] == ["1", "2", "3", "4"]
    assert (
        passages[0].text
        == 'Jean Sibelius was a Finnish composer. His tone poem "Finlandia" (1899) is famous.'
    )
    assert passages[0].title == "Jean Sibelius"
    assert passages[2].text == "A passage with a tab\tinside quotes."


def test_iter_corpus_streams(tmp_path: Path) -> None:
    """Passages come out before a later bad line is even read: the file is never loaded whole."""
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"_id": "1", "text": "a"}\n{"_id": "2", "text": "b"}\n{"_id": "3", "text": \n')
    stream = iter_corpus(path)
    assert next(stream).id == "1"
    assert next(stream).id == "2"
    with pytest.raises(InputError, match="malformed JSON") as info:
        next(stream)
    assert info.value.line == 3


@pytest.mark.parametrize(
    ("name", "content", "line", "message"),
    [
        ("c.jsonl", '{"_id": "1", "text": "a"}\n{"_id": "1", "text": "b"}\n', 2, "duplicate document id '1'"),
        ("c.jsonl", '{"_id": "1", "text": "a"}\n{"title": "t", "text": "b"}\n', 2, "missing field '_id'"),
        ("c.jsonl", '{"_id": "1", "title": "t"}\n', 1, "missing field 'text'"),
        ("c.jsonl", '["not", "an", "object"]\n', 1, "expected a JSON object"),
        ("c.tsv", "id\ttext\ttitle\n1\ta\tA\n1\tb\tB\n", 3, "duplicate document id '1'"),
        ("c.tsv", "id\ttext\ttitle\n1\n", 2, "at least id and text"),
        ("c.tsv", "id\ttext\ttitle\n1\ta\tA\textra\n", 2, "4 columns"),
    ],
)
def test_bad_corpus_names_file_and_line(
    tmp_path: Path, name: str, content: str, line: int, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_corpus(path)
    assert info.value.path == str(path) and info.value.line == line


def test_duplicate_check_can_be_switched_off_for_huge_corpora(tmp_path: Path) -> None:
    path = tmp_path / "c.tsv"
    path.write_text("1\ta\n1\tb\n")
    assert [p.text for p in iter_corpus(path, check_duplicates=False)] == ["a", "b"]


def test_unknown_file_format(tmp_path: Path) -> None:
    path = tmp_path / "corpus.parquet"
    path.write_text("")
    with pytest.raises(InputError, match="cannot tell the format"):
        read_corpus(path)


@pytest.mark.parametrize("name", ["queries.jsonl", "queries.tsv"])
def test_queries_round_trip(tmp_path: Path, name: str) -> None:
    queries = [Query("q1", "Кто написал «Финляндию»?", "ru"), Query("q2", '"quoted" 芬兰颂', "zh_cn")]
    write_queries(tmp_path / name, queries)
    assert read_queries(tmp_path / name) == queries


def test_queries_tsv_refuses_tabs_but_jsonl_keeps_them(tmp_path: Path) -> None:
    queries = [Query("q1", "a\tb\nc", "en")]
    with pytest.raises(InputError, match="use JSONL"):
        write_queries(tmp_path / "q.tsv", queries)
    write_queries(tmp_path / "q.jsonl", queries)
    assert read_queries(tmp_path / "q.jsonl") == queries


def test_queries_language_from_argument_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "topics.tsv"
    path.write_text("1\tMikä on sauna?\n2\tMissä on Helsinki?\n")
    assert {q.lang for q in read_queries(path, lang="fi")} == {"fi"}
    with pytest.raises(InputError, match="no language") as info:
        read_queries(path)
    assert info.value.line == 1
    with pytest.raises(InputError, match="'xx' is not a language code"):
        read_queries(path, lang="xx")


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (
            '{"_id": "q1", "text": "a", "lang": "de"}\n{"_id": "q2", "text": "b", "lang": "klingon"}\n',
            2,
            "is not a language code",
        ),
        (
            '{"_id": "q1", "text": "a", "lang": "de"}\n{"_id": "q1", "text": "b", "lang": "de"}\n',
            2,
            "duplicate query id",
        ),
        ('{"_id": "q1", "lang": "de"}\n', 1, "missing field 'text'"),
        ('{"_id": "q1", "text": "a", "lang": "de"\n', 1, "malformed JSON"),
    ],
)
def test_bad_queries_name_file_and_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = tmp_path / "queries.jsonl"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_queries(path)
    assert info.value.line == line


def test_answers_round_trip_and_errors(tmp_path: Path) -> None:
    answers = {"q1": ["Jean Sibelius", "Sibelius"], "q2": []}
    path = tmp_path / "answers.jsonl"
    write_answers(path, answers, {"q1": "fi"})
    assert read_answers(path) == answers
    path.write_text('{"id": "q1", "answers": ["a"]}\n{"id": "q1", "answers": ["b"]}\n')
    with pytest.raises(InputError, match="duplicate") as info:
        read_answers(path)
    assert info.value.line == 2
    path.write_text('{"id": "q1", "answers": "a"}\n')
    with pytest.raises(InputError, match="list of strings"):
        read_answers(path)
