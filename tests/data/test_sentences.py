from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.data.sentences import sentences_overlapping, split_sentences


def _texts(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_abbreviations_initials_and_quotes() -> None:
    text = 'Mr. Tesla moved to the U.S. in 1884. He met Thomas A. Edison! "Why?" he asked. 3 years later, e.g. In 1887, he left.'
    assert _texts(text) == [
        "Mr. Tesla moved to the U.S. in 1884.",
        "He met Thomas A. Edison!",
        '"Why?" he asked.',
        "3 years later, e.g. In 1887, he left.",
    ]


def test_no_split_inside_numbers_or_lowercase_continuations() -> None:
    assert _texts("It costs 3.5 dollars. it is cheap.") == ["It costs 3.5 dollars. it is cheap."]
    assert _texts("") == []
    assert _texts("   ") == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab AB.!?\"')\n1")), max_size=80))
def test_spans_are_ordered_trimmed_and_cover_every_visible_character(text: str) -> None:
    spans = split_sentences(text)
    assert spans == split_sentences(text)  # deterministic
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        assert not text[start].isspace() and not text[end - 1].isspace()
        previous_end = end
    covered = {i for a, b in spans for i in range(a, b)}
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())


def test_overlap() -> None:
    spans = [(0, 5), (6, 10), (11, 15)]
    assert sentences_overlapping(spans, 6, 8) == [1]
    assert sentences_overlapping(spans, 3, 12) == [0, 1, 2]
    assert sentences_overlapping(spans, 7, 7) == [1]  # an empty answer still picks its sentence
