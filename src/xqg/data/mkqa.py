"""MKQA: 10k Natural Questions queries translated into 26 languages, with answers per language.

File: ``mkqa.jsonl.gz`` (github.com/apple/ml-mkqa), one object a line::

    {"example_id": 563260143484355911, "query": "...",
     "queries": {"en": "...", "ar": "...", ...},
     "answers": {"en": [{"type": "entity", "text": "...", "aliases": ["..."], "entity": "Q..."}], ...}}

Retrieval protocol (as in BGE-M3): drop every example whose answers include an ``unanswerable``,
``binary`` (yes/no) or ``long_answer`` type — judged on the English answers, whose types every
language shares — which leaves 6,619 of the 10,000 examples. Each remaining query ``"{example_id}/{lang}"``
gets the answer texts *and aliases* of its own language as gold answers (answer-string Recall@k).
There is no corpus in MKQA: the English NQ Wikipedia corpus (or any other) is supplied by the
user, so the dataset has no qrels and ``meta["corpus_path"]`` is whatever was passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xqg.data.download import locate
from xqg.data.jsonl import iter_jsonl
from xqg.data.languages import check_language_code
from xqg.data.records import Answers, Query, RetrievalDataset
from xqg.errors import InputError

MKQA_LANGUAGES: tuple[str, ...] = (
    "ar", "da", "de", "en", "es", "fi", "fr", "he", "hu", "it", "ja", "km", "ko", "ms", "nl", "no",
    "pl", "pt", "ru", "sv", "th", "tr", "vi", "zh_cn", "zh_hk", "zh_tw",
)  # fmt: skip
EXCLUDED_TYPES: frozenset[str] = frozenset({"unanswerable", "binary", "long_answer"})
"""Answer types whose examples are dropped by the standard retrieval filtering."""

FILE = "mkqa.jsonl.gz"


def _answer_strings(items: Any, path: str | Path, line: int, lang: str) -> list[str]:
    if not isinstance(items, list):
        raise InputError(f"answers[{lang!r}] must be a list", path=path, line=line)
    out: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            raise InputError(f"answers[{lang!r}] entries must be objects", path=path, line=line)
        for text in [item.get("text"), *(item.get("aliases") or [])]:
            if isinstance(text, str) and text and text not in out:
                out.append(text)
    return out


def _types(items: Any) -> set[str]:
    return (
        {str(item.get("type")) for item in items if isinstance(item, dict)}
        if isinstance(items, list)
        else set()
    )


def load_mkqa(
    languages: Iterable[str] | None = None,
    root: str | Path | None = None,
    *,
    path: str | Path | None = None,
    filtered: bool = True,
    corpus_path: str | Path | None = None,
) -> RetrievalDataset:
    """Load MKQA queries and answers per language.

    Args:
        languages: query languages (default: all 26).
        root: folder holding ``mkqa.jsonl.gz`` (default: ``$XQG_DATA_MIRROR/mkqa`` or the cache).
        path: explicit file (``.jsonl`` or ``.jsonl.gz``); overrides ``root``.
        filtered: apply the standard filtering (drop unanswerable / binary / long_answer).
        corpus_path: the user's corpus, recorded in ``meta["corpus_path"]`` for later stages.

    Returns:
        Dataset ``"mkqa"`` with ids ``"{example_id}/{lang}"``; ``meta["num_examples"]`` (kept) and
        ``meta["num_dropped"]`` (filtered out) say what the filter did.

    Raises:
        InputError: malformed line, missing field or query text, unknown language, duplicate id.

    Example:
        >>> ds = load_mkqa(["ja"])  # doctest: +SKIP
        >>> ds.meta["num_examples"]  # doctest: +SKIP
        6619
    """
    langs = list(MKQA_LANGUAGES if languages is None else languages)
    for lang in langs:
        check_language_code(lang)
        if lang not in MKQA_LANGUAGES:
            raise InputError(f"MKQA has no language {lang!r} (languages: {', '.join(MKQA_LANGUAGES)})")
    if path is None:
        path = locate("mkqa", [FILE], root) / FILE
    queries: dict[str, list[Query]] = {lang: [] for lang in langs}
    answers: Answers = {}
    seen: set[str] = set()
    kept = dropped = 0
    for line, obj in iter_jsonl(path):
        for name in ("example_id", "queries", "answers"):
            if obj.get(name) is None:
                raise InputError(f"missing field {name!r}", path=path, line=line)
        if not isinstance(obj["queries"], dict) or not isinstance(obj["answers"], dict):
            raise InputError(
                "fields 'queries' and 'answers' must be objects keyed by language", path=path, line=line
            )
        for code in obj["queries"]:
            check_language_code(code, path=str(path), line=line)
        example = str(obj["example_id"])
        if example in seen:
            raise InputError(f"duplicate example_id {example!r}", path=path, line=line)
        seen.add(example)
        reference = obj["answers"].get("en", next(iter(obj["answers"].values()), []))
        if filtered and (not reference or _types(reference) & EXCLUDED_TYPES):
            dropped += 1
            continue
        kept += 1
        for lang in langs:
            text = obj["queries"].get(lang)
            if not isinstance(text, str) or not text.strip():
                raise InputError(f"no query text for language {lang!r}", path=path, line=line)
            qid = f"{example}/{lang}"
            queries[lang].append(Query(qid, text, lang))
            answers[qid] = _answer_strings(obj["answers"].get(lang, []), path, line, lang)
    return RetrievalDataset(
        name="mkqa",
        corpus=[],
        queries=queries,
        qrels={},
        answers=answers,
        meta={
            "filtered": filtered,
            "num_examples": kept,
            "num_dropped": dropped,
            "path": str(path),
            "corpus_path": None if corpus_path is None else str(corpus_path),
        },
    )
