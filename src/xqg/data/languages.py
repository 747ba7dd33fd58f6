"""Language codes, English names (used in the xQG prompt), scripts and resource levels.

Resource class follows the 0-5 taxonomy of Joshi et al. (2020, "The State and Fate of Linguistic
Diversity"); classes 0-3 are grouped as *low* resource and 4-5 as *high* resource in reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from xqg.errors import InputError


@dataclass(frozen=True, slots=True)
class Language:
    """One language xqg knows.

    Args:
        code: ISO 639-1 code as used by the benchmarks (``zh_cn`` style MKQA variants included).
        name: English name, as written into the generator prompt ("Generate a {name} question ...").
        script: main script (Unicode script name: Latin, Arabic, Cyrillic, Devanagari, ...).
        resource_class: Joshi et al. (2020) class, 0 (left-behind) to 5 (winners).
        spaces: whether words are separated by spaces (False for ja, zh, th, km).
    """

    code: str
    name: str
    script: str
    resource_class: int
    spaces: bool = True

    @property
    def resource_group(self) -> str:
        """``"high"`` for classes 4-5, ``"low"`` otherwise."""
        return "high" if self.resource_class >= 4 else "low"


_TABLE: list[tuple[str, str, str, int, bool]] = [
    ("ar", "Arabic", "Arabic", 5, True),
    ("bn", "Bengali", "Bengali", 3, True),
    ("cs", "Czech", "Latin", 4, True),
    ("da", "Danish", "Latin", 3, True),
    ("de", "German", "Latin", 5, True),
    ("el", "Greek", "Greek", 3, True),
    ("en", "English", "Latin", 5, True),
    ("es", "Spanish", "Latin", 5, True),
    ("fa", "Persian", "Arabic", 4, True),
    ("fi", "Finnish", "Latin", 4, True),
    ("fr", "French", "Latin", 5, True),
    ("he", "Hebrew", "Hebrew", 3, True),
    ("hi", "Hindi", "Devanagari", 4, True),
    ("hu", "Hungarian", "Latin", 4, True),
    ("id", "Indonesian", "Latin", 3, True),
    ("it", "Italian", "Latin", 4, True),
    ("ja", "Japanese", "Japanese", 5, False),
    ("km", "Khmer", "Khmer", 1, False),
    ("ko", "Korean", "Hangul", 4, True),
    ("ms", "Malay", "Latin", 3, True),
    ("nl", "Dutch", "Latin", 4, True),
    ("no", "Norwegian", "Latin", 1, True),
    ("pl", "Polish", "Latin", 4, True),
    ("pt", "Portuguese", "Latin", 4, True),
    ("ru", "Russian", "Cyrillic", 4, True),
    ("sv", "Swedish", "Latin", 4, True),
    ("sw", "Swahili", "Latin", 2, True),
    ("te", "Telugu", "Telugu", 1, True),
    ("th", "Thai", "Thai", 3, False),
    ("tr", "Turkish", "Latin", 4, True),
    ("vi", "Vietnamese", "Latin", 4, True),
    ("yo", "Yoruba", "Latin", 2, True),
    ("zh", "Chinese", "Han", 5, False),
    ("zh_cn", "Chinese", "Han", 5, False),
    ("zh_hk", "Chinese", "Han", 5, False),
    ("zh_tw", "Chinese", "Han", 5, False),
]

LANGUAGES: dict[str, Language] = {row[0]: Language(*row) for row in _TABLE}


def get_language(code: str, *, path: str | None = None, line: int | None = None) -> Language:
    """Look up a language by code, with a clear error for unknown codes.

    Args:
        code: language code such as ``"ar"`` or ``"zh_cn"`` (case-insensitive; ``-`` is read as ``_``).
        path: file the code came from, for the error message.
        line: line in ``path``, for the error message.

    Raises:
        InputError: the code is not known.

    Example:
        >>> get_language("bn").name
        'Bengali'
    """
    key = code.strip().lower().replace("-", "_")
    try:
        return LANGUAGES[key]
    except KeyError:
        known = ", ".join(sorted(LANGUAGES))
        raise InputError(f"unknown language code {code!r} (known: {known})", path=path, line=line) from None
