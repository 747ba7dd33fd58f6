"""Readers for evaluation inputs: query languages, per-query results, passage texts (answers: :mod:`xqg.data.answers`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from xqg.data.corpus import iter_corpus
from xqg.data.text_input import read_json, read_text
from xqg.errors import InputError


def read_query_lang(path: str | Path) -> dict[str, str]:
    """Read a ``qid -> lang`` map: a JSON object, or TSV lines ``qid<TAB>lang``.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "lang.tsv"
        >>> _ = p.write_text("q1\\tar\\nq2\\tte\\n")
        >>> read_query_lang(p)
        {'q1': 'ar', 'q2': 'te'}
    """
    path = Path(path)
    if path.suffix == ".json":
        data = read_json(path)
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise InputError("a JSON language map is an object {qid: lang}", path=path)
        return {str(k): v for k, v in data.items()}
    text = read_text(path)
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise InputError("expected 'qid<TAB>lang'", path=path, line=number)
        out[parts[0]] = parts[1].strip()
    return out


def lang_from_ids(qids: Iterable[str], separator: str = "/") -> dict[str, str]:
    """Languages from ids that end in ``/lang`` (xqg's XQuAD ids ``"{squad_id}/{lang}"``).

    Raises:
        InputError: an id has no separator.

    Example:
        >>> lang_from_ids(["5726/de", "5726/zh"])
        {'5726/de': 'de', '5726/zh': 'zh'}
    """
    out = {}
    for qid in qids:
        head, sep, lang = qid.rpartition(separator)
        if not sep or not head or not lang:
            raise InputError(f"query id {qid!r} does not end in '{separator}<lang>'")
        out[qid] = lang
    return out


def read_per_query(path: str | Path) -> dict[str, dict[str, float]]:
    """Read per-query results written by ``xqg evaluate --per-query``: ``{metric: {qid: value}}``.

    Raises:
        InputError: not such an object.
    """
    path = Path(path)
    data = read_json(path)
    if isinstance(data, dict) and "per_query" in data:
        data = data["per_query"]
    ok = isinstance(data, dict) and all(
        isinstance(v, dict) and all(isinstance(x, (int, float)) for x in v.values()) for v in data.values()
    )
    if not ok:
        raise InputError("per-query results are an object {metric: {qid: number}}", path=path)
    return {m: {str(q): float(v) for q, v in values.items()} for m, values in data.items()}


def read_passage_texts(path: str | Path, doc_ids: set[str]) -> dict[str, str]:
    """Stream a corpus file and keep the texts (no title) of ``doc_ids``.

    Raises:
        InputError: some ids are not in the corpus.
    """

    texts: dict[str, str] = {}
    for passage in iter_corpus(path, check_duplicates=False):
        if passage.id in doc_ids:
            texts[passage.id] = passage.text
    missing = doc_ids - texts.keys()
    if missing:
        raise InputError(
            f"{len(missing)} retrieved passages are not in the corpus, e.g. {sorted(missing)[:3]}", path=path
        )
    return texts
