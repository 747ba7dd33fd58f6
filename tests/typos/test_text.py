"""Grapheme clusters, word finding, scripts and the grapheme edit distance."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.typos.text import char_script, find_words, grapheme_distance, graphemes, scripts_of


def test_indic_words_stay_whole_where_re_splits_them() -> None:
    text = "हिन्दी বাংলাদেশের తెలుగు"
    assert [w.text for w in find_words(text, "hi")] == ["हिन्दी", "বাংলাদেশের", "తెలుగు"]
    assert len(re.findall(r"\w+", "हिन्दी")) > 1  # the pitfall the module avoids


def test_graphemes_keep_vowel_signs_and_conjuncts_in_one_cluster() -> None:
    assert graphemes("किताब") == ["कि", "ता", "ब"]
    assert len(graphemes("क्ष")) == 1


def test_words_of_languages_without_spaces() -> None:
    ja = [w.text for w in find_words("東京タワーは何メートルですか", "ja")]
    assert ja[:3] == ["東京", "タワー", "は"]
    zh = find_words("中国的首都是哪个城市？", "zh")
    assert "".join(w.text for w in zh) == "中国的首都是哪个城市"
    th = find_words("ประเทศไทยมีประชากรเท่าไร", "th")
    assert len(th) > 1 and "".join(w.text for w in th) == "ประเทศไทยมีประชากรเท่าไร"


def test_word_spans_point_into_the_text() -> None:
    text = "¿Quién escribió 'Cien años de soledad'?"
    for w in find_words(text, "es"):
        assert text[w.start : w.end] == w.text


def test_scripts() -> None:
    assert char_script("ё") == "Cyrillic" and char_script("ー") == "Common"
    assert scripts_of("東京タワーは") == {"Han", "Katakana", "Hiragana"}
    assert scripts_of("Ελλάδα 2024!") == {"Greek"}


def test_grapheme_distance_counts_operations_once() -> None:
    assert grapheme_distance("kitten", "sitten") == 1
    assert grapheme_distance("abcd", "abdc") == 1  # a swap is one edit
    assert grapheme_distance("किताब", "कीताब") == 1  # a vowel-sign change is one cluster
    assert grapheme_distance("kitten", "sitting") == 3


words = st.text(alphabet="abcdकिताब한국", max_size=8)


@settings(max_examples=60, deadline=None)
@given(words, words)
def test_grapheme_distance_is_a_symmetric_bounded_measure(a: str, b: str) -> None:
    d = grapheme_distance(a, b)
    assert d == grapheme_distance(b, a)
    assert (d == 0) == (graphemes(a) == graphemes(b))
    assert d <= max(len(graphemes(a)), len(graphemes(b)))
