"""Training triples of a query generator: (passage, language, question), from a data set or a file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from xqg.data.jsonl import iter_jsonl
from xqg.data.languages import get_language
from xqg.data.records import Passage, RetrievalDataset
from xqg.errors import InputError


@dataclass(frozen=True)
class GeneratorExample:
    """One training triple: write ``query`` (in ``lang``) for ``passage``."""

    passage: Passage
    lang: str
    query: str


def examples_from_dataset(
    dataset: RetrievalDataset, languages: Iterable[str] | None = None
) -> list[GeneratorExample]:
    """(passage, language, question) triples of a retrieval dataset: every query with each relevant passage.

    Args:
        dataset: e.g. the training fold of :func:`xqg.data.load_xquad`.
        languages: keep only these query languages (default: all).

    Example:
        >>> from xqg.data.records import Query
        >>> ds = RetrievalDataset("t", [Passage("d", "Berlin.")], {"de": [Query("q/de", "Wo?", "de")]}, {"q/de": {"d": 1}})
        >>> examples_from_dataset(ds)[0].query
        'Wo?'
    """
    by_id = {p.id: p for p in dataset.corpus}
    keep = set(languages) if languages is not None else None
    out = []
    for lang in sorted(dataset.queries):
        if keep is not None and lang not in keep:
            continue
        for query in dataset.queries[lang]:
            for docid, rel in sorted(dataset.qrels.get(query.id, {}).items()):
                if rel > 0 and docid in by_id:
                    out.append(GeneratorExample(by_id[docid], lang, query.text))
    return out


def read_examples_jsonl(path: str | Path) -> list[GeneratorExample]:
    """Read triples from JSONL: ``{"passage": str, "lang": str, "query": str}`` (+ optional ``title``, ``docid``).

    Raises:
        InputError: a missing or empty field, or an unknown language, naming the file and line.
    """
    out = []
    for line, row in iter_jsonl(path):
        for key in ("passage", "lang", "query"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise InputError(f"field {key!r} must be a non-empty string", path=str(path), line=line)
        get_language(row["lang"], path=str(path), line=line)
        passage = Passage(str(row.get("docid", f"line-{line}")), row["passage"], str(row.get("title", "")))
        out.append(GeneratorExample(passage, row["lang"], row["query"]))
    if not out:
        raise InputError("no training triples", path=str(path))
    return out
