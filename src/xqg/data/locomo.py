"""LoCoMo: very long two-person conversations, with questions whose evidence is dialogue turns.

File: ``locomo10.json`` (github.com/snap-research/locomo), a JSON list of conversations. Two
layouts exist and both are read:

- *flat*: ``session_<n>`` (list of turns), ``session_<n>_date_time`` and ``qa`` at the top level;
- *nested*: the sessions under ``"conversation"`` (with ``speaker_a``/``speaker_b``), ``qa`` beside it.

Each turn ``{"speaker", "dia_id": "D<s>:<t>", "text"}`` becomes a :class:`Passage` with id
``"{sample_id}/{dia_id}"`` and meta ``conversation``, ``session``, ``date`` (the session's date
string), ``speaker``, ``dia_id`` (and ``image_caption`` when the turn shares a picture). Each
question ``{"question", "answer", "evidence": [dia_id, ...], "category"}`` becomes a query
``"{sample_id}/q{index}"`` (English) whose relevant documents are its evidence turns.

Category 5 (adversarial: unanswerable by design) is excluded by default. Evidence ids are read
with the pattern ``D<s>:<t>`` (the official file sometimes joins several in one string, e.g.
``"D8:6; D9:17"``, or pads numbers as ``D30:05``). Evidence that names no turn of the conversation
raises :class:`InputError` with ``strict=True``; by default it is left out of the qrels and listed
in ``meta["unresolved_evidence"]``, and a question left with no evidence at all is not loaded and
is listed in ``meta["questions_without_evidence"]`` (nothing disappears without a record).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xqg.data.download import locate
from xqg.data.records import Answers, Passage, Qrels, Query, RetrievalDataset
from xqg.data.text_input import read_json
from xqg.errors import InputError

logger = logging.getLogger(__name__)

FILE = "locomo10.json"
ADVERSARIAL = 5
_SESSION = re.compile(r"^session_(\d+)$")
_DIA_ID = re.compile(r"D\s*(\d+)\s*:\s*(\d+)")


def _normalise_dia_id(text: str) -> list[str]:
    return [f"D{int(s)}:{int(t)}" for s, t in _DIA_ID.findall(text)]


def load_locomo(
    root: str | Path | None = None,
    *,
    path: str | Path | None = None,
    exclude_categories: Iterable[int] = (ADVERSARIAL,),
    strict: bool = False,
) -> RetrievalDataset:
    """Load LoCoMo as turn retrieval: corpus = every dialogue turn, qrels = evidence turns.

    Args:
        root: folder holding ``locomo10.json`` (default: ``$XQG_DATA_MIRROR/locomo`` or the cache).
        path: explicit JSON file; overrides ``root``.
        exclude_categories: question categories to leave out (default: 5, adversarial).
        strict: fail on evidence that names no turn instead of recording it.

    Returns:
        Dataset ``"locomo"`` with English queries, answers (``[str(answer)]``) and meta counts.

    Raises:
        InputError: malformed JSON, a missing field, a duplicate turn id, or (strict) bad evidence.

    Example:
        >>> ds = load_locomo()  # doctest: +SKIP
        >>> len(ds.corpus)  # doctest: +SKIP
        5882
    """
    if path is None:
        path = locate("locomo", [FILE], root) / FILE

    data = read_json(path)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError("expected a JSON list of conversations", path=path)
    excluded = {int(c) for c in exclude_categories}
    corpus: list[Passage] = []
    queries: list[Query] = []
    qrels: Qrels = {}
    answers: Answers = {}
    unresolved: list[str] = []
    without_evidence: list[str] = []
    excluded_count = 0
    seen_samples: set[str] = set()
    for index, sample in enumerate(data):
        where = f"conversation {index}"
        if not isinstance(sample, dict):
            raise InputError(f"{where}: expected an object", path=path)
        sample_id = str(sample.get("sample_id", f"conv-{index}"))
        if sample_id in seen_samples:
            raise InputError(f"{where}: duplicate sample_id {sample_id!r}", path=path)
        seen_samples.add(sample_id)
        conversation = sample.get("conversation", sample)
        if not isinstance(conversation, dict):
            raise InputError(f"{where}: 'conversation' must be an object", path=path)
        sessions = sorted(
            (int(m.group(1)), key) for key in conversation if (m := _SESSION.match(key)) is not None
        )
        if not sessions:
            raise InputError(f"{where} ({sample_id}): no session_<n> lists found", path=path)
        turn_ids: dict[str, str] = {}
        for number, key in sessions:
            turns = conversation[key]
            if not isinstance(turns, list):
                raise InputError(f"{where}: {key} must be a list of turns", path=path)
            date = str(conversation.get(f"{key}_date_time", ""))
            for t, turn in enumerate(turns):
                if not isinstance(turn, dict):
                    raise InputError(f"{where}: {key}[{t}] must be an object", path=path)
                for name in ("speaker", "dia_id", "text"):
                    if turn.get(name) is None:
                        raise InputError(f"{where}: {key}[{t}] missing field {name!r}", path=path)
                ids = _normalise_dia_id(str(turn["dia_id"]))
                if len(ids) != 1:
                    raise InputError(
                        f"{where}: {key}[{t}] has a malformed dia_id {turn['dia_id']!r}", path=path
                    )
                dia_id = ids[0]
                if dia_id in turn_ids:
                    raise InputError(f"{where}: duplicate dia_id {dia_id!r}", path=path)
                doc_id = f"{sample_id}/{dia_id}"
                turn_ids[dia_id] = doc_id
                meta = {
                    "conversation": sample_id,
                    "session": str(number),
                    "date": date,
                    "speaker": str(turn["speaker"]),
                    "dia_id": dia_id,
                }
                if turn.get("blip_caption"):
                    meta["image_caption"] = str(turn["blip_caption"])
                corpus.append(Passage(doc_id, str(turn["text"]), "", meta))
        qa_list = sample.get("qa", [])
        if not isinstance(qa_list, list):
            raise InputError(f"{where}: 'qa' must be a list", path=path)
        for q, qa in enumerate(qa_list):
            if not isinstance(qa, dict) or qa.get("question") is None:
                raise InputError(f"{where}: qa[{q}] missing field 'question'", path=path)
            category = qa.get("category")
            if category is not None and int(category) in excluded:
                excluded_count += 1
                continue
            qid = f"{sample_id}/q{q}"
            evidence = qa.get("evidence") or []
            if not isinstance(evidence, list):
                evidence = [evidence]
            relevant: dict[str, int] = {}
            for item in evidence:
                names = _normalise_dia_id(str(item))
                if not names:
                    names = [str(item)]
                for name in names:
                    if name in turn_ids:
                        relevant[turn_ids[name]] = 1
                    elif strict:
                        raise InputError(f"{where}: qa[{q}] evidence {item!r} names no turn", path=path)
                    else:
                        unresolved.append(f"{qid}:{item}")
            if not relevant:
                if strict:
                    raise InputError(f"{where}: qa[{q}] has no evidence turns", path=path)
                without_evidence.append(qid)
                continue
            queries.append(Query(qid, str(qa["question"]), "en"))
            qrels[qid] = relevant
            answer = qa.get("answer", qa.get("adversarial_answer"))
            answers[qid] = [] if answer is None else [str(answer)]
    if unresolved or without_evidence:
        logger.warning(
            "%s: %d evidence id(s) name no turn; %d question(s) without evidence not loaded (see dataset.meta)",
            path,
            len(unresolved),
            len(without_evidence),
        )
    meta: dict[str, Any] = {
        "path": str(path),
        "num_conversations": len(seen_samples),
        "excluded_categories": sorted(excluded),
        "num_excluded": excluded_count,
        "unresolved_evidence": unresolved,
        "questions_without_evidence": without_evidence,
    }
    return RetrievalDataset("locomo", corpus, {"en": queries}, qrels, answers, meta)
