"""XOR-TyDi XOR-Retrieve: questions in 7 languages, English Wikipedia passages, answer strings.

Files (official names, see ``xqg data list``):

- ``xor_train_retrieve_eng_span.jsonl`` / ``xor_dev_retrieve_eng_span_v1_1.jsonl``: one
  ``{"id", "question", "answers": [...], "lang"}`` object a line.
- ``enwiki_20190201_w100.tsv``: the corpus, ``id<TAB>text<TAB>title`` with a header line, ~18M
  passages of 100 words (DPR format). It is only ever streamed (:func:`iter_xor_corpus`).
- predictions (what the official ``eval_xor_retrieve.py`` reads): a JSON list of
  ``{"id", "lang", "ctxs": [passage text, ...]}``, passages in rank order (text only, no title).

XOR-Retrieve has no passage-level qrels: it is scored by whether the top k·1000 tokens contain an
answer (R@kt), so the loaded dataset has answers and empty qrels, and an empty ``corpus`` list
with the corpus path in ``meta["corpus_path"]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xqg.data.atomic import atomic_open
from xqg.data.corpus import collect_passages, iter_corpus
from xqg.data.download import locate
from xqg.data.jsonl import iter_jsonl
from xqg.data.languages import check_language_code
from xqg.data.records import Answers, Passage, Query, RetrievalDataset
from xqg.data.text_input import read_json
from xqg.data.trec import ranked
from xqg.errors import InputError

XOR_LANGUAGES: tuple[str, ...] = ("ar", "bn", "fi", "ja", "ko", "ru", "te")
SPLIT_FILES: dict[str, str] = {
    "train": "xor_train_retrieve_eng_span.jsonl",
    "dev": "xor_dev_retrieve_eng_span_v1_1.jsonl",
}
CORPUS_FILE = "enwiki_20190201_w100.tsv"


@dataclass(frozen=True, slots=True)
class Prediction:
    """One question's entry in an XOR-Retrieve prediction file.

    Args:
        id: question id.
        lang: question language.
        ctxs: retrieved passage texts, best first.
    """

    id: str
    lang: str
    ctxs: tuple[str, ...]


def read_xor_questions(path: str | Path) -> tuple[dict[str, list[Query]], Answers]:
    """Read an XOR-Retrieve questions JSONL file into ``({lang: [Query]}, {id: [answer]})``.

    Raises:
        InputError: malformed JSON, a missing field, an unknown language or a duplicate id
            (names the file and line).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "dev.jsonl"
        >>> _ = p.write_text('{"id": "1", "question": "Kuka?", "answers": ["Sibelius"], "lang": "fi"}\\n')
        >>> read_xor_questions(p)
        ({'fi': [Query(id='1', text='Kuka?', lang='fi')]}, {'1': ['Sibelius']})
    """
    queries: dict[str, list[Query]] = {}
    answers: Answers = {}
    for line, obj in iter_jsonl(path):
        for name in ("id", "question", "lang"):
            if obj.get(name) is None:
                raise InputError(f"missing field {name!r}", path=path, line=line)
        qid = str(obj["id"])
        if qid in answers:
            raise InputError(f"duplicate question id {qid!r}", path=path, line=line)
        lang = check_language_code(str(obj["lang"]), path=str(path), line=line)
        raw = obj.get("answers", [])
        if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
            raise InputError("field 'answers' must be a list of strings", path=path, line=line)
        queries.setdefault(lang, []).append(Query(qid, str(obj["question"]), lang))
        answers[qid] = list(raw)
    return queries, answers


def load_xor_retrieve(
    split: str = "dev",
    root: str | Path | None = None,
    *,
    questions_path: str | Path | None = None,
    corpus_path: str | Path | None = None,
) -> RetrievalDataset:
    """Load XOR-Retrieve questions and answers; the corpus is referenced, not loaded.

    Args:
        split: ``"train"`` or ``"dev"``.
        root: folder with the official files (default: ``$XQG_DATA_MIRROR/xor_tydi`` or the cache).
        questions_path: explicit questions file (overrides ``split``/``root`` look-up).
        corpus_path: explicit corpus TSV; by default ``<root>/enwiki_20190201_w100.tsv`` when present.

    Returns:
        Dataset ``"xor_tydi-<split>"``: queries per language, answers, no qrels, empty corpus list,
        ``meta["corpus_path"]`` (or ``None``) to stream with :func:`iter_xor_corpus`.

    Example:
        >>> ds = load_xor_retrieve("dev")  # doctest: +SKIP
        >>> sorted(ds.queries)  # doctest: +SKIP
        ['ar', 'bn', 'fi', 'ja', 'ko', 'ru', 'te']
    """
    if questions_path is None:
        if split not in SPLIT_FILES:
            raise InputError(f"split must be one of {', '.join(SPLIT_FILES)}, not {split!r}")
        folder = locate("xor_tydi", [SPLIT_FILES[split]], root)
        questions_path = folder / SPLIT_FILES[split]
        if corpus_path is None and (folder / CORPUS_FILE).exists():
            corpus_path = folder / CORPUS_FILE
    queries, answers = read_xor_questions(questions_path)
    return RetrievalDataset(
        name=f"xor_tydi-{split}",
        corpus=[],
        queries=queries,
        qrels={},
        answers=answers,
        meta={
            "split": split,
            "questions_path": str(questions_path),
            "corpus_path": None if corpus_path is None else str(corpus_path),
        },
    )


def iter_xor_corpus(path: str | Path, *, check_duplicates: bool = False) -> Iterator[Passage]:
    """Stream the ``enwiki_20190201_w100.tsv`` passages (constant memory by default).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.tsv"
        >>> _ = p.write_text("id\\ttext\\ttitle\\n1\\tAaron is a prophet\\tAaron\\n")
        >>> [x.title for x in iter_xor_corpus(p)]
        ['Aaron']
    """
    return iter_corpus(path, check_duplicates=check_duplicates)


def collect_texts(corpus_path: str | Path, doc_ids: Iterable[str]) -> dict[str, str]:
    """Stream a corpus once and return ``{doc_id: text}`` for the wanted ids only.

    Raises:
        InputError: a wanted id is not in the corpus.
    """
    return {doc: passage.text for doc, passage in collect_passages(corpus_path, doc_ids).items()}


def write_predictions(
    path: str | Path,
    run: Mapping[str, Mapping[str, float]],
    dataset_or_lookup: RetrievalDataset | Mapping[str, str] | Mapping[str, Passage] | str | Path,
    *,
    query_lang: Mapping[str, str] | None = None,
    top_k: int | None = 100,
) -> int:
    """Write a run in the official XOR-Retrieve prediction format (JSON list of ``{id, lang, ctxs}``).

    Passages are ordered by descending score (ties by doc id) and written as text only, as the
    official evaluation expects.

    Args:
        path: output ``.json`` file (written atomically).
        run: ``{qid: {docid: score}}``.
        dataset_or_lookup: where passage texts and query languages come from: a
            :class:`RetrievalDataset` (its ``corpus`` list, or its ``meta["corpus_path"]`` streamed
            when the list is empty, and its queries' languages); or ``{docid: text}`` /
            ``{docid: Passage}``; or a corpus file path (streamed once, only the needed ids kept).
        query_lang: ``{qid: lang}``; required unless a dataset is given.
        top_k: keep this many passages per question (``None``: all).

    Returns:
        The number of questions written.

    Raises:
        InputError: a retrieved doc id has no text, or a query has no language.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "pred.json"
        >>> write_predictions(p, {"q1": {"d1": 0.2, "d2": 0.9}}, {"d1": "one", "d2": "two"},
        ...                   query_lang={"q1": "fi"})
        1
        >>> read_predictions(p)
        [Prediction(id='q1', lang='fi', ctxs=('two', 'one'))]
    """
    rankings = {qid: [doc for doc, _ in ranked(docs)][:top_k] for qid, docs in run.items()}
    needed = {doc for docs in rankings.values() for doc in docs}
    langs: Mapping[str, str]
    if isinstance(dataset_or_lookup, RetrievalDataset):
        langs = dict(query_lang or dataset_or_lookup.query_language())
        if dataset_or_lookup.corpus:
            texts = {p.id: p.text for p in dataset_or_lookup.corpus if p.id in needed}
        elif dataset_or_lookup.meta.get("corpus_path"):
            texts = collect_texts(str(dataset_or_lookup.meta["corpus_path"]), needed)
        else:
            raise InputError(f"dataset {dataset_or_lookup.name!r} has neither a corpus nor a corpus_path")
    else:
        if query_lang is None:
            raise InputError("query_lang is required when no dataset is given")
        langs = query_lang
        if isinstance(dataset_or_lookup, str | Path):
            texts = collect_texts(dataset_or_lookup, needed)
        else:
            texts = {
                doc: value.text if isinstance(value, Passage) else str(value)
                for doc in needed
                if (value := dataset_or_lookup.get(doc)) is not None
            }
    missing = needed.difference(texts)
    if missing:
        raise InputError(
            f"no passage text for {len(missing)} retrieved id(s), e.g. {sorted(missing)[:5]}", path=path
        )
    rows: list[dict[str, Any]] = []
    for qid in sorted(rankings):
        if qid not in langs:
            raise InputError(f"query {qid!r} has no language", path=path)
        rows.append({"id": qid, "lang": langs[qid], "ctxs": [texts[doc] for doc in rankings[qid]]})
    with atomic_open(path, "w") as handle:
        json.dump(rows, handle, ensure_ascii=False)
        handle.write("\n")
    return len(rows)


def read_predictions(path: str | Path) -> list[Prediction]:
    """Read an XOR-Retrieve prediction file (JSON list of ``{id, lang, ctxs}``), in file order.

    ``ctxs`` may hold strings (the official format) or DPR-style objects with a ``text`` field.

    Raises:
        InputError: malformed JSON, a missing field, an unknown language or a duplicate id
            (names the file, and the entry index).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "pred.json"
        >>> _ = p.write_text('[{"id": "7", "lang": "ja", "ctxs": ["a", "b"]}]')
        >>> read_predictions(p)[0].ctxs
        ('a', 'b')
    """

    data = read_json(path)
    if not isinstance(data, list):
        raise InputError("expected a JSON list of {id, lang, ctxs}", path=path)
    out: list[Prediction] = []
    seen: set[str] = set()
    for index, entry in enumerate(data):
        where = f"entry {index}"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected an object", path=path)
        for name in ("id", "lang", "ctxs"):
            if entry.get(name) is None:
                raise InputError(f"{where}: missing field {name!r}", path=path)
        qid = str(entry["id"])
        if qid in seen:
            raise InputError(f"{where}: duplicate id {qid!r}", path=path)
        seen.add(qid)
        lang = check_language_code(str(entry["lang"]), path=str(path))
        if not isinstance(entry["ctxs"], list):
            raise InputError(f"{where}: 'ctxs' must be a list", path=path)
        ctxs: list[str] = []
        for ctx in entry["ctxs"]:
            if isinstance(ctx, dict) and isinstance(ctx.get("text"), str):
                ctxs.append(ctx["text"])
            elif isinstance(ctx, str):
                ctxs.append(ctx)
            else:
                raise InputError(f"{where}: each ctx must be a string or an object with 'text'", path=path)
        out.append(Prediction(qid, lang, tuple(ctxs)))
    return out


def predictions_to_texts(predictions: Iterable[Prediction]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """``({qid: [ctx text, ...]}, {qid: lang})`` from predictions, the inputs of R@kt.

    Example:
        >>> predictions_to_texts([Prediction("q", "ko", ("a",))])
        ({'q': ['a']}, {'q': 'ko'})
    """
    texts: dict[str, list[str]] = {}
    langs: dict[str, str] = {}
    for p in predictions:
        texts[p.id] = list(p.ctxs)
        langs[p.id] = p.lang
    return texts, langs
