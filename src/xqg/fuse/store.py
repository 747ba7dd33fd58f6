"""Read a fusion output back and write fused vectors for search.

:func:`load_fusion_store` reads the shards written by :class:`~xqg.fuse.task.FuseShardTask`
(verifying each against its manifest) and aligns passage vectors, sums and counts by the ids of each
shard. :class:`RefuseShardTask` turns it, shard by shard, into fused vectors in the ordinary vector
layout (``vectors.npy`` + ``ids.txt``) that :func:`xqg.index.search` and
:func:`xqg.distributed.load_vectors` read, so trying another α costs one pass over the stored arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from xqg.distributed.manifest import read_job_plan
from xqg.distributed.plan import ShardSpec
from xqg.distributed.reader import iter_finished_shards
from xqg.distributed.task import TaskSpec
from xqg.distributed.vectors import IDS_FILE, VectorPartWriter, read_ids
from xqg.errors import ConfigError, InputError
from xqg.fuse.fusion import FusionStore, check_equal_counts, fuse_vectors
from xqg.fuse.task import QCOUNT_FILE, QSUM_NAME


def _shard_arrays(
    shard_path: Path, manifest_files: dict[str, Any]
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    ids = read_ids(shard_path / IDS_FILE)
    vectors = np.load(shard_path / "vectors.npy", allow_pickle=False)
    sums = np.load(shard_path / f"{QSUM_NAME}.npy", allow_pickle=False)
    counts = np.load(shard_path / QCOUNT_FILE, allow_pickle=False)
    if not (len(ids) == vectors.shape[0] == sums.shape[0] == counts.shape[0]):
        raise InputError(
            f"misaligned fusion shard: {len(ids)} ids, {vectors.shape[0]} vectors, {sums.shape[0]} sums, "
            f"{counts.shape[0]} counts",
            path=shard_path,
        )
    return ids, vectors, sums, counts


def load_fusion_store(out_dir: str | Path, verify: str = "sha256") -> FusionStore:
    """All shards of a fusion output as one :class:`FusionStore` (docid order).

    Args:
        out_dir: folder written by ``xqg fuse`` / ``run_sharded(FuseShardTask(...))``.
        verify: ``"sha256"``, ``"size"`` or ``"none"`` (see :func:`xqg.distributed.iter_finished_shards`).

    Raises:
        InputError: the folder is not a fusion output, or a shard's arrays disagree in length.
    """
    plan = read_job_plan(out_dir)
    if plan.task != "fuse":
        raise InputError(f"not a fusion output (task {plan.task!r})", path=out_dir)
    ids: list[str] = []
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for shard in iter_finished_shards(out_dir, verify=verify):
        s_ids, vec, sums, counts = _shard_arrays(shard.path, shard.manifest["files"])
        ids.extend(s_ids)
        parts.append((vec, sums, counts))
    if not parts:
        raise InputError("fusion output has no shards", path=out_dir)
    return FusionStore(
        ids,
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def count_range(out_dir: str | Path) -> tuple[int, int]:
    """(min, max) number of queries per passage over a whole fusion output (reads only the counts)."""
    lo, hi = None, None
    for shard in iter_finished_shards(out_dir, verify="size"):
        counts = np.load(shard.path / QCOUNT_FILE, allow_pickle=False)
        if counts.size:
            lo = int(counts.min()) if lo is None else min(lo, int(counts.min()))
            hi = int(counts.max()) if hi is None else max(hi, int(counts.max()))
    if lo is None or hi is None:
        raise InputError("fusion output has no passages", path=out_dir)
    return lo, hi


class RefuseShardTask:
    """Fused vectors ``(1 − α) E(p) + α Σ E(q)`` (or the mean) from a stored fusion output, per shard.

    Run it with the same ``num_rows`` and ``shard_size`` as the fusion output (see :func:`refuse`);
    shard ``i`` reads the fusion shard ``i`` only.

    Args:
        store_dir: the fusion output.
        alpha: weight of the query term.
        mode: ``"sum"`` or ``"mean"``.
        allow_unequal_counts: see :func:`xqg.fuse.fusion.fuse_vectors`.
    """

    name = "fused-vectors"

    def __init__(
        self,
        store_dir: str | Path,
        alpha: float = 0.01,
        mode: str = "sum",
        allow_unequal_counts: bool = False,
    ) -> None:
        self.store_dir = Path(store_dir)
        self.alpha = float(alpha)
        self.mode = mode
        self.allow_unequal_counts = allow_unequal_counts
        plan = read_job_plan(self.store_dir)
        if plan.task != "fuse":
            raise InputError(f"not a fusion output (task {plan.task!r})", path=self.store_dir)
        self._plan = plan

    def fingerprint(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "store": str(self.store_dir),
            "store_fingerprint": self._plan.fingerprint,
            "alpha": self.alpha,
            "mode": self.mode,
        }

    def to_spec(self) -> TaskSpec:
        return TaskSpec(
            f"{__name__}:RefuseShardTask",
            {
                "store_dir": str(self.store_dir),
                "alpha": self.alpha,
                "mode": self.mode,
                "allow_unequal_counts": self.allow_unequal_counts,
            },
        )

    def run(self, shard: ShardSpec, workdir: Path) -> dict[str, Any]:
        source = self.store_dir / shard.dirname
        matching = [s for s in self._plan.shards if s.index == shard.index]
        if not matching or (matching[0].start, matching[0].stop) != (shard.start, shard.stop):
            raise ConfigError(
                f"shard {shard.index} (rows {shard.start}-{shard.stop}) does not match the fusion output's "
                "plan: re-fuse with the same shard size as the fusion run"
            )
        ids, vectors, sums, counts = _shard_arrays(source, {})
        # The equal-count check is global and done by refuse(); per shard it would miss differences.
        fused = fuse_vectors(vectors, sums, counts, self.alpha, self.mode, allow_unequal_counts=True)
        with VectorPartWriter(workdir, len(ids), fused.shape[1]) as writer:
            writer.write(fused, ids=ids)
        return writer.close() | {"alpha": self.alpha, "mode": self.mode}


def refuse(
    store_dir: str | Path,
    out_dir: str | Path,
    alpha: float = 0.01,
    mode: str = "sum",
    allow_unequal_counts: bool = False,
    show_progress: bool = False,
) -> list[Path]:
    """Write fused vectors for a whole fusion output into ``out_dir`` (sharded like the input).

    Checks first, over all shards, that every passage has the same number of queries when
    ``mode="sum"`` (see :func:`xqg.fuse.fusion.check_equal_counts`).

    Example:
        >>> import numpy as np, tempfile
        >>> from xqg.data.records import Passage
        >>> from xqg.distributed import run_sharded, load_vectors
        >>> from xqg.fuse.query_sources import FixedQuerySource
        >>> from xqg.fuse.task import FuseShardTask
        >>> class Enc:
        ...     def encode_passages(self, ps, batch_size=64, show_progress=False):
        ...         return np.ones((len(ps), 2), np.float32)
        ...     def encode_queries(self, ts, batch_size=64, show_progress=False):
        ...         return np.ones((len(ts), 2), np.float32)
        >>> ps = [Passage(f"d{i}", "x") for i in range(3)]
        >>> task = FuseShardTask(ps, FixedQuerySource({p.id: ["q"] for p in ps}), Enc(), "toy")
        >>> store, out = tempfile.mkdtemp(), tempfile.mkdtemp()
        >>> _ = run_sharded(task, 3, store, shard_size=2, show_progress=False)
        >>> _ = refuse(store, out, alpha=0.5)
        >>> load_vectors(out)[1].tolist()
        [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    """
    from xqg.distributed import run_sharded

    plan = read_job_plan(store_dir)
    if mode == "sum" and not allow_unequal_counts:
        lo, hi = count_range(store_dir)
        if lo != hi:
            check_equal_counts(np.array([lo, hi]))
    task = RefuseShardTask(store_dir, alpha, mode, allow_unequal_counts)
    return run_sharded(task, plan.num_rows, out_dir, shard_size=plan.shard_size, show_progress=show_progress)
