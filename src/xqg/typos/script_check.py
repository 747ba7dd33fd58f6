"""Is a text written in its language's script? (``xqg typos`` refuses to misspell text that is not.)

A query tagged ``ar`` whose letters are all Tifinagh, or a ``de`` query in Cyrillic, is almost surely
mislabelled: misspelling it as Arabic (German) would apply that language's keyboard and rules to
letters they do not know, and count the result as a typo of that language. :func:`in_language_script`
says whether at least one letter of the text is in the script :func:`xqg.data.languages.get_language`
gives for the code (scripts of characters from :mod:`xqg.data.scripts`; Japanese: Han, Hiragana or
Katakana; Korean: Hangul or Han). Text without letters and codes whose script the table does not
know are not judged.

Example:
    >>> in_language_script("ⵜⴰⵎⴰⵣⵉⵖⵜ", "ar"), in_language_script("ما هو iPhone؟", "ar")
    (False, True)
"""

from __future__ import annotations

from xqg.data.languages import get_language
from xqg.data.scripts import COMMON, char_script, dominant_script
from xqg.errors import XqgError

WRITING_SYSTEMS: dict[str, frozenset[str]] = {
    "Japanese": frozenset({"Han", "Hiragana", "Katakana"}),
    "Hangul": frozenset({"Hangul", "Han"}),
    "Han": frozenset({"Han", "Bopomofo"}),
}
"""The Unicode scripts that a language's script name stands for, where it is more than one."""


def language_script(lang: str) -> str | None:
    """The script of ``lang`` per :func:`xqg.data.languages.get_language` (``None``: not a code)."""

    try:
        return get_language(lang).script or None
    except XqgError:
        return None


def in_language_script(text: str, lang: str) -> bool:
    """Whether ``text`` has a letter in ``lang``'s script, or cannot be judged (no letters, a code
    whose script is unknown).

    Args:
        text: the text.
        lang: its language code.
    """
    script = language_script(lang)
    if not script or script == COMMON:
        return True
    wanted = WRITING_SYSTEMS.get(script, frozenset({script}))
    found = {char_script(c) for c in text} - {COMMON}
    return not found or bool(found & wanted)


def text_script(text: str) -> str:
    """The script most letters of ``text`` are written in, for messages (``"no letters"`` if none).

    Example:
        >>> text_script("ⵜⴰⵎⴰⵣⵉⵖⵜ"), text_script("42")
        ('Tifinagh', 'no letters')
    """
    return dominant_script(text) or "no letters"
