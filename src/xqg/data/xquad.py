"""XQuAD as a cross-lingual retrieval benchmark: a question in language L, the English paragraph.

XQuAD (Artetxe et al., 2020) translates 240 SQuAD v1.1 paragraphs (48 articles) and their 1,190
questions into 10 languages, and the official release later added an 11th translation, Romanian
(``xquad.ro.json``): 12 languages with English. Question ids and paragraph positions are identical
across languages, so each question in L has an exact English gold paragraph and English answers.

By default the loaders read every XQuAD language whose file is present (in ``root``, or the mirror
or cache folder holding the most of them): a mirror made before Romanian was added gives 11
languages and a logged note; a language asked for by name must be present.

- **paragraph level** (default): the corpus is the 240 English paragraphs, id
  ``"{article_index}-{paragraph_index}"``; the one relevant document of query ``"{qid}/{lang}"``
  is the paragraph the question was asked about.
- **sentence level**: the corpus is the sentences of those paragraphs (see
  :mod:`xqg.data.sentences`), id ``"{article}-{paragraph}-{sentence}"``; relevant are the sentences
  that overlap the English answer span (``answer_start`` .. ``answer_start + len(text)``), usually one.

``Passage.meta`` holds ``article`` (the article index, as a string), ``title`` (the article
title, e.g. ``"Super Bowl 50"``) and, for sentences, ``paragraph``. ``Passage.title`` is left
empty by default so that the task is matching question and paragraph text (pass
``with_titles=True`` to fill it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xqg.data.download import XQUAD_LANGUAGES, get_source, locate, verify_file
from xqg.data.languages import check_language_code
from xqg.data.records import Answers, Passage, Qrels, Query, RetrievalDataset
from xqg.data.sentences import sentences_overlapping, split_sentences
from xqg.data.text_input import read_json
from xqg.errors import InputError

logger = logging.getLogger(__name__)

NUM_ARTICLES = 48
"""Articles in XQuAD (the unit of the folds)."""

_ALL_FILES = [f"xquad.{lang}.json" for lang in XQUAD_LANGUAGES]


def available_xquad_languages(root: str | Path | None = None) -> list[str]:
    """The XQuAD languages whose file is present, in :data:`XQUAD_LANGUAGES` order (nothing fetched).

    Args:
        root: folder with ``xquad.{lang}.json`` (default: the mirror or cache folder with the most).

    Raises:
        InputError: no folder holds ``xquad.en.json``.

    Example:
        >>> "en" in available_xquad_languages()  # doctest: +SKIP
        True
    """
    folder = locate("xquad", ["xquad.en.json"], root, wanted=_ALL_FILES)
    return [lang for lang in XQUAD_LANGUAGES if (folder / f"xquad.{lang}.json").is_file()]


def _default_languages(root: str | Path | None) -> list[str]:
    present = available_xquad_languages(root)
    absent = [lang for lang in XQUAD_LANGUAGES if lang not in present]
    if absent:
        logger.warning(
            "XQuAD: %s not found (%s); using the %d languages present. `xqg data download xquad` with "
            "internet access adds the rest",
            ", ".join(f"xquad.{lang}.json" for lang in absent),
            "the local mirror predates them" if "ro" in absent else "not downloaded",
            len(present),
        )
    return present


def _check_languages(langs: Iterable[str]) -> None:
    for lang in langs:
        check_language_code(lang)
        if lang not in XQUAD_LANGUAGES:
            raise InputError(f"XQuAD has no {lang!r} file (languages: {', '.join(XQUAD_LANGUAGES)})")


def _read_squad(path: Path) -> list[dict[str, Any]]:
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise InputError("not a SQuAD v1.1 file: expected an object with a 'data' list", path=path)
    for a, article in enumerate(data["data"]):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise InputError(f"article {a}: missing field 'paragraphs'", path=path)
        for p, paragraph in enumerate(article["paragraphs"]):
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str):
                raise InputError(f"article {a} paragraph {p}: missing field 'context'", path=path)
            if not isinstance(paragraph.get("qas"), list):
                raise InputError(f"article {a} paragraph {p}: missing field 'qas'", path=path)
            for qa in paragraph["qas"]:
                for name in ("id", "question", "answers"):
                    if not isinstance(qa, dict) or name not in qa:
                        raise InputError(
                            f"article {a} paragraph {p}: a question lacks field {name!r}", path=path
                        )
    return data["data"]


def _answer_texts(answers: Iterable[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for answer in answers:
        text = answer.get("text") if isinstance(answer, dict) else None
        if isinstance(text, str) and text not in out:
            out.append(text)
    return out


def load_xquad(
    languages: Iterable[str] | None = None,
    level: str = "paragraph",
    root: str | Path | None = None,
    *,
    answer_language: str = "en",
    with_titles: bool = False,
    verify: bool = True,
) -> RetrievalDataset:
    """Load XQuAD as cross-lingual retrieval: questions in each language, English corpus.

    Args:
        languages: query languages (default: every XQuAD language present, up to all 12, English
            included; an absent one is logged).
        level: ``"paragraph"`` (240 passages) or ``"sentence"`` (the paragraphs' sentences).
        root: folder with ``xquad.{lang}.json`` (default: ``$XQG_DATA_MIRROR/xquad`` or the cache).
        answer_language: ``"en"`` (default): English answers for every query (the corpus is
            English); ``"native"``: the answers from each query language's own file.
        with_titles: put the article title into ``Passage.title`` (default: only in meta).
        verify: check each file against its pinned SHA-256 (a file that differs is an error).

    Returns:
        A :class:`RetrievalDataset` named ``"xquad"`` (or ``"xquad-sentence"``) with query ids
        ``"{squad_id}/{lang}"``, one qrel set per query and answers keyed by the same ids.

    Raises:
        InputError: missing or malformed file, unknown language code, a checksum mismatch, or
            files whose structure differs from the English one.

    Example:
        >>> ds = load_xquad(["de"])  # doctest: +SKIP
        >>> len(ds.corpus), len(ds.queries["de"])  # doctest: +SKIP
        (240, 1190)
    """
    if level not in ("paragraph", "sentence"):
        raise InputError(f"level must be 'paragraph' or 'sentence', not {level!r}")
    if answer_language not in ("en", "native"):
        raise InputError(f"answer_language must be 'en' or 'native', not {answer_language!r}")
    langs = _default_languages(root) if languages is None else list(languages)
    _check_languages(langs)
    if not langs:
        raise InputError("no languages given")
    files = sorted({f"xquad.{lang}.json" for lang in [*langs, "en"]})
    folder = locate("xquad", files, root, wanted=_ALL_FILES)
    source = get_source("xquad")
    checksums: dict[str, str] = {}
    if verify:
        for name in files:
            remote = source.file(name)
            verify_file(source, remote, folder / name)
            checksums[name] = remote.sha256 or ""

    english_path = folder / "xquad.en.json"
    english = _read_squad(english_path)
    corpus: list[Passage] = []
    gold: dict[str, list[str]] = {}  # squad id -> relevant doc ids
    english_answers: dict[str, list[str]] = {}
    layout: list[int] = []
    for a, article in enumerate(english):
        title = str(article.get("title", "")).replace("_", " ")
        layout.append(len(article["paragraphs"]))
        for p, paragraph in enumerate(article["paragraphs"]):
            context = paragraph["context"]
            pid = f"{a}-{p}"
            spans = split_sentences(context) if level == "sentence" else []
            if level == "paragraph":
                corpus.append(
                    Passage(pid, context, title if with_titles else "", {"article": str(a), "title": title})
                )
            else:
                for s, (start, end) in enumerate(spans):
                    corpus.append(
                        Passage(
                            f"{pid}-{s}",
                            context[start:end],
                            title if with_titles else "",
                            {"article": str(a), "paragraph": pid, "title": title},
                        )
                    )
            for qa in paragraph["qas"]:
                qid = str(qa["id"])
                if qid in gold:
                    raise InputError(f"duplicate question id {qid!r}", path=english_path)
                english_answers[qid] = _answer_texts(qa["answers"])
                if level == "paragraph":
                    gold[qid] = [pid]
                    continue
                relevant: list[str] = []
                for answer in qa["answers"]:
                    start = answer.get("answer_start")
                    text = answer.get("text", "")
                    if not isinstance(start, int) or context[start : start + len(text)] != text:
                        raise InputError(
                            f"question {qid}: answer {text!r} is not at answer_start={start} of its context",
                            path=english_path,
                        )
                    for s in sentences_overlapping(spans, start, start + len(text)):
                        if f"{pid}-{s}" not in relevant:
                            relevant.append(f"{pid}-{s}")
                if not relevant:
                    raise InputError(
                        f"question {qid}: no answer span to locate a sentence", path=english_path
                    )
                gold[qid] = relevant

    queries: dict[str, list[Query]] = {}
    qrels: Qrels = {}
    answers: Answers = {}
    for lang in langs:
        path = folder / f"xquad.{lang}.json"
        articles = english if lang == "en" else _read_squad(path)
        if [len(a["paragraphs"]) for a in articles] != layout:
            raise InputError("articles/paragraphs do not line up with xquad.en.json", path=path)
        items: list[Query] = []
        for article in articles:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    squad_id = str(qa["id"])
                    if squad_id not in gold:
                        raise InputError(f"question id {squad_id!r} is not in xquad.en.json", path=path)
                    query_id = f"{squad_id}/{lang}"
                    if query_id in qrels:
                        raise InputError(f"duplicate question id {squad_id!r}", path=path)
                    items.append(Query(query_id, str(qa["question"]), lang))
                    qrels[query_id] = {doc: 1 for doc in gold[squad_id]}
                    answers[query_id] = (
                        list(english_answers[squad_id])
                        if answer_language == "en"
                        else _answer_texts(qa["answers"])
                    )
        queries[lang] = items

    return RetrievalDataset(
        name="xquad" if level == "paragraph" else "xquad-sentence",
        corpus=corpus,
        queries=queries,
        qrels=qrels,
        answers=answers,
        meta={
            "level": level,
            "languages": langs,
            "languages_unavailable": [lang for lang in XQUAD_LANGUAGES if lang not in langs]
            if languages is None
            else [],
            "answer_language": answer_language,
            "root": str(folder),
            "sha256": checksums,
            "num_articles": len(english),
        },
    )


def load_xquad_contexts(
    languages: Iterable[str] | None = None, root: str | Path | None = None, *, verify: bool = True
) -> dict[str, dict[str, str]]:
    """The paragraphs of XQuAD in several languages: ``{paragraph id: {lang: context}}``.

    XQuAD's paragraphs are professional translations of the English ones, in the same positions,
    so a paragraph id (``"{article}-{paragraph}"``, as in :func:`load_xquad`'s corpus) names one
    paragraph in every language: parallel text (used to teach the default generator to translate,
    :mod:`xqg.generate.parallel`).

    Args:
        languages: languages to read (default: every XQuAD language present); English is always
            included.
        root: folder with ``xquad.{lang}.json`` (default: ``$XQG_DATA_MIRROR/xquad`` or the cache).
        verify: check each file against its pinned SHA-256.

    Raises:
        InputError: a missing or malformed file, an unknown language, or a file whose articles and
            paragraphs do not line up with the English file's.

    Example:
        >>> contexts = load_xquad_contexts(["de"])  # doctest: +SKIP
        >>> contexts["0-0"]["de"][:30]  # doctest: +SKIP
        'Die Verteidigung der Panthers '
    """
    langs = sorted({*(_default_languages(root) if languages is None else languages), "en"})
    _check_languages(langs)
    files = [f"xquad.{lang}.json" for lang in langs]
    folder = locate("xquad", files, root, wanted=_ALL_FILES)
    if verify:
        source = get_source("xquad")
        for name in files:
            verify_file(source, source.file(name), folder / name)
    out: dict[str, dict[str, str]] = {}
    shape: list[int] | None = None
    for lang in ["en", *[code for code in langs if code != "en"]]:
        path = folder / f"xquad.{lang}.json"
        articles = _read_squad(path)
        layout = [len(article["paragraphs"]) for article in articles]
        if shape is None:
            shape = layout
        elif layout != shape:
            raise InputError("articles and paragraphs do not line up with xquad.en.json", path=path)
        for a, article in enumerate(articles):
            for p, paragraph in enumerate(article["paragraphs"]):
                out.setdefault(f"{a}-{p}", {})[lang] = paragraph["context"]
    return out
