"""NLTK word_tokenize without downloaded data: known outputs, and equality with nltk itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xqg.evaluate.nltk_tokenize import sent_tokenize, word_tokenize


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        # The example in nltk's own documentation of word_tokenize / TreebankWordTokenizer.
        (
            "Good muffins cost $3.88\nin New York.  Please buy me\ntwo of them.\n\nThanks.",
            "Good muffins cost $ 3.88 in New York . Please buy me two of them . Thanks .".split(),
        ),
        ("They'll save and invest more.", ["They", "'ll", "save", "and", "invest", "more", "."]),
        ('The song "Yesterday" was a hit.', ["The", "song", "``", "Yesterday", "''", "was", "a", "hit", "."]),
        ("Obama's wife can't go.", ["Obama", "'s", "wife", "ca", "n't", "go", "."]),
        # Punkt: a sentence-final period is split off; an abbreviation followed by lower case is not.
        ("born in 1990. He left the U.S. in May.", "born in 1990 . He left the U.S. in May .".split()),
        (
            "Dr. Smith met Mr. Jones at 5 p.m. yesterday.",
            "Dr. Smith met Mr. Jones at 5 p.m. yesterday .".split(),
        ),
        ("It costs $3.88... really?!", ["It", "costs", "$", "3.88", "...", "really", "?", "!"]),
        # NLTK 3.5-3.9.2 (the official scores' versions): dashes stay inside tokens, an apostrophe
        # before letters is split off (3.9.4 and 3.10 tokenise both differently).
        (
            "The war (1455–1536) was long—very long. Norman'a gitti.",
            [
                "The",
                "war",
                "(",
                "1455–1536",
                ")",
                "was",
                "long—very",
                "long",
                ".",
                "Norman",
                "'",
                "a",
                "gitti",
                ".",
            ],
        ),
    ],
)
def test_known_tokenisations(text: str, tokens: list[str]) -> None:
    assert word_tokenize(text) == tokens


def test_nltk_version_check() -> None:
    from xqg.evaluate.nltk_tokenize import _check_nltk_version

    assert _check_nltk_version("3.9.2") and _check_nltk_version("3.6.2")
    with pytest.warns(UserWarning, match="nltk 3.10.4"):
        assert not _check_nltk_version("3.10.4")


def test_sentence_split() -> None:
    assert sent_tokenize("Dr. Smith went home. He slept. Then he woke up.") == [
        "Dr. Smith went home.",
        "He slept.",
        "Then he woke up.",
    ]


nltk = pytest.importorskip("nltk")


@pytest.fixture(scope="module")
def nltk_with_punkt_tab(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """nltk's own word_tokenize, loading punkt_tab files written from the shipped English parameters.

    This checks the whole nltk code path (file loader, PunktTokenizer, word_tokenize) against ours.
    """
    from punkt.data import english

    root = tmp_path_factory.mktemp("nltk_data")
    folder = Path(root) / "tokenizers" / "punkt_tab" / "english"
    folder.mkdir(parents=True)
    (folder / "abbrev_types.txt").write_text("".join(f"{a}\n" for a in sorted(english.ABBREV_TYPES)))
    (folder / "sent_starters.txt").write_text("".join(f"{a}\n" for a in sorted(english.SENT_STARTERS)))
    (folder / "collocations.tab").write_text("".join(f"{a}\t{b}\n" for a, b in sorted(english.COLLOCATIONS)))
    (folder / "ortho_context.tab").write_text(
        "".join(f"{k}\t{v}\n" for k, v in sorted(english.ORTHO_CONTEXT.items()))
    )
    nltk.data.path.insert(0, str(root))
    from nltk.tokenize import _get_punkt_tokenizer

    _get_punkt_tokenizer.cache_clear()
    yield nltk.word_tokenize
    nltk.data.path.remove(str(root))
    _get_punkt_tokenizer.cache_clear()


WORDS = st.sampled_from(
    [
        "the",
        "The",
        "Paris",
        "Dr.",
        "Mr.",
        "U.S.",
        "e.g.",
        "St.",
        "Inc.",
        "Jan.",
        "p.m.",
        "No.",
        "vs.",
        "3.88",
        "$5",
        "1,000",
        "1990",
        "can't",
        "won't",
        "Obama's",
        "James'",
        "'quoted'",
        '"hi"',
        "(a)",
        "[b]",
        "--",
        "...",
        "A.",
        "x",
        "well-known",
        "co-op",
        "Ph.D.",
        "it's",
        "gonna",
        "O'Neill",
        "¿Qué?",
        "東京",
        "Москва",
        "München",
        "née",
        "5%",
        "#1",
        "@home",
        "a&b",
        "<tag>",
        "10:30",
    ]
)
ENDS = st.sampled_from([".", "!", "?", "", "...", '."', ".'", ")."])


@st.composite
def texts(draw):  # noqa: ANN201
    sentences = []
    for _ in range(draw(st.integers(1, 4))):
        words = draw(st.lists(WORDS, min_size=1, max_size=12))
        if draw(st.booleans()):
            words[0] = words[0].capitalize()
        sentences.append(" ".join(words) + draw(ENDS))
    return draw(st.sampled_from([" ", "  ", "\n", " \n"])).join(sentences)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts())
def test_equals_nltk_word_tokenize(nltk_with_punkt_tab, text: str) -> None:  # noqa: ANN001
    assert word_tokenize(text) == nltk_with_punkt_tab(text)
