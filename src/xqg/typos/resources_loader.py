"""Per-language data shipped with xqg: keyboard layouts and stopword lists (``resources/``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from xqg.errors import InputError

_ROOT = resources.files("xqg.typos").joinpath("resources")


@dataclass(frozen=True)
class KeyboardLayout:
    """A keyboard layout: rows of keys (unshifted and, optionally, shifted).

    Args:
        lang: language code (the file's name).
        name: human name of the layout.
        input: ``"direct"`` (keys give letters), ``"jamo"`` (Korean: keys give jamo),
            ``"romaji"`` (Japanese IME) or ``"pinyin"`` (Chinese IME).
        rows: key rows, physical order (top letter row first); a key is one or more characters.
        shift_rows: the same keys with Shift, or empty.
        extra_letters: letters of the alphabet typed without a key of their own (dead keys, IME).
    """

    lang: str
    name: str
    input: str
    rows: tuple[tuple[str, ...], ...]
    shift_rows: tuple[tuple[str, ...], ...] = ()
    extra_letters: str = ""
    _neighbours: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)

    def neighbours(self, key: str) -> tuple[str, ...]:
        """Keys physically next to ``key`` (same row left/right, the rows above and below), in
        the same shift state; multi-character keys (Arabic lam-alef) are never returned.

        Example:
            >>> load_layout("en").neighbours("g")
            ('f', 'h', 't', 'y', 'v', 'b')
        """
        if not self._neighbours:
            for grid in (self.rows, self.shift_rows):
                for r, row in enumerate(grid):
                    for c, k in enumerate(row):
                        found: list[str] = []
                        for rr, cc in (
                            (r, c - 1),
                            (r, c + 1),
                            (r - 1, c),
                            (r - 1, c + 1),
                            (r + 1, c - 1),
                            (r + 1, c),
                        ):
                            if 0 <= rr < len(grid) and 0 <= cc < len(grid[rr]):
                                other = grid[rr][cc]
                                if len(other) == 1 and other != k and other not in found:
                                    found.append(other)
                        if k not in self._neighbours:
                            self._neighbours[k] = tuple(found)
        return self._neighbours.get(key, ())

    def keys(self) -> list[str]:
        """All single-character keys (unshifted, then shifted)."""
        return [k for grid in (self.rows, self.shift_rows) for row in grid for k in row if len(k) == 1]


@lru_cache(maxsize=1)
def _layout_files() -> dict[str, str]:
    """``{language: file name}``: each ``keyboards/<code>.json``, plus the codes its ``languages``
    field names (Norwegian's layout also serves ``nb`` and ``nn``)."""
    out: dict[str, str] = {}
    for path in sorted(_ROOT.joinpath("keyboards").iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".json"):
            continue
        out[path.name[:-5]] = path.name
        for code in json.loads(path.read_text(encoding="utf-8")).get("languages", []):
            out.setdefault(code, path.name)
    return out


def available_layouts() -> list[str]:
    """Language codes with a shipped keyboard layout.

    Example:
        >>> "hi" in available_layouts() and "ro" in available_layouts()
        True
    """
    return sorted(_layout_files())


@lru_cache(maxsize=4096)
def resource_key(lang: str) -> str:
    """The language subtag a code's per-language resources are filed under: ``zh_cn`` -> ``zh``,
    ``pt-BR`` -> ``pt``, ``eng`` -> ``en``, ``cmn`` -> ``zh`` (any valid code; ``und`` otherwise).

    Example:
        >>> resource_key("zh_tw"), resource_key("pt-BR"), resource_key("ro")
        ('zh', 'pt', 'ro')
    """
    import langcodes

    try:
        tag = langcodes.standardize_tag(lang.strip().replace("_", "-"), macro=True)
        return langcodes.Language.get(tag).language or "und"
    except (langcodes.LanguageTagError, ValueError):
        return lang.strip().lower()


def has_layout(lang: str) -> bool:
    """Whether a keyboard layout is shipped for ``lang`` (after :func:`resource_key`)."""
    return resource_key(lang) in _layout_files()


@lru_cache(maxsize=64)
def load_layout(lang: str) -> KeyboardLayout:
    """Load the keyboard layout of a language (regional variants use the language's: ``pt-BR``).

    Raises:
        InputError: no layout is shipped for ``lang``.

    Example:
        >>> load_layout("ru").rows[0][0]
        'й'
    """
    code = resource_key(lang)
    if code not in _layout_files():
        raise InputError(f"no keyboard layout for language {lang!r} (have: {', '.join(available_layouts())})")
    path = _ROOT.joinpath("keyboards").joinpath(_layout_files()[code])
    data = json.loads(path.read_text(encoding="utf-8"))
    to_rows = lambda grid: tuple(tuple(row) for row in grid)  # noqa: E731 - str or list rows
    return KeyboardLayout(
        lang=code,
        name=data["name"],
        input=data.get("input", "direct"),
        rows=to_rows(data["rows"]),
        shift_rows=to_rows(data.get("shift_rows", [])),
        extra_letters=data.get("extra_letters", ""),
    )


@lru_cache(maxsize=64)
def load_stopwords(lang: str) -> frozenset[str]:
    """The shipped stopword list of a language (empty if none is shipped), lower-cased.

    Example:
        >>> "the" in load_stopwords("en")
        True
    """
    path = _ROOT.joinpath("stopwords").joinpath(f"{resource_key(lang)}.txt")
    if not path.is_file():
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().casefold() for w in lines if w.strip() and not w.startswith("#"))
