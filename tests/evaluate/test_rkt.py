"""R@kt on constructed cases, each with the value the official XOR-Retrieve scorer gives by hand."""

from __future__ import annotations

import pytest

from xqg.errors import InputError
from xqg.evaluate import aggregate
from xqg.evaluate.rkt import rkt, token_window


def one(texts: list[str], answers: list[str], k: int = 2) -> float | None:
    return rkt({"q": texts}, {"q": answers}, k=k).get("q")


@pytest.mark.parametrize(
    ("passage", "answer", "hit"),
    [
        ("He was born in Paris, France.", "Paris", 1.0),
        # Tokens are joined with spaces: punctuation inside an answer no longer matches.
        ("He was born in Paris, France.", "Paris, France", 0.0),
        ("He was born in Paris, France.", "Paris , France", 1.0),
        # Double quotes become `` and '' in NLTK's output.
        ('The song "Yesterday" was a hit.', '"Yesterday"', 0.0),
        ('The song "Yesterday" was a hit.', "Yesterday", 1.0),
        # Possessives and contractions are split.
        ("Obama's wife spoke.", "Obama's", 0.0),
        ("Obama's wife spoke.", "Obama 's", 1.0),
        # A sentence-final period becomes its own token; an abbreviation keeps its period.
        ("He was born in 1990. He left.", "1990.", 0.0),
        ("He was born in 1990. He left.", "1990", 1.0),
        ("They left the U.S. in May.", "U.S.", 1.0),
        # Case-sensitive substring, also inside a token.
        ("He was born in Paris.", "paris", 0.0),
        ("He was born in Paris.", "ari", 1.0),
    ],
)
def test_official_matching_rules(passage: str, answer: str, hit: float) -> None:
    assert one([passage], [answer]) == hit


def test_answer_spanning_two_passages_matches() -> None:
    assert one(["It is in New", "York City."], ["New York"]) == 1.0


def test_fewer_tokens_than_the_window_uses_every_passage() -> None:
    assert one(["a b c"] * 5 + ["the answer is Zanzibar"], ["Zanzibar"], k=2) == 1.0


def test_window_is_cut_at_k_thousand_tokens() -> None:
    filler = " ".join(["w"] * 1999)  # 1999 tokens
    assert one([filler, "Zanzibar later"], ["Zanzibar"], k=2) == 1.0  # token 2000
    assert one([filler, "x Zanzibar"], ["Zanzibar"], k=2) == 0.0  # token 2001
    assert one([filler, "x Zanzibar"], ["Zanzibar"], k=5) == 1.0
    # The walk stops after the passage that reaches the limit, and the window is cut inside it.
    window = token_window([filler + " a b", "c"], 2000)
    assert window.split() == ["w"] * 1999 + ["a"]


def test_yes_no_answers_are_dropped_case_sensitively() -> None:
    assert one(["yes it is"], ["yes"]) is None  # nothing left: not scored
    assert one(["no"], ["yes", "no"]) is None
    assert one(["Yes it is"], ["Yes"]) == 1.0  # only lower-case yes/no are dropped
    assert one(["yes it is"], ["yes", "Paris"]) == 0.0  # scored on "Paris" only


def test_unscored_and_missing_questions() -> None:
    texts = {"q1": ["Paris"], "q2": ["Paris"], "q3": ["Paris"]}
    answers = {"q1": ["Paris"], "q2": [], "q4": ["Rome"]}
    assert rkt(texts, answers) == {"q1": 1.0}  # q2 no answer, q3 no gold, q4 no prediction
    assert rkt(texts, answers, score_missing=True) == {"q1": 1.0, "q4": 0.0}
    with pytest.raises(InputError):
        rkt(texts, answers, k=0)


def test_per_language_score_and_macro_average() -> None:
    texts = {"ja1": ["Tokyo"], "ja2": ["Osaka"], "te1": ["Hyderabad"], "te2": ["x"]}
    answers = {"ja1": ["Tokyo"], "ja2": ["Kyoto"], "te1": ["Hyderabad"], "te2": ["no"]}
    langs = {"ja1": "ja", "ja2": "ja", "te1": "te", "te2": "te"}
    table = aggregate({"R@2kt": rkt(texts, answers)}, langs)["R@2kt"]
    # ja: 1 hit / 2 scored = 50; te: 1 / 1 (te2 unscored) = 100; macro average 75.
    assert table == {"ja": 0.5, "te": 1.0, "avg": 0.75}
