"""Fused passage representations in memory: generated queries' sums per language and slot, fused at α.

For benchmark-sized corpora held in memory (``xqg run``'s fold experiments), a system's passages are
one fused matrix, or with per-language fusion one matrix per query language (each question is then
scored against its own language's matrix; a language without one meets the plain passage vectors):

* :func:`slot_sums`: per language, the running sums over slots ``0..j`` of the generated queries'
  embeddings for every passage (so the first ``n`` queries per language are one lookup);
* :func:`fuse_slot_sums`: those sums fused into the passage vectors at α with ``n`` queries per language;
* :func:`fuse_predictions`: predicted query embeddings per language (fusion without text) fused at α;
* :func:`score_representation`: query vectors scored against a :data:`Representation`.

Large corpora use the sharded store instead (:class:`~xqg.fuse.task.FuseShardTask`, :func:`~xqg.fuse.store.refuse`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from xqg.errors import InputError
from xqg.fuse.fusion import fuse_vectors

Representation = np.ndarray | dict[str, np.ndarray]
"""Passage vectors: one matrix for every query, or one per query language (``{lang: matrix}``)."""

SlotSums = dict[str, tuple[np.ndarray, np.ndarray]]
"""``{lang: (sums (n, N, d), counts (n, N))}``: slot ``j`` holds the sums over slots ``0..j``."""


def slot_sums(
    rows: Sequence[Mapping[str, object]],
    vectors: np.ndarray,
    doc_ids: Sequence[str],
    languages: Sequence[str],
    num_slots: int,
) -> SlotSums:
    """Per language, per-slot cumulative sums (float64) and counts of generated queries' embeddings.

    Args:
        rows: generated rows ``{docid, lang, slot, ...}``, one per row of ``vectors``.
        vectors: ``(len(rows), d)`` query-path embeddings of the rows.
        doc_ids: the passages, in the order of the sums' rows.
        languages: the generated languages.
        num_slots: queries per passage per language.

    Raises:
        InputError: a row of an unknown passage or language, or a slot out of range.

    Example:
        >>> rows = [{"docid": "a", "lang": "de", "slot": 0}, {"docid": "a", "lang": "de", "slot": 1}]
        >>> sums = slot_sums(rows, np.array([[1.0], [2.0]]), ["a"], ["de"], 2)
        >>> sums["de"][0][:, 0, 0].tolist(), sums["de"][1][:, 0].tolist()
        ([1.0, 3.0], [1, 2])
    """
    index = {d: i for i, d in enumerate(doc_ids)}
    dim = vectors.shape[1]
    sums = {lang: np.zeros((num_slots, len(doc_ids), dim), dtype=np.float64) for lang in languages}
    counts = {lang: np.zeros((num_slots, len(doc_ids)), dtype=np.int64) for lang in languages}
    for row, vec in zip(rows, vectors, strict=True):
        lang, slot, docid = row["lang"], int(row["slot"]), row["docid"]  # type: ignore[call-overload]
        if lang not in sums or docid not in index or not 0 <= slot < num_slots:
            raise InputError(
                f"generated row {dict(row)!r} is outside the fused passages, languages "
                f"{', '.join(languages)} or slots 0..{num_slots - 1}"
            )
        sums[lang][slot, index[docid]] += vec
        counts[lang][slot, index[docid]] += 1
    return {lang: (np.cumsum(sums[lang], axis=0), np.cumsum(counts[lang], axis=0)) for lang in languages}


def fuse_slot_sums(
    passages: np.ndarray, sums: SlotSums, n: int, alpha: float, mode: str, per_language: bool
) -> Representation:
    """The passages fused with their first ``n`` generated queries per language.

    Args:
        passages: ``(N, d)`` passage vectors.
        sums: :func:`slot_sums`.
        n: queries per language (1 to the number of slots).
        alpha: fusion weight.
        mode: ``"sum"`` or ``"mean"`` (:func:`~xqg.fuse.fusion.fuse_vectors`).
        per_language: one matrix per language, else one over all languages.

    Example:
        >>> sums = {"de": (np.ones((1, 1, 2)), np.ones((1, 1), dtype=int))}
        >>> fuse_slot_sums(np.zeros((1, 2)), sums, 1, 0.5, "mean", per_language=True)["de"].tolist()
        [[0.5, 0.5]]
    """
    if per_language:
        return {
            lang: fuse_vectors(passages, cs[n - 1], cc[n - 1], alpha, mode=mode)
            for lang, (cs, cc) in sums.items()
        }
    total_sums = sum(cs[n - 1] for cs, _ in sums.values())
    total_counts = sum(cc[n - 1] for _, cc in sums.values())
    return fuse_vectors(passages, total_sums, total_counts, alpha, mode=mode)


def fuse_predictions(
    passages: np.ndarray, predictions: Mapping[str, np.ndarray], alpha: float, per_language: bool
) -> Representation:
    """The passages fused (mean mode) with one predicted query embedding per language
    (:class:`~xqg.fuse.predictor.QueryEmbeddingPredictor`).

    Example:
        >>> fuse_predictions(np.zeros((1, 2)), {"de": np.ones((1, 2))}, 0.5, per_language=False).tolist()
        [[0.5, 0.5]]
    """
    if per_language:
        ones = np.ones(len(passages))
        return {lang: fuse_vectors(passages, v, ones, alpha, mode="mean") for lang, v in predictions.items()}
    total = np.sum(list(predictions.values()), axis=0)
    return fuse_vectors(passages, total, np.full(len(passages), len(predictions)), alpha, mode="mean")


def score_representation(
    query_vectors: np.ndarray, query_langs: Sequence[str], rep: Representation, plain: np.ndarray
) -> np.ndarray:
    """Inner products of query vectors with a representation; with one matrix per language each query
    meets its own language's (a language without one, e.g. one the generator does not write, meets
    the plain passage vectors ``plain``).

    Example:
        >>> rep = {"de": np.array([[2.0, 0.0]])}
        >>> score_representation(np.eye(2), ["de", "ru"], rep, np.array([[1.0, 1.0]])).tolist()
        [[2.0], [1.0]]
    """
    if isinstance(rep, np.ndarray):
        return query_vectors @ rep.T
    scores = np.empty((len(query_langs), plain.shape[0]), dtype=np.float32)
    for lang in sorted(set(query_langs)):
        rows = [i for i, q_lang in enumerate(query_langs) if q_lang == lang]
        scores[rows] = query_vectors[rows] @ rep.get(lang, plain).T
    return scores
