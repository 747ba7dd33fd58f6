"""Executors and :func:`run_sharded`, the entry point every sharded stage calls.

An executor runs the shard worker (:func:`xqg.distributed.worker.run_shard`) over a list of shards.
``"inprocess"`` runs them one after the other in this process (tests, laptops, and each task of a
batch-scheduler array job); ``"ray"`` spreads them over an actor pool
(:class:`xqg.distributed.ray_executor.RayExecutor`).
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

from tqdm.auto import tqdm

from xqg.data.output_paths import check_output_folder
from xqg.distributed.manifest import JobPlan, ensure_job_manifest, undo_job_start
from xqg.distributed.plan import ShardSpec, select_shards
from xqg.distributed.ray_executor import RayExecutor
from xqg.distributed.task import ShardTask, TaskSpec, build_task, normalise_fingerprint
from xqg.distributed.worker import ShardResult, run_shard
from xqg.errors import ConfigError

logger = logging.getLogger(__name__)


class Executor(Protocol):
    """Runs the shard worker over shards. Implementations: :class:`InProcessExecutor`, ``RayExecutor``."""

    def run(
        self,
        task: ShardTask | TaskSpec,
        shards: list[ShardSpec],
        out_dir: Path,
        *,
        fingerprint: dict[str, Any],
        redo_corrupt: bool,
        verify: str,
        show_progress: bool,
    ) -> list[ShardResult]:
        """Run ``task`` on every shard of ``shards``; return one small result per shard."""
        ...


class InProcessExecutor:
    """Run shards one after the other in this process (the default; needs no cluster).

    Example:
        >>> import tempfile
        >>> from xqg.distributed.testing import NumpyVectorTask
        >>> out = tempfile.mkdtemp()
        >>> len(run_sharded(NumpyVectorTask(dim=2), 5, out, shard_size=2, engine=InProcessExecutor(),
        ...                 show_progress=False))
        3
    """

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
        task_obj = build_task(task) if isinstance(task, TaskSpec) else task
        results = []
        for shard in tqdm(shards, desc=f"{task_obj.name} shards", unit="shard", disable=not show_progress):
            results.append(
                run_shard(task_obj, shard, out_dir, fingerprint, redo_corrupt=redo_corrupt, verify=verify)
            )
        return results


def resolve_engine(engine: str | Executor) -> Executor:
    """``"inprocess"`` / ``"ray"`` (a local or ``$RAY_ADDRESS`` cluster, default options) or an executor.

    Example:
        >>> type(resolve_engine("inprocess")).__name__
        'InProcessExecutor'
    """
    if not isinstance(engine, str):
        return engine
    if engine == "inprocess":
        return InProcessExecutor()
    if engine == "ray":
        return RayExecutor()
    raise ConfigError(f"unknown engine {engine!r}: use 'inprocess' or 'ray'")


def run_sharded(
    task: ShardTask | TaskSpec,
    num_rows: int,
    out_dir: str | Path,
    shard_size: int,
    engine: str | Executor = "inprocess",
    num_shards: int | None = None,
    shard_index: int | None = None,
    redo_corrupt: bool = False,
    verify: str = "sha256",
    show_progress: bool = True,
) -> list[Path]:
    """Run ``task`` over rows ``[0, num_rows)`` in shards of ``shard_size``, resumably, into ``out_dir``.

    First checks, writing nothing: that ``out_dir`` can be written (a probe file), the task's own
    ``check()`` if it has one (models and inputs resolvable), and the fingerprint (inputs hashed by
    content). Then writes ``out_dir/manifest.json`` (task, fingerprint, plan) — or checks it against
    this run — and runs the shard worker on every shard of the plan (or on slice ``shard_index`` of
    ``num_shards`` for a batch-scheduler array task). Finished shards whose marker and checksums are
    valid are skipped; unfinished ones are redone from scratch; corrupt ones are an error unless
    ``redo_corrupt``. If the run fails before any shard is finished, the manifest it wrote (and the
    folders it created) are removed again: a failed start leaves the folder as it was.

    Args:
        task: a :class:`ShardTask`, or a :class:`TaskSpec` to build it (remote engines need a spec, or a
            task with ``to_spec()``).
        num_rows: number of input rows (in docid order).
        out_dir: output folder.
        shard_size: rows per shard.
        engine: ``"inprocess"`` (default), ``"ray"``, or an executor object (e.g. ``RayExecutor(...)``).
        num_shards, shard_index: run only slice ``shard_index`` of ``num_shards`` (plan shard ``i`` is in
            slice ``i % num_shards``).
        redo_corrupt: recompute corrupt shards instead of raising.
        verify: check of finished shards: ``"sha256"`` (default), ``"size"``, ``"none"``.
        show_progress: tqdm bar over shards.

    Returns:
        The shard folders this call covered (its slice), in plan order.

    Raises:
        OutputError: ``out_dir`` cannot be written.
        FingerprintMismatchError: ``out_dir`` holds another task's, input's or settings' output.
        CorruptShardError: a finished shard does not match its manifest (and not ``redo_corrupt``).

    Example:
        >>> import tempfile
        >>> from xqg.distributed.testing import NumpyVectorTask
        >>> out = tempfile.mkdtemp()
        >>> [p.name for p in run_sharded(NumpyVectorTask(dim=4), 10, out, shard_size=4, show_progress=False)]
        ['shard-00000', 'shard-00001', 'shard-00002']
    """
    if num_rows < 0:
        raise ConfigError(f"num_rows must be >= 0, got {num_rows}")
    if num_rows == 0:
        logger.warning("%s: the input has no rows; the job is empty", out_dir)
    if shard_size < 1:
        raise ConfigError(f"shard_size must be >= 1, got {shard_size}")
    out = check_output_folder(out_dir)
    task_obj = build_task(task) if isinstance(task, TaskSpec) else task
    check = getattr(task_obj, "check", None)
    if check is not None:
        check()
    fingerprint = normalise_fingerprint(task_obj.fingerprint())
    job = JobPlan(task_obj.name, fingerprint, num_rows, shard_size)
    shards = select_shards(job.shards, num_shards, shard_index)
    executor = resolve_engine(engine)
    created = [p for p in (out.absolute(), *out.absolute().parents) if not p.exists()]
    started_here = not (out / "manifest.json").exists()
    ensure_job_manifest(out, job)
    try:
        results = executor.run(
            task if isinstance(task, TaskSpec) else task_obj,
            shards,
            out,
            fingerprint=fingerprint,
            redo_corrupt=redo_corrupt,
            verify=verify,
            show_progress=show_progress,
        )
    except BaseException:
        if started_here and undo_job_start(out, created):
            logger.info("%s: no shard finished; removed the manifest this run wrote", out)
        raise
    counts = Counter(result.status for result in results)
    logger.info(
        "%s: %d shards in %s (%s)",
        task_obj.name,
        len(results),
        out,
        ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to do",
    )
    return [result.path for result in sorted(results, key=lambda r: r.shard.index)]
