from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from xqg.generate.parallel import split_parallel_sentences, translation_examples

CONTEXTS = {
    "0-0": {
        "en": "The river is long. It flows north!",
        "de": "Der Fluss ist lang. Er fließt nach Norden!",
        "zh": "这条河很长。它向北流！",
        "th": "แม่น้ำยาว มันไหลไปทางเหนือ",
        "ru": "Река длинная и течёт на север.",  # one sentence for two: not paired
    },
    "0-1": {"en": "Short. A second sentence here.", "de": "Kurz. Ein zweiter Satz hier."},
    "9-9": {"en": "A held-out paragraph stays out.", "de": "Ein zurückgehaltener Absatz."},
}


def test_pairs_sentences_by_position_only_where_counts_match():
    examples = translation_examples(CONTEXTS, ["0-0", "0-1"], ["de", "en", "ru", "th", "zh"], min_chars=7)
    got = [(ex.passage.id, ex.lang, ex.passage.text, ex.query) for ex in examples]
    assert got == [
        ("0-0#s0", "de", "The river is long.", "Der Fluss ist lang."),
        ("0-0#s1", "de", "It flows north!", "Er fließt nach Norden!"),
        ("0-0#s0", "zh", "The river is long.", "这条河很长。"),
        ("0-0#s1", "zh", "It flows north!", "它向北流！"),
        ("0-1#s1", "de", "A second sentence here.", "Ein zweiter Satz hier."),  # "Short." < 7 chars
    ]


def test_only_the_given_paragraphs_are_used():
    examples = translation_examples(CONTEXTS, ["0-1", "missing"], ["de"])
    assert {ex.passage.id.split("#")[0] for ex in examples} == {"0-1"}


@given(st.lists(st.text(alphabet="abc xyz", min_size=1, max_size=12), min_size=1, max_size=6))
def test_splitting_keeps_every_character_but_the_separating_spaces(words):
    text = ". ".join(w.strip() or "a" for w in words) + "."
    parts = split_parallel_sentences(text)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")
    assert all(part == part.strip() and part for part in parts)
