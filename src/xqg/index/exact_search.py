"""Exact inner-product top-k search over sharded vector folders, one shard in memory at a time.

Each shard of an ``xqg encode`` output (``vectors.npy`` + ``ids.txt``; float32 shards memory-mapped,
not copied) is scanned by FAISS's exhaustive inner-product search (``faiss.knn``, the computation of
``IndexFlatIP``; or, with ``device="cuda"``, a torch matrix product on the GPU), and each query's
candidates are merged into a running top-k. Memory is bounded by the largest shard plus
``queries × k`` candidates. Rankings are deterministic: equal scores are ordered by doc id, and each
shard contributes ``k + tie_margin`` candidates so that ties at the cut-off are resolved the same way
however the corpus is sharded.

The product's precision (``precision``): ``float32`` (FAISS on the CPU, a torch product on a GPU), or
``bfloat16``/``float16``, where the reduced-precision product only shortlists documents and their scores
are recomputed in float32 (:mod:`xqg.index.bounded_shortlist`): a document is re-scored when its rounded
score, widened by a proven bound of the rounding error, could still reach the running ``k``-th exact
score (carried from shard to shard), so the run and its scores are the float32 search's whatever the
data. ``auto`` (the default) takes bfloat16 on a CPU with ``avx512_bf16``/AMX for a batch of at least
:data:`SHORTLIST_MIN_QUERIES` queries, where the cheaper product outweighs converting each shard
(docs/performance.md), and float32 otherwise.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from xqg.data.records import Run
from xqg.data.trec import write_run
from xqg.distributed import iter_shards
from xqg.distributed.manifest import read_job_plan
from xqg.distributed.vectors import IDS_FILE
from xqg.distributed.verified import check_remembered, check_stamps, remember_check
from xqg.errors import ConfigError, InputError
from xqg.index.bounded_shortlist import shortlist_topk
from xqg.index.ranking import merge_candidates


def _shard_topk_faiss(queries: np.ndarray, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """FAISS's exhaustive inner-product scan (the computation of ``IndexFlatIP.search``) straight over
    the shard's array, which may be memory-mapped: no copy into an index (measured: 1.2 s -> 0.05 s
    CPU for one query over 1M x 384 float32, docs/performance.md)."""
    import faiss

    return faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)


SEARCH_PRECISIONS = ("auto", "float32", "float16", "bfloat16")
#: the smallest batch for which ``auto`` takes the bfloat16 shortlist on a CPU (below it FAISS's
#: float32 scan is cheaper than converting the shards; benchmarks/bench_search_precision.py)
SHORTLIST_MIN_QUERIES = 16
#: the name of the remembered check that no doc id occurs in two shards (xqg.distributed.verified)
UNIQUE_IDS_CHECK = "search: doc ids unique across shards"


def resolve_search_precision(precision: str, device: str, num_queries: int) -> str:
    """The product precision a search runs: ``auto`` resolved (see the module docstring).

    Args:
        precision: ``"auto"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
        device: ``"cpu"`` or a torch device.
        num_queries: queries in the batch.

    Example:
        >>> resolve_search_precision("auto", "cpu", 1)
        'float32'
        >>> resolve_search_precision("bfloat16", "cuda", 1)
        'bfloat16'
    """
    if precision not in SEARCH_PRECISIONS:
        raise ConfigError(
            f"search precision must be one of {', '.join(SEARCH_PRECISIONS)}, not {precision!r}"
        )
    if precision != "auto":
        return precision
    if device == "cpu" and num_queries >= SHORTLIST_MIN_QUERIES:
        from xqg.precision import cpu_has_bf16  # only for a batch that may use it

        return "bfloat16" if cpu_has_bf16() else "float32"
    return "float32"


def _shard_topk_torch(
    queries: np.ndarray, vectors: np.ndarray, k: int, device: str, query_batch: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` by a float32 torch matrix product on ``device`` (the GPU path)."""
    import torch

    with (
        warnings.catch_warnings()
    ):  # a memory-mapped shard is read-only; it is only read (copied to the device)
        warnings.simplefilter("ignore", UserWarning)
        docs = torch.from_numpy(vectors).to(device=device, dtype=torch.float32)
    scores_out = np.empty((queries.shape[0], k), dtype=np.float32)
    index_out = np.empty((queries.shape[0], k), dtype=np.int64)
    for start in range(0, queries.shape[0], query_batch):
        q = torch.from_numpy(queries[start : start + query_batch]).to(device=device)
        scores, indices = torch.topk(q @ docs.T, k, dim=1)
        scores_out[start : start + len(q)] = scores.cpu().numpy()
        index_out[start : start + len(q)] = indices.cpu().numpy()
    return scores_out, index_out


def shard_topk(
    queries: np.ndarray,
    vectors: np.ndarray,
    k: int,
    precision: str,
    device: str,
    floor: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The exact top-``k`` rows of one shard for every query, by the path ``precision`` names.

    ``float32``: FAISS's flat inner product on the CPU, a float32 torch product on a GPU. ``bfloat16``
    / ``float16``: a low-precision shortlist within a proven rounding bound, re-scored in float32
    (:func:`xqg.index.bounded_shortlist.shortlist_topk`), which may also skip rows below ``floor``.

    Args:
        queries: (q, d) float32 query vectors.
        vectors: (n, d) shard vectors (float32, or a memory map of them).
        k: rows to keep per query (at most n).
        precision: a concrete search precision (:func:`resolve_search_precision`).
        device: ``"cpu"`` or a CUDA device.
        floor: per query, a score the kept rows must reach (the shortlist paths only; ignored by
            float32, whose callers merge anyway).

    Returns:
        ``(scores, rows)``, each (q, k); a row of ``-1`` (score ``-inf``) where fewer than ``k`` rows
        reach ``floor``.

    Example:
        >>> v = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=np.float32)
        >>> shard_topk(v[:1], v, 2, "float32", "cpu")[1].tolist()
        [[0, 1]]
    """
    if precision != "float32":
        return shortlist_topk(queries, vectors, k, precision, device, floor=floor)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if device == "cpu":
        return _shard_topk_faiss(queries, vectors, k)
    return _shard_topk_torch(queries, vectors, k, device)


def _check_unique_ids(seen: set[str], ids: list[str], folder: Path) -> None:
    """Add a shard's ids to ``seen``, refusing one already there (a doc id in two shards)."""
    duplicates = seen.intersection(ids)
    if duplicates:
        raise InputError(f"doc id {sorted(duplicates)[0]!r} occurs in more than one shard", path=folder)
    seen.update(ids)


def _ids_files(dirs: list[Path]) -> list[Path]:
    """Every shard's ids file of the folders' plans, in search order."""
    return [folder / shard.dirname / IDS_FILE for folder in dirs for shard in read_job_plan(folder).shards]


def _as_dirs(shard_dir_or_dirs: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(shard_dir_or_dirs, str | Path):
        return [Path(shard_dir_or_dirs)]
    return [Path(p) for p in shard_dir_or_dirs]


def search(
    query_vectors: np.ndarray,
    query_ids: Sequence[str],
    shard_dir_or_dirs: str | Path | Iterable[str | Path],
    k: int = 100,
    device: str = "cpu",
    tie_margin: int = 8,
    show_progress: bool = False,
    precision: str = "auto",
    verify: str = "remembered",
) -> Run:
    """Exact inner-product top-``k`` of every query over one or more sharded vector folders.

    Args:
        query_vectors: ``(num_queries, dim)`` array (cast to float32).
        query_ids: one id per row of ``query_vectors``.
        shard_dir_or_dirs: ``xqg encode`` output folder(s); all shards of all folders are searched.
        k: documents kept per query.
        device: ``"cpu"`` (FAISS ``IndexFlatIP``) or a torch device such as ``"cuda"`` (matrix product).
        tie_margin: extra candidates taken per shard so that ties at rank ``k`` are broken by doc id.
        show_progress: tqdm bar over shards.
        precision: the product, ``"auto"`` (default), ``"float32"``, ``"bfloat16"`` or ``"float16"``
            (a bounded shortlist re-scored in float32: the same run; see the module docstring).
        verify: how each shard is checked against its manifest (:func:`xqg.distributed.iter_finished_shards`):
            ``"remembered"`` (default: hashed once, then trusted while unchanged), ``"sha256"``,
            ``"size"`` or ``"none"``.

    Returns:
        ``{query_id: {doc_id: score}}`` with at most ``k`` documents per query.

    Raises:
        InputError: dimension mismatch, duplicate doc id across shards, or a bad shard folder.

    Example:
        >>> import tempfile, numpy as np
        >>> from xqg.distributed import run_sharded
        >>> from xqg.distributed.testing import NumpyVectorTask
        >>> out = tempfile.mkdtemp()
        >>> _ = run_sharded(NumpyVectorTask(dim=4), 10, out, shard_size=3, show_progress=False)
        >>> from xqg.distributed import load_vectors
        >>> ids, vecs = load_vectors(out)
        >>> run = search(vecs[:2], ["q0", "q1"], out, k=1)
        >>> list(run["q0"])
        ['doc-0']
    """
    from tqdm.auto import tqdm

    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    queries = np.ascontiguousarray(np.asarray(query_vectors, dtype=np.float32))
    precision = resolve_search_precision(precision, device, queries.shape[0])
    if queries.ndim != 2 or queries.shape[0] != len(query_ids):
        raise InputError(f"{len(query_ids)} query ids for query vectors of shape {queries.shape}")
    num_queries = queries.shape[0]
    keep = k + max(0, tie_margin)
    # running candidates: scores (num_queries, <= keep) and matching doc ids (object array)
    best_scores = np.empty((num_queries, 0), dtype=np.float32)
    best_ids = np.empty((num_queries, 0), dtype=object)
    seen_ids: set[str] = set()
    dirs = _as_dirs(shard_dir_or_dirs)
    # that no doc id occurs in two shards is checked once and remembered with the ids files' stamps,
    # like the checksums (a change to any ids file, another set of folders or --verify checks again)
    id_files = _ids_files(dirs)
    stamps = check_stamps(UNIQUE_IDS_CHECK, id_files) if verify in ("remembered", "sha256") else None
    check_ids = not (verify == "remembered" and check_remembered(UNIQUE_IDS_CHECK, id_files))
    for folder in dirs:
        # float32 shards are memory-mapped on the CPU path: scanned in place from the page cache; ids
        # are decoded only for the candidates (and all of them while the unique-id check runs)
        shards = iter_shards(folder, verify=verify, mmap=device == "cpu", lazy_ids=True)
        for ids, vectors in tqdm(shards, desc="search", unit="shard", disable=not show_progress):
            if len(ids) == 0:
                continue
            if vectors.shape[1] != queries.shape[1]:
                raise InputError(
                    f"shard vectors have dimension {vectors.shape[1]}, queries {queries.shape[1]}",
                    path=folder,
                )
            if check_ids:
                _check_unique_ids(seen_ids, ids.all(), folder)
            take = min(keep, len(ids))
            # the running keep-th exact score of the shards before: rows below it are not needed
            floor = best_scores[:, keep - 1].astype(np.float64) if best_scores.shape[1] >= keep else None
            scores, indices = shard_topk(queries, vectors, take, precision, device, floor=floor)
            found = ids.take(np.maximum(indices, 0))
            found[indices < 0] = ""  # fewer rows than take reached the floor: empty slots, score -inf
            best_scores = np.concatenate([best_scores, scores.astype(np.float32)], axis=1)
            best_ids = np.concatenate([best_ids, found], axis=1)
            if best_scores.shape[1] > keep:
                best_scores, best_ids = merge_candidates(best_scores, best_ids, keep)
    if check_ids and stamps is not None:
        remember_check(UNIQUE_IDS_CHECK, id_files, stamps)
    top_scores, top_ids = merge_candidates(best_scores, best_ids, k)
    run: Run = {}
    for row, qid in enumerate(query_ids):
        run[qid] = {
            docid: float(score)
            for score, docid in zip(top_scores[row].tolist(), top_ids[row].tolist(), strict=True)
            if docid != ""
        }
    return run


def search_by_language(
    query_vectors: np.ndarray,
    query_ids: Sequence[str],
    query_langs: Sequence[str],
    indexes: Mapping[str, str | Path],
    k: int = 100,
    device: str = "cpu",
    precision: str = "auto",
    fallback: str | Path | None = None,
    verify: str = "remembered",
) -> Run:
    """:func:`search` with one index per query language (``xqg fuse --per-language``): each query is
    searched in its own language's folder, one run for all.

    Args:
        query_vectors, query_ids, k, device, precision, verify: as for :func:`search`.
        query_langs: the language of each query.
        indexes: ``{lang: vector folder}``.
        fallback: the folder for queries of a language without an index of its own (e.g. the plain
            passage vectors); ``None`` makes such a language an error.

    Raises:
        InputError: a query language with no index and no fallback.

    Example:
        >>> run = search_by_language(q, ids, langs, {"de": "fused/de", "ru": "fused/ru"})  # doctest: +SKIP
    """
    if len(query_langs) != len(query_ids):
        raise InputError(f"{len(query_langs)} languages for {len(query_ids)} queries")
    vectors = np.asarray(query_vectors, dtype=np.float32)
    rows_by_lang: dict[str, list[int]] = {}
    for row, lang in enumerate(query_langs):
        rows_by_lang.setdefault(lang, []).append(row)
    run: Run = {}
    for lang, rows in sorted(rows_by_lang.items()):
        folder = indexes.get(lang, fallback)
        if folder is None:
            raise InputError(
                f"no fused index for {lang!r} queries (indexes for: {', '.join(sorted(indexes)) or 'none'})"
            )
        ids = [query_ids[r] for r in rows]
        run.update(search(vectors[rows], ids, folder, k=k, device=device, precision=precision, verify=verify))
    return run


def search_to_trec(
    query_vectors: np.ndarray,
    query_ids: Sequence[str],
    shard_dir_or_dirs: str | Path | Iterable[str | Path],
    output: str | Path,
    k: int = 100,
    tag: str = "xqg",
    device: str = "cpu",
    precision: str = "auto",
) -> Run:
    """:func:`search` and write the run as a TREC file (atomically); returns the run.

    Example:
        >>> search_to_trec(q, qids, "vectors/corpus", "runs/dev.trec", k=100)  # doctest: +SKIP
    """

    run = search(query_vectors, query_ids, shard_dir_or_dirs, k=k, device=device, precision=precision)
    write_run(output, run, tag=tag)
    return run
