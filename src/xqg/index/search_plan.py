"""Which exact search path runs, and the memory budget it must fit. Both paths give the same run
(exact scores, ties by doc id).

* ``streaming`` — :func:`xqg.index.search`: shard after shard, float32 shards memory-mapped and
  scanned in place by FAISS's exhaustive inner-product scan (no copy of the vectors: they are read
  from the page cache, where they stay between searches when memory allows), each query's top-k
  merged. The process holds one shard's ids and the candidates, never the vectors.
* ``memory`` — every shard loaded into one float32 matrix held by
  :class:`~xqg.index.loaded_index.LoadedIndex` (read straight into place, or memory-mapped for a
  single float32 shard): the path for a process that searches the same index many times
  (``LoadedIndex`` in Python); it holds the whole index and every id.

``auto`` (the default of ``xqg search``) takes the fastest path that fits the budget. For one batch
of queries per process, which is what ``xqg search`` runs, that is ``streaming``: measured on
1M x 384 float32 vectors in 10 shards (docs/performance.md) it scans one query in 0.05 CPU-seconds
of FAISS (the memory-bandwidth bound is 0.06 s), where the in-memory path first copies the 1.5 GB
(0.3-4 s depending on memory pressure) and ranks every id, and 1,190 queries in ~10 CPU-s against
~13 CPU-s. ``memory`` is taken when only it fits (never, with the estimates below) or when asked for.

The budget (``xqg search --max-memory``) defaults to :data:`DEFAULT_MEMORY_FRACTION` of the memory
available when the search starts (``MemAvailable``); each path's peak is estimated from the
shards' manifests and array headers, without reading the vectors, and a path over the budget is
not taken (an error names both numbers when neither fits). Checksums are verified as
:func:`xqg.distributed.iter_finished_shards` says (``"remembered"`` by default: each part file is
hashed once and trusted while unchanged, :mod:`xqg.distributed.verified`).

Example:
    >>> import tempfile
    >>> from xqg.distributed import run_sharded, load_vectors
    >>> from xqg.distributed.testing import NumpyVectorTask
    >>> out = tempfile.mkdtemp()
    >>> _ = run_sharded(NumpyVectorTask(dim=4), 10, out, shard_size=3, show_progress=False)
    >>> ids, vecs = load_vectors(out)
    >>> run, plan = search_index(vecs[:1], ["q0"], out, k=1)
    >>> plan.path, list(run["q0"])
    ('streaming', ['doc-0'])
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from xqg.data.records import Run
from xqg.distributed import iter_finished_shards
from xqg.distributed.manifest import SHARD_MANIFEST, read_job_plan, read_json_object
from xqg.distributed.vectors import IDS_FILE, read_ids
from xqg.errors import ConfigError, InputError
from xqg.index.exact_search import resolve_search_precision, search

logger = logging.getLogger(__name__)

DEFAULT_MEMORY_FRACTION = 0.5
"""Share of the available memory the search may use when no ``--max-memory`` is given."""

ID_BYTES = 160
"""Memory per document id held in a list or array, beyond the id text (the Python string object,
its slot, the in-memory index's tie-break rank and the sort that builds it)."""

SEEN_ID_BYTES = 90
"""Memory per document id in the streaming search's set of ids seen (the duplicate-id check)."""

WORKSPACE_BYTES = 256 << 20
"""The search's own buffers (a query batch's scores against a block of documents, their selection)."""

PATHS = ("auto", "memory", "streaming")

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def available_memory() -> int:
    """Bytes of memory available to a new process now (``MemAvailable``; physical memory if unknown).

    Example:
        >>> available_memory() > 0
        True
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError):
        return 8 << 30


def parse_memory(spec: str | int | None) -> int:
    """A memory budget in bytes.

    Args:
        spec: ``None`` (the default: :data:`DEFAULT_MEMORY_FRACTION` of :func:`available_memory`),
            a share of the available memory (``"60%"``), a size with a binary unit (``"8G"``,
            ``"512MiB"``, ``"1.5g"``; K/M/G/T = 1024^1..4), or bytes (``4096``).

    Raises:
        ConfigError: anything else, or a budget of zero.

    Example:
        >>> parse_memory("1.5G") == 3 * 2**29
        True
        >>> parse_memory(4096)
        4096
    """
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return int(available_memory() * DEFAULT_MEMORY_FRACTION)
    if isinstance(spec, int):
        value = spec
    else:
        text = spec.strip().lower().replace(" ", "")
        if text.endswith("%"):
            try:
                share = float(text[:-1]) / 100
            except ValueError:
                share = -1.0
            if not 0 < share <= 1:
                raise ConfigError(f"memory share must be between 0% and 100%, not {spec!r}")
            return int(available_memory() * share)
        match = re.fullmatch(r"(\d+(?:\.\d+)?)([kmgt]?)(?:i?b)?", text)
        if not match:
            raise ConfigError(f"cannot read memory size {spec!r}; write e.g. 8G, 512M, 60% or a byte count")
        value = int(float(match.group(1)) * _UNITS[match.group(2)])
    if value <= 0:
        raise ConfigError(f"memory budget must be positive, got {spec!r}")
    return value


def _as_dirs(shard_dir_or_dirs: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(shard_dir_or_dirs, str | Path):
        return [Path(shard_dir_or_dirs)]
    return [Path(p) for p in shard_dir_or_dirs]


@dataclass(frozen=True)
class IndexShape:
    """What the memory estimate needs, read from manifests and array headers (no vectors read).

    Attributes:
        rows: documents in all folders.
        dim: vector dimension.
        largest_shard: rows of the largest shard.
        id_bytes: bytes of all id files (the id text).
        stored_bytes: bytes of all vector files as stored (float32 or float16).
        float32: whether the vectors are stored as float32 (then memory-mapped, not copied).
    """

    rows: int
    dim: int
    largest_shard: int
    id_bytes: int
    stored_bytes: int
    float32: bool = True


def index_shape(shard_dir_or_dirs: str | Path | Iterable[str | Path]) -> IndexShape:
    """Rows, dimension and sizes of one or more sharded vector folders, from their manifests.

    Raises:
        InputError: a folder that is not a sharded vector output, or shards of different dimensions.

    Example:
        >>> import tempfile
        >>> from xqg.distributed import run_sharded
        >>> from xqg.distributed.testing import NumpyVectorTask
        >>> out = tempfile.mkdtemp()
        >>> _ = run_sharded(NumpyVectorTask(dim=4), 10, out, shard_size=3, show_progress=False)
        >>> index_shape(out).rows, index_shape(out).dim, index_shape(out).largest_shard
        (10, 4, 3)
    """

    rows = largest = id_bytes = stored = 0
    dims: set[int] = set()
    dtypes: set[str] = set()
    for folder in _as_dirs(shard_dir_or_dirs):
        plan = read_job_plan(folder)
        header_read = False
        for shard in plan.shards:
            manifest_path = folder / shard.dirname / SHARD_MANIFEST
            if not manifest_path.exists():
                continue  # unfinished: the search itself names it
            files = read_json_object(manifest_path).get("files", {})
            rows += len(shard)
            largest = max(largest, len(shard))
            id_bytes += int(files.get("ids.txt", {}).get("bytes", 0))
            stored += int(files.get("vectors.npy", {}).get("bytes", 0))
            if len(shard) and not header_read:  # one array header per folder (a job has one dtype)
                header = np.load(folder / shard.dirname / "vectors.npy", mmap_mode="r")
                dims.add(int(header.shape[1]))
                dtypes.add(str(header.dtype))
                header_read = True
    if len(dims) > 1:
        raise InputError("shards have different dimensions", path=str(_as_dirs(shard_dir_or_dirs)[0]))
    return IndexShape(rows, dims.pop() if dims else 0, largest, id_bytes, stored, dtypes <= {"float32"})


def memory_needed(shape: IndexShape, num_queries: int, k: int, path: str) -> int:
    """Estimated peak memory (bytes) of searching ``num_queries`` queries for ``k`` documents each.

    ``memory``: all vectors as float32 (read into memory; a single float32 shard is mapped, but
    counted: it must stay resident), every id, the workspace. ``streaming``: a float32 copy of the
    largest shard only if the shards are not float32 (float32 shards are mapped, not copied), its
    ids, the set of every id seen (the duplicate check), each query's running candidates, the
    workspace. Both: the queries and the run they return.

    Example:
        >>> shape = IndexShape(rows=1_000_000, dim=384, largest_shard=100_000, id_bytes=8_000_000, stored_bytes=0)
        >>> memory_needed(shape, 1, 100, "memory") > memory_needed(shape, 1, 100, "streaming")
        True
    """
    run_bytes = num_queries * (shape.dim * 4 + k * 120)  # query vectors; the run dict's entries
    if path == "memory":
        text = shape.id_bytes
        return shape.rows * (shape.dim * 4 + ID_BYTES) + text + WORKSPACE_BYTES + run_bytes
    if path == "streaming":
        shard = 0 if shape.float32 else shape.largest_shard * shape.dim * 4
        share = shape.id_bytes * shape.largest_shard // max(shape.rows, 1)
        seen = shape.rows * SEEN_ID_BYTES + shape.id_bytes
        candidates = num_queries * (k + 8) * 2 * 2 * 12  # scores and ids, old and new side by side
        return (
            shard + shape.largest_shard * ID_BYTES + share + seen + candidates + WORKSPACE_BYTES + run_bytes
        )
    raise ConfigError(f"search path must be 'memory' or 'streaming', not {path!r}")


@dataclass(frozen=True)
class SearchPlan:
    """The path a search takes and why.

    Attributes:
        path: ``"memory"`` or ``"streaming"``.
        needed: estimated peak bytes of that path.
        budget: the memory budget in bytes.
        reason: in words.
        precision: the product's precision (:func:`xqg.index.exact_search.resolve_search_precision`):
            ``float32``, or a reduced precision whose shortlist is re-scored in float32.
    """

    path: str
    needed: int
    budget: int
    reason: str
    precision: str = "float32"

    def __str__(self) -> str:
        product = "" if self.precision == "float32" else f", {self.precision} shortlist re-scored in float32"
        return f"{self.path} ({self.reason}{product})"


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def plan_search(
    shard_dir_or_dirs: str | Path | Iterable[str | Path],
    num_queries: int,
    k: int = 100,
    max_memory: str | int | None = None,
    device: str = "cpu",
    path: str = "auto",
) -> SearchPlan:
    """Choose the search path: the fastest that fits ``max_memory`` (see the module docstring).

    Args:
        shard_dir_or_dirs: sharded vector folder(s).
        num_queries: queries in the batch.
        k: documents per query.
        max_memory: the budget (:func:`parse_memory`; default a share of the available memory).
        device: ``"cpu"``, or a GPU (``"cuda"``...: the streaming path, which moves shard by shard).
        path: ``"auto"`` (choose), or force ``"memory"``/``"streaming"``.

    Example:
        >>> import tempfile
        >>> from xqg.distributed import run_sharded
        >>> from xqg.distributed.testing import NumpyVectorTask
        >>> out = tempfile.mkdtemp()
        >>> _ = run_sharded(NumpyVectorTask(dim=4), 10, out, shard_size=3, show_progress=False)
        >>> plan_search(out, 1, k=1).path, plan_search(out, 1, k=1, path="memory").path
        ('streaming', 'memory')
    """
    if path not in PATHS:
        raise ConfigError(f"search path must be one of {', '.join(PATHS)}, not {path!r}")
    budget = parse_memory(max_memory)
    shape = index_shape(shard_dir_or_dirs)
    in_memory = memory_needed(shape, num_queries, k, "memory")
    streaming = memory_needed(shape, num_queries, k, "streaming")
    if device != "cpu":
        if path == "memory":
            raise ConfigError("the in-memory path runs on the CPU; a GPU search streams the shards")
        return SearchPlan("streaming", streaming, budget, f"{device}: shard by shard onto the GPU")
    if path != "auto":
        needed = in_memory if path == "memory" else streaming
        if needed > budget:
            logger.warning(
                "the %s path needs ~%s, over the %s budget (asked for)", path, _gib(needed), _gib(budget)
            )
        return SearchPlan(
            path, needed, budget, f"asked for; needs ~{_gib(needed)} of the {_gib(budget)} budget"
        )
    # streaming is the faster path for one batch (module docstring) and never needs more memory
    if streaming <= budget:
        return SearchPlan(
            "streaming", streaming, budget, f"fastest; needs ~{_gib(streaming)} of the {_gib(budget)} budget"
        )
    if in_memory <= budget:
        return SearchPlan(
            "memory", in_memory, budget, f"needs ~{_gib(in_memory)} of the {_gib(budget)} budget"
        )
    raise ConfigError(
        f"searching {shape.rows:,} vectors needs ~{_gib(streaming)} even one shard at a time, over the "
        f"memory budget of {_gib(budget)}: raise --max-memory, or split the index into smaller shards"
    )


def _read_into(path: Path, out: np.ndarray) -> None:
    """Read the ``.npy`` file ``path`` into the preallocated float32 rows ``out`` (one copy)."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(handle)
        if tuple(shape) != out.shape:
            raise InputError(f"array of shape {tuple(shape)} where {out.shape} was expected", path=path)
        if dtype == np.float32 and not fortran and out.flags.c_contiguous:
            view = memoryview(out).cast("B")
            read = 0
            while read < len(view):
                got = handle.readinto(view[read:])
                if not got:
                    raise InputError(f"file ends after {read} of {len(view)} bytes of vectors", path=path)
                read += got
            return
    out[:] = np.load(path, mmap_mode="r")  # float16 (or Fortran order): converted while copying


def load_index(
    shard_dir_or_dirs: str | Path | Iterable[str | Path],
    verify: str = "remembered",
    mmap: bool = False,
    **options: int,
):  # -> LoadedIndex
    """Every shard of one or more vector folders in one float32 matrix, verified, as a
    :class:`~xqg.index.loaded_index.LoadedIndex`.

    Unlike concatenating the shards, each is read straight into its rows (peak memory: the index,
    not twice it). With ``mmap`` an index of one float32 shard is memory-mapped instead (several
    shards would have to be concatenated into one matrix: they are read).

    Args:
        shard_dir_or_dirs: sharded vector folder(s).
        verify: see :func:`xqg.distributed.iter_finished_shards`.
        mmap: memory-map the shards (:meth:`LoadedIndex.open`) instead of reading them.
        **options: ``block_rows``, ``query_batch`` of :class:`LoadedIndex`.

    Example:
        >>> import tempfile
        >>> from xqg.distributed import run_sharded
        >>> from xqg.distributed.testing import NumpyVectorTask
        >>> out = tempfile.mkdtemp()
        >>> _ = run_sharded(NumpyVectorTask(dim=4), 10, out, shard_size=3, show_progress=False)
        >>> len(load_index(out))
        10
    """
    # faiss: imported when this runs, so that importing this module stays light
    from xqg.index.loaded_index import LoadedIndex

    dirs = _as_dirs(shard_dir_or_dirs)
    shards = [shard for folder in dirs for shard in iter_finished_shards(folder, verify=verify)]
    shape = index_shape(dirs)
    if mmap and len(shards) == 1 and shape.float32:
        return LoadedIndex.open(dirs, mmap=True, verify="none", **options)  # verified just above
    if not shards or shape.rows == 0:
        raise InputError("no vectors found", path=str(dirs[0]) if dirs else None)
    vectors = np.empty((shape.rows, shape.dim), dtype=np.float32)
    ids: list[str] = []
    for shard in shards:
        shard_ids = read_ids(shard.part(IDS_FILE))
        start = len(ids)
        _read_into(shard.part("vectors.npy"), vectors[start : start + len(shard_ids)])
        ids.extend(shard_ids)
    if len(ids) != shape.rows:
        raise InputError(f"{len(ids)} ids for {shape.rows} vectors", path=str(dirs[0]))
    return LoadedIndex(ids, vectors, **options)


def search_index(
    query_vectors: np.ndarray,
    query_ids: Sequence[str],
    shard_dir_or_dirs: str | Path | Iterable[str | Path],
    k: int = 100,
    max_memory: str | int | None = None,
    verify: str = "remembered",
    device: str = "cpu",
    precision: str = "auto",
    path: str = "auto",
    mmap: bool = False,
) -> tuple[Run, SearchPlan]:
    """Exact top-``k`` of every query over sharded vector folder(s), by the fastest path that fits.

    Args:
        query_vectors: ``(num_queries, dim)``.
        query_ids: one id per query.
        shard_dir_or_dirs: sharded vector folder(s).
        k: documents per query.
        max_memory: memory budget (:func:`parse_memory`).
        verify: checksum check of the shards (``"remembered"``, ``"sha256"``, ``"size"``, ``"none"``).
        device, precision: the streaming path's device and product precision (:func:`xqg.index.search`;
            the memory path is float32).
        path: ``"auto"``, ``"memory"`` or ``"streaming"`` (:func:`plan_search`).
        mmap: the memory path memory-maps float32 shards instead of reading them.

    Returns:
        ``(run, plan)``: the run ``{query_id: {doc_id: score}}`` and the :class:`SearchPlan` taken.

    Example:
        >>> run, plan = search_index(q, qids, "vectors/corpus", k=100, max_memory="8G")  # doctest: +SKIP
    """

    if precision not in ("auto", "float32") and (mmap or path == "memory"):
        raise ConfigError(f"the in-memory path is float32; a {precision} product streams the shards")
    queries = np.asarray(query_vectors, dtype=np.float32)
    plan = plan_search(shard_dir_or_dirs, len(query_ids), k, max_memory, device, "memory" if mmap else path)
    if plan.path == "streaming":
        plan = replace(plan, precision=resolve_search_precision(precision, device, len(query_ids)))
    elif precision not in ("auto", "float32"):  # only the in-memory path fits: it is float32
        logger.warning("the in-memory path (the only one that fits) is float32, not %s", precision)
    logger.info("search path: %s", plan)
    if plan.path == "memory":
        index = load_index(shard_dir_or_dirs, verify=verify, mmap=mmap)
        return index.search(queries, query_ids, k=k), plan
    run = search(
        queries, query_ids, shard_dir_or_dirs, k=k, device=device, precision=plan.precision, verify=verify
    )
    return run, plan
