"""``xqg evaluate`` and ``xqg compare`` end to end on small files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xqg.cli.main import main
from xqg.data.corpus import write_corpus, write_queries
from xqg.data.records import Passage, Query
from xqg.data.trec import write_qrels, write_run

QUERIES = [Query("q1", "Wo?", "de"), Query("q2", "Wer?", "de"), Query("q3", "Où ?", "ar")]
QRELS = {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 1}}
BASE = {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d1": 2.0, "d2": 1.0}, "q3": {"d1": 2.0, "d3": 1.0}}
BETTER = {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d2": 2.0, "d1": 1.0}, "q3": {"d3": 2.0, "d1": 1.0}}


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {name: tmp_path / name for name in ("queries.jsonl", "qrels.txt", "base.trec", "better.trec")}
    write_queries(paths["queries.jsonl"], QUERIES)
    write_qrels(paths["qrels.txt"], QRELS)
    write_run(paths["base.trec"], BASE, tag="base")
    write_run(paths["better.trec"], BETTER, tag="better")
    paths["corpus.jsonl"] = tmp_path / "corpus.jsonl"
    write_corpus(
        paths["corpus.jsonl"],
        [Passage("d1", "Berlin is big."), Passage("d2", "Bonn is small."), Passage("d3", "Cairo is old.")],
    )
    paths["answers.jsonl"] = tmp_path / "answers.jsonl"
    paths["answers.jsonl"].write_text(
        "".join(
            json.dumps({"id": q, "answers": [a]}) + "\n"
            for q, a in [("q1", "Berlin"), ("q2", "Bonn"), ("q3", "Cairo")]
        )
    )
    return paths


def test_evaluate_qrels_table_and_json(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out, per_query = tmp_path / "eval.json", tmp_path / "pq.json"
    code = main(
        [
            "evaluate", str(files["better.trec"]), "--qrels", str(files["qrels.txt"]),
            "--queries", str(files["queries.jsonl"]), "--metrics", "Success@1,MRR@10",
            "--output", str(out), "--per-query", str(per_query),
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "| metric | ar | de | avg |" in printed
    assert "| Success@1 | 100.00 | 100.00 | 100.00 |" in printed
    assert json.loads(out.read_text())["metrics"]["MRR@10"] == {"ar": 1.0, "de": 1.0, "avg": 1.0}
    assert json.loads(per_query.read_text())["Success@1"] == {"q1": 1.0, "q2": 1.0, "q3": 1.0}
    main(
        [
            "evaluate",
            str(files["base.trec"]),
            "--qrels",
            str(files["qrels.txt"]),
            "--queries",
            str(files["queries.jsonl"]),
        ]
    )
    printed = capsys.readouterr().out
    # base: de q1 hit, q2 miss -> 50; ar miss -> 0; macro 25.
    assert "| Success@1 | 0.00 | 50.00 | 25.00 |" in printed


def test_evaluate_answer_metrics_from_run_and_corpus(
    files: dict[str, Path], capsys: pytest.CaptureFixture
) -> None:
    code = main(
        [
            "evaluate", str(files["base.trec"]), "--answers", str(files["answers.jsonl"]),
            "--corpus", str(files["corpus.jsonl"]), "--queries", str(files["queries.jsonl"]),
            "--metrics", "AnswerRecall@1,AnswerRecall@2,R@1kt",
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "| AnswerRecall@1 | 0.00 | 50.00 | 25.00 |" in printed
    assert "| AnswerRecall@2 | 100.00 | 100.00 | 100.00 |" in printed
    assert "| R@1kt | 100.00 | 100.00 | 100.00 |" in printed


def test_evaluate_xor_predictions(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pred = tmp_path / "pred.json"
    pred.write_text(
        json.dumps(
            [
                {"id": "a", "lang": "ja", "ctxs": ["Tokyo is the capital."]},
                {"id": "b", "lang": "ja", "ctxs": ["Nothing here."]},
                {"id": "c", "lang": "te", "ctxs": ["x"]},
            ]
        )
    )
    gold = tmp_path / "dev.jsonl"
    gold.write_text(
        "".join(
            json.dumps({"id": q, "question": "?", "answers": a, "lang": lang}) + "\n"
            for q, a, lang in [("a", ["Tokyo"], "ja"), ("b", ["Kyoto"], "ja"), ("c", ["yes"], "te")]
        )
    )
    assert main(["evaluate", str(pred), "--answers", str(gold)]) == 0
    printed = capsys.readouterr().out
    assert "| R@2kt | 50.00 | 50.00 |" in printed  # te has no scored question: no column
    assert "| queries | 2 | 2 |" in printed


def test_compare_markdown_latex_json(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    latex, data = tmp_path / "t.tex", tmp_path / "t.json"
    code = main(
        [
            "compare", f"base={files['base.trec']}", str(files["better.trec"]), "--qrels", str(files["qrels.txt"]),
            "--queries", str(files["queries.jsonl"]), "--metrics", "Success@1", "--test", "randomisation",
            "--latex", str(latex), "--json", str(data),
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "| base (baseline) | 0.0 | 50.0 | 25.0 |" in printed
    assert "| better | 100.0 | 100.0 | 100.0 |" in printed  # 3 queries: nothing significant
    assert r"\begin{tabular}" in latex.read_text()
    table = json.loads(data.read_text())["tables"][0]
    assert table["baseline"] == "base" and table["systems"] == ["base", "better"]
    assert table["pvalues"]["better"]["de"] == 1.0  # one non-zero difference of two


def test_bad_inputs_are_reported_with_the_file(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "q1", "answers": ["x"]}\n{"id": "q2"}\n')
    code = main(
        [
            "evaluate",
            str(files["base.trec"]),
            "--answers",
            str(bad),
            "--corpus",
            str(files["corpus.jsonl"]),
            "--lang",
            "de",
        ]
    )
    assert code == 2
    assert f"{bad}:2:" in capsys.readouterr().err
    code = main(["evaluate", str(files["base.trec"]), "--qrels", str(files["qrels.txt"])])
    assert code == 2
    assert "has no language" in capsys.readouterr().err


def test_compare_per_query_files_from_evaluate(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """`xqg evaluate --per-query` output is a valid `xqg compare` system."""
    paths = {}
    for name in ("base", "better"):
        paths[name] = tmp_path / f"{name}.pq.json"
        args = ["evaluate", str(files[f"{name}.trec"]), "--qrels", str(files["qrels.txt"])]
        assert main([*args, "--queries", str(files["queries.jsonl"]), "--per-query", str(paths[name])]) == 0
    capsys.readouterr()
    code = main(
        [
            "compare",
            str(paths["base"]),
            str(paths["better"]),
            "--queries",
            str(files["queries.jsonl"]),
            "--format",
            "latex",
        ]
    )
    assert code == 0
    latex = capsys.readouterr().out
    assert "base.pq" in latex and r"nDCG@10" in latex and r"p $<$ 0.05" in latex
