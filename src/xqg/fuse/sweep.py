"""Tune α on a dev split: re-fuse the stored arrays for each α, search, score with :mod:`xqg.evaluate`.

Each α costs one fused matrix and one exact inner-product search over it (no encoding), so a sweep of
ten values on a dev corpus takes seconds. The corpus is held in memory here; use ``xqg fuse --alpha``
plus sharded search for corpora that do not fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from xqg.data.records import Qrels
from xqg.errors import ConfigError
from xqg.evaluate import aggregate, evaluate_run
from xqg.fuse.fusion import FusionStore
from xqg.index.ranking import dense_search

ALPHA_TIE_TOLERANCE = 1e-12
"""Selection values closer than this to the best count as tied (means of the same per-query values
can differ in the last bits with the order they were summed in)."""


def choose_alpha(alphas: Sequence[float], values: Sequence[float]) -> float:
    """The α of the best selection value; among α tied with it (:data:`ALPHA_TIE_TOLERANCE`), the smallest.

    The one rule every α selection in xqg follows (``xqg fuse --alpha-sweep``, ``xqg run``'s
    ``[fusion] alpha_sweep``, the benchmarks): fusion that does not measurably help is not used.

    Args:
        alphas: the values tried, in any order.
        values: the selection metric at each of them (higher is better).

    Example:
        >>> choose_alpha([0.0, 0.1, 0.2], [0.5, 0.7, 0.7])
        0.1
        >>> choose_alpha([0.3, 0.0], [0.6, 0.6])
        0.0
    """
    if len(alphas) != len(values) or not len(alphas):
        raise ConfigError(f"{len(values)} selection values for {len(alphas)} alphas")
    best = max(values)
    return float(min(a for a, v in zip(alphas, values, strict=True) if v >= best - ALPHA_TIE_TOLERANCE))


@dataclass
class AlphaSweep:
    """Result of :func:`alpha_sweep`.

    Attributes:
        metric: the metric α was chosen by (macro average over languages).
        mode: ``"sum"`` or ``"mean"``.
        table: ``{alpha: {metric: {lang: value, "avg": macro mean}}}``.
        best_alpha: the α with the highest ``table[α][metric]["avg"]`` (:func:`choose_alpha`).
    """

    metric: str
    mode: str
    table: dict[float, dict[str, dict[str, float]]] = field(default_factory=dict)
    best_alpha: float = 0.0

    def to_markdown(self) -> str:
        """A table: one row per α, one column per language and the average of :attr:`metric`."""
        langs = sorted({lang for row in self.table.values() for lang in row[self.metric] if lang != "avg"})
        lines = [
            f"| α ({self.mode}) | " + " | ".join(langs + ["avg"]) + " |",
            "|---" * (len(langs) + 2) + "|",
        ]
        for alpha, row in self.table.items():
            vals = [100 * row[self.metric].get(lang, float("nan")) for lang in langs + ["avg"]]
            mark = " **best**" if alpha == self.best_alpha else ""
            lines.append(f"| {alpha:g}{mark} | " + " | ".join(f"{v:.1f}" for v in vals) + " |")
        return "\n".join(lines)


def alpha_sweep(
    store: FusionStore | Mapping[str, FusionStore],
    query_vectors: np.ndarray,
    query_ids: Sequence[str],
    qrels: Qrels,
    alphas: Sequence[float],
    mode: str = "sum",
    metric: str = "MRR@10",
    metrics: Sequence[str] = ("Success@1", "MRR@10", "Recall@10"),
    query_lang: Mapping[str, str] | None = None,
    k: int = 100,
    allow_unequal_counts: bool = False,
) -> AlphaSweep:
    """Evaluate each α on a dev split and pick the best by the macro average of ``metric``.

    Args:
        store: passage vectors, query sums and counts of the dev corpus; or ``{lang: store}`` (one
            per query language, :func:`xqg.fuse.store.load_fusion_store` with ``language=``): each
            query is then searched in its own language's fused matrix (needs ``query_lang``).
        query_vectors: ``(m, d)`` dev query vectors (query path); ``query_ids`` their ids.
        qrels: dev judgements.
        alphas: the values to try (include 0 for the retriever alone).
        mode: ``"sum"`` or ``"mean"``.
        metric: selection metric (one of ``metrics``).
        metrics: metrics reported for every α.
        query_lang: ``{qid: lang}`` for per-language averages (all queries in one group ``"all"`` if
            ``None``).
        k: ranking depth.
        allow_unequal_counts: see :func:`xqg.fuse.fusion.fuse_vectors`.

    Example:
        >>> import numpy as np
        >>> store = FusionStore(["a", "b"], np.array([[1.0, 0.0], [0.9, 0.1]]),
        ...                     np.array([[0.0, 0.0], [0.0, 2.0]]), np.array([2, 2]))
        >>> sweep = alpha_sweep(store, np.array([[0.0, 1.0]]), ["q"], {"q": {"b": 1}}, [0.0, 0.5])
        >>> sweep.best_alpha
        0.0
    """

    metrics = list(dict.fromkeys([*metrics, metric]))
    langs = dict(query_lang) if query_lang is not None else {qid: "all" for qid in query_ids}
    groups: dict[str, list[int]] = {}
    if isinstance(store, FusionStore):
        groups = {"": list(range(len(query_ids)))}
    else:
        if query_lang is None:
            raise ConfigError("per-language fusion stores need the language of every dev query")
        for row, qid in enumerate(query_ids):
            lang = langs.get(qid)
            if lang not in store:
                raise ConfigError(
                    f"dev query {qid!r} is in {lang!r}, which has no fused matrix (stores: {', '.join(store)})"
                )
            groups.setdefault(lang, []).append(row)
    vectors = np.asarray(query_vectors, dtype=np.float32)
    sweep = AlphaSweep(metric=metric, mode=mode)
    for alpha in alphas:
        run: dict[str, dict[str, float]] = {}
        for lang, rows in groups.items():
            part = store if isinstance(store, FusionStore) else store[lang]
            fused = part.fuse(alpha, mode, allow_unequal_counts)
            run.update(dense_search(vectors[rows], [query_ids[r] for r in rows], fused, part.ids, k=k))
        judged = {qid: qrels[qid] for qid in query_ids if qid in qrels}
        per_query = evaluate_run(run, judged, metrics)
        row = aggregate(per_query, langs)
        sweep.table[float(alpha)] = row
    sweep.best_alpha = choose_alpha(list(sweep.table), [row[metric]["avg"] for row in sweep.table.values()])
    return sweep
