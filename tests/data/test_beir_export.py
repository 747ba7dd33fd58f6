from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from xqg.data.beir import load_beir
from xqg.data.corpus import iter_corpus
from xqg.data.export import export_dataset
from xqg.data.locomo import load_locomo
from xqg.data.mkqa import load_mkqa
from xqg.data.validate import validate_folder
from xqg.data.xor_tydi import load_xor_retrieve
from xqg.data.xquad import load_xquad
from xqg.errors import InputError


def test_load_beir_fixture(fixtures: Path) -> None:
    ds = load_beir(fixtures / "beir", lang="en")
    assert ds.name == "beir" and len(ds.corpus) == 4
    assert ds.corpus[1].meta == {"url": "https://example.invalid/sibelius"}
    # q4 is not judged in the test split, so (as in BEIR) it is not part of it.
    assert {q.id: q.lang for q in ds.all_queries()} == {"q1": "fi", "q2": "de", "q3": "en"}
    assert ds.qrels["q3"] == {"d3": 1, "d1": 0}
    assert ds.answers == {"q1": ["Helsinki"], "q2": ["Jean Sibelius", "Sibelius"]}
    assert ds.meta["num_queries_in_file"] == 4


def test_beir_errors(fixtures: Path, tmp_path: Path) -> None:
    folder = tmp_path / "beir"
    shutil.copytree(fixtures / "beir", folder)
    with pytest.raises(InputError, match="no language") as info:
        load_beir(folder)
    assert info.value.line == 3
    with pytest.raises(InputError, match="no qrels file for split 'dev'"):
        load_beir(folder, split="dev", lang="en")
    qrels = folder / "qrels" / "test.tsv"
    qrels.write_text(qrels.read_text() + "q2\td99\t1\n")
    with pytest.raises(InputError, match="qrel for document 'd99', which is not in the corpus") as info:
        load_beir(folder, lang="en")
    assert info.value.path == str(qrels) and info.value.line == 6
    with pytest.raises(InputError, match="d99") as info:
        validate_folder(folder, lang="en")
    assert info.value.line == 6
    qrels.write_text("query-id\tcorpus-id\tscore\nq9\td1\t1\n")
    with pytest.raises(InputError, match="qrel for query 'q9'"):
        load_beir(folder, lang="en")
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "text": "a"}\n{"_id": "d1", "text": "b"}\n')
    with pytest.raises(InputError, match="duplicate document id 'd1'") as info:
        validate_folder(folder, lang="en")
    assert info.value.line == 2


def test_validate_counts(fixtures: Path) -> None:
    assert validate_folder(fixtures / "beir", lang="en") == {
        "passages": 4,
        "queries": 4,
        "qrels:test": 4,
        "answers": 2,
    }


def test_export_round_trip_xquad_sentence(xquad_dir: Path, tmp_path: Path) -> None:
    dataset = load_xquad(["hi", "vi"], level="sentence", root=xquad_dir)
    counts = export_dataset(dataset, tmp_path / "out")
    assert counts == {
        "passages": len(dataset.corpus),
        "queries": 2 * 1190,
        "qrels": sum(len(d) for d in dataset.qrels.values()),
        "answers": 2 * 1190,
    }
    back = load_beir(tmp_path / "out")
    assert back.corpus == dataset.corpus  # meta (article, paragraph, title) survives
    assert back.queries == dataset.queries and back.qrels == dataset.qrels and back.answers == dataset.answers
    info = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert info["name"] == "xquad-sentence" and info["meta"]["level"] == "sentence"
    assert validate_folder(tmp_path / "out")["queries"] == 2 * 1190


@pytest.mark.parametrize("which", ["xor", "mkqa", "locomo"])
def test_export_round_trip_other_loaders(fixtures: Path, tmp_path: Path, which: str) -> None:
    corpus_file = fixtures / "xor_tydi" / "enwiki_20190201_w100.tsv"
    if which == "xor":
        dataset = load_xor_retrieve("dev", root=fixtures / "xor_tydi")  # corpus streamed from the TSV
    elif which == "mkqa":
        dataset = load_mkqa(["de", "ja"], path=fixtures / "mkqa" / "mkqa.jsonl", corpus_path=corpus_file)
    else:
        dataset = load_locomo(path=fixtures / "locomo" / "locomo10_flat.json")
    export_dataset(dataset, tmp_path / which)
    back = load_beir(tmp_path / which)
    assert back.queries == dataset.queries and back.qrels == dataset.qrels and back.answers == dataset.answers
    expected = dataset.corpus or list(iter_corpus(corpus_file))
    assert back.corpus == expected


def test_miracl_layout_with_explicit_files(fixtures: Path) -> None:
    ds = load_beir(
        fixtures / "miracl",
        lang="sw",
        corpus_file="corpus.jsonl",
        queries_file="topics.miracl-v1.0-sw-dev.tsv",
        qrels_file="qrels.miracl-v1.0-sw-dev.tsv",
    )
    assert [p.id for p in ds.corpus] == ["101#0", "101#1", "202#0"]
    assert [(q.id, q.lang) for q in ds.queries["sw"]] == [("1", "sw"), ("2", "sw")]
    assert ds.qrels == {"1": {"101#0": 1, "202#0": 0}, "2": {"202#0": 1}}
