"""Deterministic tasks for testing the shard machinery without a model.

:class:`NumpyVectorTask` writes pseudo-random vectors that depend only on ``(seed, row)``, batch by
batch through :class:`~xqg.distributed.vectors.VectorPartWriter`, optionally slowly (so that a test can
kill it mid-shard) or dying once on purpose (so that a test can watch a Ray worker being restarted).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from xqg.distributed.plan import ShardSpec
from xqg.distributed.task import TaskSpec
from xqg.distributed.vectors import VectorPartWriter
from xqg.seeding import derive_seed


class NumpyVectorTask:
    """Row ``r`` becomes id ``doc-r`` and a vector drawn from ``derive_seed(seed, r)``.

    Args:
        dim: vector dimension.
        seed: base seed.
        batch_size: rows per batch (the writer streams batch by batch).
        delay: seconds to sleep after each batch (to make a shard slow enough to be killed).
        dtype: vector dtype.
        crash_marker: if set, the first worker to reach ``crash_shard`` creates this file and dies
            (``os._exit``) halfway through the shard; later attempts find the file and finish.
        crash_shard: the shard index that crashes once.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> NumpyVectorTask(dim=3).run(ShardSpec(0, 0, 5), d)
        {'rows': 5, 'dim': 3, 'dtype': 'float32'}
    """

    name = "numpy-vectors"

    def __init__(
        self,
        dim: int = 8,
        seed: int = 0,
        batch_size: int = 4,
        delay: float = 0.0,
        dtype: str = "float32",
        crash_marker: str | None = None,
        crash_shard: int = 0,
    ) -> None:
        self.dim = dim
        self.seed = seed
        self.batch_size = batch_size
        self.delay = delay
        self.dtype = dtype
        self.crash_marker = crash_marker
        self.crash_shard = crash_shard

    def fingerprint(self) -> dict[str, Any]:
        # delay, batch size and the crash switch do not change the output.
        return {"task": self.name, "dim": self.dim, "seed": self.seed, "dtype": self.dtype}

    def to_spec(self) -> TaskSpec:
        return TaskSpec(
            f"{__name__}:NumpyVectorTask",
            {
                "dim": self.dim,
                "seed": self.seed,
                "batch_size": self.batch_size,
                "delay": self.delay,
                "dtype": self.dtype,
                "crash_marker": self.crash_marker,
                "crash_shard": self.crash_shard,
            },
        )

    def vectors(self, start: int, stop: int) -> np.ndarray:
        """The vectors of rows ``[start, stop)`` (what the task writes)."""
        return (
            np.stack(
                [
                    np.random.default_rng(derive_seed(self.seed, row)).standard_normal(self.dim)
                    for row in range(start, stop)
                ]
            ).astype(self.dtype)
            if stop > start
            else np.zeros((0, self.dim), dtype=self.dtype)
        )

    def run(self, shard: ShardSpec, workdir: Path) -> dict[str, Any]:
        crash_at = None
        if self.crash_marker is not None and shard.index == self.crash_shard:
            marker = Path(self.crash_marker)
            if not marker.exists():
                marker.write_text(f"{os.getpid()}\n")
                crash_at = shard.start + len(shard) // 2
        with VectorPartWriter(workdir, len(shard), self.dim, dtype=self.dtype) as writer:
            for start in range(shard.start, shard.stop, self.batch_size):
                stop = min(start + self.batch_size, shard.stop)
                writer.write(self.vectors(start, stop), ids=[f"doc-{row}" for row in range(start, stop)])
                if self.delay:
                    time.sleep(self.delay)
                if crash_at is not None and stop >= crash_at:
                    os._exit(17)  # a worker killed mid-shard: no clean-up, no exception
        return writer.close()
