"""Corpus and query files: streaming readers and atomic writers (JSONL and TSV).

Corpus formats (chosen by file name; ``.gz`` is decompressed on the fly):

- **JSONL** (BEIR/MIRACL): one ``{"_id", "title", "text"}`` object a line; ``id``/``docid`` are
  accepted for ``_id`` and ``contents`` for ``text``; an optional ``meta`` (or ``metadata``) object
  becomes :attr:`Passage.meta` (values as strings).
- **TSV** (DPR / XOR-TyDi ``enwiki_20190201_w100.tsv``): ``id<TAB>text<TAB>title`` with the header
  line ``id text title``, fields CSV-quoted as DPR writes them. Without a header the columns are
  taken as id, text, title. Extra named columns go into ``meta``.

Query formats: JSONL ``{"_id"|"id", "text"|"question", "lang"}``, or plain TSV ``id<TAB>text[<TAB>lang]``
(unquoted, as MIRACL's ``topics.tsv``: a query TSV cannot hold tabs or line breaks in a text).
The language comes from the file, or from the ``lang`` argument for files without it; any valid
language code is accepted (:func:`xqg.data.languages.check_language_code`: ``ro``, ``pt-BR``,
``yue``; not ``xx`` or ``English``). Stages that do not use the language read files without one
with ``require_language=False``: such queries carry ``"und"`` (undetermined).

Readers stream: :func:`iter_corpus` holds one passage at a time (plus, unless switched off, the
set of ids seen, to report duplicates), so an 18M-line corpus is never loaded whole.
"""

from __future__ import annotations

import csv
import itertools
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from xqg.data.atomic import atomic_open
from xqg.data.jsonl import iter_jsonl, open_text, write_jsonl
from xqg.data.languages import UNDETERMINED, check_language_code
from xqg.data.records import Passage, Query
from xqg.errors import InputError

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
logger = logging.getLogger(__name__)

_TSV_SUFFIXES = (".tsv", ".tsv.gz", ".txt", ".txt.gz")
_JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz")


def file_format(path: str | Path) -> str:
    """``"jsonl"`` or ``"tsv"`` from a file name (``.jsonl[.gz]``, ``.tsv[.gz]``).

    Example:
        >>> file_format("corpus.jsonl.gz"), file_format("psgs_w100.tsv")
        ('jsonl', 'tsv')
    """
    name = Path(path).name.lower()
    if name.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(_TSV_SUFFIXES):
        return "tsv"
    raise InputError(
        "cannot tell the format from the file name (expected .jsonl or .tsv, optionally .gz)", path=path
    )


def _first(obj: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in obj and obj[name] is not None:
            return obj[name]
    return None


def _passage_from_json(obj: dict[str, Any], path: str | Path, line: int) -> Passage:
    docid = _first(obj, ("_id", "id", "docid"))
    if docid is None:
        raise InputError("missing field '_id'", path=path, line=line)
    text = _first(obj, ("text", "contents"))
    if text is None:
        raise InputError("missing field 'text'", path=path, line=line)
    title = obj.get("title") or ""
    if not isinstance(text, str) or not isinstance(title, str):
        raise InputError("fields 'text' and 'title' must be strings", path=path, line=line)
    meta_obj = _first(obj, ("meta", "metadata")) or {}
    if not isinstance(meta_obj, dict):
        raise InputError("field 'meta' must be an object", path=path, line=line)
    meta = {str(k): v if isinstance(v, str) else str(v) for k, v in meta_obj.items()}
    return Passage(str(docid), text, title, meta)


def _iter_tsv_rows(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    with open_text(path, newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        start = 1
        try:
            for row in reader:
                if row and not (len(row) == 1 and not row[0].strip()):
                    yield start, row
                start = reader.line_num + 1
        except csv.Error as exc:
            raise InputError(f"malformed TSV ({exc})", path=path, line=start) from None


def iter_corpus(path: str | Path, *, check_duplicates: bool = True) -> Iterator[Passage]:
    """Stream the passages of a corpus file (JSONL or TSV, optionally gzipped), in file order.

    Args:
        path: corpus file; format from its name (see :func:`file_format`).
        check_duplicates: keep the set of ids seen and fail on a repeated id. For an 18M corpus
            the set costs ~2 GB; pass ``False`` to stream in constant memory (then validate once
            with ``xqg data validate``).

    Raises:
        InputError: malformed line, missing field, or duplicate id (names file and line).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "psgs.tsv"
        >>> _ = p.write_text('id\\ttext\\ttitle\\n1\\t"Aaron ( or ; ""Aharon"") is"\\tAaron\\n')
        >>> next(iter_corpus(p))
        Passage(id='1', text='Aaron ( or ; "Aharon") is', title='Aaron', meta={})
    """
    seen: set[str] | None = set() if check_duplicates else None
    for line, passage in _iter_corpus_lines(path):
        if seen is not None:
            if passage.id in seen:
                raise InputError(f"duplicate document id {passage.id!r}", path=path, line=line)
            seen.add(passage.id)
        yield passage


def _iter_corpus_lines(path: str | Path) -> Iterator[tuple[int, Passage]]:
    if file_format(path) == "jsonl":
        for line, obj in iter_jsonl(path):
            yield line, _passage_from_json(obj, path, line)
        return
    columns = ["id", "text", "title"]
    first = True
    for line, row in _iter_tsv_rows(path):
        if first:
            first = False
            lowered = [cell.strip().lower() for cell in row]
            if lowered and lowered[0] in ("id", "_id", "docid", "doc_id") and "text" in lowered:
                columns = ["id" if c in ("_id", "docid", "doc_id") else c for c in lowered]
                continue
        if len(row) < 2:
            raise InputError(
                f"a corpus TSV line needs at least id and text, found {len(row)} column(s)",
                path=path,
                line=line,
            )
        if len(row) > len(columns):
            raise InputError(f"{len(row)} columns but the header names {len(columns)}", path=path, line=line)
        fields = dict(zip(columns, row, strict=False))
        if "text" not in fields:
            raise InputError("missing field 'text'", path=path, line=line)
        meta = {k: v for k, v in fields.items() if k not in ("id", "text", "title")}
        yield line, Passage(fields["id"], fields["text"], fields.get("title", ""), meta)


def _lines_text(lines: list[int], total: int) -> str:
    shown = ", ".join(str(n) for n in lines[:10])
    return f"line{'s' if total > 1 else ''} {shown}{', ...' if total > len(lines[:10]) else ''}"


def count_passages(path: str | Path) -> int:
    """Count a corpus's passages, validating every line first (the pass a sharded job plans with).

    Refuses what is almost certainly a mistake, warns about what may not be.

    Args:
        path: corpus file (JSONL/TSV, optionally gzipped).

    Returns:
        The number of passages.

    Raises:
        InputError: a malformed line, a duplicate id (``path:line``), or no passage at all.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.tsv"
        >>> _ = p.write_text("d1\\tfirst\\nd2\\tsecond\\n")
        >>> count_passages(p)
        2
    """
    count = 0
    empty: list[int] = []
    seen: set[str] = set()
    for line, passage in _iter_corpus_lines(path):
        if passage.id in seen:
            raise InputError(f"duplicate document id {passage.id!r}", path=path, line=line)
        seen.add(passage.id)
        if not passage.text.strip() and not passage.title.strip():
            empty.append(line)
        count += 1
    if count == 0:
        raise InputError("the corpus holds no passages (an empty file?)", path=path)
    if empty:
        logger.warning(
            "%s: %d of %d passage(s) have neither text nor title (%s); they are kept, as empty strings",
            path,
            len(empty),
            count,
            _lines_text(empty, len(empty)),
        )
    return count


def count_queries(path: str | Path, lang: str | None = None, *, require_language: bool = True) -> int:
    """Count a queries file's queries, validating every line first (see :func:`read_queries`).

    Raises:
        InputError: a malformed line, an unknown language, a duplicate id, an empty text
            (``path:line``), or no query at all.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "q.tsv"
        >>> _ = p.write_text("q1\\tWer?\\nq2\\tWo?\\n")
        >>> count_queries(p, lang="de")
        2
    """
    return sum(1 for _ in _checked_queries(path, lang, require_language))


def collect_passages(path: str | Path, doc_ids: Iterable[str]) -> dict[str, Passage]:
    """Stream a corpus once and return ``{doc_id: Passage}`` for the wanted ids only (stops early
    when all are found; memory holds only the wanted passages).

    Raises:
        InputError: a wanted id is not in the corpus.
    """
    wanted = set(doc_ids)
    found: dict[str, Passage] = {}
    for passage in iter_corpus(path, check_duplicates=False):
        if passage.id in wanted:
            found[passage.id] = passage
            if len(found) == len(wanted):
                break
    missing = wanted.difference(found)
    if missing:
        sample = ", ".join(sorted(missing)[:5])
        raise InputError(
            f"{len(missing)} retrieved document id(s) not in the corpus, e.g. {sample}", path=path
        )
    return found


def read_passage_rows(corpus: str | Path | Sequence[Passage], start: int, stop: int) -> list[Passage]:
    """Rows ``[start, stop)`` of a corpus (a list, or a file read with :func:`iter_corpus`): the passages
    of one shard, for every sharded task (encoding, fusion, generation).

    Raises:
        InputError: the file has fewer rows than ``stop`` (the shard plan does not match the corpus).

    Example:
        >>> [p.id for p in read_passage_rows([Passage("a", ""), Passage("b", "")], 1, 2)]
        ['b']
    """
    if isinstance(corpus, (str, Path)):
        rows = list(itertools.islice(iter_corpus(corpus, check_duplicates=False), start, stop))
        if len(rows) != stop - start:
            raise InputError(
                f"corpus has fewer rows than the shard plan expects ({start + len(rows)} < {stop})",
                path=corpus,
            )
        return rows
    return list(corpus[start:stop])


def read_corpus(path: str | Path) -> list[Passage]:
    """Read a whole (small) corpus into a list; use :func:`iter_corpus` for large ones.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "corpus.jsonl"
        >>> _ = write_corpus(p, [Passage("d1", "text", "Title")])
        >>> read_corpus(p)
        [Passage(id='d1', text='text', title='Title', meta={})]
    """
    return list(iter_corpus(path))


def write_corpus(path: str | Path, passages: Iterable[Passage], format: str | None = None) -> int:
    """Write passages atomically as BEIR JSONL (``_id, title, text[, meta]``) or DPR TSV (``id text title``).

    Args:
        path: output file.
        passages: passages, written in the given order (streams).
        format: ``"jsonl"`` or ``"tsv"``; by default from the file name. TSV cannot hold ``meta``.

    Returns:
        The number of passages written.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "corpus.tsv"
        >>> write_corpus(p, [Passage("1", 'say "hi"', "T")])
        1
        >>> list(iter_corpus(p))
        [Passage(id='1', text='say "hi"', title='T', meta={})]
    """
    fmt = format or file_format(path)
    if fmt == "jsonl":

        def rows() -> Iterator[dict[str, Any]]:
            for p in passages:
                row: dict[str, Any] = {"_id": p.id, "title": p.title, "text": p.text}
                if p.meta:
                    row["meta"] = dict(p.meta)
                yield row

        return write_jsonl(path, rows())
    if fmt != "tsv":
        raise ValueError(f"format must be 'jsonl' or 'tsv', not {fmt!r}")
    count = 0
    with atomic_open(path, "w", newline="") as handle:
        # Every field quoted (DPR's csv convention): a lone "\r" in a text must not end the row.
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(["id", "text", "title"])
        for p in passages:
            if p.meta:
                raise InputError(
                    f"passage {p.id!r} has meta fields, which a TSV corpus cannot hold; use JSONL", path=path
                )
            writer.writerow([p.id, p.text, p.title])
            count += 1
    return count


def iter_queries(
    path: str | Path, lang: str | None = None, *, require_language: bool = True
) -> Iterator[tuple[int, Query]]:
    """Stream ``(line_number, Query)`` from a queries JSONL or TSV file (no duplicate check).

    Args:
        path: queries file.
        lang: language for rows that do not name one.
        require_language: a row with no language (and no ``lang``) is an error; when False it gets
            ``"und"`` (for stages that do not use the language: encoding, search, fusion).

    Raises:
        InputError: missing field, no language (when required), or a value that is not a language
            code (names file and line).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "queries.tsv"
        >>> _ = p.write_text("q1\\tWer ist das?\\n")
        >>> [q for _, q in iter_queries(p, lang="de")]
        [Query(id='q1', text='Wer ist das?', lang='de')]
    """
    default = check_language_code(lang) if lang is not None else None

    def language(value: Any, line: int) -> str:
        if value is None or value == "":
            if default is not None:
                return default
            if not require_language:
                return UNDETERMINED
            raise InputError(
                "no language: the line has no 'lang' field and none was given", path=path, line=line
            )
        return check_language_code(str(value), path=str(path), line=line)

    if file_format(path) == "jsonl":
        for line, obj in iter_jsonl(path):
            qid = _first(obj, ("_id", "id", "query_id", "qid"))
            if qid is None:
                raise InputError("missing field '_id'", path=path, line=line)
            text = _first(obj, ("text", "question", "query"))
            if text is None:
                raise InputError("missing field 'text'", path=path, line=line)
            if not isinstance(text, str):
                raise InputError("field 'text' must be a string", path=path, line=line)
            yield line, Query(str(qid), text, language(_first(obj, ("lang", "language")), line))
        return
    with open_text(path) as handle:
        for line, raw in enumerate(handle, start=1):
            text_line = raw.rstrip("\r\n")
            if not text_line.strip():
                continue
            row = text_line.split("\t")
            if line == 1 and [c.strip().lower() for c in row[:2]] in (["id", "text"], ["query-id", "text"]):
                continue
            if len(row) not in (2, 3):
                raise InputError(
                    f"a queries TSV line needs id, text[, lang], found {len(row)} column(s)",
                    path=path,
                    line=line,
                )
            yield line, Query(row[0], row[1], language(row[2] if len(row) == 3 else None, line))


def read_queries(path: str | Path, lang: str | None = None, *, require_language: bool = True) -> list[Query]:
    """Read a queries file (JSONL or TSV), checking ids are unique and languages are language codes.

    Args:
        path: queries file.
        lang: language for rows without one (e.g. MIRACL's ``topics.tsv``).
        require_language: see :func:`iter_queries` (False: rows without a language get ``"und"``).

    Raises:
        InputError: see :func:`iter_queries`; also a duplicate query id, a query with an empty text,
            or a file without queries.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "queries.jsonl"
        >>> _ = write_queries(p, [Query("q1", "Кто это?", "ru")])
        >>> read_queries(p)
        [Query(id='q1', text='Кто это?', lang='ru')]
    """
    return list(_checked_queries(path, lang, require_language))


def _checked_queries(path: str | Path, lang: str | None, require_language: bool = True) -> Iterator[Query]:
    seen: set[str] = set()
    for line, query in iter_queries(path, lang=lang, require_language=require_language):
        if query.id in seen:
            raise InputError(f"duplicate query id {query.id!r}", path=path, line=line)
        if not query.text.strip():
            raise InputError(f"query {query.id!r} has an empty text", path=path, line=line)
        seen.add(query.id)
        yield query
    if not seen:
        raise InputError("the file holds no queries (an empty file?)", path=path)


def write_queries(path: str | Path, queries: Iterable[Query], format: str | None = None) -> int:
    """Write queries atomically as JSONL (``_id, text, lang``) or TSV (``id<TAB>text<TAB>lang``).

    Returns:
        The number of queries written.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "queries.tsv"
        >>> write_queries(p, [Query("q1", "hola", "es")])
        1
    """
    fmt = format or file_format(path)
    if fmt == "jsonl":
        return write_jsonl(path, ({"_id": q.id, "text": q.text, "lang": q.lang} for q in queries))
    if fmt != "tsv":
        raise ValueError(f"format must be 'jsonl' or 'tsv', not {fmt!r}")
    count = 0
    with atomic_open(path, "w") as handle:
        for q in queries:
            if any(c in field for field in (q.id, q.text) for c in "\t\r\n"):
                raise InputError(
                    f"query {q.id!r} holds a tab or line break, which a TSV cannot hold; use JSONL", path=path
                )
            handle.write(f"{q.id}\t{q.text}\t{q.lang}\n")
            count += 1
    return count
