"""Chinese pinyin homophones: the table shipped in ``resources/zh_pinyin.tsv`` and how it is built.

The table maps each toned pinyin syllable (tone number at the end, ``zhong1``) to the common
Simplified characters read that way: the 6,763 characters of GB 2312 (level 1 first, so the most
frequent characters come first in each row), with each character's main reading from
``pypinyin``'s bundled data. ``pypinyin`` is needed only to *rebuild* the table
(:func:`build_pinyin_table`, a development step); at run time xqg reads the shipped file.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from xqg.data.atomic import atomic_write_text

TABLE_FILE = "zh_pinyin.tsv"


def gb2312_characters() -> list[str]:
    """The 6,763 Han characters of GB 2312, level 1 (3,755 frequent ones) then level 2.

    Example:
        >>> chars = gb2312_characters()
        >>> len(chars), chars[0]
        (6763, '啊')
    """
    chars: list[str] = []
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                char = bytes([high, low]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            chars.append(char)
    return chars


def build_pinyin_table(path: str | Path) -> int:
    """Write the pinyin -> characters table from ``pypinyin`` (development step, not run time).

    Args:
        path: output TSV (``pinyin<TAB>characters``), written atomically.

    Returns:
        The number of characters in the table.

    Example:
        >>> build_pinyin_table("/tmp/zh_pinyin.tsv")  # doctest: +SKIP
        6763
    """
    from pypinyin import Style, pinyin  # dev-only dependency

    groups: dict[str, list[str]] = {}
    for char in gb2312_characters():
        reading = pinyin(char, style=Style.TONE3, heteronym=False, neutral_tone_with_five=True)[0][0]
        if not reading or not reading.isascii():
            continue
        groups.setdefault(reading, []).append(char)
    lines = [
        "# pinyin (tone number)\tGB 2312 characters with that main reading (level 1 first); built by "
        "xqg.typos.homophones.build_pinyin_table from pypinyin's data"
    ]
    lines += [f"{key}\t{''.join(chars)}" for key, chars in sorted(groups.items())]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return sum(len(c) for c in groups.values())


@lru_cache(maxsize=1)
def pinyin_table() -> tuple[dict[str, str], dict[str, str]]:
    """Load the shipped table: ``(pinyin -> characters, character -> pinyin)``.

    Example:
        >>> by_reading, reading_of = pinyin_table()
        >>> reading_of["中"]
        'zhong1'
    """
    text = resources.files("xqg.typos").joinpath("resources").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    by_reading: dict[str, str] = {}
    reading_of: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, chars = line.split("\t")
        by_reading[key] = chars
        for char in chars:
            reading_of.setdefault(char, key)
    return by_reading, reading_of


def toneless(reading: str) -> str:
    """Drop the tone number: ``"zhong1"`` -> ``"zhong"``."""
    return reading.rstrip("012345")
