"""Shipped keyboard layouts, stopword lists and the pinyin table."""

from __future__ import annotations

import pytest

from xqg.typos.homophones import pinyin_table, toneless
from xqg.typos.resources_loader import available_layouts, load_layout, load_stopwords
from xqg.typos.text import char_script

REQUIRED = "ar bn de el en es fi hi ja ko ru te th tr vi zh".split()
SCRIPT = {
    "ar": "Arabic",
    "bn": "Bengali",
    "de": "Latin",
    "el": "Greek",
    "en": "Latin",
    "es": "Latin",
    "fi": "Latin",
    "hi": "Devanagari",
    "ja": "Latin",
    "ko": "Hangul",
    "ru": "Cyrillic",
    "te": "Telugu",
    "th": "Thai",
    "tr": "Latin",
    "vi": "Latin",
    "zh": "Latin",
}


def test_every_required_language_has_a_layout_and_stopwords() -> None:
    assert set(REQUIRED) <= set(available_layouts())
    for lang in REQUIRED:
        assert len(load_stopwords(lang)) >= 20, lang


@pytest.mark.parametrize("lang", REQUIRED)
def test_layout_letters_are_in_the_language_script(lang: str) -> None:
    layout = load_layout(lang)
    letters = [k for k in layout.keys() if k.isalpha()]
    assert len(letters) >= 20
    share = sum(char_script(k[0]) == SCRIPT[lang] for k in letters) / len(letters)
    assert share > 0.9, (lang, share)


def test_neighbours_follow_the_physical_rows() -> None:
    en = load_layout("en")
    assert set(en.neighbours("s")) == {"a", "d", "w", "e", "z", "x"}
    for key in en.keys():
        for n in en.neighbours(key):
            assert key in en.neighbours(n)  # adjacency is symmetric
    assert "ㅁ" in load_layout("ko").neighbours("ㄴ")
    ar = load_layout("ar")
    assert ar.neighbours("ر") and all(len(n) == 1 for n in ar.neighbours("ر"))  # never the lam-alef key


def test_stopwords_hold_function_words() -> None:
    assert {"der", "und"} <= load_stopwords("de")
    assert "का" in load_stopwords("hi") and "的" in load_stopwords("zh")


def test_pinyin_table_groups_homophones() -> None:
    by_reading, reading_of = pinyin_table()
    assert len(reading_of) > 6000
    assert reading_of["中"] == "zhong1" and "钟" in by_reading["zhong1"]
    assert toneless("shi4") == "shi"
