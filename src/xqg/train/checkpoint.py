"""Training checkpoints: model, optimizer and random state in safetensors, the rest in JSON.

A checkpoint is a folder ``checkpoint-<step, 8 digits>`` holding ``model.safetensors`` (the
module's ``state_dict``, shared tensors once), ``optimizer.safetensors`` (AdamW moments, one tensor per parameter and
field), ``rng.safetensors`` (the torch random state, and the CUDA one on a GPU: :func:`random_state`) and ``state.json`` (step, epoch, position in
the epoch, scheduler, optimizer hyper-parameters, the training config, the history). It is written
to a temporary folder and renamed, so a folder with a ``state.json`` is always complete.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, load_model, save_file, save_model

from xqg.data.atomic import atomic_write_json
from xqg.devices import resolve_device
from xqg.errors import ConfigError, InputError

CHECKPOINT_PREFIX = "checkpoint-"


def flatten_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's ``state_dict()`` as safetensors tensors (``"<param index>.<field>"``) and JSON-able
    rest (param groups, non-tensor fields): the one checkpoint form of optimizer state in xqg.

    Example:
        >>> p = torch.nn.Parameter(torch.ones(2)); opt = torch.optim.AdamW([p])
        >>> p.grad = torch.ones(2); opt.step()
        >>> tensors, meta = flatten_optimizer_state(opt.state_dict())
        >>> sorted(tensors)
        ['0.exp_avg', '0.exp_avg_sq', '0.step']
        >>> unflatten_optimizer_state(tensors, meta)["state"][0]["exp_avg"].shape
        torch.Size([2])
    """
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, fields in state["state"].items():
        for name, value in fields.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`flatten_optimizer_state`: a ``state_dict`` for ``optimizer.load_state_dict``."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    for index, fields in meta["scalars"].items():
        state.setdefault(int(index), {}).update(fields)
    return {"state": state, "param_groups": meta["param_groups"]}


def random_state(device: torch.device | str | None = "auto") -> dict[str, torch.Tensor]:
    """The random state a resumed run needs: torch's CPU generator, and on a CUDA ``device`` that
    device's generator too (dropout on a GPU draws from it).

    Args:
        device: where the model runs: ``"auto"`` or ``None`` (the same, as everywhere in xqg: a CUDA GPU
            when there is one, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``, or a ``torch.device``.

    Example:
        >>> sorted(random_state("cpu"))
        ['cpu']
    """
    saved = {"cpu": torch.get_rng_state()}
    device = resolve_device(device)
    if device.type == "cuda":
        saved["cuda"] = torch.cuda.get_rng_state(device)
    return saved


def restore_random_state(saved: dict[str, torch.Tensor], device: torch.device | str | None = "auto") -> None:
    """Set the generators :func:`random_state` saved (``"torch"`` is read as ``"cpu"``: the key of
    checkpoints written before this function); ``device`` as in :func:`random_state`.

    Example:
        >>> state = random_state(); a = torch.rand(1); restore_random_state(state); bool(torch.rand(1) == a)
        True
    """
    torch.set_rng_state(saved["cpu"] if "cpu" in saved else saved["torch"])
    if "cuda" in saved and resolve_device(device).type == "cuda":
        torch.cuda.set_rng_state(saved["cuda"], device)


def _model_device(model: torch.nn.Module) -> torch.device:
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def save_checkpoint(
    output_dir: str | Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    state: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write ``output_dir/checkpoint-<step>`` atomically and delete all but the ``keep`` newest.

    Args:
        output_dir: the run's folder.
        step: optimizer steps done.
        model, optimizer, scheduler: the training objects.
        state: JSON-able extras (epoch, position, config, history, ...); ``step`` is added.
        keep: checkpoints to keep (at least 1).

    Returns:
        The checkpoint folder.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    final = output_dir / f"{CHECKPOINT_PREFIX}{step:08d}"
    tmp = output_dir / f".tmp-{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_model(model, str(tmp / "model.safetensors"))  # tied towers share tensors: stored once
    opt_tensors, opt_meta = flatten_optimizer_state(optimizer.state_dict())
    save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
    save_file(random_state(_model_device(model)), str(tmp / "rng.safetensors"))
    atomic_write_json(
        tmp / "state.json",
        {**state, "step": step, "optimizer": opt_meta, "scheduler": scheduler.state_dict()},
    )
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in list_checkpoints(output_dir)[: -max(1, keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Complete checkpoints of a run folder, oldest first."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    found = [p for p in output_dir.glob(f"{CHECKPOINT_PREFIX}*") if (p / "state.json").is_file()]
    return sorted(found, key=lambda p: p.name)


def load_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Restore model, optimizer, scheduler and random state from a checkpoint folder.

    Args:
        path: a ``checkpoint-*`` folder.
        model, optimizer, scheduler: built as for a fresh run; overwritten in place.
        config: the current run's ``RetrieverTrainingConfig.to_dict()``; a checkpoint made with other
            settings is refused.

    Returns:
        The ``state.json`` content (step, epoch, position, history, ...).

    Raises:
        InputError: a file is missing or unreadable. ConfigError: the settings differ.
    """
    path = Path(path)
    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        if not (path / "model.safetensors").is_file():
            raise OSError("model.safetensors is missing")
        opt_tensors = load_file(str(path / "optimizer.safetensors"))
        rng = load_file(str(path / "rng.safetensors"))
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable checkpoint: {exc}", path=path) from exc
    if config is not None and state.get("config") != config:
        changed = sorted(k for k in config if state.get("config", {}).get(k) != config[k])
        raise ConfigError(
            f"{path}: the checkpoint was made with other settings ({', '.join(changed)}); "
            "use a new output folder or the same settings"
        )
    load_model(model, str(path / "model.safetensors"))
    optimizer.load_state_dict(unflatten_optimizer_state(opt_tensors, state["optimizer"]))
    scheduler.load_state_dict(state["scheduler"])
    restore_random_state(rng, _model_device(model))
    return state
