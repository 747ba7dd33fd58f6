"""Read a sharded output folder back: finished shards in plan (= docid) order, manifests verified.

Search and fusion stream shard by shard, so memory is bounded by one shard.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xqg.distributed.manifest import (
    CorruptShardError,
    IncompleteOutputError,
    ShardState,
    read_job_plan,
    shard_state,
)
from xqg.distributed.plan import ShardSpec
from xqg.distributed.vectors import IDS_FILE, IdColumn, read_ids


@dataclass(frozen=True)
class FinishedShard:
    """A finished, verified shard folder.

    Attributes:
        spec: its row range.
        path: the folder.
        manifest: its ``manifest.json`` (``extras`` holds what the task reported).
    """

    spec: ShardSpec
    path: Path
    manifest: dict[str, Any]

    def part(self, name: str) -> Path:
        """Path of one part file listed in the manifest (``KeyError`` naming the shard if absent)."""
        if name not in self.manifest["files"]:
            raise KeyError(f"{self.path} has no part file {name!r} (has: {sorted(self.manifest['files'])})")
        return self.path / name


def iter_finished_shards(
    out_dir: str | Path, verify: str = "remembered", allow_missing: bool = False
) -> Iterator[FinishedShard]:
    """Yield every finished shard of ``out_dir`` in plan order, checking each against its manifest.

    Args:
        out_dir: a folder written by :func:`xqg.distributed.run_sharded`.
        verify: ``"remembered"`` (default: a part file is hashed against its manifest once, and again
            only when it changed: :mod:`xqg.distributed.verified`), ``"sha256"`` (hash every file
            now), ``"size"`` (sizes only) or ``"none"``.
        allow_missing: skip unfinished shards instead of raising (e.g. to peek at a running job).

    Raises:
        IncompleteOutputError: a shard of the plan is not finished (names it).
        CorruptShardError: a file does not match its manifest (names the file).

    Example:
        >>> import tempfile
        >>> from xqg.distributed import run_sharded
        >>> from xqg.distributed.testing import NumpyVectorTask
        >>> out = tempfile.mkdtemp()
        >>> _ = run_sharded(NumpyVectorTask(dim=4), 10, out, shard_size=4, show_progress=False)
        >>> [s.spec.stop for s in iter_finished_shards(out)]
        [4, 8, 10]
    """
    plan = read_job_plan(out_dir)
    for shard in plan.shards:
        path = Path(out_dir) / shard.dirname
        state, manifest = shard_state(path, shard, plan.task, plan.fingerprint, verify=verify)
        if state is not ShardState.DONE:
            if allow_missing:
                continue
            raise IncompleteOutputError(
                f"shard {shard.index} (rows {shard.start}-{shard.stop}) is {state.value}; finish the job first "
                "(re-run the same command, or the missing --shard-index)",
                path=path,
            )
        assert manifest is not None
        yield FinishedShard(shard, path, manifest)


def iter_shards(
    out_dir: str | Path,
    name: str = "vectors",
    mmap: bool = False,
    verify: str = "remembered",
    lazy_ids: bool = False,
) -> Iterator[tuple[Any, np.ndarray]]:
    """Yield ``(ids, vectors)`` per shard, in docid order, from a vector task's output.

    Args:
        out_dir: the sharded output folder.
        name: which array (``{name}.npy``): ``"vectors"``, or another array a task wrote (``"qsum"``).
        mmap: memory-map the arrays (read-only) instead of loading them.
        verify: see :func:`iter_finished_shards`.
        lazy_ids: yield each shard's ids as an :class:`~xqg.distributed.vectors.IdColumn` (bytes, ids
            decoded when asked for: a search needs only its candidates') instead of a list.

    Example:
        >>> import tempfile
        >>> from xqg.distributed import run_sharded
        >>> from xqg.distributed.testing import NumpyVectorTask
        >>> out = tempfile.mkdtemp()
        >>> _ = run_sharded(NumpyVectorTask(dim=4), 10, out, shard_size=4, show_progress=False)
        >>> [(ids[0], v.shape) for ids, v in iter_shards(out)]
        [('doc-0', (4, 4)), ('doc-4', (4, 4)), ('doc-8', (2, 4))]
    """
    for shard in iter_finished_shards(out_dir, verify=verify):
        ids = IdColumn(shard.part(IDS_FILE)) if lazy_ids else read_ids(shard.part(IDS_FILE))
        array_path = shard.part(f"{name}.npy")
        vectors = np.load(array_path, mmap_mode="r" if mmap else None, allow_pickle=False)
        if vectors.shape[0] != len(ids):
            raise CorruptShardError(
                f"{vectors.shape[0]} rows but {len(ids)} ids in {IDS_FILE}", path=array_path
            )
        yield ids, vectors


def load_vectors(
    out_dir: str | Path, name: str = "vectors", verify: str = "remembered"
) -> tuple[list[str], np.ndarray]:
    """All shards' ids and vectors concatenated in docid order (for corpora that fit in memory).

    Example:
        >>> import tempfile
        >>> from xqg.distributed import run_sharded
        >>> from xqg.distributed.testing import NumpyVectorTask
        >>> out = tempfile.mkdtemp()
        >>> _ = run_sharded(NumpyVectorTask(dim=4), 10, out, shard_size=4, show_progress=False)
        >>> ids, vectors = load_vectors(out)
        >>> len(ids), vectors.shape
        (10, (10, 4))
    """
    all_ids: list[str] = []
    parts: list[np.ndarray] = []
    for ids, vectors in iter_shards(out_dir, name=name, verify=verify):
        all_ids.extend(ids)
        parts.append(vectors)
    if not parts:
        return [], np.zeros((0, 0), dtype=np.float32)
    return all_ids, np.concatenate(parts, axis=0)
