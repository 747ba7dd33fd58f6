"""Misspellings in any language and script: every language of XQuAD, MKQA, XOR-TyDi and MIRACL,
and languages with neither a keyboard layout nor a row in the project's table.

Properties checked on every typo: one grapheme edit per typo, no character of a script (or a
punctuation, digit or mark) the text did not have, combining marks still attached to a letter,
the same output for the same seed.
"""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xqg.data.languages import get_language
from xqg.data.mkqa import MKQA_LANGUAGES
from xqg.data.xor_tydi import XOR_LANGUAGES
from xqg.data.xquad import XQUAD_LANGUAGES
from xqg.typos import edit_word, grapheme_distance, graphemes, misspell, misspell_with_edits, scripts_of
from xqg.typos.resources_loader import has_layout, load_layout
from xqg.typos.script_errors import SCRIPT_ERRORS, script_errors_for
from xqg.typos.text import char_script, find_words

MIRACL_LANGUAGES = ("ar", "bn", "de", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko", "ru", "sw", "te", "th", "yo", "zh")  # fmt: skip
BENCHMARK_LANGUAGES = sorted({*XQUAD_LANGUAGES, *MKQA_LANGUAGES, *XOR_LANGUAGES, *MIRACL_LANGUAGES})

_QUESTIONS = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "fixtures" / "questions_by_language.json").read_text(
        "utf-8"
    )
)
SENTENCES: dict[str, str] = _QUESTIONS["benchmarks"]
# languages with neither a keyboard layout nor a row in the project's table, in their own scripts
WITHOUT_ROW: dict[str, str] = _QUESTIONS["without_row"]


def test_every_benchmark_language_has_a_sentence_and_a_layout() -> None:
    assert sorted(SENTENCES) == BENCHMARK_LANGUAGES and len(BENCHMARK_LANGUAGES) == 36
    for lang in BENCHMARK_LANGUAGES:
        assert has_layout(lang), lang
    for lang in WITHOUT_ROW:
        assert not get_language(lang).has_row and not has_layout(lang), lang


def _detached(text: str) -> set[str]:
    return {g for g in graphemes(text) if unicodedata.category(g[0]).startswith("M")}


def _check(text: str, lang: str, seed: int, num_typos: int = 1, protocol: str = "one-typo") -> list:
    result = misspell_with_edits(text, lang, seed, num_typos=num_typos, protocol=protocol)
    out = result.text
    for edit in result.edits:
        assert grapheme_distance(edit.original, edit.replacement) == 1, edit
    assert len({e.start for e in result.edits}) == len(result.edits)
    assert grapheme_distance(text, out) == len(result.edits) or len(result.edits) > 1
    assert grapheme_distance(text, out) <= len(result.edits)
    # no edit produces a character outside the text's scripts, nor a mark/punctuation it lacked
    assert scripts_of(out) <= scripts_of(text), (lang, out)
    assert {c for c in out if char_script(c) == "Common"} <= set(text), (lang, out)
    # combining marks stay attached: no new cluster starting with a mark (some scripts' spacing
    # vowel signs, e.g. Myanmar's ာ, are clusters of their own in the input already)
    assert _detached(out) <= _detached(text), (lang, out)
    assert misspell(text, lang, seed, num_typos=num_typos, protocol=protocol) == out
    return list(result.edits)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lang=st.sampled_from(BENCHMARK_LANGUAGES), seed=st.integers(0, 2**40), num_typos=st.integers(1, 3))
def test_typos_in_every_benchmark_language(lang: str, seed: int, num_typos: int) -> None:
    edits = _check(SENTENCES[lang], lang, seed, num_typos)
    assert len(edits) >= 1  # every sentence allows a typo


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lang=st.sampled_from(sorted(WITHOUT_ROW)), seed=st.integers(0, 2**40), num_typos=st.integers(1, 2))
def test_typos_in_languages_without_row_or_layout(lang: str, seed: int, num_typos: int) -> None:
    edits = _check(WITHOUT_ROW[lang], lang, seed, num_typos)
    assert len(edits) >= 1
    assert all(e.operation != "keyboard" for e in edits)  # no layout, no keyboard adjacency


def test_languages_without_layout_get_script_aware_substitutions() -> None:
    """Insertions and substitutions draw letters of the word's script from the text itself."""
    text = WITHOUT_ROW["hy"]
    letters = {c for c in text if c.isalpha()}
    made = set()
    for seed in range(60):
        result = misspell_with_edits(text, "hy", seed, operations=("insert", "substitute"))
        for edit in result.edits:
            made.add(edit.operation)
            new = set(edit.replacement) - set(edit.original)
            assert new <= {c.lower() for c in letters} | {c.upper() for c in letters}, edit
    assert made == {"insert", "substitute"}


# ---------------------------------------------------------------- random words of many scripts
def _syllables(bases: str, marks: str) -> st.SearchStrategy[str]:
    """Words of base letters each followed by at most one of the script's combining marks."""
    syllable = st.tuples(st.sampled_from(bases), st.sampled_from(["", *marks])).map("".join)
    return st.lists(syllable, min_size=3, max_size=8).map("".join)


SCRIPTS = {  # code: (base letters, combining marks) of a script, most without a layout in xqg
    "hy": ("աբգդեզէըթժիլխծկհձղճմյնշոչպջռսվտրցւփքօֆ", ""),
    "ka": ("აბგდევზთიკლმნოპჟრსტუფქღყშჩცძწჭხჯჰ", ""),
    "am": ("ሀለሐመሠረሰሸቀበተቸኀነኘአከኸወዐዘዠየደጀገጠጨጰጸፀፈፐ", ""),
    "ta": ("அஆஇஈஉஊஎஏஐஒஓகஙசஞடணதநபமயரலவழளறன", "ாிீுூெேைொோ்"),
    "gu": ("અઆઇઈઉઊએઐઓઔકખગઘચછજઝટઠડઢણતથદધનપફબભમયરલવશષસહ", "ાિીુૂેૈોૌં્"),
    "si": ("අආඇඈඉඊඋඌඑඒඔඕකගචජටඩණතදනපබමයරලවසහළ", "ාැෑිීුූෙේෝ"),
    "my": ("ကခဂဃငစဆဇဈညဋဌဍဎဏတထဒဓနပဖဗဘမယရလဝသဟဠအ", "ါာိီုူေဲံ့း္်"),
    "lo": ("ກຂຄງຈສຊຍດຕຖທນບປຜຝພຟມຢຣລວຫອຮ", "ັິີຶືຸູົ່້໊໋"),
    "km": ("កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវសហឡអ", "ិីឹឺុូួើឿៀេែៃោៅំះ់៉៊"),
    "he": ("אבגדהוזחטיכלמנסעפצקרשת", "\u05b0\u05b4\u05b7\u05b8\u05bc"),
    "yo": ("abdeẹfghijklmnoọprsṣtuwy", "\u0300\u0301"),
    "bo": ("ཀཁགངཅཆཇཉཏཐདནཔཕབམཙཚཛཝཞཟའཡརལཤསཧཨ", "ིེོུ"),
}


@settings(max_examples=200, deadline=None)
@given(data=st.data(), lang=st.sampled_from(sorted(SCRIPTS)), seed=st.integers(0, 2**32))
def test_random_words_of_any_script_keep_script_and_marks(data: st.DataObject, lang: str, seed: int) -> None:
    bases, marks = SCRIPTS[lang]
    word = unicodedata.normalize("NFC", data.draw(_syllables(bases, marks)))
    out = edit_word(word, lang, random.Random(seed))
    if out is None:
        return
    new, operation = out
    assert new != word and grapheme_distance(word, new) == 1, (word, new, operation)
    assert scripts_of(new) <= scripts_of(word), (word, new, operation)
    assert {c for c in new if char_script(c) == "Common"} <= set(word), (word, new, operation)
    assert _detached(new) <= _detached(word), (word, new)


def test_random_words_of_layoutless_scripts_do_get_typos() -> None:
    """Not only deletions and swaps: every script above gets insertions and substitutions too."""
    for lang, (bases, marks) in SCRIPTS.items():
        rng = random.Random(0)
        operations = set()
        for _ in range(60):
            word = "".join(rng.choice(bases) + rng.choice(["", *marks]) for _ in range(5))
            out = edit_word(unicodedata.normalize("NFC", word), lang, rng)
            if out is not None:
                operations.add(out[1])
        assert {"insert", "substitute", "delete", "swap"} <= operations, (lang, operations)


@pytest.mark.parametrize("lang", ["km", "my", "lo"])
def test_words_of_languages_written_without_spaces_and_without_a_segmenter(lang: str) -> None:
    text = {"km": SENTENCES["km"], "my": WITHOUT_ROW["my"], "lo": "ນະຄອນຫຼວງຂອງລາວແມ່ນຫຍັງ"}[lang]
    words = find_words(text, lang)
    assert words and "".join(w.text for w in words) == text.replace(" ", "").replace("၏", "")
    assert get_language(lang, text=text).spaces is False


def test_script_errors_by_language_then_by_script() -> None:
    assert script_errors_for("he") == ("hebrew_final_form", "mark_drop")
    assert script_errors_for("mr", "Devanagari") == ("vowel_length", "virama_slip")
    assert script_errors_for("ur", "Arabic") == ("arabic_confusion", "mark_drop")
    assert script_errors_for("ta", "Tamil") == ("virama_slip", "mark_drop")
    assert script_errors_for("pt-BR", "Latin") == ("diacritic_strip",)
    assert script_errors_for("zh_tw") == ("pinyin_homophone",)
    assert all(
        name in SCRIPT_ERRORS for lang in [*SENTENCES, *WITHOUT_ROW] for name in script_errors_for(lang)
    )
    # Hebrew final forms, a Tamil dropped pulli, a Yoruba dropped tone mark
    rng = random.Random(0)
    assert SCRIPT_ERRORS["hebrew_final_form"](["ש", "ל", "ו", "ם"], rng) == ["ש", "ל", "ו", "מ"]
    assert SCRIPT_ERRORS["virama_slip"](graphemes("அவர்கள்"), rng) is not None
    assert SCRIPT_ERRORS["mark_drop"](graphemes("wọ́n"), rng) == graphemes("wọn")


def test_layouts_of_the_new_languages_neighbour_within_their_script() -> None:
    for lang in (
        "ro",
        "da",
        "no",
        "sv",
        "fr",
        "it",
        "pt",
        "nl",
        "pl",
        "hu",
        "ms",
        "id",
        "sw",
        "yo",
        "he",
        "fa",
        "km",
    ):
        layout = load_layout(lang)
        letters = [k for k in layout.keys() if k.isalpha()]
        script = get_language(lang).script
        assert len(letters) >= 20 and all(char_script(k) == script for k in letters), lang
        for key in letters:
            assert all(key in layout.neighbours(n) for n in layout.neighbours(key)), (lang, key)
    assert set(load_layout("ro").neighbours("ș")) >= {"l", "ț"}
    assert load_layout("nb").name == load_layout("no").name and load_layout("pt-BR").lang == "pt"
