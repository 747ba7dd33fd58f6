"""What may be deliberate is done, with a warning that says what and where (never silently)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from xqg.cli.main import main
from xqg.data.corpus import count_passages
from xqg.typos.script_check import in_language_script, text_script


def test_passages_without_text_are_counted_with_their_lines(tmp_path: Path, caplog) -> None:
    corpus = tmp_path / "c.jsonl"
    rows = [{"_id": "d1", "text": "a"}, {"_id": "d2", "text": " "}, {"_id": "d3", "text": "", "title": ""}]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert count_passages(corpus) == 3
    assert "2 of 3 passage(s) have neither text nor title (lines 2, 3)" in caplog.text


def test_partial_overlap_of_run_and_qrels_is_warned(tmp_path: Path, caplog, capsys) -> None:
    run = tmp_path / "run.trec"
    run.write_text("q1 Q0 d1 1 2.0 x\nq2 Q0 d2 1 1.0 x\nq3 Q0 d3 1 1.0 x\n", encoding="utf-8")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("q1 0 d1 1\nq9 0 d3 1\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert main(["evaluate", str(run), "--qrels", str(qrels), "--lang", "de"]) == 0
    assert "1 of 2 queries in the qrels have no results in the run; they score 0" in caplog.text
    assert "2 of 3 run queries are not in the qrels; they are not scored" in caplog.text
    assert "| Success@1 | 50.00 |" in capsys.readouterr().out


def test_allow_empty_scores_a_run_without_judged_queries(tmp_path: Path, caplog, capsys) -> None:
    run = tmp_path / "run.trec"
    run.write_text("q1 Q0 d1 1 2.0 x\n", encoding="utf-8")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("zz 0 d1 1\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert main(["evaluate", str(run), "--qrels", str(qrels), "--lang", "de", "--allow-empty"]) == 0
    assert "no query of the run" in caplog.text
    assert "| Success@1 | 0.00 |" in capsys.readouterr().out


def test_typos_in_another_script_only_with_the_flag(tmp_path: Path, caplog, capsys) -> None:
    queries = tmp_path / "q.tsv"
    queries.write_text("a\tما هو اسم المدينة الكبيرة\tar\nb\tⵜⴰⵎⴰⵣⵉⵖⵜ ⵜⴰⵎⴰⵣⵉⵖⵜ\tar\n", encoding="utf-8")
    out = tmp_path / "t.jsonl"
    with caplog.at_level(logging.WARNING):
        code = main(["typos", "--queries", str(queries), "--output", str(out), "--variants", "2",
                     "--allow-other-scripts"])  # fmt: skip
    assert code == 0
    assert "1 of 2 queries are not written in their language's script (line 2" in caplog.text
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    unchanged = sum(1 for r in rows if not r["edits"])
    err = capsys.readouterr().err
    assert (
        f"4 rows written (2 queries x 2 variants): {4 - unchanged} with a typo, {unchanged} left unchanged"
        in err
    )


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("ⵜⴰⵎⴰⵣⵉⵖⵜ", "ar", False),
        ("ما هو iPhone؟", "ar", True),
        ("Wer ist Владимир Путин?", "de", True),
        ("Кто это?", "de", False),
        ("東京タワーはどこ", "ja", True),
        ("서울", "ko", True),
        ("iPhone 12", "zh", False),
        ("1990?", "zh", True),  # no letters: not judged
        ("anything", "xx-unknown", True),  # unknown code: not judged
    ],
)
def test_script_check(text: str, lang: str, expected: bool) -> None:
    assert in_language_script(text, lang) is expected


def test_text_script_names_the_script() -> None:
    assert text_script("Кто это?") == "Cyrillic"
    assert text_script("42") == "no letters"
