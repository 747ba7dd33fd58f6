"""R@kt, the official XOR-Retrieve metric, computed as ``evals/eval_xor_retrieve.py`` computes it.

For each question of the predictions (the official scorer walks the prediction file):

1. questions without gold answers are not scored; gold answers that are exactly ``"yes"`` or
   ``"no"`` (case-sensitive) are dropped, and a question left without answers is not scored;
2. the ranked passage texts (text only, no title) are tokenised one after the other with NLTK's
   ``word_tokenize`` (:mod:`xqg.evaluate.nltk_tokenize`), stopping after the passage that brings the
   count to at least k*1000 tokens; the tokens are cut to k*1000 and joined with single spaces;
3. hit = 1 if any answer is a case-sensitive substring of that string (so an answer can match
   across two passages, and answers holding a double quote never match: NLTK turns quotes into
   ````` `` / ``''``).

Per language: 100 x hits / scored questions; the headline is the macro average over languages.
Here per-query values are 0/1 (:func:`rkt`), and :func:`xqg.evaluate.aggregate` gives the
per-language means and the macro average (as fractions; tables print percentages).

Gold questions missing from the predictions are not scored by the official script; ``rkt`` does
the same by default, logs a warning naming how many, and scores them as misses with
``score_missing=True``.

Example:
    >>> texts = {"q1": ["The capital is Paris .", "Other text"], "q2": ["nothing"]}
    >>> rkt(texts, {"q1": ["Paris"], "q2": ["yes"]}, k=2)
    {'q1': 1.0}
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence

from xqg.errors import InputError
from xqg.evaluate.nltk_tokenize import word_tokenize

logger = logging.getLogger(__name__)

YES_NO: frozenset[str] = frozenset({"yes", "no"})
"""Answers the official scorer drops (exact, case-sensitive)."""


def scorable_answers(answers: Sequence[str]) -> list[str]:
    """The answers R@kt looks for: every answer except exactly ``"yes"`` / ``"no"``.

    Example:
        >>> scorable_answers(["yes", "Yes", "no", "1990"])
        ['Yes', '1990']
    """
    return [a for a in answers if a not in YES_NO]


@functools.lru_cache(maxsize=20_000)
def _cached_word_tokenize(text: str) -> tuple[str, ...]:
    return tuple(word_tokenize(text))


def token_window(
    texts: Sequence[str], max_tokens: int, tokenize: Callable[[str], Sequence[str]] | None = None
) -> str:
    """The first ``max_tokens`` tokens of the ranked passages, joined with single spaces.

    Passages are tokenised one by one and the walk stops after the passage that reaches
    ``max_tokens`` (as the official scorer does).

    Args:
        texts: passage texts in rank order.
        max_tokens: k*1000 for R@kt.
        tokenize: tokenizer (default: NLTK ``word_tokenize``, cached per distinct text).

    Example:
        >>> token_window(["a b c", "d e"], 4, str.split)
        'a b c d'
    """
    tokenize = tokenize or _cached_word_tokenize
    tokens: list[str] = []
    for text in texts:
        tokens.extend(tokenize(text))
        if len(tokens) >= max_tokens:
            break
    return " ".join(tokens[:max_tokens])


def rkt(
    run_texts: Mapping[str, Sequence[str]],
    answers: Mapping[str, Sequence[str]],
    k: int = 2,
    score_missing: bool = False,
    tokenize: Callable[[str], Sequence[str]] | None = None,
) -> dict[str, float]:
    """Per-question R@kt hits (1.0 / 0.0) for every scored question.

    Args:
        run_texts: ``{qid: [passage text, ...]}`` in rank order (from an XOR prediction file:
            ``xqg.data.xor_tydi.predictions_to_texts(read_predictions(path))``).
        answers: ``{qid: [gold answer, ...]}``.
        k: the window is k*1000 tokens (R@2kt, R@5kt).
        score_missing: also score gold questions that have no prediction, as misses (the official
            script leaves them out).
        tokenize: replace NLTK ``word_tokenize`` (for experiments; the default is the official one).

    Returns:
        ``{qid: 1.0 | 0.0}``; unscored questions (no answer left after dropping yes/no, or no gold
        entry) are absent.

    Example:
        >>> rkt({"q": ['He said "no".']}, {"q": ['"no"', "no"]}, k=1)
        {'q': 0.0}
    """
    if k < 1:
        raise InputError(f"R@kt needs k >= 1, got {k}")
    max_tokens = k * 1000
    hits: dict[str, float] = {}
    for qid, texts in run_texts.items():
        if qid not in answers:
            continue
        span_answers = scorable_answers(answers[qid])
        if not span_answers:
            continue
        window = token_window(texts, max_tokens, tokenize)
        hits[qid] = 1.0 if any(answer in window for answer in span_answers) else 0.0
    missing = [qid for qid in answers if qid not in run_texts and scorable_answers(answers[qid])]
    if missing:
        if score_missing:
            hits.update({qid: 0.0 for qid in missing})
        else:
            logger.warning(
                "R@%dkt: %d gold questions have no prediction and are not scored (official behaviour; "
                "score_missing=True counts them as misses), e.g. %s",
                k,
                len(missing),
                missing[:3],
            )
    return hits
