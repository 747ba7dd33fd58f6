"""Check a BEIR-style folder before a long job reads it: streams, stops at the first problem.

Checked: every file parses (JSON per line, column counts); corpus, query and answer ids are
unique; query languages are known codes; every qrel names a known query and a corpus document;
answers name known queries. The corpus is streamed, keeping only its ids, so this works on corpora
far larger than memory would hold as passages.
"""

from __future__ import annotations

from pathlib import Path

from xqg.data.answers import read_answers
from xqg.data.beir import CORPUS_NAMES, QUERY_NAMES, find_file, read_checked_qrels
from xqg.data.corpus import iter_corpus, read_queries
from xqg.errors import InputError


def validate_folder(folder: str | Path, lang: str | None = None) -> dict[str, int]:
    """Validate a dataset folder (see :mod:`xqg.data.beir` for the layout); return counts.

    Args:
        folder: the folder.
        lang: language for query lines without a ``lang`` field.

    Returns:
        ``{"passages", "queries", "qrels:<split>" ..., "answers"}`` counts when all is well.

    Raises:
        InputError: the first problem found, naming the file and line.

    Example:
        >>> validate_folder("tests/data/fixtures/beir", lang="en")  # doctest: +SKIP
        {'passages': 4, 'queries': 3, 'qrels:test': 3, 'answers': 0}
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError("not a folder", path=root)
    doc_ids: set[str] = set()
    for passage in iter_corpus(find_file(root, CORPUS_NAMES, "corpus"), check_duplicates=False):
        if passage.id in doc_ids:
            # Re-stream with duplicate checking to name the line of the repeat.
            for _ in iter_corpus(find_file(root, CORPUS_NAMES, "corpus"), check_duplicates=True):
                pass
        doc_ids.add(passage.id)
    queries = read_queries(find_file(root, QUERY_NAMES, "queries"), lang=lang)
    query_ids = {q.id for q in queries}
    counts = {"passages": len(doc_ids), "queries": len(queries)}
    qrels_dir = root / "qrels"
    if qrels_dir.is_dir():
        for path in sorted(qrels_dir.iterdir()):
            if path.is_file() and path.suffix in (".tsv", ".trec", ".txt"):
                qrels = read_checked_qrels(path, query_ids, doc_ids)
                counts[f"qrels:{path.stem}"] = sum(len(d) for d in qrels.values())
    counts["answers"] = 0
    if (root / "answers.jsonl").is_file():
        answers = read_answers(root / "answers.jsonl")
        unknown = sorted(set(answers) - query_ids)
        if unknown:
            raise InputError(
                f"answers for unknown query id(s): {', '.join(unknown[:5])}", path=root / "answers.jsonl"
            )
        counts["answers"] = len(answers)
    return counts
