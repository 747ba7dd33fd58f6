"""TREC run and qrels files: streaming readers and atomic writers.

Formats:

- **run**: ``qid Q0 docid rank score tag``, whitespace separated, one retrieved document a line.
  Ranks are written 1..n in descending score (ties broken by doc id, so output is deterministic);
  scores are written with Python's shortest exact float repr, so a write/read round trip is lossless.
- **qrels**: TREC ``qid 0 docid relevance`` (4 columns) or BEIR's TSV ``query-id<TAB>corpus-id<TAB>score``
  (3 columns, optional header line). Both are read; :func:`write_qrels` writes either.

Ids must not contain whitespace (TREC files are whitespace separated); writers refuse such ids
instead of writing a file that reads back differently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from xqg.data.atomic import atomic_open
from xqg.data.jsonl import open_text
from xqg.data.records import Qrel, Qrels, Run
from xqg.errors import InputError

_WHITESPACE = re.compile(r"\s")


def _check_id(kind: str, value: str, path: str | Path) -> None:
    if not value or _WHITESPACE.search(value):
        raise InputError(
            f"{kind} {value!r} is empty or contains whitespace; TREC files cannot hold it", path=path
        )


def _numbered_run_lines(path: str | Path) -> Iterator[tuple[int, str, str, int, float, str]]:
    """``(line number, qid, docid, rank, score, tag)`` of each non-blank line: the one parser of run lines."""
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6:
                raise InputError(
                    f"a TREC run line needs 6 columns (qid Q0 docid rank score tag), found {len(parts)}",
                    path=path,
                    line=number,
                )
            qid, _, docid, rank_text, score_text, tag = parts
            try:
                rank = int(rank_text)
            except ValueError:
                raise InputError(f"rank {rank_text!r} is not an integer", path=path, line=number) from None
            try:
                score = float(score_text)
            except ValueError:
                raise InputError(f"score {score_text!r} is not a number", path=path, line=number) from None
            if math.isnan(score):
                raise InputError("score is NaN", path=path, line=number)
            yield number, qid, docid, rank, score, tag


def iter_run(path: str | Path) -> Iterator[tuple[str, str, int, float, str]]:
    """Stream a TREC run file as ``(qid, docid, rank, score, tag)`` tuples, one line at a time.

    Args:
        path: a run file (``.gz`` is decompressed on the fly).

    Raises:
        InputError: a line does not have 6 columns, or rank/score are not numbers (names file and line).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.trec"
        >>> _ = p.write_text("q1 Q0 d7 1 12.5 bm25\\n")
        >>> list(iter_run(p))
        [('q1', 'd7', 1, 12.5, 'bm25')]
    """
    for _, qid, docid, rank, score, tag in _numbered_run_lines(path):
        yield qid, docid, rank, score, tag


def read_run(path: str | Path) -> Run:
    """Read a TREC run file into ``{qid: {docid: score}}``.

    Args:
        path: a run file.

    Raises:
        InputError: a malformed line, or the same (qid, docid) pair twice (names file and line).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.trec"
        >>> _ = write_run(p, {"q1": {"d1": 0.5, "d2": 0.9}}, tag="demo")
        >>> read_run(p)
        {'q1': {'d2': 0.9, 'd1': 0.5}}
    """
    run: Run = {}
    for number, qid, docid, _, score, _ in _numbered_run_lines(path):
        docs = run.setdefault(qid, {})
        if docid in docs:
            raise InputError(f"document {docid!r} appears twice for query {qid!r}", path=path, line=number)
        docs[docid] = score
    return run


def ranked(docs: Mapping[str, float]) -> list[tuple[str, float]]:
    """Documents of one query in rank order: descending score, ties broken by ascending doc id.

    Example:
        >>> ranked({"b": 1.0, "a": 1.0, "c": 2.0})
        [('c', 2.0), ('a', 1.0), ('b', 1.0)]
    """
    return sorted(docs.items(), key=lambda item: (-item[1], item[0]))


def write_run(path: str | Path, run: Mapping[str, Mapping[str, float]], tag: str = "xqg") -> int:
    """Write ``{qid: {docid: score}}`` as a TREC run file, atomically.

    Queries are written in sorted id order, documents in rank order (see :func:`ranked`).

    Args:
        path: output file.
        run: the run.
        tag: run tag (last column; no whitespace).

    Returns:
        The number of lines written.

    Raises:
        InputError: an id or the tag contains whitespace, or a score is NaN.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.trec"
        >>> write_run(p, {"q1": {"d1": 0.5, "d2": 0.9}}, tag="demo")
        2
        >>> p.read_text().splitlines()[0]
        'q1 Q0 d2 1 0.9 demo'
    """
    _check_id("tag", tag, path)
    count = 0
    with atomic_open(path, "w") as handle:
        for qid in sorted(run):
            _check_id("query id", qid, path)
            for rank, (docid, score) in enumerate(ranked(run[qid]), start=1):
                _check_id("document id", docid, path)
                value = float(score)
                if math.isnan(value):
                    raise InputError(f"score of {docid!r} for {qid!r} is NaN", path=path)
                handle.write(f"{qid} Q0 {docid} {rank} {value!r} {tag}\n")
                count += 1
    return count


def iter_qrels(path: str | Path) -> Iterator[tuple[int, Qrel]]:
    """Stream ``(line_number, Qrel)`` from a TREC (4 columns) or BEIR TSV (3 columns) qrels file.

    A first line whose relevance column is not an integer is taken as a header (BEIR's
    ``query-id corpus-id score``) and skipped; anywhere else it is an error.

    Args:
        path: qrels file.

    Raises:
        InputError: wrong number of columns or a non-integer relevance (names file and line).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "test.tsv"
        >>> _ = p.write_text("query-id\\tcorpus-id\\tscore\\nq1\\td1\\t1\\n")
        >>> [q for _, q in iter_qrels(p)]
        [Qrel(query_id='q1', doc_id='d1', relevance=1)]
    """
    columns: int | None = None
    first = True
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) not in (3, 4):
                raise InputError(
                    f"a qrels line needs 4 columns (qid 0 docid rel) or 3 (qid docid rel), found {len(parts)}",
                    path=path,
                    line=number,
                )
            if columns is not None and len(parts) != columns:
                raise InputError(
                    f"line has {len(parts)} columns but earlier lines have {columns}", path=path, line=number
                )
            try:
                relevance = int(parts[-1])
            except ValueError:
                if first:
                    first = False
                    continue
                raise InputError(
                    f"relevance {parts[-1]!r} is not an integer", path=path, line=number
                ) from None
            first = False
            columns = len(parts)
            qid, docid = parts[0], parts[-2]
            yield number, Qrel(qid, docid, relevance)


def read_qrels(path: str | Path) -> Qrels:
    """Read a qrels file (TREC or BEIR TSV) into ``{qid: {docid: relevance}}``.

    Args:
        path: qrels file.

    Raises:
        InputError: a malformed line or the same (qid, docid) pair judged twice.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "qrels.txt"
        >>> _ = p.write_text("q1 0 d1 1\\nq1 0 d2 0\\n")
        >>> read_qrels(p)
        {'q1': {'d1': 1, 'd2': 0}}
    """
    qrels: Qrels = {}
    for number, qrel in iter_qrels(path):
        docs = qrels.setdefault(qrel.query_id, {})
        if qrel.doc_id in docs:
            raise InputError(
                f"document {qrel.doc_id!r} judged twice for query {qrel.query_id!r}", path=path, line=number
            )
        docs[qrel.doc_id] = qrel.relevance
    return qrels


def write_qrels(
    path: str | Path, qrels: Mapping[str, Mapping[str, int]] | Iterable[Qrel], format: str = "trec"
) -> int:
    """Write qrels atomically, as TREC (``qid 0 docid rel``) or BEIR TSV (header + ``qid\\tdocid\\trel``).

    Args:
        path: output file.
        qrels: ``{qid: {docid: rel}}`` or an iterable of :class:`Qrel`.
        format: ``"trec"`` or ``"tsv"``.

    Returns:
        The number of judgements written.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "test.tsv"
        >>> write_qrels(p, {"q1": {"d1": 1}}, format="tsv")
        1
        >>> p.read_text()
        'query-id\\tcorpus-id\\tscore\\nq1\\td1\\t1\\n'
    """
    if format not in ("trec", "tsv"):
        raise ValueError(f"format must be 'trec' or 'tsv', not {format!r}")
    if isinstance(qrels, Mapping):
        rows: Iterable[Qrel] = (
            Qrel(qid, docid, int(rel)) for qid in sorted(qrels) for docid, rel in sorted(qrels[qid].items())
        )
    else:
        rows = qrels
    count = 0
    with atomic_open(path, "w") as handle:
        if format == "tsv":
            handle.write("query-id\tcorpus-id\tscore\n")
        for qrel in rows:
            _check_id("query id", qrel.query_id, path)
            _check_id("document id", qrel.doc_id, path)
            if format == "trec":
                handle.write(f"{qrel.query_id} 0 {qrel.doc_id} {int(qrel.relevance)}\n")
            else:
                handle.write(f"{qrel.query_id}\t{qrel.doc_id}\t{int(qrel.relevance)}\n")
            count += 1
    return count
