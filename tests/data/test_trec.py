from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.data.records import Qrel
from xqg.data.trec import iter_run, ranked, read_qrels, read_run, write_qrels, write_run
from xqg.errors import InputError

ids = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=12
).filter(lambda s: not any(c.isspace() for c in s))
scores = st.floats(allow_nan=False, allow_infinity=False, width=64)
runs = st.dictionaries(ids, st.dictionaries(ids, scores, min_size=1, max_size=6), max_size=6)
qrels_st = st.dictionaries(ids, st.dictionaries(ids, st.integers(-1, 3), min_size=1, max_size=5), max_size=5)


@settings(max_examples=60, deadline=None)
@given(run=runs)
def test_run_round_trip_is_exact(tmp_path_factory: pytest.TempPathFactory, run: dict) -> None:
    path = tmp_path_factory.mktemp("run") / "run.trec"
    lines = write_run(path, run, tag="t")
    assert lines == sum(len(d) for d in run.values())
    assert read_run(path) == run
    # Ranks are 1..n in descending score within each query.
    by_query: dict[str, list[tuple[int, float]]] = {}
    for qid, _doc, rank, score, tag in iter_run(path):
        assert tag == "t"
        by_query.setdefault(qid, []).append((rank, score))
    for rows in by_query.values():
        assert [r for r, _ in rows] == list(range(1, len(rows) + 1))
        assert all(a[1] >= b[1] for a, b in zip(rows, rows[1:], strict=False))


@settings(max_examples=40, deadline=None)
@given(qrels=qrels_st, fmt=st.sampled_from(["trec", "tsv"]))
def test_qrels_round_trip(tmp_path_factory: pytest.TempPathFactory, qrels: dict, fmt: str) -> None:
    path = tmp_path_factory.mktemp("qrels") / f"qrels.{fmt}"
    write_qrels(path, qrels, format=fmt)
    assert read_qrels(path) == qrels


def test_ranked_breaks_ties_by_doc_id() -> None:
    assert ranked({"z": 1.0, "a": 1.0, "m": 5.0}) == [("m", 5.0), ("a", 1.0), ("z", 1.0)]


def test_reads_official_fixture(fixtures: Path) -> None:
    assert read_run(fixtures / "run.trec") == {"q1": {"d1": 12.5, "d3": 7.25}, "q2": {"d2": 3.0}}
    assert read_qrels(fixtures / "qrels.trec") == {"q1": {"d1": 1}, "q2": {"d2": 2}, "q3": {"d3": 1}}


def test_write_qrels_from_records_and_beir_header(tmp_path: Path) -> None:
    path = tmp_path / "test.tsv"
    write_qrels(path, [Qrel("q1", "d1", 2), Qrel("q1", "d2")], format="tsv")
    assert path.read_text().splitlines()[0] == "query-id\tcorpus-id\tscore"
    assert read_qrels(path) == {"q1": {"d1": 2, "d2": 1}}


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2\n", 2, "6 columns"),
        ("q1 Q0 d1 1 abc t\n", 1, "not a number"),
        ("q1 Q0 d1 1 nan t\n", 1, "NaN"),
        ("q1 Q0 d1 first 0.5 t\n", 1, "not an integer"),  # read_run and iter_run parse lines alike
        ("q1 Q0 d1 1 0.5 t\n\nq1 Q0 d1 2 0.4 t\n", 3, "appears twice"),
    ],
)
def test_bad_run_lines_name_file_and_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = tmp_path / "bad.trec"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_run(path)
    assert info.value.path == str(path) and info.value.line == line


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("q1 0 d1 1\nq1 0 d2\n", 2, "columns"),
        ("q1 0 d1 1\nq1 0 d2 high\n", 2, "not an integer"),
        ("q1 0 d1 1\nq1 d2 1\n", 2, "earlier lines have 4"),
        ("q1\td1\t1\nq1\td1\t0\n", 2, "judged twice"),
    ],
)
def test_bad_qrels_lines_name_file_and_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = tmp_path / "bad.qrels"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_qrels(path)
    assert info.value.line == line


def test_writers_refuse_ids_with_whitespace(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="whitespace"):
        write_run(tmp_path / "r", {"q 1": {"d": 1.0}})
    with pytest.raises(InputError, match="whitespace"):
        write_qrels(tmp_path / "q", {"q": {"d\t1": 1}})
    with pytest.raises(InputError, match="NaN"):
        write_run(tmp_path / "r", {"q": {"d": math.nan}})
    assert not (tmp_path / "r").exists()  # atomic: nothing half-written is left


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_run(tmp_path / "nope.trec")
