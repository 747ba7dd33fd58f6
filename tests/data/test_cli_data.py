from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from xqg.cli.main import main
from xqg.data.beir import load_beir
from xqg.data.folds import fold_split


def test_list_shows_every_set(capsys: pytest.CaptureFixture[str], data_mirror: Path) -> None:
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("xquad", "xor_tydi", "mkqa", "locomo"):
        assert f"{name}:" in out
    assert "xquad.en.json (~1 MB, pinned sha256): present" in out


def test_export_fold_and_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fold1-train"
    args = [
        "data",
        "export",
        "xquad",
        "--out",
        str(out),
        "--fold",
        "1",
        "--num-folds",
        "4",
        "--split",
        "train",
    ]
    assert main([*args, "--languages", "de,ar"]) == 0
    printed = json.loads(capsys.readouterr().out)
    train_articles, _ = fold_split(4, 1)
    ds = load_beir(out)
    assert {p.meta["article"] for p in ds.corpus} == {str(a) for a in train_articles}
    assert printed["queries"] == sum(len(q) for q in ds.queries.values()) and ds.languages == ["ar", "de"]
    assert json.loads((out / "dataset.json").read_text())["meta"]["fold"] == 1
    assert main(["data", "validate", str(out)]) == 0
    assert "valid" in capsys.readouterr().out


def test_errors_are_one_line_naming_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "bad"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n')
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "y", "lang": "de"}\n')
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\n")
    assert main(["data", "validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'qrels' / 'test.tsv'}:2: qrel for document 'd2'" in err and "Traceback" not in err
    assert main(["data", "export", "xquad", "--out", str(tmp_path / "x"), "--fold", "1"]) == 2
    assert "--fold and --num-folds go together" in capsys.readouterr().err
    assert main(["data", "download", "nope"]) == 2


def test_cli_module_does_not_import_torch() -> None:
    code = "import sys, xqg.cli.data; print('torch' in sys.modules)"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )
