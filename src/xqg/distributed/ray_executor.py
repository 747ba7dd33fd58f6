"""Ray executor: an actor pool, one task (one model) per actor, shards written to shared disk.

Each actor builds its own task from a :class:`~xqg.distributed.task.TaskSpec` (no model objects are
shipped), keeps it (and its lazily loaded model) for every shard it runs, and writes the shard
straight into the shared output folder; only small :class:`~xqg.distributed.worker.ShardResult`
records travel back to the driver. An actor that dies (killed, out of memory, node lost) is
restarted by Ray (``max_restarts``) and its shard retried (``max_task_retries``); the retried shard
starts from scratch, because a half-written shard never looks finished.

Ray is an optional extra (``pip install 'xqg[ray]'``), imported only when this executor runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from xqg.distributed.manifest import ShardWorkerError
from xqg.distributed.plan import ShardSpec
from xqg.distributed.task import ShardTask, TaskSpec, build_task, spec_of
from xqg.distributed.worker import ShardResult, run_shard
from xqg.errors import ConfigError, XqgError

logger = logging.getLogger(__name__)

FORWARDED_ENV_PREFIXES = ("XQG_", "HF_", "TRANSFORMERS_", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class ShardActor:
    """The body of one Ray actor: one task instance, reused for every shard the actor runs."""

    def __init__(
        self, spec: dict[str, Any], out_dir: str, fingerprint: dict[str, Any], redo_corrupt: bool, verify: str
    ):
        self.task = build_task(TaskSpec.from_dict(spec))
        self.out_dir = out_dir
        self.fingerprint = fingerprint
        self.redo_corrupt = redo_corrupt
        self.verify = verify

    def run(self, shard: dict[str, int]) -> dict[str, Any]:
        result = run_shard(
            self.task,
            ShardSpec.from_dict(shard),
            self.out_dir,
            self.fingerprint,
            redo_corrupt=self.redo_corrupt,
            verify=self.verify,
        )
        return result.to_dict()

    def pid(self) -> int:
        return os.getpid()


class RayExecutor:
    """Run shards on a Ray actor pool.

    Args:
        address: Ray cluster address (``"auto"``, ``"ray://head:10001"``); ``None`` uses ``$RAY_ADDRESS``
            or starts a local cluster. An already initialised Ray session is used as is.
        num_workers: actors in the pool; default: the cluster's CPUs / ``num_cpus_per_worker`` (or its
            GPUs / ``num_gpus_per_worker`` when GPUs are requested), at most the number of shards.
        num_cpus_per_worker: CPUs reserved per actor.
        num_gpus_per_worker: GPUs per actor (1 = one model per GPU; fractions share a GPU).
        max_restarts: how often Ray restarts a dead actor.
        max_task_retries: how often a shard whose actor died is retried.
        runtime_env: Ray runtime environment for the workers (e.g. ``{"pip": [...]}`` on a cluster);
            ``XQG_*``, ``HF_*`` and ``TRANSFORMERS_*`` variables of the driver are forwarded.
        init_kwargs: extra arguments for ``ray.init`` (e.g. ``{"num_cpus": 2}`` for a local cluster).
        shutdown: shut Ray down at the end if this executor started it.

    Example:
        >>> from xqg.distributed.testing import NumpyVectorTask
        >>> import tempfile
        >>> ex = RayExecutor(num_workers=2, init_kwargs={"num_cpus": 2})
        >>> run_sharded(NumpyVectorTask(dim=4), 100, tempfile.mkdtemp(), 25, engine=ex)  # doctest: +SKIP
    """

    def __init__(
        self,
        address: str | None = None,
        num_workers: int | None = None,
        num_cpus_per_worker: float = 1,
        num_gpus_per_worker: float = 0,
        max_restarts: int = 3,
        max_task_retries: int = 3,
        runtime_env: dict[str, Any] | None = None,
        init_kwargs: dict[str, Any] | None = None,
        shutdown: bool = True,
    ) -> None:
        if num_workers is not None and num_workers < 1:
            raise ConfigError(f"--num-workers must be >= 1, got {num_workers}")
        self.address = address
        self.num_workers = num_workers
        self.num_cpus_per_worker = num_cpus_per_worker
        self.num_gpus_per_worker = num_gpus_per_worker
        self.max_restarts = max_restarts
        self.max_task_retries = max_task_retries
        self.runtime_env = runtime_env
        self.init_kwargs = dict(init_kwargs or {})
        self.shutdown = shutdown

    def _runtime_env(self) -> dict[str, Any]:
        env = dict(self.runtime_env or {})
        env_vars = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV_PREFIXES)}
        env_vars.update(env.get("env_vars", {}))
        env["env_vars"] = env_vars
        return env

    def _pool_size(self, ray: Any, num_shards: int) -> int:
        if self.num_workers is not None:
            size = self.num_workers
        else:
            resources = ray.cluster_resources()
            if self.num_gpus_per_worker > 0:
                size = int(resources.get("GPU", 0) // self.num_gpus_per_worker)
            else:
                size = int(resources.get("CPU", 1) // max(self.num_cpus_per_worker, 1e-9))
            size = max(size, 1)
        return max(1, min(size, num_shards))

    def run(
        self,
        task: ShardTask | TaskSpec,
        shards: list[ShardSpec],
        out_dir: Path,
        *,
        fingerprint: dict[str, Any],
        redo_corrupt: bool = False,
        verify: str = "sha256",
        show_progress: bool = True,
    ) -> list[ShardResult]:
        try:
            import ray
            from ray.exceptions import RayActorError, RayTaskError
        except ImportError:  # pragma: no cover - depends on the environment
            raise ConfigError(
                "--engine ray needs Ray: pip install 'xqg[ray]' (ray[default]==2.60.0)"
            ) from None
        spec = spec_of(task)
        if not shards:
            return []
        started = False
        if not ray.is_initialized():
            address = self.address or os.environ.get("RAY_ADDRESS")
            ray.init(address=address, runtime_env=self._runtime_env(), **self.init_kwargs)
            started = True
        actors: list[Any] = []
        try:
            actor_cls = ray.remote(
                num_cpus=self.num_cpus_per_worker,
                num_gpus=self.num_gpus_per_worker,
                max_restarts=self.max_restarts,
                max_task_retries=self.max_task_retries,
            )(ShardActor)
            size = self._pool_size(ray, len(shards))
            logger.info("ray: %d actors for %d shards", size, len(shards))
            actors += [
                actor_cls.remote(
                    spec.to_dict(), str(Path(out_dir).resolve()), fingerprint, redo_corrupt, verify
                )
                for _ in range(size)
            ]
            queue = list(reversed(shards))
            pending: dict[Any, tuple[Any, ShardSpec]] = {}
            results: list[ShardResult] = []

            def submit(actor: Any) -> None:
                if queue:
                    shard = queue.pop()
                    pending[actor.run.remote(shard.to_dict())] = (actor, shard)

            for actor in actors:
                submit(actor)
            with tqdm(
                total=len(shards),
                desc=f"{spec.target.rsplit(':', 1)[-1]} shards (ray)",
                unit="shard",
                disable=not show_progress,
            ) as bar:
                while pending:
                    ready, _ = ray.wait(list(pending), num_returns=1)
                    ref = ready[0]
                    actor, shard = pending.pop(ref)
                    try:
                        results.append(ShardResult.from_dict(ray.get(ref)))
                    except RayTaskError as exc:
                        cause = getattr(exc, "cause", None)
                        if isinstance(cause, XqgError):
                            raise cause from None
                        raise
                    except RayActorError as exc:
                        raise ShardWorkerError(
                            f"shard {shard.index} (rows {shard.start}-{shard.stop}): its worker died more than "
                            f"{self.max_restarts} times ({exc.__class__.__name__}); re-run to resume"
                        ) from None
                    bar.update(1)
                    submit(actor)
            return results
        finally:
            # Stops the other actors' in-flight shards on an error (their temp folders are removed on
            # the next run) and frees the pool's resources in a shared session.
            for actor in actors:
                with contextlib.suppress(Exception):
                    ray.kill(actor)
            if started and self.shutdown:
                ray.shutdown()
