"""Parameter-efficient fine-tuning: low-rank adapters (LoRA, Hu et al. 2022) and frozen embeddings.

:func:`add_lora` replaces every ``torch.nn.Linear`` of a model (the attention projections and the
feed-forward layers of a BERT/XLM-R encoder) by a :class:`LoRALinear`: the original weight ``W``
frozen, plus ``alpha / rank * B @ A`` with ``A`` (rank x in) random and ``B`` (out x rank) zero, so
training starts from the unchanged model. Everything else is frozen. :func:`merge_lora` folds the
adapters back into plain ``Linear`` layers, so the saved model has the original architecture and
loads anywhere without xqg.

:func:`set_trainable` applies a :data:`xqg.train.config.TUNING_MODES` choice to a model.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LoRALinear(nn.Module):
    """A frozen ``Linear`` plus a trainable low-rank update ``alpha / rank * B @ A``.

    Args:
        base: the layer to adapt (its weight and bias are frozen, not copied).
        rank: rank of the update.
        alpha: scaling numerator.
        generator: random source for ``A`` (seeded by the caller).

    Example:
        >>> layer = LoRALinear(nn.Linear(4, 3), rank=2, alpha=4.0)
        >>> x = torch.randn(5, 4)
        >>> torch.equal(layer(x), layer.base(x))  # B starts at zero
        True
    """

    def __init__(
        self, base: nn.Linear, rank: int, alpha: float, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.rank = rank
        self.scaling = alpha / rank
        weight = base.weight
        a = torch.empty(rank, base.in_features, dtype=weight.dtype)
        # Kaiming-uniform as nn.Linear (and the LoRA paper's reference code) initialises A
        bound = 1.0 / math.sqrt(base.in_features)
        a.uniform_(-bound, bound, generator=generator)
        self.lora_a = nn.Parameter(a.to(weight.device))
        self.lora_b = nn.Parameter(
            torch.zeros(base.out_features, rank, dtype=weight.dtype, device=weight.device)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * self.scaling

    def merged(self) -> nn.Linear:
        """The base layer with the update added to its weight (still frozen)."""
        with torch.no_grad():
            self.base.weight += (self.lora_b @ self.lora_a) * self.scaling
        return self.base


def add_lora(model: nn.Module, rank: int = 8, alpha: float = 16.0, seed: int = 0) -> list[nn.Parameter]:
    """Freeze ``model`` and put a :class:`LoRALinear` around each of its ``Linear`` layers, in place.

    Args:
        model: any module (for a tied :class:`xqg.encode.DualEncoder` the one shared tower is
            adapted once).
        rank: adapter rank.
        alpha: scaling numerator.
        seed: seed of the ``A`` matrices (in module order).

    Returns:
        The parameters it froze (to be made trainable again after :func:`merge_lora`).

    Example:
        >>> net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
        >>> _ = add_lora(net, rank=1)
        >>> sum(p.numel() for p in net.parameters() if p.requires_grad)
        14
    """
    generator = torch.Generator().manual_seed(seed)
    frozen = [p for p in model.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    done: dict[int, LoRALinear] = {}
    for parent in list(model.modules()):
        if isinstance(parent, LoRALinear):
            continue
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                if id(child) not in done:
                    done[id(child)] = LoRALinear(child, rank, alpha, generator)
                setattr(parent, name, done[id(child)])
    return frozen


def merge_lora(model: nn.Module) -> int:
    """Fold every :class:`LoRALinear` of ``model`` into its ``Linear`` (in place); returns how many
    layers were merged. The merged layers stay frozen (see :func:`add_lora`'s return value).

    Example:
        >>> net = nn.Sequential(nn.Linear(3, 3))
        >>> _ = add_lora(net, rank=1)
        >>> merge_lora(net), type(net[0]).__name__
        (1, 'Linear')
    """
    merged: dict[int, nn.Linear] = {}
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LoRALinear):
                if id(child) not in merged:
                    merged[id(child)] = child.merged()
                setattr(parent, name, merged[id(child)])
    return len(merged)


def set_trainable(
    model: nn.Module, tuning: str, rank: int = 8, alpha: float = 16.0, seed: int = 0
) -> list[nn.Parameter]:
    """Apply a tuning mode to ``model`` in place; returns the parameters it froze.

    Args:
        model: the encoder.
        tuning: ``"full"`` (nothing changes), ``"no-embeddings"`` (parameters whose name contains
            ``embeddings`` frozen) or ``"lora"`` (:func:`add_lora`).
        rank, alpha, seed: LoRA settings.

    Example:
        >>> net = nn.ModuleDict({"embeddings": nn.Embedding(10, 2), "out": nn.Linear(2, 2)})
        >>> [p.shape for p in set_trainable(net, "no-embeddings")]
        [torch.Size([10, 2])]
    """
    if tuning == "lora":
        return add_lora(model, rank, alpha, seed)
    if tuning not in ("full", "no-embeddings"):
        raise ValueError(f"unknown tuning mode {tuning!r}")
    frozen = [
        p
        for name, p in model.named_parameters()
        if tuning != "full" and "embeddings" in name and p.requires_grad
    ]
    for p in frozen:
        p.requires_grad_(False)
    return frozen


__all__ = ["LoRALinear", "add_lora", "merge_lora", "set_trainable"]
