"""Where torch work runs: ``"auto"`` (a CUDA GPU when there is one, else the CPU), or a named device.

Example:
    >>> resolve_device("cpu").type
    'cpu'
    >>> resolve_device("auto").type in ("cpu", "cuda")
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xqg.errors import ConfigError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")
"""What the command lines and experiment files accept (``"cuda:N"`` is accepted too)."""


def check_device_name(spec: str) -> str:
    """``spec`` if it names a device xqg runs on (``auto``, ``cpu``, ``cuda``, ``cuda:N``), else a
    :class:`ConfigError`. Only the name is checked: whether this machine has the GPU is for
    :func:`resolve_device`, where the work runs (a job's driver may have none).

    Example:
        >>> check_device_name("cuda:1")
        'cuda:1'
    """
    if spec in DEVICE_CHOICES or (spec.startswith("cuda:") and spec[5:].isdigit()):
        return spec
    raise ConfigError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N")


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """The torch device for ``spec``.

    Args:
        spec: ``"auto"`` or ``None`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``,
            ``"cuda:N"``, or a ``torch.device``.

    Raises:
        ConfigError: an unknown device, or CUDA asked for on a machine without a usable GPU.
    """
    import torch  # here, not at import: naming a device must not import torch

    if isinstance(spec, torch.device):
        device = spec
    elif spec is None or spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            device = torch.device(str(spec))
        except (RuntimeError, ValueError):
            raise ConfigError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"unsupported device {spec!r}; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {spec!r} was asked for, but torch sees no CUDA GPU on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {spec!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    return device
