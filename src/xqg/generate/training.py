"""Fine-tuning any member of the generator family on (passage, language, question) triples, with resume.

Teacher forcing, AdamW with linear warm-up and decay, bfloat16 autocast or float32 (float16 is
refused: T5 overflows to NaN in it), held-out evaluation loss. What a batch is and how it is scored
belongs to the generator (:meth:`~xqg.generate.base.QueryGenerator.training_batches`,
:meth:`~xqg.generate.base.QueryGenerator.batch_loss`): batches of one language for the
encoder-decoders (with a frozen encoder, its outputs computed once per prompt), one passage's
questions in all languages packed behind a single read of the passage for a causal LM. A checkpoint
holds the trainable parameters and the optimizer moments (safetensors) and the step, RNG state and
settings (JSON); the batch order is a function of the seed and the step, so resuming gives the same
model as an uninterrupted run.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from xqg.data.atomic import atomic_write_json, atomic_write_text
from xqg.devices import resolve_device
from xqg.errors import ConfigError, InputError
from xqg.generate.base import QueryGenerator
from xqg.generate.examples import GeneratorExample
from xqg.generate.training_config import GeneratorTrainingConfig
from xqg.precision import choose_precision, resolve_precision
from xqg.seeding import derive_seed
from xqg.train.checkpoint import (
    flatten_optimizer_state,
    random_state,
    restore_random_state,
    unflatten_optimizer_state,
)

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "trainer_state.json"
LOG_FILE = "train_log.jsonl"


@dataclass
class TrainingResult:
    """What :func:`train_generator` did."""

    steps: int
    train_loss: list[float] = field(default_factory=list)
    eval_loss: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0
    resumed_from: int = 0


class _BatchStream:
    """Batch ``s`` of the whole run, a pure function of (examples, batch size, seed, s)."""

    def __init__(
        self, generator: QueryGenerator, examples: Sequence[GeneratorExample], batch_size: int, seed: int
    ) -> None:
        self.generator = generator
        self.examples, self.batch_size, self.seed = examples, batch_size, seed
        self.epochs: dict[int, list[list[int]]] = {0: self._epoch(0)}
        self.per_epoch = len(self.epochs[0])

    def _epoch(self, epoch: int) -> list[list[int]]:
        return self.generator.training_batches(self.examples, self.batch_size, self.seed, epoch)

    def __getitem__(self, step: int) -> list[GeneratorExample]:
        epoch, index = divmod(step, self.per_epoch)
        if epoch not in self.epochs:
            self.epochs = {epoch: self._epoch(epoch)}
        return [self.examples[i] for i in self.epochs[epoch][index]]


def _lr_at(step: int, config: GeneratorTrainingConfig) -> float:
    warm = max(1, int(round(config.warmup * config.steps)))
    if step < warm:
        return config.lr * (step + 1) / warm
    return config.lr * max(0.0, (config.steps - step) / max(1, config.steps - warm))


def _batch_loss(
    generator: QueryGenerator, state: Any, batch: Sequence[GeneratorExample], config: GeneratorTrainingConfig
) -> torch.Tensor:
    with torch.autocast(generator.device.type, dtype=torch.bfloat16, enabled=config.precision == "bfloat16"):
        return generator.batch_loss(batch, config, state)


def evaluation_loss(
    generator: QueryGenerator,
    examples: Sequence[GeneratorExample],
    config: GeneratorTrainingConfig | None = None,
    state: Any = None,
) -> float:
    """Mean teacher-forced loss over ``examples`` (the generator's batches; example-weighted).

    Example:
        >>> from xqg.data.records import Passage
        >>> from xqg.generate.testing import tiny_generator
        >>> ex = [GeneratorExample(Passage("d", "Berlin"), "de", "Wo ist das?")]
        >>> evaluation_loss(tiny_generator(), ex) > 0
        True
    """
    config = config or GeneratorTrainingConfig()
    if config.precision == "auto":
        config = replace(config, precision=resolve_precision("auto", generator.device))
    if state is None:
        state = generator.training_state([], config, evaluation=True)
    was_training = generator.model.training
    generator.model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for indices in generator.training_batches(examples, config.batch_size, seed=0, epoch=0):
            batch = [examples[i] for i in indices]
            total += float(_batch_loss(generator, state, batch, config)) * len(batch)
            count += len(batch)
    generator.model.train(was_training)
    return total / max(count, 1)


def _trainable(generator: QueryGenerator) -> dict[str, torch.nn.Parameter]:
    return {name: p for name, p in generator.model.named_parameters() if p.requires_grad}


def save_checkpoint(
    folder: Path,
    generator: QueryGenerator,
    optimizer: torch.optim.Optimizer,
    step: int,
    config: GeneratorTrainingConfig,
    result: TrainingResult,
) -> None:
    """Write the trainable parameters, optimizer moments (safetensors), random state and trainer state (JSON).

    The optimizer and the random state take the one checkpoint form of :mod:`xqg.train.checkpoint`
    (:func:`~xqg.train.checkpoint.flatten_optimizer_state`, :func:`~xqg.train.checkpoint.random_state`:
    the CUDA generator too on a GPU, where dropout draws from it). The checkpoint is written whole into
    ``<folder>.tmp`` and swapped in by renames (the previous one is kept as ``<folder>.old`` until the
    new one is in place), so a crash at any moment leaves one complete checkpoint:
    :func:`complete_checkpoint` finds it.
    """
    staging, previous = _sibling(folder, ".tmp"), _sibling(folder, ".old")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    params = {name: p.detach().cpu().contiguous() for name, p in _trainable(generator).items()}
    opt_tensors, opt_meta = flatten_optimizer_state(optimizer.state_dict())
    save_file(params, str(staging / "trainable.safetensors"))
    save_file(opt_tensors, str(staging / "optimizer.safetensors"))
    save_file(random_state(generator.device), str(staging / "rng.safetensors"))
    atomic_write_json(
        staging / STATE_FILE,
        {
            "step": step,
            "config": config.identity(),
            "optimizer": opt_meta,
            "train_loss": result.train_loss,
            "eval_loss": result.eval_loss,
        },
    )
    complete_checkpoint(folder)  # an earlier swap cut short is finished first
    if folder.exists():
        if previous.exists():
            shutil.rmtree(previous)
        folder.replace(previous)
    staging.replace(folder)
    shutil.rmtree(previous, ignore_errors=True)


def _sibling(folder: Path, suffix: str) -> Path:
    return folder.with_name(folder.name + suffix)


def complete_checkpoint(folder: str | Path) -> Path | None:
    """The complete generator checkpoint at ``folder``, after finishing a swap a crash cut short.

    :func:`save_checkpoint` renames the current checkpoint to ``<folder>.old`` before it renames the
    new one into place; a crash between the two leaves only ``<folder>.old``, which is moved back.

    Args:
        folder: the checkpoint folder (``<output_dir>/checkpoint``).

    Returns:
        ``folder`` when it holds a complete checkpoint, else ``None``.

    Example:
        >>> complete_checkpoint("no/such/run/checkpoint") is None
        True
    """
    folder = Path(folder)
    previous = _sibling(folder, ".old")
    if not (folder / STATE_FILE).is_file() and (previous / STATE_FILE).is_file():
        if folder.exists():
            shutil.rmtree(folder)
        previous.replace(folder)
    return folder if (folder / STATE_FILE).is_file() else None


def _truncate_log(path: Path, step: int) -> None:
    """Drop the log lines of steps after ``step`` (written after the checkpoint a resume starts from),
    and a last line cut short by a crash."""
    if not path.is_file():
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = []
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):  # the write a crash interrupted
                break
            raise InputError("not a JSON line of a training log", path=path, line=number) from None
        if entry.get("step", 0) <= step:
            kept.append(line if line.endswith("\n") else line + "\n")
    if kept != lines:
        atomic_write_text(path, "".join(kept))


def _load_checkpoint(
    folder: Path,
    generator: QueryGenerator,
    optimizer: torch.optim.Optimizer,
    config: GeneratorTrainingConfig,
    result: TrainingResult,
) -> int:
    state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    if state["config"] != json.loads(json.dumps(config.identity())):
        raise ConfigError(
            f"{folder} was written with other training settings ({state['config']}); "
            "use the same settings to resume, or another output folder"
        )
    params = load_file(str(folder / "trainable.safetensors"))
    trainable = _trainable(generator)
    if set(params) != set(trainable):
        raise ConfigError(f"checkpoint {folder} does not match the model's trainable parameters")
    with torch.no_grad():
        for name, value in params.items():
            trainable[name].copy_(value)
    meta = state.get("optimizer")
    if meta is None:  # written before the shared form: scalars apart, groups without their params
        groups = optimizer.state_dict()["param_groups"]
        for group, saved in zip(groups, state["param_groups"], strict=True):
            group.update(saved)
        meta = {"param_groups": groups, "scalars": state["optimizer_scalars"]}
    optimizer.load_state_dict(
        unflatten_optimizer_state(load_file(str(folder / "optimizer.safetensors")), meta)
    )
    restore_random_state(load_file(str(folder / "rng.safetensors")), generator.device)
    result.train_loss = list(state["train_loss"])
    result.eval_loss = [tuple(x) for x in state["eval_loss"]]
    return int(state["step"])


def train_generator(
    generator: QueryGenerator,
    train: Sequence[GeneratorExample],
    output_dir: str | Path,
    config: GeneratorTrainingConfig | None = None,
    eval_examples: Sequence[GeneratorExample] = (),
    show_progress: bool = True,
    stop_after: int | None = None,
) -> TrainingResult:
    """Fine-tune ``generator`` in place on ``train``; checkpoints and resumes in ``output_dir``.

    The finished generator is saved to ``output_dir`` (load it with :func:`xqg.generate.load_generator`).
    Re-running the same call after an interruption resumes from ``output_dir/checkpoint``.

    Args:
        generator: the generator to train (same initial weights on resume).
        train: training triples.
        output_dir: where checkpoints, ``train_log.jsonl`` and the final generator go.
        config: training settings.
        eval_examples: held-out triples for the evaluation loss.
        show_progress: tqdm bar.
        stop_after: stop (after checkpointing) once this step is reached, as if interrupted (tests).

    Example:
        >>> import tempfile
        >>> from xqg.data.records import Passage
        >>> from xqg.generate.testing import tiny_generator
        >>> ex = [GeneratorExample(Passage("d", "Berlin"), "de", "Wo ist das?")] * 4
        >>> r = train_generator(tiny_generator(), ex, tempfile.mkdtemp(), GeneratorTrainingConfig(steps=2, batch_size=2),
        ...                     show_progress=False)
        >>> r.steps
        2
    """
    config = config or GeneratorTrainingConfig()
    if not train:
        raise InputError("no training triples")
    for lang in sorted({ex.lang for ex in train} | {ex.lang for ex in eval_examples}):
        generator.check_language(lang)
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(config.device)
    generator.to(device)  # a no-op where it already is
    choice = choose_precision(config.precision, device)
    config = replace(config, precision=choice.precision)  # recorded: a resume needs the same precision
    logger.info("training the generator on %s, %s", device, choice)
    model = generator.model
    generator.configure_training(config)
    stream = _BatchStream(generator, train, config.batch_size, config.seed)
    if config.epochs:
        config = replace(config, steps=max(1, math.ceil(config.epochs * stream.per_epoch)))
        logger.info("%g epochs of %d batches: %d steps", config.epochs, stream.per_epoch, config.steps)
    torch.manual_seed(derive_seed(config.seed, "generator-training") % (2**63))  # CPU and CUDA
    params = list(_trainable(generator).values())
    decay = [p for p in params if p.dim() > 1]
    no_decay = [p for p in params if p.dim() <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
    )
    result = TrainingResult(steps=config.steps)
    step = 0
    checkpoint = out / CHECKPOINT_DIR
    if complete_checkpoint(checkpoint) is not None:
        step = _load_checkpoint(checkpoint, generator, optimizer, config, result)
        _truncate_log(out / LOG_FILE, step)
        result.resumed_from = step
        logger.info("resuming generator training at step %d of %d", step, config.steps)
    started = time.monotonic()
    state = generator.training_state(
        train if step < config.steps else [], config, show_progress=show_progress
    )
    progress = None
    if show_progress:
        from tqdm.auto import tqdm

        progress = tqdm(total=config.steps, initial=step, desc="train generator", unit="step")
    log = open(out / LOG_FILE, "a", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        while step < config.steps:
            generator.training_mode(config)
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(step, config)
            loss = _batch_loss(generator, state, stream[step], config)
            if not math.isfinite(float(loss.detach())):
                raise ConfigError(f"training loss is {float(loss)} at step {step}; lower the learning rate")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            step += 1
            result.train_loss.append(float(loss.detach()))
            entry: dict[str, Any] = {
                "step": step,
                "loss": round(float(loss.detach()), 5),
                "lr": optimizer.param_groups[0]["lr"],
            }
            if eval_examples and (
                (config.eval_every and step % config.eval_every == 0) or step == config.steps
            ):
                value = evaluation_loss(generator, eval_examples, config, state)
                result.eval_loss.append((step, value))
                entry["eval_loss"] = round(value, 5)
            entry["seconds"] = round(time.monotonic() - started, 2)
            log.write(json.dumps(entry) + "\n")
            log.flush()
            if progress is not None:
                progress.update(1)
                progress.set_postfix(loss=f"{float(loss.detach()):.3f}")
            interrupted = stop_after is not None and step >= stop_after
            if (config.save_every and step % config.save_every == 0) or interrupted:
                save_checkpoint(checkpoint, generator, optimizer, step, config, result)
            if interrupted and step < config.steps:
                break
    finally:
        log.close()
        if progress is not None:
            progress.close()
    result.seconds = time.monotonic() - started
    if step >= config.steps:
        model.eval()
        generator.settings.source = {**generator.settings.source, "training": config.identity()}
        generator.save(out)
        save_checkpoint(checkpoint, generator, optimizer, step, config, result)
    return result
