"""Small immutable records shared by every stage.

A benchmark is loaded into a :class:`RetrievalDataset`: a corpus of :class:`Passage`, queries grouped
by language, graded relevance judgements (qrels) and, where the benchmark has them, gold answer
strings for answer-based metrics (R@kt, answer recall).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrievable unit of text.

    Args:
        id: unique document id within its corpus.
        text: the passage body.
        title: optional title (prepended as ``title + " " + text`` by encoders that use it).
        meta: optional read-only extra fields (speaker, date, article, ...).
    """

    id: str
    text: str
    title: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)


def passage_text(passage: Passage | str) -> str:
    """The text a passage is encoded from: ``title + " " + text`` (the paper's format, design.md §1),
    or the text alone when there is no title; a string is returned as it is.

    Every stage that encodes, mines or fuses passages calls this one function, so a passage is the
    same text to all of them.

    Example:
        >>> passage_text(Passage("d1", "is a city.", title="Paris"))
        'Paris is a city.'
        >>> passage_text(Passage("d2", "no title"))
        'no title'
    """
    if isinstance(passage, str):
        return passage
    return f"{passage.title} {passage.text}" if passage.title else passage.text


@dataclass(frozen=True, slots=True)
class Query:
    """A question in one language.

    Args:
        id: unique query id within its dataset (ids of one question in several languages differ,
            e.g. ``"<qid>/ar"``, or are kept apart by ``lang``; see each loader).
        text: the question text.
        lang: language code (see :mod:`xqg.data.languages`).
    """

    id: str
    text: str
    lang: str


@dataclass(frozen=True, slots=True)
class Qrel:
    """One relevance judgement: ``doc_id`` is relevant to ``query_id`` with grade ``relevance``."""

    query_id: str
    doc_id: str
    relevance: int = 1


Qrels = dict[str, dict[str, int]]
"""``{query_id: {doc_id: relevance}}``: the in-memory form of TREC qrels (as in pytrec_eval)."""

Run = dict[str, dict[str, float]]
"""``{query_id: {doc_id: score}}``: a ranked result list per query (the form pytrec_eval uses)."""

Answers = dict[str, list[str]]
"""``{query_id: [answer string, ...]}``: gold answers for answer-string metrics."""


@dataclass(slots=True)
class RetrievalDataset:
    """A loaded benchmark: corpus, queries per language, qrels and optional answers.

    Args:
        name: dataset name, e.g. ``"xquad"``.
        corpus: the passages (a list; large corpora are streamed with :mod:`xqg.data.corpus` instead).
        queries: ``{lang: [Query, ...]}``.
        qrels: ``{query_id: {doc_id: relevance}}``.
        answers: ``{query_id: [answer, ...]}``; empty when the benchmark has no answer strings.
        meta: free-form description (split, fold, source files and checksums).
    """

    name: str
    corpus: list[Passage]
    queries: dict[str, list[Query]]
    qrels: Qrels
    answers: Answers = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        """The query languages, sorted."""
        return sorted(self.queries)

    def all_queries(self) -> Iterator[Query]:
        """Every query of every language, languages in sorted order."""
        for lang in self.languages:
            yield from self.queries[lang]

    def query_language(self) -> dict[str, str]:
        """``{query_id: lang}`` for every query."""
        return {q.id: q.lang for q in self.all_queries()}
