"""Grapheme clusters, scripts, words and the grapheme edit distance used by the typo generator.

Words are found with the ``regex`` module (letters and combining marks, so Devanagari, Bengali and
Telugu words with vowel signs and virama stay whole; Python's ``re`` ``\\w`` splits them). Text in
languages written without spaces in Han, Japanese or Thai script (zh, yue, ja, th) is segmented
with BudouX, whose small models ship in its wheel (no download); Japanese phrases are then split
into runs of one script (kanji, hiragana, katakana), which separates particles from content words.
Scripts are Unicode's (:mod:`xqg.data.scripts`), for any script.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import regex

from xqg.data.languages import get_language
from xqg.data.scripts import char_script, scripts_of

__all__ = ["Word", "char_script", "find_words", "grapheme_distance", "graphemes", "scripts_of"]

_GRAPHEME = regex.compile(r"\X")
_WORD = regex.compile(r"[\p{L}\p{M}]+")


def graphemes(text: str) -> list[str]:
    """Split text into extended grapheme clusters (``regex`` ``\\X``).

    Example:
        >>> graphemes("किताब")
        ['कि', 'ता', 'ब']
    """
    return _GRAPHEME.findall(text)


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


@lru_cache(maxsize=8)
def _budoux_model(name: str):  # noqa: ANN202 - budoux has no public parser type
    import budoux

    return {
        "ja": budoux.load_default_japanese_parser,
        "th": budoux.load_default_thai_parser,
        "zh-Hant": budoux.load_default_traditional_chinese_parser,
        "zh-Hans": budoux.load_default_simplified_chinese_parser,
    }[name]()


@lru_cache(maxsize=1024)
def _segmenter(tag: str, script: str) -> str | None:
    """The BudouX model for a language written without spaces, or ``None`` when BudouX has none
    (Khmer, Lao, Myanmar, ...: their words are then the runs of letters between spaces)."""
    import langcodes

    if script in ("Japanese", "Thai"):
        return {"Japanese": "ja", "Thai": "th"}[script]
    if script == "Han":  # any Chinese (Cantonese included): traditional or simplified characters
        return "zh-Hant" if langcodes.Language.get(tag).maximize().script == "Hant" else "zh-Hans"
    return None


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

    Space-separated languages: maximal runs of letters and combining marks. Languages written
    in Han, Japanese or Thai script (zh in any variant, yue, ja, th): BudouX phrases inside each
    such run (Japanese phrases further split into single-script runs). Other languages written
    without spaces (km, lo, my, ...): the runs themselves. A code without a row in the project's
    table is judged by the script of ``text``.

    Args:
        text: any text.
        lang: any language code (decides the segmentation).

    Example:
        >>> [w.text for w in find_words("Who wrote 'Hamlet'?", "en")]
        ['Who', 'wrote', 'Hamlet']
        >>> [w.text for w in find_words("東京タワーは何メートルですか", "ja")][:3]
        ['東京', 'タワー', 'は']
    """
    language = get_language(lang, text=text)
    segmenter = None if language.spaces else _segmenter(language.tag, language.script)
    words: list[Word] = []
    for match in _WORD.finditer(text):
        if segmenter is None:
            words.append(Word(match.start(), match.end(), match.group()))
            continue
        offset = match.start()
        for phrase in _budoux_model(segmenter).parse(match.group()):
            if segmenter == "ja":
                words.extend(_script_runs(phrase, offset))
            else:
                words.append(Word(offset, offset + len(phrase), phrase))
            offset += len(phrase)
    return words
