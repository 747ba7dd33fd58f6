"""Compute precision of encoder inference: float32, or bfloat16/float16 autocast where it pays.

``bfloat16`` on a CPU runs the matrix products through ``torch.autocast("cpu", bfloat16)``, which is
fast only where the CPU has bf16 instructions (``avx512_bf16`` or ``amx_bf16``; measured in
docs/performance.md: 1.66× faster than fp32 on such a CPU, cosine ≥ 0.999 to the fp32 vectors).
``float16`` is a GPU setting. The vectors are always returned as float32.

Example:
    >>> import torch
    >>> with autocast_context("cpu", "float32"):
    ...     torch.ones(2).dtype
    torch.float32
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

from xqg.errors import ConfigError

logger = logging.getLogger(__name__)

PRECISIONS = ("float32", "bfloat16", "float16")


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
    """Whether this CPU has native bf16 matrix instructions (``avx512_bf16`` or ``amx_bf16``)."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def autocast_context(device: str, precision: str) -> Any:
    """A context manager that runs the forward passes inside it at ``precision`` on ``device``.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...
        precision: one of :data:`PRECISIONS`.

    Raises:
        ConfigError: an unknown precision, or float16 on a CPU.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
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
