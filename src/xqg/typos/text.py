"""Grapheme clusters, scripts, words and the grapheme edit distance used by the typo generator.

Words are found with the ``regex`` module (letters and combining marks, so Devanagari, Bengali and
Telugu words with vowel signs and virama stay whole; Python's ``re`` ``\\w`` splits them). Text in
languages written without spaces (ja, zh, th) is segmented with BudouX, whose small models ship in
its wheel (no download); Japanese phrases are then split into runs of one script (kanji, hiragana,
katakana), which separates particles from content words.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import regex

from xqg.data.languages import get_language

_GRAPHEME = regex.compile(r"\X")
_WORD = regex.compile(r"[\p{L}\p{M}]+")
_SCRIPTS = (
    "Latin",
    "Cyrillic",
    "Greek",
    "Arabic",
    "Hebrew",
    "Devanagari",
    "Bengali",
    "Telugu",
    "Tamil",
    "Thai",
    "Khmer",
    "Hangul",
    "Hiragana",
    "Katakana",
    "Han",
)
_SCRIPT_RES = [(name, regex.compile(rf"\p{{Script={name}}}")) for name in _SCRIPTS]
_NEUTRAL = regex.compile(r"[\p{Script=Common}\p{Script=Inherited}]")


def graphemes(text: str) -> list[str]:
    """Split text into extended grapheme clusters (``regex`` ``\\X``).

    Example:
        >>> graphemes("किताब")
        ['कि', 'ता', 'ब']
    """
    return _GRAPHEME.findall(text)


@lru_cache(maxsize=4096)
def char_script(char: str) -> str:
    """Unicode script of one character: a name from a fixed list, ``"Common"`` (marks, digits,
    punctuation; the prolonged sound mark ``ー`` too) or ``"Other"``.

    Example:
        >>> char_script("ф"), char_script("ी"), char_script("-")
        ('Cyrillic', 'Devanagari', 'Common')
    """
    for name, pattern in _SCRIPT_RES:
        if pattern.match(char):
            return name
    if _NEUTRAL.match(char):
        return "Common"
    return "Other"


def scripts_of(text: str) -> set[str]:
    """The set of (non-Common) scripts of the characters of ``text``.

    Example:
        >>> sorted(scripts_of("東京タワー"))
        ['Han', 'Katakana']
    """
    return {s for s in map(char_script, text) if s != "Common"}


def grapheme_distance(a: str | list[str], b: str | list[str]) -> int:
    """Damerau-Levenshtein distance (optimal string alignment) on grapheme clusters.

    Insertion, deletion and substitution of a cluster and a swap of two neighbouring clusters each
    count 1. This is what "number of typos" means in xqg: every operation of the generator,
    script-specific ones included (a jamo edit changes one Hangul syllable, a dropped dakuten one
    kana, a vowel-sign slip one Indic cluster), changes the text by exactly 1 in this distance.

    Example:
        >>> grapheme_distance("किताब", "कताब"), grapheme_distance("abc", "bac")
        (1, 1)
    """
    x = graphemes(a) if isinstance(a, str) else a
    y = graphemes(b) if isinstance(b, str) else b
    n, m = len(x), len(y)
    prev2: list[int] = []
    prev = list(range(m + 1))
    for i in range(1, n + 1):
        cur = [i] + [0] * m
        for j in range(1, m + 1):
            cost = 0 if x[i - 1] == y[j - 1] else 1
            best = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and x[i - 1] == y[j - 2] and x[i - 2] == y[j - 1]:
                best = min(best, prev2[j - 2] + 1)
            cur[j] = best
        prev2, prev = prev, cur
    return prev[m]


@dataclass(frozen=True, slots=True)
class Word:
    """A word found in a text: ``text[start:end]``."""

    start: int
    end: int
    text: str


@lru_cache(maxsize=4)
def _budoux_parser(lang: str):  # noqa: ANN202 - budoux has no public parser type
    import budoux

    if lang == "ja":
        return budoux.load_default_japanese_parser()
    if lang == "th":
        return budoux.load_default_thai_parser()
    if lang in ("zh_tw", "zh_hk"):
        return budoux.load_default_traditional_chinese_parser()
    return budoux.load_default_simplified_chinese_parser()


def _script_runs(piece: str, offset: int) -> list[Word]:
    runs: list[Word] = []
    start = 0
    current = None
    for i, char in enumerate(piece):
        script = char_script(char)
        if script == "Common" and current is not None:
            continue  # marks, ー stay with the run
        if current is not None and script != current:
            runs.append(Word(offset + start, offset + i, piece[start:i]))
            start = i
        current = script
    if piece:
        runs.append(Word(offset + start, offset + len(piece), piece[start:]))
    return runs


def find_words(text: str, lang: str) -> list[Word]:
    """The words of ``text`` in reading order, as spans.

    Space-separated languages: maximal runs of letters and combining marks. ja/zh/th: BudouX
    phrases inside each such run (Japanese phrases further split into single-script runs).

    Args:
        text: any text.
        lang: language code (decides the segmentation).

    Example:
        >>> [w.text for w in find_words("Who wrote 'Hamlet'?", "en")]
        ['Who', 'wrote', 'Hamlet']
        >>> [w.text for w in find_words("東京タワーは何メートルですか", "ja")][:3]
        ['東京', 'タワー', 'は']
    """
    language = get_language(lang)
    words: list[Word] = []
    for match in _WORD.finditer(text):
        if language.spaces:
            words.append(Word(match.start(), match.end(), match.group()))
            continue
        offset = match.start()
        for phrase in _budoux_parser(language.code).parse(match.group()):
            if language.code == "ja":
                words.extend(_script_runs(phrase, offset))
            else:
                words.append(Word(offset, offset + len(phrase), phrase))
            offset += len(phrase)
    return words
