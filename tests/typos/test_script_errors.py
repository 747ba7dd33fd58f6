"""Script-specific errors: each is the intended orthographic slip and changes one cluster."""

from __future__ import annotations

import random

import pytest

from xqg.typos import script_errors as se
from xqg.typos.homophones import pinyin_table
from xqg.typos.text import grapheme_distance, graphemes


def _all(func, word: str, tries: int = 200) -> set[str]:  # noqa: ANN001
    out = set()
    for seed in range(tries):
        result = func(graphemes(word), random.Random(seed))
        if result is not None:
            out.add("".join(result))
    return out


def test_hangul_nfd_roundtrip() -> None:
    for code in range(0xAC00, 0xD7A4, 97):
        syllable = chr(code)
        assert se.hangul_compose(*se.hangul_decompose(syllable)) == syllable  # type: ignore[misc]


def test_hangul_drop_final_and_keyboard() -> None:
    assert _all(se.hangul_drop_final, "한국") == {"하국", "한구"}
    outs = _all(se.hangul_keyboard, "국")
    # Dubeolsik: ㄱ sits between ㄷ and ㅅ, above ㅇ and ㄹ; ㄴ is not next to it
    assert {"둑", "숙", "룩", "욱"} <= outs and "눅" not in outs
    assert all(grapheme_distance("국", o) == 1 and len(o) == 1 for o in outs)


def test_japanese_kana_slips() -> None:
    assert _all(se.drop_dakuten, "パン") == {"ハン"}
    assert _all(se.small_kana, "きって") == {"きつて"}
    assert "ョ" in "".join(_all(se.small_kana, "ヨル"))
    slips = _all(se.romaji_slip, "か")  # ka: k -> j,l,i,o,m ; a -> q,w,s,z
    assert "ま" in slips and slips <= {"ま", "あ"} | set("かきくけこまみむめも")


def test_dropped_dakuten_is_exactly_the_mark() -> None:
    assert _all(se.drop_dakuten, "ですが") == {"てすが", "ですか"}


def test_chinese_homophones_share_the_reading() -> None:
    _, reading_of = pinyin_table()
    outs = _all(se.pinyin_homophone, "中")
    assert outs and all(reading_of[o] == reading_of["中"] for o in outs)


def test_chinese_pinyin_slip_changes_one_key() -> None:
    _, reading_of = pinyin_table()
    for out in _all(se.pinyin_slip, "马"):  # ma -> na, ka, ... (neighbour keys of m and a)
        reading = reading_of[out].rstrip("012345")
        assert len(reading) == 2 and sum(a != b for a, b in zip(reading, "ma", strict=True)) == 1


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Müller", {"Muller"}),
        ("España", {"Espana"}),
        ("şehir", {"sehir"}),
        ("Äiti", {"Aiti"}),
        ("Ελλάδα", {"Ελλαδα"}),
        ("ёлка", {"елка"}),
    ],
)
def test_diacritic_strip(word: str, expected: set[str]) -> None:
    assert _all(se.diacritic_strip, word) == expected


def test_vietnamese_drops_the_tone_mark_first() -> None:
    assert _all(se.vietnamese_tone_drop, "Việt") == {"Viêt"}
    assert _all(se.vietnamese_tone_drop, "đơn") == {"dơn", "đon"}


def test_russian_yo() -> None:
    assert _all(se.yo_to_ye, "Королёв") == {"Королев"}


def test_arabic_confusions() -> None:
    assert "احمد" in _all(se.arabic_confusion, "أحمد")
    assert "مدرسه" in _all(se.arabic_confusion, "مدرسة")
    assert "مستشفي" in _all(se.arabic_confusion, "مستشفى")
    assert "ةاتف" not in _all(se.arabic_confusion, "هاتف")  # ه→ة only at the end of a word


def test_indic_vowel_length_and_virama() -> None:
    assert _all(se.vowel_length, "किताब") == {"कीताब"}
    assert _all(se.vowel_length, "রাজধানী") == {"রাজধানি"}
    assert _all(se.vowel_length, "తెలుగు") == {"తేలుగు", "తెలుగూ", "తెలూగు"}
    # a word-final halant can be dropped; a conjunct is never split
    assert _all(se.virama_slip, "जगत्") == {"जगत"}
    assert _all(se.virama_slip, "क्षमा") == set()


def test_thai_tone_and_finnish_length() -> None:
    assert _all(se.thai_tone_drop, "แพ้") == {"แพ"}
    assert "tuli" in _all(se.letter_doubling, "tulli")
    assert all(grapheme_distance("tuli", o) == 1 for o in _all(se.letter_doubling, "tuli"))


def test_every_language_rule_names_a_known_error() -> None:
    for lang in ("ko", "ja", "zh", "ar", "hi", "bn", "te", "ru", "vi", "fi", "th", "de", "es", "tr", "el"):
        assert se.script_errors_for(lang)
        assert all(name in se.SCRIPT_ERRORS for name in se.script_errors_for(lang))
