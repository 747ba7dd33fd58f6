"""Training examples (query, positive passage, hard negatives) and the hard-negative file format.

A hard-negative file is JSONL, one line per query: ``{"query_id": "...", "negatives": ["docid", ...]}``
(best-scored first), as written by :func:`xqg.train.negatives.mine_hard_negatives` /
``xqg mine-negatives``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from xqg.data.jsonl import iter_jsonl, require_fields, write_jsonl
from xqg.data.records import Passage, Query, RetrievalDataset
from xqg.errors import InputError
from xqg.seeding import derive_seed


@dataclass(frozen=True)
class TrainingExample:
    """One query with its positive passage and its hard negatives.

    Args:
        query: the (clean) query.
        positive: the passage to rank first.
        negatives: hard negatives (same count for every example of a run).
        relevant: every doc id judged relevant to the query (never used as its negative).
    """

    query: Query
    positive: Passage
    negatives: tuple[Passage, ...] = ()
    relevant: frozenset[str] = field(default_factory=frozenset)


def read_negatives(path: str | Path) -> dict[str, list[str]]:
    """Read a hard-negative JSONL file into ``{query_id: [docid, ...]}``.

    Raises:
        InputError: a line lacks ``query_id``/``negatives``, ``negatives`` is not a list of strings,
            or a query id repeats (naming file and line).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "n.jsonl")
        >>> _ = write_negatives(p, {"q1": ["d2", "d3"]})
        >>> read_negatives(p)
        {'q1': ['d2', 'd3']}
    """
    result: dict[str, list[str]] = {}
    for line_no, row in iter_jsonl(path):
        require_fields(row, ("query_id", "negatives"), path, line_no)
        negatives = row["negatives"]
        if not isinstance(negatives, list) or not all(isinstance(d, str) for d in negatives):
            raise InputError("'negatives' must be a list of doc id strings", path=path, line=line_no)
        qid = str(row["query_id"])
        if qid in result:
            raise InputError(f"query {qid!r} appears twice", path=path, line=line_no)
        result[qid] = negatives
    return result


def write_negatives(path: str | Path, negatives: Mapping[str, list[str]]) -> int:
    """Write ``{query_id: [docid, ...]}`` as a hard-negative JSONL file (atomically); returns the line count."""
    return write_jsonl(path, ({"query_id": qid, "negatives": list(docs)} for qid, docs in negatives.items()))


def build_training_examples(
    dataset: RetrievalDataset,
    negatives: Mapping[str, list[str]] | None = None,
    num_negatives: int = 7,
    seed: int = 0,
    languages: Iterable[str] | None = None,
) -> list[TrainingExample]:
    """Pair every query of a dataset with each of its positives and ``num_negatives`` negatives.

    Negatives are taken from ``negatives`` (mined, best first) for the query, skipping relevant and
    unknown doc ids; where fewer than ``num_negatives`` remain, the rest are drawn at random (seeded
    per query) from the corpus passages not relevant to the query, so every example has the same
    number of passages (needed to share negatives across processes).

    Args:
        dataset: corpus, queries and qrels (relevance > 0 = positive).
        negatives: ``{query_id: [docid, ...]}`` hard negatives, or ``None`` (random negatives).
        num_negatives: hard negatives per example (7 in the paper; 0 = in-batch negatives only).
        seed: seed of the random fill-up.
        languages: keep only these query languages (default all).

    Returns:
        One example per (query, positive) pair, in the dataset's query order.

    Raises:
        InputError: a qrel names a doc id that is not in the corpus.

    Example:
        >>> ds = RetrievalDataset("t", [Passage("a", "x"), Passage("b", "y")],
        ...     {"en": [Query("q", "x?", "en")]}, {"q": {"a": 1}})
        >>> [e.negatives[0].id for e in build_training_examples(ds, num_negatives=1)]
        ['b']
    """
    by_id = {p.id: p for p in dataset.corpus}
    wanted = None if languages is None else set(languages)
    examples: list[TrainingExample] = []
    for query in dataset.all_queries():
        if wanted is not None and query.lang not in wanted:
            continue
        judged = dataset.qrels.get(query.id, {})
        relevant = frozenset(d for d, rel in judged.items() if rel > 0)
        for doc in sorted(relevant):
            if doc not in by_id:
                raise InputError(f"qrels of query {query.id!r} name doc {doc!r}, which is not in the corpus")
        chosen: list[Passage] = []
        seen: set[str] = set()
        for doc in (negatives or {}).get(query.id, []):
            if len(chosen) >= num_negatives:
                break
            if doc in relevant or doc not in by_id or doc in seen:
                continue
            chosen.append(by_id[doc])
            seen.add(doc)
        if len(chosen) < num_negatives:
            if len(by_id) - len(relevant) < num_negatives:
                raise InputError(f"the corpus has too few passages for {num_negatives} negatives")
            rng = random.Random(derive_seed(seed, "random-negatives", query.id))
            taken = {p.id for p in chosen} | relevant
            while len(chosen) < num_negatives:  # rejection sampling: no pass over a large corpus
                candidate = dataset.corpus[rng.randrange(len(dataset.corpus))]
                if candidate.id not in taken:
                    taken.add(candidate.id)
                    chosen.append(candidate)
        for doc in sorted(relevant):
            examples.append(TrainingExample(query, by_id[doc], tuple(chosen), relevant))
    return examples
