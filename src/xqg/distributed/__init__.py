"""Sharded execution: one shard worker, executors (in-process, Ray, batch-scheduler slices), resume.

A stage's work (encoding, generation, generate-encode-fuse) is a :class:`ShardTask`;
:func:`run_sharded` splits the input rows into shards (:func:`plan_shards`), runs the task on each
with the chosen executor, and commits every shard folder atomically with a manifest (fingerprint,
row range, count, sha256 of every part file) and a ``DONE`` marker. Re-running skips valid finished
shards. :func:`iter_shards` / :func:`load_vectors` read vector outputs back in docid order.

Example:
    >>> import tempfile
    >>> from xqg.distributed.testing import NumpyVectorTask
    >>> out = tempfile.mkdtemp()
    >>> _ = run_sharded(NumpyVectorTask(dim=4), num_rows=10, out_dir=out, shard_size=4, show_progress=False)
    >>> ids, vectors = load_vectors(out)
    >>> ids[:2], vectors.shape
    (['doc-0', 'doc-1'], (10, 4))
"""

from __future__ import annotations

from xqg.distributed.executors import Executor, InProcessExecutor, resolve_engine, run_sharded
from xqg.distributed.manifest import (
    CorruptShardError,
    FingerprintMismatchError,
    IncompleteOutputError,
    JobPlan,
    ShardError,
    ShardState,
    ShardWorkerError,
    read_job_plan,
    shard_state,
)
from xqg.distributed.plan import ShardSpec, plan_shards, select_shards
from xqg.distributed.reader import FinishedShard, iter_finished_shards, iter_shards, load_vectors
from xqg.distributed.task import ShardTask, TaskSpec, build_task, spec_of
from xqg.distributed.vectors import IDS_FILE, VECTORS_FILE, VectorPartWriter, read_ids
from xqg.distributed.worker import ShardResult, run_shard

__all__ = [
    "IDS_FILE",
    "VECTORS_FILE",
    "CorruptShardError",
    "Executor",
    "FingerprintMismatchError",
    "FinishedShard",
    "InProcessExecutor",
    "IncompleteOutputError",
    "JobPlan",
    "ShardError",
    "ShardResult",
    "ShardSpec",
    "ShardState",
    "ShardTask",
    "ShardWorkerError",
    "TaskSpec",
    "VectorPartWriter",
    "build_task",
    "iter_finished_shards",
    "iter_shards",
    "load_vectors",
    "plan_shards",
    "read_ids",
    "read_job_plan",
    "resolve_engine",
    "run_shard",
    "run_sharded",
    "select_shards",
    "shard_state",
    "spec_of",
]
