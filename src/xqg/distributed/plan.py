"""The plan of a sharded job: which contiguous row range each shard covers.

A shard is the unit of work, of resume and of failure: one worker reads rows ``[start, stop)`` of
the input (passages or queries, in input order = docid order), writes its part files, and marks the
shard done. The plan depends only on ``(num_rows, shard_size)``, so every process of a job (Ray
workers, batch-scheduler array tasks, a resumed run) computes the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xqg.errors import ConfigError

SHARD_DIR_PREFIX = "shard-"


@dataclass(frozen=True, order=True)
class ShardSpec:
    """One shard of a plan: rows ``start`` (inclusive) to ``stop`` (exclusive), numbered ``index``.

    Args:
        index: position of the shard in the plan (0-based); names its folder ``shard-00000``.
        start: first input row of the shard.
        stop: one past the last input row.

    Example:
        >>> s = ShardSpec(1, 100, 150)
        >>> len(s), s.dirname
        (50, 'shard-00001')
    """

    index: int
    start: int
    stop: int

    def __post_init__(self) -> None:
        if self.index < 0 or self.start < 0 or self.stop < self.start:
            raise ConfigError(f"invalid shard {self.index}: rows [{self.start}, {self.stop})")

    def __len__(self) -> int:
        return self.stop - self.start

    @property
    def dirname(self) -> str:
        """The shard's folder name inside the job's output folder (``shard-00042``)."""
        return f"{SHARD_DIR_PREFIX}{self.index:05d}"

    def to_dict(self) -> dict[str, int]:
        """JSON form, as stored in manifests."""
        return {"index": self.index, "start": self.start, "stop": self.stop}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShardSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(int(data["index"]), int(data["start"]), int(data["stop"]))


def plan_shards(num_rows: int, shard_size: int) -> list[ShardSpec]:
    """Split ``num_rows`` input rows into contiguous shards of ``shard_size`` rows (the last may be shorter).

    Args:
        num_rows: number of input rows (passages, queries); 0 gives an empty plan.
        shard_size: rows per shard, at least 1.

    Returns:
        The shards in row order; together they cover every row exactly once.

    Example:
        >>> plan_shards(5, 2)
        [ShardSpec(index=0, start=0, stop=2), ShardSpec(index=1, start=2, stop=4), ShardSpec(index=2, start=4, stop=5)]
    """
    if num_rows < 0:
        raise ConfigError(f"num_rows must be >= 0, got {num_rows}")
    if shard_size < 1:
        raise ConfigError(f"shard_size must be >= 1, got {shard_size}")
    return [
        ShardSpec(index, start, min(start + shard_size, num_rows))
        for index, start in enumerate(range(0, num_rows, shard_size))
    ]


def select_shards(plan: list[ShardSpec], num_shards: int | None, shard_index: int | None) -> list[ShardSpec]:
    """The slice of ``plan`` that array task ``shard_index`` of ``num_shards`` runs (batch schedulers).

    Shard ``i`` of the plan belongs to slice ``i % num_shards``, so slices differ by at most one shard
    and every shard belongs to exactly one slice. With both arguments ``None`` the whole plan is
    returned.

    Args:
        plan: the full plan from :func:`plan_shards`.
        num_shards: number of array tasks of the job (``--num-shards``).
        shard_index: this task's 0-based index (``--shard-index``, e.g. ``$SLURM_ARRAY_TASK_ID``).

    Example:
        >>> [s.index for s in select_shards(plan_shards(10, 2), num_shards=2, shard_index=1)]
        [1, 3]
    """
    if num_shards is None and shard_index is None:
        return list(plan)
    if num_shards is None or shard_index is None:
        raise ConfigError("--num-shards and --shard-index must be given together")
    if num_shards < 1:
        raise ConfigError(f"--num-shards must be >= 1, got {num_shards}")
    if not 0 <= shard_index < num_shards:
        raise ConfigError(f"--shard-index must be in [0, {num_shards}), got {shard_index}")
    return [shard for shard in plan if shard.index % num_shards == shard_index]
