"""Sharing negatives across processes (torchrun / ``torch.distributed``, gloo on CPU, nccl on GPU).

Every process encodes its slice of the global batch. :func:`gather_with_local_grad` concatenates
the slices of all processes, keeping the autograd graph of the local slice only. Every process then
computes the loss of the *whole* global batch (identical everywhere) and back-propagates it through
its own slice; :func:`all_reduce_gradients` sums the parameter gradients over processes. The sum of
the per-process gradients is then exactly the gradient of the whole-batch loss in one process:

    dL/dθ = Σ_r (∂L/∂q_r · dq_r/dθ + ∂L/∂p_r · dp_r/dθ)

(the loss is a mean over the global batch, so no further scaling is needed).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class ProcessGroupInfo:
    """Rank and world size of this process (1 process when ``torch.distributed`` is not initialised).

    Example:
        >>> ProcessGroupInfo.current().world_size >= 1
        True
    """

    rank: int = 0
    world_size: int = 1

    @property
    def active(self) -> bool:
        """Whether there are several processes."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 writes checkpoints, logs and the final model."""
        return self.rank == 0

    @classmethod
    def current(cls) -> ProcessGroupInfo:
        """The info of the initialised default process group, or a single process."""
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size())
        return cls()

    def local_slice(self, global_size: int) -> slice:
        """This process's contiguous part of a global batch (``global_size`` divisible by world size)."""
        if global_size % self.world_size:
            raise ValueError(
                f"a global batch of {global_size} does not split over {self.world_size} processes"
            )
        per = global_size // self.world_size
        return slice(self.rank * per, (self.rank + 1) * per)


def gather_with_local_grad(tensor: torch.Tensor, info: ProcessGroupInfo | None = None) -> torch.Tensor:
    """Concatenate every process's ``tensor`` along dim 0; gradients flow into the local part only.

    Args:
        tensor: this process's (n, d) slice (same shape on every process).
        info: the process group (default: :meth:`ProcessGroupInfo.current`).

    Returns:
        (world_size * n, d), rank order; the identity with one process.

    Example:
        >>> gather_with_local_grad(torch.ones(2, 3)).shape
        torch.Size([2, 3])
    """
    info = info or ProcessGroupInfo.current()
    if not info.active:
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(info.world_size)]
    dist.all_gather(parts, tensor.detach().contiguous())
    parts[info.rank] = tensor
    return torch.cat(parts, dim=0)


def all_reduce_gradients(parameters: list[torch.nn.Parameter], info: ProcessGroupInfo | None = None) -> None:
    """Sum parameter gradients over processes (in one flattened buffer); no-op with one process.

    Example:
        >>> p = torch.nn.Parameter(torch.ones(2)); p.grad = torch.ones(2)
        >>> all_reduce_gradients([p]); p.grad.tolist()
        [1.0, 1.0]
    """
    info = info or ProcessGroupInfo.current()
    if not info.active:
        return
    params = [p for p in parameters if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for p in params:
        n = p.grad.numel()
        p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
        offset += n


def broadcast_parameters(module: torch.nn.Module, info: ProcessGroupInfo | None = None) -> None:
    """Copy rank 0's parameters and buffers to every process (same start everywhere)."""
    info = info or ProcessGroupInfo.current()
    if not info.active:
        return
    with torch.no_grad():
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)
