"""Languages: any valid ISO 639 / BCP-47 code, names from CLDR, the project's table and its defaults."""

from __future__ import annotations

import itertools
import string

import langcodes
import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.data.languages import (
    LANGUAGES,
    NO_SPACE_SCRIPTS,
    check_language_code,
    get_language,
    is_language_code,
    table_languages,
)
from xqg.data.mkqa import MKQA_LANGUAGES
from xqg.data.xor_tydi import XOR_LANGUAGES
from xqg.data.xquad import XQUAD_LANGUAGES
from xqg.errors import InputError

MIRACL_LANGUAGES = ("ar", "bn", "de", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko", "ru", "sw", "te", "th", "yo", "zh")  # fmt: skip


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("ro", "Romanian"),
        ("pt-BR", "Portuguese"),
        ("zh-Hant", "Chinese"),
        ("fil", "Filipino"),
        ("yue", "Cantonese"),
        ("zh_cn", "Chinese"),
        ("ZH-TW", "Chinese"),
        ("eng", "English"),
        ("deu", "German"),
        ("tl", "Filipino"),
        ("hy", "Armenian"),
        ("bn", "Bengali"),  # the xQG paper's prompt name (CLDR says "Bangla")
        ("und", "Unknown language"),
    ],
)
def test_any_valid_code_is_a_language_with_an_english_name(code: str, name: str) -> None:
    assert is_language_code(code)
    assert check_language_code(f" {code} ") == code
    language = get_language(code)
    assert language.code == code and language.name == name
    assert language.script and language.tag


@pytest.mark.parametrize(
    ("code", "hint"),
    [("xx", None), ("English", "'en'"), ("Romanian", "'ro'"), ("", None), ("   ", None), ("qq", None),
     ("en-", None), ("x-private", None), ("zxx", None), ("12", None)],
)  # fmt: skip
def test_what_is_not_a_language_code_is_refused_with_file_and_line(code: str, hint: str | None) -> None:
    assert not is_language_code(code)
    with pytest.raises(InputError) as info:
        check_language_code(code, path="queries.jsonl", line=7)
    assert info.value.path == "queries.jsonl" and info.value.line == 7
    assert str(info.value).startswith("queries.jsonl:7: ")
    if hint:
        assert f"the code of the language named {code!r} is {hint}" in str(info.value)
    with pytest.raises(InputError):
        get_language(code)


def test_every_two_letter_code_the_registry_knows_works_and_the_others_are_refused() -> None:
    accepted = 0
    for a, b in itertools.product(string.ascii_lowercase, repeat=2):
        code = a + b
        if langcodes.tag_is_valid(code):
            language = get_language(code)
            assert language.name and language.script, code
            accepted += 1
        else:
            with pytest.raises(InputError):
                get_language(code)
    assert accepted > 180  # ISO 639-1 has 183 codes


@settings(max_examples=200, deadline=None)
@given(code=st.text(alphabet=string.ascii_letters + "-_", min_size=0, max_size=12))
def test_validity_agrees_with_the_registry(code: str) -> None:
    raw = code.strip().replace("_", "-")
    try:
        registry = bool(raw) and langcodes.tag_is_valid(raw) and not raw.lower().startswith("x-")
        registry = registry and (
            langcodes.Language.get(raw).language not in (None, "zxx") or raw.lower().startswith("und")
        )
    except (langcodes.LanguageTagError, ValueError):
        registry = False
    assert is_language_code(code) == registry


def test_table_rows_say_where_they_come_from_and_are_consistent() -> None:
    rows = table_languages()
    assert len(rows) == len(set(rows)) == len(LANGUAGES)
    by_class: dict[int, list[str]] = {}
    for code in rows:
        language = LANGUAGES[code]
        assert is_language_code(code) and language.has_row
        assert language.source.startswith("Joshi et al. 2020, lang2tax.txt ")
        assert f"= class {language.resource_class}" in language.source
        by_class.setdefault(language.resource_class, []).append(code)
        # a script name xqg can match text against: a Unicode script, or Japanese/Hangul
        if language.script not in ("Japanese",):
            assert regex.compile(rf"\p{{Script={language.script}}}")
        assert language.spaces == (language.script not in NO_SPACE_SCRIPTS)
    # Joshi et al. (2020): 7 winners, 18 underdogs, 28 rising stars; all of them have a row
    assert (len(by_class[5]), len(by_class[4]), len(by_class[3])) == (7, 18, 28)
    assert get_language("ro").resource_class == 3 and get_language("cmn").resource_class == 5


def test_every_language_of_the_benchmarks_has_a_row() -> None:
    for code in {*XQUAD_LANGUAGES, *MKQA_LANGUAGES, *XOR_LANGUAGES, *MIRACL_LANGUAGES}:
        assert get_language(code).has_row, code
    assert len(XQUAD_LANGUAGES) == 12 and len(MKQA_LANGUAGES) == 26 and len(MIRACL_LANGUAGES) == 18


def test_defaults_for_a_code_without_a_row() -> None:
    yue = get_language("yue")
    assert not yue.has_row and yue.resource_class is None and yue.resource_group == "low"
    assert (yue.script, yue.spaces) == ("Han", False)
    assert "no row" in yue.source
    # the script of the text wins over CLDR's likely script (Kurdish is likely Latin; Sorani is Arabic)
    assert get_language("ku").script == "Latin"
    assert get_language("ku", text="کێ نووسیویەتی؟").script == "Arabic"
    assert get_language("my", text="ဘယ်သူရေးခဲ့သလဲ").spaces is False
    # a row is what the project decided: text does not change it
    assert get_language("sr", text="Ko je napisao").script == "Cyrillic"
    # groups: classes 4-5 high, everything else low
    assert get_language("de").resource_group == "high" and get_language("sw").resource_group == "low"
