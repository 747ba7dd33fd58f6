"""Deterministic tasks and chaos for testing the shard machinery without a model.

:class:`NumpyVectorTask` writes pseudo-random vectors that depend only on ``(seed, row)``, batch by
batch through :class:`~xqg.distributed.vectors.VectorPartWriter`, optionally slowly (so that a test can
kill it mid-shard) or dying once on purpose (so that a test can watch a Ray worker being restarted).
:class:`WorkerKiller` and :func:`soak_on_ray` kill Ray workers at random moments while a job runs
(the soak test of docs/reliability.md).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xqg.distributed.executors import run_sharded
from xqg.distributed.manifest import ShardWorkerError
from xqg.distributed.plan import ShardSpec
from xqg.distributed.ray_executor import RayExecutor
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


@dataclass
class Kill:
    """One worker killed by :class:`WorkerKiller`: when (seconds after start), which process."""

    seconds: float
    pid: int
    name: str


class WorkerKiller:
    """SIGKILL this process's Ray shard workers at random moments (a soak test's chaos monkey).

    A background thread waits a random interval in ``[min_interval, max_interval]`` seconds, then
    kills one process chosen at random among this process's descendants whose name starts with
    ``name_prefix`` (Ray names an actor's worker ``ray::ShardActor``, ``ray::ShardActor.run`` while it
    runs a shard), preferring those in the middle of a shard. It stops after ``max_kills`` kills,
    after ``max_seconds``, or at :meth:`stop`. Only descendants of this process are ever touched.

    Args:
        max_kills: at most this many kills.
        max_seconds: no kill after this many seconds.
        min_interval, max_interval: bounds of the random wait before each kill.
        seed: the random choices' seed (the moments still depend on the scheduler).
        name_prefix: process names that may be killed.
        only_running: kill only workers in the middle of a shard (after each wait, watch for one),
            not workers still starting (importing, loading a model).

    Example:
        >>> with WorkerKiller(max_kills=0) as killer:
        ...     pass
        >>> killer.kills
        []
    """

    def __init__(
        self,
        max_kills: int = 5,
        max_seconds: float = 60.0,
        min_interval: float = 0.5,
        max_interval: float = 2.0,
        seed: int = 0,
        name_prefix: str = "ray::ShardActor",
        only_running: bool = False,
    ) -> None:
        import random

        self.max_kills = max_kills
        self.max_seconds = max_seconds
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.name_prefix = name_prefix
        self.only_running = only_running
        self.kills: list[Kill] = []
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = 0.0

    def _candidates(self) -> list[Any]:
        import psutil

        found = []
        for child in psutil.Process(os.getpid()).children(recursive=True):
            try:
                if child.name().startswith(self.name_prefix) and child.status() != psutil.STATUS_ZOMBIE:
                    found.append(child)
            except psutil.Error:
                continue
        running = []
        for p in found:
            try:
                if p.name().endswith(".run"):
                    running.append(p)
            except psutil.Error:
                continue
        return running if self.only_running else running or found

    def _loop(self) -> None:
        import signal

        import psutil

        while len(self.kills) < self.max_kills:
            wait = self._random.uniform(self.min_interval, self.max_interval)
            if self._stop.wait(wait) or time.monotonic() - self._start > self.max_seconds:
                return
            candidates = self._candidates()
            while not candidates and self.only_running and not self._stop.wait(0.05):
                if time.monotonic() - self._start > self.max_seconds:
                    return
                candidates = self._candidates()
            if not candidates:
                continue
            victim = self._random.choice(sorted(candidates, key=lambda p: p.pid))
            try:
                name = victim.name()
                os.kill(victim.pid, signal.SIGKILL)
            except (OSError, psutil.Error):  # it exited meanwhile
                continue
            self.kills.append(Kill(round(time.monotonic() - self._start, 2), victim.pid, name))

    def start(self) -> WorkerKiller:
        """Start the killing thread."""
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="worker-killer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[Kill]:
        """Stop killing; returns the kills done."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.kills

    def __enter__(self) -> WorkerKiller:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


@dataclass
class SoakReport:
    """What a soak run did: kills, attempts (re-runs after a worker died too often), seconds."""

    kills: list[Kill] = field(default_factory=list)
    attempts: int = 0
    seconds: float = 0.0


def soak_on_ray(
    task: Any,
    num_rows: int,
    shard_size: int,
    out_dir: str | Path,
    *,
    max_kills: int = 5,
    max_seconds: float = 60.0,
    min_interval: float = 0.5,
    max_interval: float = 2.0,
    seed: int = 0,
    only_running: bool = False,
    num_workers: int = 2,
    max_restarts: int = 4,
    max_attempts: int = 6,
) -> SoakReport:
    """Run ``task`` on a Ray actor pool while :class:`WorkerKiller` kills its workers at random; re-run
    (resume) after a worker died more often than Ray restarts it, until the job is complete.

    Needs a Ray session (``ray.init`` first) and ``psutil`` (a Ray dependency). The output must then
    equal an in-process run's byte for byte (``tests/distributed/test_ray_soak.py``).

    Args:
        task: a shard task with ``to_spec()`` (Ray workers build their own copy).
        num_rows, shard_size, out_dir: as for :func:`xqg.distributed.run_sharded`.
        max_kills, max_seconds, min_interval, max_interval, seed, only_running: the killer's
            bounds (see :class:`WorkerKiller`).
        num_workers: Ray actors.
        max_restarts: restarts of each actor (and retries of its shard) before the executor gives up.
        max_attempts: runs of the whole job at most.

    Returns:
        The kills, the number of runs it took and the wall time.

    Raises:
        ShardWorkerError: the job was not complete after ``max_attempts`` runs.
    """

    report = SoakReport()
    start = time.monotonic()
    killer = WorkerKiller(max_kills, max_seconds, min_interval, max_interval, seed, only_running=only_running)
    with killer:
        while True:
            report.attempts += 1
            engine = RayExecutor(
                num_workers=num_workers, max_restarts=max_restarts, max_task_retries=max_restarts
            )
            try:
                run_sharded(task, num_rows, out_dir, shard_size, engine=engine, show_progress=False)
                break
            except ShardWorkerError:
                if report.attempts >= max_attempts:
                    raise
    report.kills = list(killer.kills)
    report.seconds = round(time.monotonic() - start, 2)
    return report
