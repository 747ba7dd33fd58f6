"""A deterministic, rule-based English sentence splitter that keeps character offsets.

Used for the sentence-level XQuAD corpus, where the sentence holding the answer span (found by
the SQuAD ``answer_start`` offset) is the relevant unit, so offsets must be exact.

Rule: a sentence ends after one or more of ``. ! ?`` (optionally followed by closing quotes or
brackets) when whitespace follows and the next character is an upper-case letter, a digit, or an
opening quote/bracket; except when the word before a period is a known abbreviation (``Mr.``,
``Dr.``, ``St.``, ``U.S.``, ``e.g.``, ``Jan.`` ...) or a single capital letter (an initial, as in
``John F. Kennedy``). Sentences are stripped of surrounding whitespace. No model, no data files:
the same text always gives the same spans.
"""

from __future__ import annotations

import regex

ABBREVIATIONS: frozenset[str] = frozenset(
    """
    mr mrs ms dr prof st sr jr vs etc e.g i.e u.s u.k u.s.a u.n no nos co corp inc ltd
    jan feb mar apr jun jul aug sep sept oct nov dec gen col lt sgt capt cmdr adm gov sen rep rev
    mt ft approx ca c al fig figs vol pp ed eds op cf est dept univ assn bros
    a.d b.c a.m p.m ph.d
    """.split()
)
"""Lower-cased words (without the final period) after which a period does not end a sentence."""

_BOUNDARY = regex.compile(r"""[.!?]+['"”’)\]]*(?=\s+['"“‘(\[]?[\p{Lu}\p{N}])""")
_WORD_BEFORE = regex.compile(r"([\p{L}.]+)$")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split English text into sentences, returned as ``(start, end)`` character spans.

    Args:
        text: the text (a paragraph).

    Returns:
        Non-overlapping spans in order; ``text[start:end]`` is a sentence without surrounding
        whitespace. Empty text gives an empty list.

    Example:
        >>> t = "Dr. Smith met John F. Kennedy in the U.S. capital. It rained! Then? \\"Yes.\\" 3 left."
        >>> [t[a:b] for a, b in split_sentences(t)]
        ['Dr. Smith met John F. Kennedy in the U.S. capital.', 'It rained!', 'Then?', '"Yes."', '3 left.']
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if text[match.start()] == "." and match.group().rstrip("'\"”’)]") == ".":
            word = _WORD_BEFORE.search(text, 0, match.start())
            if word is not None:
                token = word.group(1).lower().rstrip(".")
                if token in ABBREVIATIONS or (len(word.group(1)) == 1 and word.group(1).isupper()):
                    continue
        _add(text, start, end, spans)
        start = end
    _add(text, start, len(text), spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def sentences_overlapping(spans: list[tuple[int, int]], start: int, end: int) -> list[int]:
    """Indices of the spans that overlap the character range ``[start, end)``.

    An answer that crosses a sentence boundary makes every sentence it touches relevant.

    Example:
        >>> sentences_overlapping([(0, 10), (11, 20)], 5, 13)
        [0, 1]
    """
    end = max(end, start + 1)
    return [i for i, (a, b) in enumerate(spans) if a < end and start < b]
