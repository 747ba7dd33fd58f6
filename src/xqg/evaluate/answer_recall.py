"""Answer-string Recall@k (DPR's "top-k retrieval accuracy"), as used for MKQA and XQuAD.

Per query: 1 if one of the top-k passages contains one of the gold answers, else 0. In the
literature this is called both answer recall (BGE-M3 on MKQA) and top-k accuracy (DPR); per query it
is a hit, so ``AnswerRecall@k`` and ``AnswerSuccess@k`` are the same measure here.

Two matching modes:

* ``"dpr"`` (default): DPR's ``has_answer`` with its ``SimpleTokenizer``: text and answer are
  NFD-normalised, split into tokens (runs of letters/digits/marks, or single other non-space
  characters), lower-cased, and the answer's token sequence must occur as a contiguous
  subsequence of the passage's tokens. One deliberate difference: an answer that yields no token
  (empty or whitespace) matches nothing here, while in DPR it matches every passage.
* ``"substring"``: plain substring after NFKC normalisation, case folding and collapsing runs of
  white space into one space (for scripts where
  tokens are not words, e.g. Chinese or Japanese answers inside unsegmented text).

Example:
    >>> has_answer(["Eiffel Tower"], "The eiffel  tower, in Paris.")
    True
    >>> has_answer(["Paris"], "Parisian cafes")
    False
    >>> has_answer(["Paris"], "Parisian cafes", mode="substring")
    True
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

import regex

from xqg.errors import ConfigError, InputError
from xqg.evaluate.qrel_metrics import rank_documents

_SIMPLE_TOKEN = regex.compile(
    r"([\p{L}\p{N}\p{M}]+)|([^\p{Z}\p{C}])", flags=regex.IGNORECASE | regex.UNICODE | regex.MULTILINE
)
MODES = ("dpr", "substring")


def simple_tokenize(text: str) -> list[str]:
    """DPR's ``SimpleTokenizer`` words, uncased, after NFD normalisation.

    Example:
        >>> simple_tokenize("U.S. Route 66!")
        ['u', '.', 's', '.', 'route', '66', '!']
    """
    text = unicodedata.normalize("NFD", text)
    return [m.group().lower() for m in _SIMPLE_TOKEN.finditer(text)]


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    n = len(needle)
    first = needle[0]
    for i in range(len(haystack) - n + 1):
        if haystack[i] == first and list(haystack[i : i + n]) == list(needle):
            return True
    return False


_SPACES = regex.compile(r"\s+")


def _fold(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def has_answer(answers: Sequence[str], text: str, mode: str = "dpr") -> bool:
    """Whether ``text`` contains one of ``answers``.

    Args:
        answers: gold answer strings.
        text: a passage text (pass ``title + " " + text`` yourself to include the title).
        mode: ``"dpr"`` (token match) or ``"substring"``.

    Example:
        >>> has_answer(["1,000"], "about 1,000 people")
        True
    """
    if mode == "dpr":
        tokens = simple_tokenize(text)
        for answer in answers:
            answer_tokens = simple_tokenize(answer)
            if answer_tokens and _contains(tokens, answer_tokens):
                return True
        return False
    if mode == "substring":
        folded = _fold(text)
        return any(a.strip() and _fold(a) in folded for a in answers)
    raise ConfigError(f"unknown answer matching mode {mode!r}; use one of {', '.join(MODES)}")


def answer_recall(
    run_texts: Mapping[str, Sequence[str]],
    answers: Mapping[str, Sequence[str]],
    k: int = 20,
    mode: str = "dpr",
    score_missing: bool = True,
) -> dict[str, float]:
    """Per-query answer-string Recall@k: 1.0 if one of the top-k passages holds an answer.

    Args:
        run_texts: ``{qid: [passage text, ...]}`` in rank order (build it from a run and the corpus
            with :func:`run_to_texts`).
        answers: ``{qid: [answer, ...]}``; a query with no usable answer is not scored.
        k: cutoff.
        mode: ``"dpr"`` or ``"substring"`` (see the module doc).
        score_missing: queries with answers but no retrieved passages count as misses (default);
            ``False`` leaves them unscored.

    Returns:
        ``{qid: 1.0 | 0.0}`` for each scored query.

    Example:
        >>> answer_recall({"q": ["no", "Yes it is 42"]}, {"q": ["42"]}, k=1)
        {'q': 0.0}
        >>> answer_recall({"q": ["no", "Yes it is 42"]}, {"q": ["42"]}, k=2)
        {'q': 1.0}
    """
    if mode not in MODES:
        raise ConfigError(f"unknown answer matching mode {mode!r}; use one of {', '.join(MODES)}")
    if k < 1:
        raise ConfigError(f"AnswerRecall needs k >= 1, got {k}")
    scores: dict[str, float] = {}
    for qid, gold in answers.items():
        usable = [a for a in gold if a.strip()]
        if not usable:
            continue
        if qid not in run_texts:
            if score_missing:
                scores[qid] = 0.0
            continue
        hit = any(has_answer(usable, text, mode) for text in run_texts[qid][:k])
        scores[qid] = 1.0 if hit else 0.0
    return scores


def run_to_texts(
    run: Mapping[str, Mapping[str, float]], passages: Mapping[str, str], depth: int | None = None
) -> dict[str, list[str]]:
    """Turn a scored run into ranked passage texts (trec_eval order), for the answer metrics.

    Args:
        run: ``{qid: {docid: score}}``.
        passages: ``{docid: text}`` (at least every retrieved docid).
        depth: keep the first ``depth`` passages per query (all if ``None``).

    Raises:
        InputError: a retrieved docid is not in ``passages``.

    Example:
        >>> run_to_texts({"q": {"a": 1.0, "b": 2.0}}, {"a": "A", "b": "B"})
        {'q': ['B', 'A']}
    """

    out: dict[str, list[str]] = {}
    for qid, scores in run.items():
        ranked = rank_documents(scores)[:depth]
        try:
            out[qid] = [passages[doc] for doc in ranked]
        except KeyError as exc:
            raise InputError(
                f"query {qid!r}: retrieved passage {exc.args[0]!r} is not in the corpus"
            ) from None
    return out
