"""Fine-tuning a query generator on (passage, language, question) triples, with checkpoints and resume.

Teacher forcing, AdamW with linear warm-up and decay, bf16 autocast or fp32 (fp16 is refused: T5
overflows to NaN in it), held-out evaluation loss, and batches of a single language (so the default
generator scores only that language's vocabulary subset). With a frozen encoder the encoder outputs
are computed once per distinct prompt and reused every epoch. A checkpoint holds the trainable
parameters and the optimizer moments (safetensors) and the step, RNG state and settings (JSON); the
batch order is a function of the seed and the step, so resuming gives the same model as an
uninterrupted run.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xqg.data.atomic import atomic_write_json
from xqg.data.jsonl import iter_jsonl
from xqg.data.languages import get_language
from xqg.data.records import Passage, RetrievalDataset
from xqg.devices import check_device_name, resolve_device
from xqg.errors import ConfigError, InputError
from xqg.generate.generator import EncodedBatch, QueryGenerator
from xqg.seeding import derive_seed

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoint"
LOG_FILE = "train_log.jsonl"


@dataclass(frozen=True)
class GeneratorExample:
    """One training triple: write ``query`` (in ``lang``) for ``passage``."""

    passage: Passage
    lang: str
    query: str


def examples_from_dataset(
    dataset: RetrievalDataset, languages: Iterable[str] | None = None
) -> list[GeneratorExample]:
    """(passage, language, question) triples of a retrieval dataset: every query with each relevant passage.

    Args:
        dataset: e.g. the training fold of :func:`xqg.data.load_xquad`.
        languages: keep only these query languages (default: all).

    Example:
        >>> from xqg.data.records import Query
        >>> ds = RetrievalDataset("t", [Passage("d", "Berlin.")], {"de": [Query("q/de", "Wo?", "de")]}, {"q/de": {"d": 1}})
        >>> examples_from_dataset(ds)[0].query
        'Wo?'
    """
    by_id = {p.id: p for p in dataset.corpus}
    keep = set(languages) if languages is not None else None
    out = []
    for lang in sorted(dataset.queries):
        if keep is not None and lang not in keep:
            continue
        for query in dataset.queries[lang]:
            for docid, rel in sorted(dataset.qrels.get(query.id, {}).items()):
                if rel > 0 and docid in by_id:
                    out.append(GeneratorExample(by_id[docid], lang, query.text))
    return out


def read_examples_jsonl(path: str | Path) -> list[GeneratorExample]:
    """Read triples from JSONL: ``{"passage": str, "lang": str, "query": str}`` (+ optional ``title``, ``docid``).

    Raises:
        InputError: a missing or empty field, or an unknown language, naming the file and line.
    """
    out = []
    for line, row in iter_jsonl(path):
        for key in ("passage", "lang", "query"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise InputError(f"field {key!r} must be a non-empty string", path=str(path), line=line)
        get_language(row["lang"], path=str(path), line=line)
        passage = Passage(str(row.get("docid", f"line-{line}")), row["passage"], str(row.get("title", "")))
        out.append(GeneratorExample(passage, row["lang"], row["query"]))
    if not out:
        raise InputError("no training triples", path=str(path))
    return out


@dataclass
class TrainingConfig:
    """Settings of :func:`train_generator`.

    Args:
        steps: optimizer steps.
        batch_size: triples per step (all of one language).
        lr: peak learning rate (1e-4 in the paper).
        warmup: share of steps with linear warm-up.
        weight_decay: AdamW weight decay.
        max_input_length: encoder tokens in training (128 in the paper).
        max_target_length: question tokens.
        precision: ``"fp32"`` or ``"bf16"`` (autocast); ``"fp16"`` is refused.
        freeze_encoder: train only the decoder (encoder outputs cached once per prompt).
        eval_every: steps between evaluations (0: only at the end).
        save_every: steps between checkpoints (0: only at the end).
        max_grad_norm: gradient clipping.
        seed: seed of initial RNG state and batch order.
        threads: torch CPU threads (0: leave as is).
        device: ``"auto"`` (a CUDA GPU when there is one), ``"cpu"``, ``"cuda"``, ``"cuda:N"``; not
            part of the resume identity (a run may resume on another device).
    """

    steps: int = 600
    batch_size: int = 32
    lr: float = 1e-3
    warmup: float = 0.05
    weight_decay: float = 0.01
    max_input_length: int = 128
    max_target_length: int = 32
    precision: str = "fp32"
    freeze_encoder: bool = True
    eval_every: int = 0
    save_every: int = 200
    max_grad_norm: float = 1.0
    seed: int = 0
    threads: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.precision == "fp16":
            raise ConfigError(
                "fp16 is not supported for generator training (overflows to NaN); use bf16 or fp32"
            )
        if self.precision not in ("fp32", "bf16"):
            raise ConfigError(f"precision must be fp32 or bf16, got {self.precision!r}")
        check_device_name(self.device)
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError("steps, batch_size and lr must be positive")

    def identity(self) -> dict[str, Any]:
        """The settings that must match to resume (all but checkpoint/eval cadence, threads and device)."""
        data = asdict(self)
        for key in ("eval_every", "save_every", "threads", "device"):
            data.pop(key)
        return data


@dataclass
class TrainingResult:
    """What :func:`train_generator` did."""

    steps: int
    train_loss: list[float] = field(default_factory=list)
    eval_loss: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0
    resumed_from: int = 0


class _EncoderCache:
    """Encoder outputs per prompt text (frozen encoder), or live encoding (trainable encoder)."""

    def __init__(self, generator: QueryGenerator, max_length: int, frozen: bool) -> None:
        self.generator = generator
        self.max_length = max_length
        self.frozen = frozen
        self.cache: dict[str, torch.Tensor] = {}

    def fill(self, prompts: Sequence[str], batch_size: int = 16, show_progress: bool = False) -> None:
        todo = sorted(set(p for p in prompts if p not in self.cache))
        if not self.frozen or not todo:
            return
        iterator: Iterable[int] = range(0, len(todo), batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc="encode passages", unit="batch")
        with torch.no_grad():
            for start in iterator:
                chunk = todo[start : start + batch_size]
                enc = self.generator.encode(chunk, max_length=self.max_length)
                for i, prompt in enumerate(chunk):
                    length = int(enc.mask[i].sum())
                    self.cache[prompt] = enc.hidden[i, :length].clone()

    def batch(self, prompts: Sequence[str]) -> EncodedBatch:
        if not self.frozen:
            return self.generator.encode(prompts, max_length=self.max_length)
        self.fill(prompts)
        states = [self.cache[p] for p in prompts]
        width = max(s.shape[0] for s in states)
        hidden = states[0].new_zeros((len(states), width, states[0].shape[1]))
        mask = torch.zeros((len(states), width), dtype=torch.long, device=hidden.device)
        for i, s in enumerate(states):
            hidden[i, : s.shape[0]] = s
            mask[i, : s.shape[0]] = 1
        return EncodedBatch(hidden, mask)


def _batches_of_epoch(
    examples: Sequence[GeneratorExample], batch_size: int, seed: int, epoch: int
) -> list[list[int]]:
    rng = np.random.default_rng(derive_seed(seed, "generator-batches", epoch))
    by_lang: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        by_lang.setdefault(ex.lang, []).append(i)
    batches = []
    for lang in sorted(by_lang):
        order = [by_lang[lang][j] for j in rng.permutation(len(by_lang[lang]))]
        batches.extend(order[i : i + batch_size] for i in range(0, len(order), batch_size))
    return [batches[j] for j in rng.permutation(len(batches))]


class _BatchStream:
    """Batch ``s`` of the whole run, a pure function of (examples, batch size, seed, s)."""

    def __init__(self, examples: Sequence[GeneratorExample], batch_size: int, seed: int) -> None:
        self.examples, self.batch_size, self.seed = examples, batch_size, seed
        self.epochs: dict[int, list[list[int]]] = {}
        self.per_epoch = len(_batches_of_epoch(examples, batch_size, seed, 0))

    def __getitem__(self, step: int) -> list[GeneratorExample]:
        epoch, index = divmod(step, self.per_epoch)
        if epoch not in self.epochs:
            self.epochs = {epoch: _batches_of_epoch(self.examples, self.batch_size, self.seed, epoch)}
        return [self.examples[i] for i in self.epochs[epoch][index]]


def _lr_at(step: int, config: TrainingConfig) -> float:
    warm = max(1, int(round(config.warmup * config.steps)))
    if step < warm:
        return config.lr * (step + 1) / warm
    return config.lr * max(0.0, (config.steps - step) / max(1, config.steps - warm))


def _batch_loss(
    generator: QueryGenerator, cache: _EncoderCache, batch: Sequence[GeneratorExample], config: TrainingConfig
) -> torch.Tensor:
    lang = batch[0].lang
    prompts = [generator.prompts([ex.passage], ex.lang)[0] for ex in batch]
    with torch.autocast(generator.device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16"):
        encoded = cache.batch(prompts)
        return generator.loss(encoded, [ex.query for ex in batch], lang, config.max_target_length)


def evaluation_loss(
    generator: QueryGenerator,
    examples: Sequence[GeneratorExample],
    config: TrainingConfig | None = None,
    cache: Any = None,
) -> float:
    """Mean teacher-forced loss over ``examples`` (batches of one language; example-weighted).

    Example:
        >>> from xqg.generate.testing import tiny_generator
        >>> ex = [GeneratorExample(Passage("d", "Berlin"), "de", "Wo ist das?")]
        >>> evaluation_loss(tiny_generator(), ex) > 0
        True
    """
    config = config or TrainingConfig()
    cache = cache or _EncoderCache(generator, config.max_input_length, frozen=True)
    was_training = generator.model.training
    generator.model.eval()
    total, count = 0.0, 0
    by_lang: dict[str, list[GeneratorExample]] = {}
    for ex in examples:
        by_lang.setdefault(ex.lang, []).append(ex)
    with torch.no_grad():
        for lang in sorted(by_lang):
            rows = by_lang[lang]
            for start in range(0, len(rows), config.batch_size):
                batch = rows[start : start + config.batch_size]
                total += float(_batch_loss(generator, cache, batch, config)) * len(batch)
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
    config: TrainingConfig,
    result: TrainingResult,
) -> None:
    """Write the trainable parameters, optimizer moments (safetensors) and trainer state (JSON)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    params = {name: p.detach().cpu().contiguous() for name, p in _trainable(generator).items()}
    state = optimizer.state_dict()
    tensors = {}
    scalars: dict[str, dict[str, float]] = {}
    for index, slot in state["state"].items():
        for key, value in slot.items():
            if torch.is_tensor(value) and value.dim() > 0:
                tensors[f"{index}.{key}"] = value.cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = float(value)
    tmp_params, tmp_opt = folder / "trainable.safetensors.tmp", folder / "optimizer.safetensors.tmp"
    save_file(params, str(tmp_params))
    save_file(tensors, str(tmp_opt))
    rng = {"torch": torch.get_rng_state()}
    if generator.device.type == "cuda":  # dropout on a GPU draws from the CUDA generator
        rng["cuda"] = torch.cuda.get_rng_state(generator.device)
    save_file(rng, str(folder / "rng.safetensors.tmp"))
    tmp_params.replace(folder / "trainable.safetensors")
    tmp_opt.replace(folder / "optimizer.safetensors")
    (folder / "rng.safetensors.tmp").replace(folder / "rng.safetensors")
    atomic_write_json(
        folder / "trainer_state.json",
        {
            "step": step,
            "config": config.identity(),
            "optimizer_scalars": scalars,
            "param_groups": [{k: v for k, v in g.items() if k != "params"} for g in state["param_groups"]],
            "train_loss": result.train_loss,
            "eval_loss": result.eval_loss,
        },
    )


def _load_checkpoint(
    folder: Path,
    generator: QueryGenerator,
    optimizer: torch.optim.Optimizer,
    config: TrainingConfig,
    result: TrainingResult,
) -> int:
    from safetensors.torch import load_file

    state = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
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
    tensors = load_file(str(folder / "optimizer.safetensors"))
    opt_state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        opt_state.setdefault(int(index), {})[name] = value
    for index, scalars in state["optimizer_scalars"].items():
        for name, value in scalars.items():
            opt_state.setdefault(int(index), {})[name] = torch.tensor(value)
    groups = optimizer.state_dict()["param_groups"]
    for group, saved in zip(groups, state["param_groups"], strict=False):
        group.update(saved)
    optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
    rng = load_file(str(folder / "rng.safetensors"))
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and generator.device.type == "cuda":
        torch.cuda.set_rng_state(rng["cuda"], generator.device)
    result.train_loss = list(state["train_loss"])
    result.eval_loss = [tuple(x) for x in state["eval_loss"]]
    return int(state["step"])


def train_generator(
    generator: QueryGenerator,
    train: Sequence[GeneratorExample],
    output_dir: str | Path,
    config: TrainingConfig | None = None,
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
        >>> from xqg.generate.testing import tiny_generator
        >>> ex = [GeneratorExample(Passage("d", "Berlin"), "de", "Wo ist das?")] * 4
        >>> r = train_generator(tiny_generator(), ex, tempfile.mkdtemp(), TrainingConfig(steps=2, batch_size=2),
        ...                     show_progress=False)
        >>> r.steps
        2
    """
    config = config or TrainingConfig()
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
    logger.info("training the generator on %s", device)
    model = generator.model
    if config.freeze_encoder:
        model.get_encoder().requires_grad_(False)
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
    if (checkpoint / "trainer_state.json").exists():
        step = _load_checkpoint(checkpoint, generator, optimizer, config, result)
        result.resumed_from = step
        logger.info("resuming generator training at step %d of %d", step, config.steps)
    cache = _EncoderCache(generator, config.max_input_length, frozen=config.freeze_encoder)
    started = time.monotonic()
    if config.freeze_encoder and step < config.steps:
        model.eval()
        cache.fill([generator.prompts([ex.passage], ex.lang)[0] for ex in train], show_progress=show_progress)
    stream = _BatchStream(train, config.batch_size, config.seed)
    progress = None
    if show_progress:
        from tqdm.auto import tqdm

        progress = tqdm(total=config.steps, initial=step, desc="train generator", unit="step")
    log = open(out / LOG_FILE, "a", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        while step < config.steps:
            model.train()
            if config.freeze_encoder:
                model.get_encoder().eval()
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(step, config)
            loss = _batch_loss(generator, cache, stream[step], config)
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
                value = evaluation_loss(generator, eval_examples, config, cache)
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
