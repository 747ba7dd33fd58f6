from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.generate.quality import LanguageIdentifier, distinct_n, repetition_rate, script_share, sentence_chrf


def test_chrf_hand_computed_case():
    # "ab" vs "ac": unigrams P=R=1/2; bigrams ab/ac P=R=0 -> mean P=R=1/4 -> F=25
    assert sentence_chrf("ab", ["ac"], order=2) == pytest.approx(25.0)
    assert sentence_chrf("", ["abc"]) == 0.0
    assert sentence_chrf("a b c", ["abc"]) == 100.0  # whitespace is ignored


@given(st.text(min_size=1, max_size=20), st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=3))
@settings(max_examples=60, deadline=None)
def test_chrf_bounds_identity_and_best_reference(hyp, refs):
    score = sentence_chrf(hyp, refs)
    assert 0.0 <= score <= 100.0
    assert score == max(sentence_chrf(hyp, [r]) for r in refs)
    if hyp.strip():
        assert sentence_chrf(hyp, [*refs, hyp]) == 100.0


def test_script_share_per_script():
    assert script_share("Что это такое?", "ru") == 1.0
    assert script_share("这是什么？", "zh") == 1.0
    assert script_share("ما هذا؟", "ar") == 1.0
    assert script_share("क्या है?", "hi") == 1.0
    assert script_share("Was ist das?", "ru") == 0.0
    assert 0 < script_share("Что is это", "ru") < 1


def test_distinct_and_repetition():
    assert distinct_n(["a b a b"], "en", 1) == 0.5
    assert distinct_n(["这是什么"], "zh", 1) == 1.0
    assert repetition_rate(["el la el la", "qué es esto"], "es") == 0.5
    assert repetition_rate(["what what is it"], "en") == 1.0


def test_language_identifier_on_real_xquad_questions(xquad_dir):
    langs = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]
    train, test = {}, {}
    for lang in langs:
        data = json.loads((xquad_dir / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
        questions = [[qa["question"] for p in a["paragraphs"] for qa in p["qas"]] for a in data]
        train[lang] = [q for article in questions[:40] for q in article]
        test[lang] = [q for article in questions[40:] for q in article][:60]
    lid = LanguageIdentifier(train)
    for lang in langs:
        accuracy = sum(lid.predict(q) == lang for q in test[lang]) / len(test[lang])
        assert accuracy >= 0.85, (lang, accuracy)
