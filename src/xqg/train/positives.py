"""Training pairs for QA benchmarks without passage labels, by answer matching (distant supervision).

XOR-TyDi's XOR-Retrieve training questions, like NQ or TriviaQA in DPR, come with answer strings but
no relevant passages. DPR's recipe: rank the corpus for each question with a first-stage retriever,
take the highest-ranked passage that contains an answer as the positive and the highest-ranked
passages that contain none as hard negatives; a question with no answer-bearing passage in the top
``depth`` is left out (and listed). :func:`mine_answer_positives` does this over a sharded index of
any size (an ``xqg encode`` folder, searched shard by shard) and one streaming pass over the corpus
file, and writes the files ``xqg train-retriever`` and ``xqg run``
(``[training] corpus/queries/qrels/negatives``) read.

Example:
    >>> mined = mine_answer_positives(qvecs, queries, answers, "vectors/corpus", "psgs_w100.tsv",
    ...                               "runs/xor-train-pairs")  # doctest: +SKIP
    >>> mined.kept, mined.dropped  # doctest: +SKIP
    (14092, 1158)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xqg.data.atomic import atomic_write_text
from xqg.data.corpus import collect_passages
from xqg.data.jsonl import write_jsonl
from xqg.data.records import Answers, Passage, Query
from xqg.data.trec import write_qrels
from xqg.errors import ConfigError
from xqg.index import search
from xqg.train.examples import write_negatives
from xqg.train.negatives import contains_answer

CORPUS_FILE = "corpus.jsonl"
QUERIES_FILE = "queries.jsonl"
QRELS_FILE = "train.qrels"
NEGATIVES_FILE = "negatives.jsonl"
GENERATOR_FILE = "generator_triples.jsonl"
REPORT_FILE = "mining.json"


@dataclass
class MinedPairs:
    """What :func:`mine_answer_positives` found.

    Args:
        positives: ``{query_id: doc_id}``, the highest-ranked answer-bearing passage.
        negatives: ``{query_id: [doc_id, ...]}``, the highest-ranked passages without an answer.
        dropped: query ids with no answer-bearing passage in the top ``depth`` (or no usable answer).
        per_language: ``{lang: {"questions": n, "kept": m}}``.
    """

    positives: dict[str, str] = field(default_factory=dict)
    negatives: dict[str, list[str]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    per_language: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def kept(self) -> int:
        """Questions with a positive."""
        return len(self.positives)


def mine_answer_positives(
    query_vectors: np.ndarray,
    queries: Sequence[Query],
    answers: Answers,
    index: str | Path | Sequence[str | Path],
    corpus_path: str | Path,
    output: str | Path | None = None,
    depth: int = 100,
    num_negatives: int = 7,
    skip_top: int = 0,
) -> MinedPairs:
    """Pick each question's positive and hard negatives by answer matching over a ranked corpus.

    Answers match as in :func:`xqg.train.negatives.contains_answer` (NFKC, case-folded substring of
    title + text); answers that are only "yes"/"no" are ignored, as in XOR-Retrieve's scorer.

    Args:
        query_vectors: ``(len(queries), d)`` vectors of the questions (query path of the first-stage model).
        queries: the questions.
        answers: ``{query_id: [answer, ...]}``.
        index: ``xqg encode`` output folder(s) of the corpus (same model's passage path).
        corpus_path: the corpus file the index was encoded from.
        output: folder for the training files (``corpus.jsonl`` with every positive and negative,
            ``queries.jsonl``, ``train.qrels``, ``negatives.jsonl``, ``generator_triples.jsonl``
            for ``xqg train-generator --train``, ``mining.json``), written atomically; ``None``
            writes nothing.
        depth: ranked passages looked at per question.
        num_negatives: hard negatives kept per question.
        skip_top: answer-free passages skipped before negatives are taken (unjudged positives).

    Returns:
        :class:`MinedPairs`.

    Raises:
        ConfigError: bad sizes. InputError: a ranked id missing from the corpus.
    """

    if depth < 1 or num_negatives < 0 or skip_top < 0:
        raise ConfigError("depth must be >= 1, num_negatives and skip_top >= 0")
    if len(queries) != len(query_vectors):
        raise ConfigError(f"{len(queries)} queries but {len(query_vectors)} query vectors")
    dirs = [index] if isinstance(index, str | Path) else list(index)
    run = search(np.asarray(query_vectors, dtype=np.float32), [q.id for q in queries], dirs, k=depth)
    passages = collect_passages(corpus_path, {d for docs in run.values() for d in docs})
    mined = MinedPairs()
    for query in queries:
        stats = mined.per_language.setdefault(query.lang, {"questions": 0, "kept": 0})
        stats["questions"] += 1
        golden = [
            a for a in answers.get(query.id, []) if a.strip() and a.strip().lower() not in ("yes", "no")
        ]
        positive: str | None = None
        negatives: list[str] = []
        skipped = 0
        for doc in run[query.id]:
            if golden and contains_answer(passages[doc], golden):
                positive = positive or doc
                continue
            if skipped < skip_top:
                skipped += 1
                continue
            if len(negatives) < num_negatives:
                negatives.append(doc)
        if positive is None:
            mined.dropped.append(query.id)
            continue
        mined.positives[query.id] = positive
        mined.negatives[query.id] = negatives
        stats["kept"] += 1
    if output is not None:
        _write(Path(output), mined, queries, passages, depth, num_negatives)
    return mined


def _write(
    out: Path,
    mined: MinedPairs,
    queries: Sequence[Query],
    passages: dict[str, Passage],
    depth: int,
    num_negatives: int,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    kept = [q for q in queries if q.id in mined.positives]
    used = sorted({mined.positives[q.id] for q in kept} | {d for q in kept for d in mined.negatives[q.id]})
    write_jsonl(
        out / CORPUS_FILE,
        ({"_id": d, "title": passages[d].title, "text": passages[d].text} for d in used),
    )
    write_jsonl(out / QUERIES_FILE, ({"_id": q.id, "text": q.text, "lang": q.lang} for q in kept))
    write_qrels(out / QRELS_FILE, {q.id: {mined.positives[q.id]: 1} for q in kept})
    write_negatives(out / NEGATIVES_FILE, {q.id: mined.negatives[q.id] for q in kept})
    write_jsonl(
        out / GENERATOR_FILE,
        (
            {
                "docid": mined.positives[q.id],
                "title": passages[mined.positives[q.id]].title,
                "passage": passages[mined.positives[q.id]].text,
                "lang": q.lang,
                "query": q.text,
            }
            for q in kept
        ),
    )
    report = {
        "questions": len(queries),
        "kept": mined.kept,
        "dropped": mined.dropped,
        "per_language": mined.per_language,
        "depth": depth,
        "num_negatives": num_negatives,
        "passages": len(used),
    }
    atomic_write_text(out / REPORT_FILE, json.dumps(report, indent=1, ensure_ascii=False))
