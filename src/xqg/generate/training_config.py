"""Settings of generator training (:class:`GeneratorTrainingConfig`); no torch import, so command
lines and experiment files can check them cheaply."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from xqg.devices import check_device_name
from xqg.errors import ConfigError
from xqg.precision import normalise_precision


@dataclass
class GeneratorTrainingConfig:
    """Settings of :func:`train_generator`.

    Args:
        steps: optimizer steps (ignored when ``epochs`` is set).
        epochs: passes over the training triples (0: use ``steps``); the steps are then computed from
            the generator's batches of one epoch.
        batch_size: triples per step (encoder-decoders: all of one language; causal LMs: at most this
            many of one passage, packed).
        lr: peak learning rate (1e-4 in the paper).
        warmup: share of steps with linear warm-up.
        weight_decay: AdamW weight decay.
        max_input_length: prompt tokens in training (128 in the paper; causal: the passage part).
        max_target_length: question tokens.
        precision: ``"auto"`` (bfloat16 autocast where the CPU or GPU has native bf16, else float32;
            resolved when training starts and recorded, so a run resumes only at the same precision),
            ``"float32"`` or ``"bfloat16"``; ``"float16"`` is refused.
        freeze_encoder: encoder-decoders: train only the decoder (encoder outputs cached once per prompt).
        train_layers: causal LMs: train only the top this many layers (``None``: all); the embeddings,
            tied to the output layer, are always frozen.
        eval_every: steps between evaluations (0: only at the end).
        save_every: steps between checkpoints (0: only at the end).
        max_grad_norm: gradient clipping.
        seed: seed of initial RNG state and batch order.
        threads: torch CPU threads (0: leave as is).
        device: ``"auto"`` (a CUDA GPU when there is one), ``"cpu"``, ``"cuda"``, ``"cuda:N"``; not
            part of the resume identity (a run may resume on another device).
    """

    steps: int = 600
    epochs: float = 0.0
    batch_size: int = 32
    lr: float = 1e-3
    warmup: float = 0.05
    weight_decay: float = 0.01
    max_input_length: int = 128
    max_target_length: int = 32
    precision: str = "auto"
    freeze_encoder: bool = True
    train_layers: int | None = None
    eval_every: int = 0
    save_every: int = 200
    max_grad_norm: float = 1.0
    seed: int = 0
    threads: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        self.precision = normalise_precision(self.precision)
        if self.precision == "float16":
            raise ConfigError(
                "float16 is not supported for generator training (overflows to NaN); use bfloat16 or float32"
            )
        check_device_name(self.device)
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0 or self.epochs < 0:
            raise ConfigError("steps, batch_size and lr must be positive, epochs >= 0")
        if self.train_layers is not None and self.train_layers < 1:
            raise ConfigError("train_layers must be >= 1 (or None for every layer)")

    def identity(self) -> dict[str, Any]:
        """The settings that must match to resume (all but checkpoint/eval cadence, threads and device)."""
        data = asdict(self)
        for key in ("eval_every", "save_every", "threads", "device"):
            data.pop(key)
        return data
