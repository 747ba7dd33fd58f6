"""Unicode scripts of characters and texts (Latin, Cyrillic, Devanagari, Han, ...), for any script.

The data are Unicode's ``Scripts.txt`` as shipped by ``fontTools.unicodedata`` (a maintained
library, already a dependency of matplotlib); nothing here is a hand-made list of scripts.
Characters of the scripts ``Common`` (digits, punctuation, the prolonged sound mark ``ー``) and
``Inherited`` (combining marks shared by several scripts) are reported as ``"Common"``: they belong
to whatever script they are written with.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from fontTools import unicodedata as _ucd

COMMON = "Common"
"""What :func:`char_script` returns for characters that belong to no one script."""

_NEUTRAL_CODES = frozenset({"Zyyy", "Zinh", "Zzzz"})

# ISO 15924 codes that name a way of writing rather than one Unicode script property value.
_WRITING_SYSTEMS = {
    "Hans": "Han",
    "Hant": "Han",
    "Hani": "Han",
    "Jpan": "Japanese",
    "Hrkt": "Japanese",
    "Kore": "Hangul",
}


@lru_cache(maxsize=65536)
def char_script(char: str) -> str:
    """The Unicode script of one character, by its full name; ``"Common"`` for shared characters.

    Example:
        >>> char_script("ф"), char_script("ी"), char_script("-"), char_script("ሀ")
        ('Cyrillic', 'Devanagari', 'Common', 'Ethiopic')
    """
    code = _ucd.script(char)
    if code in _NEUTRAL_CODES:
        return COMMON
    return _ucd.script_name(code, default=code)


def scripts_of(text: str) -> set[str]:
    """The set of scripts (``Common`` left out) of the characters of ``text``.

    Example:
        >>> sorted(scripts_of("東京タワー"))
        ['Han', 'Katakana']
    """
    return {s for s in map(char_script, text) if s != COMMON}


def dominant_script(text: str) -> str | None:
    """The script most of the letters of ``text`` are written in, as a language's script name.

    Japanese text (kana with or without kanji) gives ``"Japanese"``; Korean (Hangul with or without
    hanja) ``"Hangul"``; ``None`` when the text has no letter of any script.

    Example:
        >>> dominant_script("Ce an a fost?"), dominant_script("東京タワーは"), dominant_script("2024")
        ('Latin', 'Japanese', None)
    """
    counts = Counter(s for s in map(char_script, text) if s != COMMON)
    if not counts:
        return None
    if counts.get("Hiragana") or counts.get("Katakana"):
        return "Japanese"
    if counts.get("Hangul"):
        return "Hangul"
    return counts.most_common(1)[0][0]


def script_name(iso15924: str) -> str:
    """A language's script name from an ISO 15924 code (``Latn`` -> ``Latin``, ``Hans`` -> ``Han``).

    Writing systems that mix scripts keep one name: ``Jpan`` -> ``Japanese``, ``Kore`` -> ``Hangul``.

    Example:
        >>> script_name("Cyrl"), script_name("Hant"), script_name("Jpan")
        ('Cyrillic', 'Han', 'Japanese')
    """
    if iso15924 in _WRITING_SYSTEMS:
        return _WRITING_SYSTEMS[iso15924]
    return _ucd.script_name(iso15924, default=iso15924)
