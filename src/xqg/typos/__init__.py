"""Multilingual, script-aware synthetic misspellings (see ``docs/typos.md``).

Example:
    >>> from xqg.typos import misspell
    >>> misspell("Wer schrieb den Faust?", "de", seed=0) != "Wer schrieb den Faust?"
    True
"""

from __future__ import annotations

from xqg.typos.generator import (
    OPERATIONS,
    PROTOCOLS,
    Edit,
    IdfTable,
    Misspelling,
    edit_word,
    misspell,
    misspell_queries,
    misspell_with_edits,
)
from xqg.typos.resources_loader import KeyboardLayout, available_layouts, load_layout, load_stopwords
from xqg.typos.script_errors import SCRIPT_ERRORS, script_errors_for
from xqg.typos.text import char_script, find_words, grapheme_distance, graphemes, scripts_of

__all__ = [
    "OPERATIONS",
    "PROTOCOLS",
    "SCRIPT_ERRORS",
    "Edit",
    "IdfTable",
    "KeyboardLayout",
    "Misspelling",
    "available_layouts",
    "char_script",
    "edit_word",
    "find_words",
    "grapheme_distance",
    "graphemes",
    "load_layout",
    "load_stopwords",
    "misspell",
    "misspell_queries",
    "misspell_with_edits",
    "script_errors_for",
    "scripts_of",
]
