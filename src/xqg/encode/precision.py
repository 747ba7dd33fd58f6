"""Compute precision of encoder inference: moved to :mod:`xqg.precision` (one resolver for encoding,
retriever inference and generation). The names stay importable from here.

Example:
    >>> from xqg.encode.precision import resolve_precision
    >>> resolve_precision("float32", "cpu")
    'float32'
"""

from __future__ import annotations

from xqg.precision import (
    PRECISION_CHOICES,
    PRECISIONS,
    autocast_context,
    choose_precision,
    cpu_flags,
    cpu_has_bf16,
    normalise_precision,
    resolve_precision,
)

__all__ = [
    "PRECISIONS",
    "PRECISION_CHOICES",
    "autocast_context",
    "choose_precision",
    "cpu_flags",
    "cpu_has_bf16",
    "normalise_precision",
    "resolve_precision",
]
