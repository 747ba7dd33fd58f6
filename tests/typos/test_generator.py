"""The typo generator: property tests over languages and scripts, protocols, reproducibility."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xqg.data.records import Query
from xqg.errors import ConfigError
from xqg.seeding import derive_seed
from xqg.typos import (
    IdfTable,
    edit_word,
    find_words,
    grapheme_distance,
    load_layout,
    misspell,
    misspell_queries,
    misspell_with_edits,
    scripts_of,
)
from xqg.typos.resources_loader import load_stopwords

SENTENCES = {
    "ar": "كم عدد الاستحواذات التي قام بها جاريد ألين في مسيرته المهنية",
    "bn": "বাংলাদেশের রাজধানী কোথায় অবস্থিত এবং তার জনসংখ্যা কত",
    "de": "Wie viele Punkte gab die Verteidigung der Panthers während der Saison ab",
    "el": "Πόσους πόντους παρέδωσε η άμυνα των Πάνθερς στην τελευταία σεζόν",
    "en": "How many career sacks did Jared Allen have before retirement",
    "es": "¿Cuántas capturas ha conseguido Jared Allen en su carrera deportiva?",
    "fi": "Mikä on Suomen pääkaupunki ja kuinka monta asukasta siellä on",
    "hi": "जेरेड एलन के पास कितने करियर सैक थे और उन्होंने कब संन्यास लिया",
    "ja": "東京タワーは何メートルですか、そしていつ建設されましたか",
    "ko": "대한민국의 수도는 어디입니까 그리고 인구는 얼마나 됩니까",
    "ru": "Сколько мешков за карьеру было у Джареда Аллена в Национальной лиге",
    "te": "భారతదేశ రాజధాని ఏది మరియు అక్కడ ఎంత మంది నివసిస్తున్నారు",
    "th": "ทีมรับของแพนเธอร์สยอมแพ้ที่คะแนนเท่าไรในฤดูกาลนี้",
    "tr": "Panthers savunması kaç sayı bıraktı ve hangi takıma karşı oynadı",
    "vi": "Đội thủ Panthers đã thua bao nhiêu điểm trong mùa giải vừa qua",
    "zh": "黑豹队的防守在整个赛季中丢了多少分？",
}
LANGS = sorted(SENTENCES)


def _check(text: str, lang: str, seed: int, num_typos: int = 1, protocol: str = "one-typo") -> None:
    result = misspell_with_edits(text, lang, seed, num_typos=num_typos, protocol=protocol)
    # exactly one grapheme edit per typo, each in its own word
    assert all(grapheme_distance(e.original, e.replacement) == 1 for e in result.edits)
    assert len({e.start for e in result.edits}) == len(result.edits)
    assert grapheme_distance(text, result.text) <= len(result.edits)
    if len(result.edits) == 1:
        assert grapheme_distance(text, result.text) == 1
    # the edited words keep their script
    for e in result.edits:
        assert scripts_of(e.replacement) <= scripts_of(e.original), (e, lang)
    # separators and untouched words are unchanged
    assert len(find_words(result.text, lang)) == len(find_words(text, lang)) or not get_spaces(lang)
    assert misspell(text, lang, seed, num_typos=num_typos, protocol=protocol) == result.text


def get_spaces(lang: str) -> bool:
    from xqg.data.languages import get_language

    return get_language(lang).spaces


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lang=st.sampled_from(LANGS), seed=st.integers(0, 2**40), num_typos=st.integers(1, 3))
def test_typos_are_grapheme_edits_that_keep_the_script(lang: str, seed: int, num_typos: int) -> None:
    text = SENTENCES[lang]
    result = misspell_with_edits(text, lang, seed, num_typos=num_typos)
    assert len(result.edits) == num_typos  # every sentence has at least 3 content words
    assert result.text != text
    _check(text, lang, seed, num_typos)


@settings(max_examples=60, deadline=None)
@given(lang=st.sampled_from([x for x in LANGS if x not in ("en", "th")]), seed=st.integers(0, 2**40))
def test_script_protocol_uses_script_specific_errors_only(lang: str, seed: int) -> None:
    result = misspell_with_edits(SENTENCES[lang], lang, seed, protocol="script")
    assert all(e.operation == "script" for e in result.edits)
    _check(SENTENCES[lang], lang, seed, protocol="script")


def _word_strategy(lang: str) -> st.SearchStrategy[str]:
    layout = load_layout(lang)
    letters = sorted({k for k in layout.keys() + list(layout.extra_letters) if k.isalpha()})
    return st.lists(st.sampled_from(letters), min_size=3, max_size=9).map("".join)


@settings(max_examples=120, deadline=None)
@given(
    data=st.data(),
    lang=st.sampled_from(["ar", "de", "el", "es", "fi", "ru", "tr", "vi", "hi", "bn", "te"]),
    seed=st.integers(0, 2**32),
)
def test_random_words_of_each_alphabet(data: st.DataObject, lang: str, seed: int) -> None:
    word = data.draw(_word_strategy(lang))
    out = edit_word(word, lang, random.Random(seed))
    if out is not None:  # a typo was possible: it differs by exactly one cluster and keeps the script
        assert out[0] != word
        assert grapheme_distance(word, out[0]) == 1
        assert scripts_of(out[0]) <= scripts_of(word)


@settings(max_examples=40, deadline=None)
@given(
    syllables=st.lists(st.integers(0xAC00, 0xD7A3).map(chr), min_size=2, max_size=6),
    seed=st.integers(0, 2**32),
)
def test_hangul_edits_recompose_into_valid_syllables(syllables: list[str], seed: int) -> None:
    word = "".join(syllables)
    out = edit_word(word, "ko", random.Random(seed))
    assert out is not None
    assert all(0xAC00 <= ord(c) <= 0xD7A3 for c in out[0])
    assert grapheme_distance(word, out[0]) == 1


def test_same_seed_same_output_and_different_seeds_differ() -> None:
    for lang in LANGS:
        text = SENTENCES[lang]
        assert misspell(text, lang, 7) == misspell(text, lang, 7)
        assert len({misspell(text, lang, s) for s in range(8)}) > 2, lang


def test_no_typo_possible_leaves_the_text_unchanged() -> None:
    assert misspell("a b", "en", 0) == "a b"
    assert misspell("", "de", 0) == ""
    assert misspell("2024 — 17:30", "ru", 0) == "2024 — 17:30"


def test_stopwords_are_spared_when_content_words_exist() -> None:
    stop = load_stopwords("en")
    for seed in range(30):
        result = misspell_with_edits("what is the photosynthesis", "en", seed)
        assert [e.original for e in result.edits] == ["photosynthesis"]
        assert "photosynthesis" not in stop


def test_short_queries_fall_back_to_any_word() -> None:
    result = misspell_with_edits("Who is he?", "en", 3)
    assert len(result.edits) == 1 and result.edits[0].original in ("Who", "he")


def test_rate_protocol() -> None:
    text = SENTENCES["de"]
    content = [
        w
        for w in find_words(text, "de")
        if w.text.casefold() not in load_stopwords("de") and len(w.text) >= 3
    ]
    every = misspell_with_edits(text, "de", 1, protocol="rate", rate=1.0)
    assert len(every.edits) == len(content)
    assert misspell(text, "de", 1, protocol="rate", rate=0.0) == text
    counts = [len(misspell_with_edits(text, "de", s, protocol="rate", rate=0.2).edits) for s in range(200)]
    assert 0.1 < sum(counts) / (200 * len(content)) < 0.3


def test_idf_protocol_edits_the_rarest_word() -> None:
    corpus = ["the panthers defense", "the defense of the panthers", "panthers points", "allen sacks"]
    table = IdfTable(corpus, "en")
    for seed in range(10):
        result = misspell_with_edits("panthers defense sacks", "en", seed, protocol="idf", idf=table)
        assert [e.original for e in result.edits] == ["sacks"]
    with pytest.raises(ConfigError):
        misspell("panthers defense", "en", 0, protocol="idf")


def test_misspell_queries_depends_only_on_seed_query_id_and_variant() -> None:
    qs = [Query(f"q{i}", SENTENCES[lang], lang) for i, lang in enumerate(LANGS)]
    a = misspell_queries(qs, seed=5, variant=3)
    b = misspell_queries(list(reversed(qs))[:4], seed=5, variant=3)
    by_id = {q.id: q.text for q in a}
    assert all(by_id[q.id] == q.text for q in b)
    assert [(q.id, q.lang) for q in a] == [(q.id, q.lang) for q in qs]
    assert a[0].text == misspell(qs[0].text, qs[0].lang, derive_seed(5, "q0", 3))
    assert misspell_queries(qs, seed=5, variant=4) != a


def test_unknown_protocol_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        misspell("hello world", "en", 0, protocol="nope")
