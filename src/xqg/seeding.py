"""Deterministic seeding helpers."""

from __future__ import annotations

import hashlib
import random

import numpy as np


def derive_seed(seed: int, *parts: object) -> int:
    """Derive a stable 63-bit seed from a base seed and any hashable description.

    The result depends only on the arguments (not on Python's hash randomisation), so the same
    ``(seed, query id, variant)`` always gives the same random stream, in any process.

    Example:
        >>> derive_seed(13, "q1", 0) == derive_seed(13, "q1", 0)
        True
    """
    text = "\x1f".join([str(seed), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little") >> 1


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (if installed) PyTorch."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return
    torch.manual_seed(seed)
