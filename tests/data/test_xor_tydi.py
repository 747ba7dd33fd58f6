from __future__ import annotations

import json
from pathlib import Path

import pytest

from xqg.data.records import Passage, RetrievalDataset
from xqg.data.xor_tydi import (
    Prediction,
    collect_texts,
    iter_xor_corpus,
    load_xor_retrieve,
    predictions_to_texts,
    read_predictions,
    write_predictions,
)
from xqg.errors import InputError


def test_load_dev_from_fixture(fixtures: Path) -> None:
    ds = load_xor_retrieve("dev", root=fixtures / "xor_tydi")
    assert ds.languages == ["fi", "ja", "ru"]
    assert ds.answers == {
        "-1001": ["Jean Sibelius", "Sibelius"],
        "-1002": ["Jean Sibelius"],
        "-1003": ["yes"],
    }
    assert ds.queries["ja"][0].text == "フィンランディアを作曲したのは誰ですか？"
    assert ds.qrels == {} and ds.corpus == []
    assert ds.meta["corpus_path"] == str(fixtures / "xor_tydi" / "enwiki_20190201_w100.tsv")
    assert [p.title for p in iter_xor_corpus(ds.meta["corpus_path"])] == [
        "Jean Sibelius",
        "Helsinki",
        "Tabs",
        "Baltic Sea",
    ]


def test_missing_split_file_says_how_to_get_it(fixtures: Path) -> None:
    with pytest.raises(
        InputError, match="xor_train_retrieve_eng_span.jsonl not found.*xqg data download xor_tydi"
    ):
        load_xor_retrieve("train", root=fixtures / "xor_tydi")


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (
            '{"id": "1", "question": "q", "answers": ["a"], "lang": "fi"}\n{"id": "1", "question": "q", "answers": [], "lang": "fi"}\n',
            2,
            "duplicate",
        ),
        ('{"id": "1", "question": "q", "answers": ["a"], "lang": "xx"}\n', 1, "'xx' is not a language code"),
        ('{"id": "1", "answers": ["a"], "lang": "fi"}\n', 1, "missing field 'question'"),
        ('{"id": "1", "question": "q", "answers": "a", "lang": "fi"}\n', 1, "list of strings"),
        ('{"id": "1", "question": "q",\n', 1, "malformed JSON"),
    ],
)
def test_bad_question_lines(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        load_xor_retrieve(questions_path=path)
    assert info.value.path == str(path) and info.value.line == line


def test_predictions_from_dataset_streaming_the_corpus(fixtures: Path, tmp_path: Path) -> None:
    ds = load_xor_retrieve("dev", root=fixtures / "xor_tydi")
    run = {"-1001": {"1": 3.0, "2": 1.0, "4": 2.0}, "-1002": {"3": 0.5, "1": 0.9}}
    out = tmp_path / "pred.json"
    assert write_predictions(out, run, ds, top_k=2) == 2
    raw = json.loads(out.read_text(encoding="utf-8"))
    assert raw[0] == {
        "id": "-1001",
        "lang": "fi",
        "ctxs": [
            'Jean Sibelius was a Finnish composer. His tone poem "Finlandia" (1899) is famous.',
            "The Baltic Sea lies south of Finland.",
        ],
    }
    predictions = read_predictions(out)
    assert [p.id for p in predictions] == ["-1001", "-1002"]
    texts, langs = predictions_to_texts(predictions)
    assert langs == {"-1001": "fi", "-1002": "ja"}
    assert texts["-1002"][1] == "A passage with a tab\tinside quotes."


def test_prediction_round_trip_with_lookups(tmp_path: Path) -> None:
    run = {"q1": {"a": 0.1, "b": 0.2}, "q2": {"c": 1.0}}
    langs = {"q1": "ko", "q2": "te"}
    out = tmp_path / "p.json"
    write_predictions(out, run, {"a": "가", "b": "나", "c": "తెలుగు"}, query_lang=langs, top_k=None)
    assert read_predictions(out) == [Prediction("q1", "ko", ("나", "가")), Prediction("q2", "te", ("తెలుగు",))]
    write_predictions(
        out, run, {"a": Passage("a", "A"), "b": Passage("b", "B"), "c": Passage("c", "C")}, query_lang=langs
    )
    assert read_predictions(out)[0].ctxs == ("B", "A")
    dataset = RetrievalDataset("d", [Passage("a", "A"), Passage("b", "B"), Passage("c", "C")], {}, {})
    write_predictions(out, run, dataset, query_lang=langs)
    assert read_predictions(out)[1] == Prediction("q2", "te", ("C",))


def test_prediction_errors(fixtures: Path, tmp_path: Path) -> None:
    corpus = fixtures / "xor_tydi" / "enwiki_20190201_w100.tsv"
    with pytest.raises(InputError, match="not in the corpus"):
        collect_texts(corpus, ["1", "999"])
    with pytest.raises(InputError, match="query_lang is required"):
        write_predictions(tmp_path / "p.json", {"q": {"1": 1.0}}, corpus)
    with pytest.raises(InputError, match="no passage text"):
        write_predictions(tmp_path / "p.json", {"q": {"zz": 1.0}}, {"a": "x"}, query_lang={"q": "fi"})
    with pytest.raises(InputError, match="has no language"):
        write_predictions(tmp_path / "p.json", {"q": {"1": 1.0}}, corpus, query_lang={})
    bad = tmp_path / "bad.json"
    for content, message in [
        ('[{"id": "1", "lang": "fi"}]', "entry 0: missing field 'ctxs'"),
        (
            '[{"id": "1", "lang": "fi", "ctxs": []}, {"id": "1", "lang": "fi", "ctxs": []}]',
            "entry 1: duplicate id",
        ),
        ('[{"id": "1", "lang": "qq", "ctxs": []}]', "is not a language code"),
        ('{"id": "1"}', "expected a JSON list"),
        ('[{"id": "1", "lang": "fi", "ctxs": [3]}]', "each ctx"),
        ("[\n{", "malformed JSON"),
    ]:
        bad.write_text(content)
        with pytest.raises(InputError, match=message) as info:
            read_predictions(bad)
        assert info.value.path == str(bad)


def test_dpr_style_ctx_objects_are_read(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('[{"id": "1", "lang": "bn", "ctxs": [{"id": "9", "title": "t", "text": "body"}]}]')
    assert read_predictions(path) == [Prediction("1", "bn", ("body",))]
