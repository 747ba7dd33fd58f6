"""BEIR / MIRACL-style folders: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``.

Layout read (and written by :func:`xqg.data.export.export_dataset`)::

    folder/
      corpus.jsonl          {"_id", "title", "text"}            (or corpus.tsv / .gz variants)
      queries.jsonl         {"_id", "text"[, "lang"]}           (or queries.tsv: id, text[, lang])
      qrels/<split>.tsv     query-id <TAB> corpus-id <TAB> score, with a header line
                            (qrels/<split>.trec in TREC form is accepted too)
      answers.jsonl         optional: {"id", "answers": [...]}

As in BEIR, the queries of a split are those judged in its qrels file; when the folder has no
qrels file at all (answer-only sets such as MKQA exports), every query is kept. Every judged query
must exist in the queries file and every judged document in the corpus, or :class:`InputError`
names the qrels file and line.
"""

from __future__ import annotations

from pathlib import Path

from xqg.data.answers import read_answers
from xqg.data.corpus import read_corpus, read_queries
from xqg.data.records import Qrels, RetrievalDataset
from xqg.data.trec import iter_qrels
from xqg.errors import InputError

CORPUS_NAMES = ("corpus.jsonl", "corpus.jsonl.gz", "corpus.tsv", "corpus.tsv.gz")
QUERY_NAMES = ("queries.jsonl", "queries.jsonl.gz", "queries.tsv")


def find_file(folder: Path, names: tuple[str, ...], what: str) -> Path:
    """The first of ``names`` present in ``folder``, or :class:`InputError` naming them."""
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise InputError(f"no {what} file ({' or '.join(names)})", path=folder)


def qrels_path(folder: Path, split: str) -> Path | None:
    """``qrels/<split>.tsv`` (or ``.trec``/``.txt``) in ``folder``, or ``None`` if there is none."""
    for suffix in (".tsv", ".trec", ".txt"):
        candidate = folder / "qrels" / f"{split}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def read_checked_qrels(path: Path, query_ids: set[str], doc_ids: set[str]) -> Qrels:
    """Read a qrels file, checking every judged query and document exists (names file and line).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.tsv"
        >>> _ = p.write_text("query-id\\tcorpus-id\\tscore\\nq1\\td9\\t1\\n")
        >>> read_checked_qrels(p, {"q1"}, {"d1"})
        Traceback (most recent call last):
        ...
        xqg.errors.InputError: ...t.tsv:2: qrel for document 'd9', which is not in the corpus
    """
    qrels: Qrels = {}
    for line, qrel in iter_qrels(path):
        if qrel.query_id not in query_ids:
            raise InputError(
                f"qrel for query {qrel.query_id!r}, which is not in the queries file", path=path, line=line
            )
        if qrel.doc_id not in doc_ids:
            raise InputError(
                f"qrel for document {qrel.doc_id!r}, which is not in the corpus", path=path, line=line
            )
        docs = qrels.setdefault(qrel.query_id, {})
        if qrel.doc_id in docs:
            raise InputError(
                f"document {qrel.doc_id!r} judged twice for query {qrel.query_id!r}", path=path, line=line
            )
        docs[qrel.doc_id] = qrel.relevance
    return qrels


def load_beir(
    folder: str | Path,
    split: str = "test",
    lang: str | None = None,
    name: str | None = None,
    *,
    corpus_file: str | Path | None = None,
    queries_file: str | Path | None = None,
    qrels_file: str | Path | None = None,
) -> RetrievalDataset:
    """Load a BEIR/MIRACL-style folder as a :class:`RetrievalDataset`.

    Args:
        folder: the dataset folder.
        split: qrels split (``qrels/<split>.tsv``).
        lang: language of queries whose line has no ``lang`` field (e.g. ``"sw"`` for MIRACL-sw).
        name: dataset name (default: the folder name).
        corpus_file: explicit corpus file (relative to ``folder`` or absolute), for layouts other
            than BEIR's, e.g. MIRACL's ``miracl-corpus`` JSONL (``{"docid", "title", "text"}``).
        queries_file: explicit queries file, e.g. MIRACL's ``topics.miracl-v1.0-sw-dev.tsv``.
        qrels_file: explicit qrels file (TREC or TSV), e.g. ``qrels.miracl-v1.0-sw-dev.tsv``.

    Raises:
        InputError: a missing file, malformed line, duplicate id, unknown language, or a qrel for
            an unknown query or document.

    Example:
        >>> ds = load_beir("tests/data/fixtures/beir", lang="en")  # doctest: +SKIP
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError("not a folder", path=root)
    corpus = read_corpus(root / corpus_file if corpus_file else find_file(root, CORPUS_NAMES, "corpus"))
    all_queries = read_queries(
        root / queries_file if queries_file else find_file(root, QUERY_NAMES, "queries"), lang=lang
    )
    query_ids = {q.id for q in all_queries}
    qpath = root / qrels_file if qrels_file else qrels_path(root, split)
    if qpath is None:
        if (root / "qrels").is_dir():
            raise InputError(f"no qrels file for split {split!r} (qrels/{split}.tsv)", path=root / "qrels")
        qrels: Qrels = {}
        kept = all_queries
    else:
        qrels = read_checked_qrels(qpath, query_ids, {p.id for p in corpus})
        kept = [q for q in all_queries if q.id in qrels]
    queries: dict[str, list] = {}
    for query in kept:
        queries.setdefault(query.lang, []).append(query)
    answers = {}
    answers_file = root / "answers.jsonl"
    if answers_file.is_file():
        all_answers = read_answers(answers_file)
        unknown = sorted(set(all_answers) - query_ids)
        if unknown:
            raise InputError(f"answers for unknown query id(s): {', '.join(unknown[:5])}", path=answers_file)
        kept_ids = {q.id for q in kept}
        answers = {qid: a for qid, a in all_answers.items() if qid in kept_ids}
    return RetrievalDataset(
        name=name or root.name,
        corpus=corpus,
        queries=queries,
        qrels=qrels,
        answers=answers,
        meta={"folder": str(root), "split": split, "num_queries_in_file": len(all_queries)},
    )
