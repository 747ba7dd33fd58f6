"""Compute precision of model inference (encoding, retriever inference, generation): one spelling,
one resolver.

Settings, the same in the command lines (``--precision``), experiment files (``precision = ...``)
and Python: ``"float32"``, ``"bfloat16"``, ``"float16"`` and ``"auto"`` (the default). The short
spellings ``fp32``/``bf16``/``fp16`` are accepted as deprecated aliases (a warning says the new name).

``auto`` means the fastest precision whose results match float32 on the device that does the work:

* a CPU with native bf16 matrix instructions (``avx512_bf16`` or ``amx_bf16`` in ``/proc/cpuinfo``):
  ``bfloat16`` (autocast; measured 1.66-2.57x faster than float32 for the default encoder, cosine
  >= 0.99998 to the float32 vectors, docs/performance.md);
* a CUDA GPU that supports bf16 natively (compute capability 8.0 and up: A100, H100, RTX 30xx ...):
  ``bfloat16``;
* anything else (older CPUs, where bf16 autocast is emulated and slower, older GPUs): ``float32``.

``float16`` is never chosen by ``auto`` (it can overflow, design.md: never run (m)T5 in fp16) and is
refused on a CPU. The vectors a model returns are float32 whatever the compute precision.

A sharded job resolves ``auto`` once, on the machine that starts it, and records the result in its
job manifest; a later run of the same job keeps the recorded precision (see
:func:`xqg.encode.task.encode_file`), so a job never mixes precisions across shards.

Example:
    >>> resolve_precision("float32", "cpu")
    'float32'
    >>> resolve_precision("bf16", "cpu")  # doctest: +SKIP
    'bfloat16'
    >>> resolve_precision("auto", "cpu") in ("float32", "bfloat16")
    True
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xqg.devices import resolve_device
from xqg.distributed.manifest import JOB_MANIFEST, read_job_plan
from xqg.errors import ConfigError

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

PRECISIONS = ("float32", "bfloat16", "float16")
"""The concrete compute precisions."""

PRECISION_CHOICES = ("auto", *PRECISIONS)
"""What ``--precision`` and ``precision = ...`` accept (plus the deprecated :data:`ALIASES`)."""

DEFAULT_PRECISION = "auto"

ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
"""Deprecated short spellings and the name each stands for."""

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def normalise_precision(name: str) -> str:
    """``name`` in its one spelling (``float32``/``bfloat16``/``float16``/``auto``).

    Args:
        name: a precision setting; the short spellings ``fp32``/``bf16``/``fp16`` are deprecated
            aliases (accepted with a ``FutureWarning`` that names the new spelling).

    Raises:
        ConfigError: anything else.

    Example:
        >>> normalise_precision("bfloat16")
        'bfloat16'
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     normalise_precision("fp32")
        'float32'
    """
    value = str(name).strip().lower()
    if value in PRECISION_CHOICES:
        return value
    if value in ALIASES:
        warnings.warn(
            f"precision {name!r} is deprecated; write {ALIASES[value]!r}", FutureWarning, stacklevel=2
        )
        return ALIASES[value]
    raise ConfigError(f"precision must be one of {', '.join(PRECISION_CHOICES)}, not {name!r}")


def cpu_flags() -> set[str]:
    """CPU feature flags (``avx512_bf16``, ``amx_bf16`` ...) from ``/proc/cpuinfo``; empty if unknown.

    Example:
        >>> isinstance(cpu_flags(), set)
        True
    """
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_has_bf16() -> bool:
    """Whether this CPU has native bf16 matrix instructions (``avx512_bf16`` or ``amx_bf16``).

    Example:
        >>> isinstance(cpu_has_bf16(), bool)
        True
    """
    return bool(set(BF16_CPU_FLAGS) & cpu_flags())


@dataclass(frozen=True)
class PrecisionChoice:
    """A resolved precision setting and why it was chosen (for the messages a job prints).

    Attributes:
        precision: the concrete precision (``float32``, ``bfloat16`` or ``float16``).
        requested: the setting it was resolved from (``auto`` or the precision itself).
        device: the device kind it was resolved for (``cpu``, ``cuda``, ``cuda:1`` ...).
        reason: in words, why.
        record: whether a job writes the precision into its fingerprint: ``False`` only for a
            float32 job started before precisions were recorded, which must resume unchanged.

    Example:
        >>> str(PrecisionChoice("float32", "float32", "cpu", "asked for"))
        'float32 (asked for)'
    """

    precision: str
    requested: str
    device: str
    reason: str
    record: bool = True

    def __str__(self) -> str:
        return f"{self.precision} ({self.reason})"


def _device_name(device: str | torch.device | None) -> str:
    """``cpu``, ``cuda`` or ``cuda:N`` for ``device`` (``auto``/``None``: where :mod:`xqg.devices` puts work)."""
    if device is None or str(device) == "auto":
        return str(resolve_device("auto"))
    name = str(device)
    if name == "cpu" or name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        return name
    raise ConfigError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")


def _cuda_bf16(device: str) -> tuple[bool, str]:
    """Whether the GPU ``device`` computes in bf16 natively, and a reason in words."""
    import torch

    if not torch.cuda.is_available():
        return False, f"{device} is not visible on this machine, so bf16 support cannot be checked"
    index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
    major, minor = torch.cuda.get_device_capability(index)
    name = torch.cuda.get_device_name(index)
    if major >= 8:
        return True, f"{name} (compute capability {major}.{minor}) has native bf16"
    return False, f"{name} (compute capability {major}.{minor}) has no native bf16"


def choose_precision(name: str, device: str | torch.device | None = "auto") -> PrecisionChoice:
    """Resolve a precision setting for ``device``, with the reason (see :func:`resolve_precision`).

    Example:
        >>> choose_precision("float32", "cpu").reason
        'asked for'
        >>> choose_precision("auto", "cpu").requested
        'auto'
    """
    requested = normalise_precision(name)
    where = _device_name(device)
    kind = where.split(":")[0]
    if requested != "auto":
        if requested == "float16" and kind == "cpu":
            raise ConfigError("float16 compute is a GPU setting; on a CPU use bfloat16 or float32 (or auto)")
        return PrecisionChoice(requested, requested, where, "asked for")
    if kind == "cpu":
        flags = sorted(set(BF16_CPU_FLAGS) & cpu_flags())
        if flags:
            return PrecisionChoice("bfloat16", "auto", where, f"auto: this CPU has {'/'.join(flags)}")
        return PrecisionChoice(
            "float32", "auto", where, "auto: this CPU has no avx512_bf16/amx_bf16 (bf16 would be emulated)"
        )
    native, why = _cuda_bf16(where)
    return PrecisionChoice("bfloat16" if native else "float32", "auto", where, f"auto: {why}")


def resolve_precision(name: str, device: str | torch.device | None = "auto") -> str:
    """The concrete compute precision that the setting ``name`` means on ``device``.

    This is the one resolver for encoding, retriever inference and generation.

    Args:
        name: ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"`` (or a deprecated alias
            ``fp32``/``bf16``/``fp16``).
        device: where the model runs: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, a ``torch.device``, or
            ``"auto"``/``None`` (a CUDA GPU when there is one, else the CPU, as
            :func:`xqg.devices.resolve_device`).

    Returns:
        ``"float32"``, ``"bfloat16"`` or ``"float16"``. ``auto`` gives ``bfloat16`` on a CPU with
        ``avx512_bf16``/``amx_bf16`` and on a GPU of compute capability >= 8.0, else ``float32``
        (also for a GPU this machine cannot see: its support cannot be checked here).

    Raises:
        ConfigError: an unknown setting or device, or ``float16`` on a CPU.

    Example:
        >>> resolve_precision("auto", "cpu") == ("bfloat16" if cpu_has_bf16() else "float32")
        True
        >>> resolve_precision("float32", "cuda:3")
        'float32'
    """
    return choose_precision(name, device).precision


def autocast_context(device: str | torch.device, precision: str) -> Any:
    """A context manager that runs the forward passes inside it at ``precision`` on ``device``.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ... (or a ``torch.device``).
        precision: a concrete precision (:data:`PRECISIONS`; resolve ``auto`` first with
            :func:`resolve_precision`).

    Raises:
        ConfigError: an unknown precision, ``auto``, or float16 on a CPU.

    Example:
        >>> import torch
        >>> with autocast_context("cpu", "float32"):
        ...     torch.ones(2).dtype
        torch.float32
    """
    if precision not in PRECISIONS:
        hint = " (resolve 'auto' with xqg.precision.resolve_precision first)" if precision == "auto" else ""
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}{hint}")
    if precision == "float32":
        return contextlib.nullcontext()
    import torch

    kind = str(device).split(":")[0]
    if kind == "cpu":
        if precision == "float16":
            raise ConfigError("float16 compute is a GPU setting; on a CPU use bfloat16 or float32")
        if not cpu_has_bf16():
            logger.warning(
                "this CPU has no avx512_bf16/amx_bf16: bfloat16 autocast is emulated and slower than float32"
            )
    dtype = torch.bfloat16 if precision == "bfloat16" else torch.float16
    return torch.autocast(kind, dtype=dtype)


def recorded_precision(out_dir: str | Path, task: str | None = None) -> str | None:
    """The precision a sharded job recorded in ``out_dir/manifest.json``; ``None`` if there is no job yet.

    A job manifest whose fingerprint has no ``precision`` was written before precisions were recorded
    (or by a task whose float32 runs leave it out): float32.

    Args:
        out_dir: a sharded output folder (:func:`xqg.distributed.run_sharded`).
        task: the task name expected there (``"encode"``, ``"generate"`` ...); another task's folder
            gives ``None`` (its own fingerprint check then refuses it).

    Example:
        >>> import tempfile
        >>> recorded_precision(tempfile.mkdtemp()) is None
        True
    """

    if not (Path(out_dir) / JOB_MANIFEST).exists():
        return None
    plan = read_job_plan(out_dir)
    if task is not None and plan.task != task:
        return None
    return str(plan.fingerprint.get("precision", "float32"))


def resolve_job_precision(
    name: str, device: str | torch.device | None, out_dir: str | Path, task: str | None = None
) -> PrecisionChoice:
    """The precision of a sharded job: ``auto`` is resolved once, when the job starts, and a later run
    (a resume, another array task, another machine) keeps what the job recorded.

    Why keep rather than refuse: every shard of a job must come from the same computation, and
    keeping the recorded precision guarantees it while still letting a job move between machines (a
    bf16 job resumed on a CPU without bf16 instructions runs emulated bf16: slower, same numbers). A
    recorded ``float16`` on a CPU cannot run and is refused. An explicit precision other than the
    recorded one is left to the job's fingerprint check, which refuses it and names both.

    Args:
        name: the setting (``auto``, ``float32``, ``bfloat16``, ``float16`` or an alias).
        device: where the work runs (as for :func:`resolve_precision`).
        out_dir: the job's output folder.
        task: the task name of the job (see :func:`recorded_precision`).

    Raises:
        ConfigError: as :func:`resolve_precision`; a recorded float16 job resumed on a CPU.

    Example:
        >>> import tempfile
        >>> resolve_job_precision("float32", "cpu", tempfile.mkdtemp()).precision
        'float32'
    """
    requested = normalise_precision(name)
    recorded = recorded_precision(out_dir, task)
    if recorded is None:
        return choose_precision(requested, device)

    legacy = "precision" not in read_job_plan(out_dir).fingerprint  # float32, from before precisions
    if requested != "auto":
        choice = choose_precision(requested, device)
        return replace(choice, record=not (legacy and choice.precision == "float32"))
    where = _device_name(device)
    if recorded == "float16" and where.startswith("cpu"):
        raise ConfigError(
            f"{out_dir}: this job was started in float16 (a GPU setting) and is resumed on a CPU; "
            "resume it on a GPU, or encode into a new folder"
        )
    manifest = Path(out_dir) / "manifest.json"
    return PrecisionChoice(
        recorded, "auto", where, f"auto, kept from the job's {manifest}", record=not legacy
    )
