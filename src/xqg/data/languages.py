"""Languages: any valid ISO 639-1/639-3 or BCP-47 code, with what xqg decides about it.

A language is whatever code the user's data carries, as long as it is a language code: ``ro``,
``pt-BR``, ``zh-Hant``, ``fil``, ``yue``, ``zh_cn`` (MKQA's spelling; ``_`` is read as ``-``) and
``eng`` are; ``xx``, ``English`` and the empty string are not. Codes are checked and named by
``langcodes`` with its ``language_data`` (the IANA subtag registry and CLDR), not by a hand table.

xqg keeps as data only what it decides itself (``resources/languages.tsv``): the resource class
(Joshi et al. 2020, with the entry of the paper's table each row comes from), the script, and
whether words are separated by spaces. A language without a row gets defaults: its script is the
one its text is written in (:func:`get_language` with ``text=``) or else CLDR's likely script for
the code; spaces unless that script is written without them (Han, Japanese, Thai, Lao, Khmer,
Myanmar, Tibetan); no resource class, grouped as *low* resource (the table holds every language of
classes 3-5, so a language without a row is in classes 0-3).

Stages that do not need the language (encoding, search, fusion, evaluation grouping) only carry
the code; :func:`check_language_code` is all they ask of it, and only where the code comes from a
file or the command line (so that a typo such as ``English`` is caught with its file and line).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import langcodes

from xqg.data.scripts import dominant_script, script_name
from xqg.errors import InputError

UNDETERMINED = "und"
"""BCP-47 "undetermined language": the language of a query whose file does not say, in stages
that do not need it (encoding, search, fusion)."""

NO_SPACE_SCRIPTS = frozenset({"Han", "Japanese", "Thai", "Lao", "Khmer", "Myanmar", "Tibetan"})
"""Scripts whose languages are written without spaces between words (the default of ``spaces``)."""

_EXAMPLES = "e.g. 'ro', 'pt-BR', 'zh-Hant', 'fil', 'yue'"


@dataclass(frozen=True, slots=True)
class Language:
    """A language as xqg sees it.

    Args:
        code: the code as the data carry it (stripped), e.g. ``"zh_cn"``, ``"pt-BR"``, ``"ro"``.
        name: English name, as written into generation prompts ("Generate a {name} question ...").
        script: main script (a Unicode script name: Latin, Arabic, Cyrillic, Devanagari, ...;
            ``Japanese`` for kana and kanji, ``Hangul`` for Korean, ``Han`` for Chinese).
        resource_class: Joshi et al. (2020) class, 0 (left-behind) to 5 (winners); ``None`` when
            the project's table has no row for the language.
        spaces: whether words are separated by spaces (False for ja, zh, th, km, ...).
        tag: the standard BCP-47 form of ``code`` (``"zh-CN"`` for ``"zh_cn"``, ``"en"`` for ``"eng"``).
        source: where ``script``, ``spaces`` and ``resource_class`` come from (a table row and its
            entry in Joshi et al.'s table, or the defaults).
    """

    code: str
    name: str
    script: str
    resource_class: int | None
    spaces: bool = True
    tag: str = ""
    source: str = ""

    @property
    def resource_group(self) -> str:
        """``"high"`` for classes 4-5, ``"low"`` otherwise (a language without a row included)."""
        return "high" if (self.resource_class or 0) >= 4 else "low"

    @property
    def has_row(self) -> bool:
        """Whether the project's table has a row for this language."""
        return self.resource_class is not None


@dataclass(frozen=True, slots=True)
class _Row:
    script: str
    spaces: bool
    resource_class: int
    source: str
    prompt_name: str


@lru_cache(maxsize=1)
def _table() -> dict[str, _Row]:
    text = resources.files("xqg.data").joinpath("resources/languages.tsv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    rows: dict[str, _Row] = {}
    for record in csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t"):
        rows[record["code"]] = _Row(
            script=record["script"],
            spaces=record["spaces"] == "yes",
            resource_class=int(record["class"]),
            source=f'Joshi et al. 2020, lang2tax.txt "{record["source"]}" = class {record["class"]}',
            prompt_name=record["prompt_name"],
        )
    return rows


def _bcp47(code: str) -> str:
    return code.strip().replace("_", "-")


@lru_cache(maxsize=4096)
def _parse(code: str) -> tuple[str, str] | str:
    """``(standard tag, base language: the table's key)`` or an error message."""
    raw = _bcp47(code)
    if not raw:
        return "empty language code"
    try:
        valid = langcodes.tag_is_valid(raw)
        parsed = langcodes.Language.get(raw) if valid else None
    except (langcodes.LanguageTagError, ValueError):
        valid, parsed = False, None
    undetermined = raw.lower().split("-")[0] == UNDETERMINED
    private = raw.lower().startswith("x-")
    if not valid or private or parsed is None or (parsed.language in (None, "zxx") and not undetermined):
        message = f"{code.strip()!r} is not a language code (ISO 639-1/639-3 or BCP-47, {_EXAMPLES})"
        found = None
        if len(raw) > 3 and raw.replace(" ", "").isalpha():  # looks like a language's name
            try:
                found = langcodes.find(code.strip())
            except (LookupError, ValueError):
                found = None
        if found is not None and found.language:
            message += f"; the code of the language named {code.strip()!r} is {str(found)!r}"
        return message
    tag = langcodes.standardize_tag(raw)
    # the table row: the language itself (pnb), else its macrolanguage (cmn -> zh, swh -> sw)
    for candidate in (tag, langcodes.standardize_tag(raw, macro=True)):
        base = langcodes.Language.get(candidate).language or UNDETERMINED
        if base in _table():
            return tag, base
    return tag, langcodes.Language.get(tag).language or UNDETERMINED


def is_language_code(code: str) -> bool:
    """Whether ``code`` is a valid language code (ISO 639-1/639-3 or BCP-47; ``_`` read as ``-``).

    Example:
        >>> [is_language_code(c) for c in ("ro", "pt-BR", "zh_cn", "yue", "xx", "English", "")]
        [True, True, True, True, False, False, False]
    """
    return isinstance(code, str) and not isinstance(_parse(code), str)


def check_language_code(code: str, *, path: str | None = None, line: int | None = None) -> str:
    """Refuse what is not a language code; return the code as given (stripped).

    This is the only check stages that do not use the language make: no table row is needed.

    Args:
        code: the code from a file or the command line.
        path: file the code came from, for the error message.
        line: line in ``path``, for the error message.

    Raises:
        InputError: not a language code (``xx``, ``English``, an empty string), naming file and line.

    Example:
        >>> check_language_code(" zh_cn ")
        'zh_cn'
        >>> check_language_code("English", path="q.jsonl", line=3)
        Traceback (most recent call last):
        ...
        xqg.errors.InputError: q.jsonl:3: 'English' is not a language code (...); the code of the language named 'English' is 'en'
    """
    if not isinstance(code, str):
        raise InputError(f"a language code must be a string, not {code!r}", path=path, line=line)
    parsed = _parse(code)
    if isinstance(parsed, str):
        raise InputError(parsed, path=path, line=line)
    return code.strip()


@lru_cache(maxsize=4096)
def _language(code: str, text_script: str | None) -> Language:
    tag, base = _parse(code)  # type: ignore[misc]  # checked by the caller
    parsed = langcodes.Language.get(tag)
    row = _table().get(base)
    if row is not None:
        name = row.prompt_name or parsed.language_name()
        return Language(code.strip(), name, row.script, row.resource_class, row.spaces, tag, row.source)
    likely = parsed.maximize().script
    script = text_script or (script_name(likely) if likely else "Common")
    source = (
        "no row: script of the text, " if text_script else "no row: CLDR likely script, "
    ) + "spaces unless that script is written without them, no resource class"
    return Language(
        code.strip(), parsed.language_name(), script, None, script not in NO_SPACE_SCRIPTS, tag, source
    )


def get_language(
    code: str, *, text: str | None = None, path: str | None = None, line: int | None = None
) -> Language:
    """The language of a code: a row of the project's table, or the defaults for any other code.

    Args:
        code: any language code (``"ro"``, ``"pt-BR"``, ``"zh_cn"``, ``"yue"``; case-insensitive).
        text: text written in the language; for a code without a row its script becomes the
            text's own script (e.g. Serbian written in Latin letters).
        path: file the code came from, for the error message.
        line: line in ``path``, for the error message.

    Raises:
        InputError: not a language code.

    Example:
        >>> get_language("ro").name, get_language("ro").resource_class
        ('Romanian', 3)
        >>> lang = get_language("yue")
        >>> lang.name, lang.script, lang.spaces, lang.resource_group
        ('Cantonese', 'Han', False, 'low')
        >>> get_language("hy", text="Ո՞վ է գրել").script
        'Armenian'
    """
    check_language_code(code, path=path, line=line)
    base = _parse(code)[1]  # type: ignore[index]
    text_script = dominant_script(text) if text and base not in _table() else None
    return _language(code, text_script)


def table_languages() -> list[str]:
    """Codes of the rows of the project's table (``resources/languages.tsv``).

    Example:
        >>> "ro" in table_languages() and "yue" not in table_languages()
        True
    """
    return list(_table())


LANGUAGES: dict[str, Language] = {code: _language(code, None) for code in _table()}
"""The project's table rows as :class:`Language` values (any other valid code works too)."""
