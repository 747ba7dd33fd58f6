"""Dev evaluation during training: exact dense retrieval over a small corpus, scored with qrels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from xqg.data.records import Passage, Qrels, Query, RetrievalDataset, passage_text
from xqg.evaluate import aggregate, evaluate_run
from xqg.index.ranking import dense_search


@dataclass
class DevSet:
    """Queries, corpus and qrels to evaluate on (small: everything is encoded in memory).

    Example:
        >>> ds = RetrievalDataset("t", [Passage("a", "x")], {"en": [Query("q", "x", "en")]}, {"q": {"a": 1}})
        >>> len(DevSet.from_dataset(ds).queries)
        1
    """

    queries: list[Query]
    corpus: list[Passage]
    qrels: Qrels

    @classmethod
    def from_dataset(cls, dataset: RetrievalDataset) -> DevSet:
        """All queries of a dataset with its corpus and qrels."""
        return cls(list(dataset.all_queries()), list(dataset.corpus), dataset.qrels)


def embed_texts(model, texts: Sequence[str], kind: str, batch_size: int = 64) -> np.ndarray:
    """Embed texts in batches without gradients, the module in eval mode (restored after).

    Args:
        model: anything with ``embed(texts, kind) -> Tensor``.
        texts: the texts.
        kind: ``"query"`` or ``"passage"``.
        batch_size: texts per forward pass.

    Returns:
        float32 array (n, d).

    Example:
        >>> from xqg.train.testing import tiny_hash_encoder
        >>> embed_texts(tiny_hash_encoder(), ["a", "b", "c"], "query", batch_size=2).shape
        (3, 16)
    """
    module = model if isinstance(model, torch.nn.Module) else None
    was_training = bool(module is not None and module.training)
    if module is not None:
        module.eval()
    try:
        parts = []
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                parts.append(model.embed(list(texts[start : start + batch_size]), kind).float().cpu().numpy())
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
    finally:
        if was_training:
            module.train()


def evaluate_encoder(
    model,
    dev: DevSet,
    metrics: Sequence[str] = ("Success@1", "MRR@10"),
    batch_size: int = 64,
    query_texts: Mapping[str, str] | None = None,
    passage_bank=None,
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Encode the dev set, retrieve exactly, score per query and per language.

    Args:
        model: the encoder.
        dev: the dev set.
        metrics: qrel metrics (:func:`xqg.evaluate.evaluate_run` names).
        batch_size: encoding batch size.
        query_texts: replace query texts by id (e.g. misspelled copies); default the dev texts.
        passage_bank: a :class:`~xqg.train.step.PassageBank` to search instead of encoding
            ``dev.corpus`` (its ids are the doc ids).

    Returns:
        ``(aggregated, per_query)``: ``{metric: {lang: mean, "avg": macro mean}}`` and
        ``{metric: {qid: value}}``.
    """

    texts = [query_texts.get(q.id, q.text) if query_texts else q.text for q in dev.queries]
    qv = embed_texts(model, texts, "query", batch_size)
    if passage_bank is None:
        pv = embed_texts(model, [passage_text(p) for p in dev.corpus], "passage", batch_size)
        pids = [p.id for p in dev.corpus]
    else:
        pv, pids = passage_bank.vectors.float().cpu().numpy(), passage_bank.ids
    run = dense_search(qv, [q.id for q in dev.queries], pv, pids, k=100)
    qrels = {q.id: dev.qrels[q.id] for q in dev.queries if q.id in dev.qrels}
    per_query = evaluate_run(run, qrels, list(metrics))
    return aggregate(per_query, {q.id: q.lang for q in dev.queries}), per_query
