"""What a shard worker runs: the :class:`ShardTask` protocol and its serialisable :class:`TaskSpec`.

A task turns one row range of its input into part files. Constructing a task must be cheap (load
models lazily, on the first :meth:`ShardTask.run`), because the driver builds it only to read its
name and fingerprint, and remote workers build their own copy from a :class:`TaskSpec` — model
objects are never shipped between processes.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from xqg.distributed.plan import ShardSpec
from xqg.errors import ConfigError


@runtime_checkable
class ShardTask(Protocol):
    """One stage's work on one shard (encoding, generation, generate-encode-fuse, ...).

    Attributes:
        name: short task name (``"encode"``), stored in the manifests.

    Example:
        >>> from xqg.distributed.testing import NumpyVectorTask
        >>> isinstance(NumpyVectorTask(dim=4), ShardTask)
        True
    """

    name: str

    def fingerprint(self) -> dict[str, Any]:
        """JSON-able description of everything that determines the output (model, settings, input).

        Resuming into a folder written with another fingerprint is an error.
        """
        ...

    def run(self, shard: ShardSpec, workdir: Path) -> dict[str, Any]:
        """Process rows ``[shard.start, shard.stop)`` in batches, writing part files into ``workdir``.

        Write incrementally (memory bounded by a batch, not a shard). Returns JSON-able extras for the
        shard manifest (e.g. ``{"dim": 384, "dtype": "float32"}``).
        """
        ...


@dataclass(frozen=True)
class TaskSpec:
    """How to build a task in another process: an import path and JSON-able keyword arguments.

    Args:
        target: ``"package.module:callable"`` returning a :class:`ShardTask` when called with ``kwargs``.
        kwargs: JSON-serialisable keyword arguments (paths as strings, no model objects).

    Example:
        >>> spec = TaskSpec("xqg.distributed.testing:NumpyVectorTask", {"dim": 4, "seed": 1})
        >>> build_task(spec).fingerprint()["dim"]
        4
    """

    target: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if ":" not in self.target:
            raise ConfigError(f"task target must look like 'package.module:callable', got {self.target!r}")
        try:
            json.dumps(self.kwargs)
        except TypeError as exc:
            raise ConfigError(f"task {self.target} arguments must be JSON-serialisable: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"target": self.target, "kwargs": self.kwargs}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["target"]), dict(data.get("kwargs", {})))


def build_task(spec: TaskSpec) -> ShardTask:
    """Import ``spec.target`` and call it with ``spec.kwargs``.

    Args:
        spec: the task description.

    Example:
        >>> build_task(TaskSpec("xqg.distributed.testing:NumpyVectorTask", {"dim": 2})).name
        'numpy-vectors'
    """
    module_name, _, attr = spec.target.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot import task {spec.target}: {exc}") from None
    task = factory(**spec.kwargs)
    if not isinstance(task, ShardTask):
        raise ConfigError(f"{spec.target} did not return a ShardTask (needs name, fingerprint(), run())")
    return task


def spec_of(task: ShardTask | TaskSpec) -> TaskSpec:
    """The :class:`TaskSpec` that rebuilds ``task`` in a remote worker.

    A task object provides it through a ``to_spec()`` method; a ``TaskSpec`` is returned as is.

    Example:
        >>> from xqg.distributed.testing import NumpyVectorTask
        >>> spec_of(NumpyVectorTask(dim=3)).kwargs["dim"]
        3
    """
    if isinstance(task, TaskSpec):
        return task
    to_spec = getattr(task, "to_spec", None)
    if to_spec is None:
        raise ConfigError(
            f"task {task.name!r} ({type(task).__name__}) cannot run on remote workers: give it a "
            "to_spec() -> TaskSpec method (import path + JSON-able arguments) so that each worker builds "
            "its own copy instead of receiving a model object"
        )
    spec = to_spec()
    if not isinstance(spec, TaskSpec):
        raise ConfigError(
            f"{type(task).__name__}.to_spec() must return a TaskSpec, got {type(spec).__name__}"
        )
    return spec


def normalise_fingerprint(fingerprint: dict[str, Any]) -> dict[str, Any]:
    """The fingerprint as it reads back from JSON (tuples become lists, keys strings), for comparison.

    Example:
        >>> normalise_fingerprint({"layers": (1, 2)})
        {'layers': [1, 2]}
    """
    try:
        return json.loads(json.dumps(fingerprint, sort_keys=True))
    except TypeError as exc:
        raise ConfigError(f"task fingerprint must be JSON-serialisable: {exc}") from None
