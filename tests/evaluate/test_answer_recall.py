"""Answer-string recall (DPR has_answer) on constructed cases."""

from __future__ import annotations

import unicodedata

import pytest

from xqg.errors import ConfigError, InputError
from xqg.evaluate.answer_recall import answer_recall, has_answer, run_to_texts, simple_tokenize


def test_simple_tokenizer_matches_dpr_rules() -> None:
    assert simple_tokenize("U.S. Route 66!") == ["u", ".", "s", ".", "route", "66", "!"]
    assert simple_tokenize("Eiffel-Tower's") == ["eiffel", "-", "tower", "'", "s"]


@pytest.mark.parametrize(
    ("answer", "text", "dpr", "substring"),
    [
        ("Eiffel Tower", "The eiffel  tower, in Paris.", True, True),  # uncased, whitespace-free tokens
        ("Paris", "Parisian cafes", False, True),  # whole tokens only in DPR mode
        ("Eiffel Tower", "the Eiffel-Tower", False, False),  # "-" is a token between them
        ("U.S.", "the u. s. army", True, False),  # punctuation tokens, spaces ignored
        ("Café", unicodedata.normalize("NFD", "le café"), True, True),  # NFD on both sides
        ("cafe", "le café", False, False),  # accents are not stripped
        ("北京", "首都是北京。", False, True),  # unsegmented scripts need substring mode
        ("", "anything", False, False),  # empty answers match nothing (DPR: everything)
    ],
)
def test_has_answer(answer: str, text: str, dpr: bool, substring: bool) -> None:
    assert has_answer([answer], text) is dpr
    assert has_answer([answer], text, mode="substring") is substring


def test_answer_recall_cutoff_missing_and_unscored() -> None:
    texts = {"q1": ["nothing", "it was 1990"], "q2": ["Rome"], "q3": ["x"]}
    answers = {"q1": ["1990", "nineteen ninety"], "q2": ["Rome"], "q3": ["  "], "q4": ["Oslo"]}
    assert answer_recall(texts, answers, k=1) == {"q1": 0.0, "q2": 1.0, "q4": 0.0}
    assert answer_recall(texts, answers, k=2) == {"q1": 1.0, "q2": 1.0, "q4": 0.0}
    assert answer_recall(texts, answers, k=2, score_missing=False) == {"q1": 1.0, "q2": 1.0}
    with pytest.raises(ConfigError):
        answer_recall(texts, answers, mode="fuzzy")


def test_run_to_texts_uses_trec_eval_order() -> None:
    run = {"q": {"a": 1.0, "b": 2.0, "c": 1.0}}
    assert run_to_texts(run, {"a": "A", "b": "B", "c": "C"}) == {"q": ["B", "C", "A"]}
    assert run_to_texts(run, {"a": "A", "b": "B", "c": "C"}, depth=1) == {"q": ["B"]}
    with pytest.raises(InputError, match="'c'"):
        run_to_texts(run, {"a": "A", "b": "B"})


def test_gold_paragraphs_contain_their_xquad_answers(xquad_dir) -> None:  # noqa: ANN001
    """Real data: SQuAD answers are spans of their paragraph, so a run that puts the gold paragraph
    first has AnswerRecall@1 = 1 in substring mode, and nearly 1 with DPR's token matching."""
    import json

    data = json.loads((xquad_dir / "xquad.en.json").read_text(encoding="utf-8"))["data"]
    texts, answers = {}, {}
    for article in data:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                texts[qa["id"]] = [para["context"]]
                answers[qa["id"]] = [a["text"] for a in qa["answers"]]
    assert len(answers) == 1190
    substring = answer_recall(texts, answers, k=1, mode="substring")
    dpr = answer_recall(texts, answers, k=1)
    assert sum(substring.values()) == len(answers)
    assert sum(dpr.values()) >= 0.99 * len(answers)
