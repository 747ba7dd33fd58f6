"""The encoder's forward pass during training, at a compute precision (bfloat16 autocast or float32)."""

from __future__ import annotations

from typing import Any

import torch

from xqg.precision import autocast_context


def embed_at(model: Any, texts: list[str], kind: str, precision: str = "float32") -> torch.Tensor:
    """``model.embed(texts, kind)`` with the forward pass at ``precision`` (bfloat16: autocast), the
    vectors in float32 (the loss is always computed in float32).

    Example:
        >>> from xqg.train.testing import tiny_hash_encoder
        >>> embed_at(tiny_hash_encoder(), ["a"], "query", "bfloat16").dtype
        torch.float32
    """
    if precision == "float32":
        return model.embed(texts, kind)

    device = next(model.parameters()).device  # type: ignore[attr-defined]
    with autocast_context(device, precision):
        vectors = model.embed(texts, kind)
    return vectors.float()


__all__ = ["embed_at"]
