"""The training loop: batches, accumulation, AdamW with warm-up and linear decay, checkpoints,
resume, dev evaluation, several processes.

Run it in one process, or under ``torchrun --nproc_per_node N`` (the process group is initialised
by :func:`init_distributed_from_env`; the global batch is split evenly and negatives are shared,
see :mod:`xqg.train.distributed`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from xqg.data.atomic import atomic_write_json
from xqg.errors import ConfigError
from xqg.seeding import derive_seed
from xqg.train.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from xqg.train.config import RetrieverTrainingConfig
from xqg.train.dev import DevSet, evaluate_encoder
from xqg.train.distill import DistillTeacher
from xqg.train.distributed import ProcessGroupInfo, all_reduce_gradients, broadcast_parameters
from xqg.train.examples import TrainingExample
from xqg.train.lora import merge_lora, set_trainable
from xqg.train.robustness import Misspeller, QueryPerturber
from xqg.train.sampler import UniquePassageBatchSampler
from xqg.train.step import PassageBank, TrainableEncoder, compute_batch_gradients

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a training run did.

    Args:
        output_dir: the run folder (checkpoints, ``history.json``, ``model/``).
        steps: optimizer steps done in total.
        history: one record per logged step / dev evaluation.
        model_dir: where the final model was saved (``None`` when not saved).
        trainable_parameters: how many parameters the optimizer changed (see ``RetrieverTrainingConfig.tuning``).
    """

    output_dir: Path
    steps: int
    history: list[dict[str, Any]] = field(default_factory=list)
    model_dir: Path | None = None
    trainable_parameters: int = 0


def init_distributed_from_env(backend: str | None = None) -> ProcessGroupInfo:
    """Initialise ``torch.distributed`` when started by torchrun (``WORLD_SIZE`` > 1); else one process.

    Args:
        backend: ``"gloo"`` / ``"nccl"``; default nccl with CUDA, gloo otherwise.
    """
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group(backend or ("nccl" if torch.cuda.is_available() else "gloo"))
    return ProcessGroupInfo.current()


def total_optimizer_steps(sampler: UniquePassageBatchSampler, config: RetrieverTrainingConfig) -> int:
    """Optimizer steps of a run: ``max_steps``, or the micro-batches of ``epochs`` epochs / accumulation."""
    if config.max_steps > 0:
        return config.max_steps
    whole = int(config.epochs)
    micro = sum(len(sampler.batches(e)) for e in range(whole))
    fraction = config.epochs - whole
    if fraction > 0:
        micro += int(fraction * len(sampler.batches(whole)))
    return max(1, micro // config.grad_accumulation)


def linear_schedule(total_steps: int, warmup_ratio: float):
    """Learning-rate factor: linear warm-up over ``warmup_ratio`` of the steps, then linear decay to 0.

    Example:
        >>> f = linear_schedule(10, 0.2)
        >>> [round(f(s), 3) for s in (0, 1, 2, 6, 10)]
        [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    warmup = int(warmup_ratio * total_steps)

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return step / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def train_retriever(
    model: TrainableEncoder,
    examples: Sequence[TrainingExample],
    config: RetrieverTrainingConfig,
    output_dir: str | Path,
    dev: DevSet | None = None,
    misspell: Misspeller | None = None,
    resume: bool = True,
    show_progress: bool = True,
    save_model: bool = True,
    passage_bank: PassageBank | None = None,
    teacher: DistillTeacher | None = None,
    dev_bank: PassageBank | None = None,
) -> TrainResult:
    """Fine-tune a dual encoder contrastively (see :class:`RetrieverTrainingConfig` for every setting).

    Batches never hold two examples with the same positive passage
    (:class:`~xqg.train.sampler.UniquePassageBatchSampler`) and remaining false negatives are masked
    in the loss. With ``resume`` the newest checkpoint in ``output_dir`` is loaded and training goes
    on from there (same settings required), giving the same weights as an uninterrupted run.

    Args:
        model: a ``torch.nn.Module`` with ``embed(texts, kind)`` (e.g. :class:`xqg.encode.DualEncoder`);
            trained in place.
        examples: training examples (:func:`xqg.train.build_training_examples`); each must have
            ``config.num_negatives`` negatives.
        config: the settings.
        output_dir: checkpoints, ``history.json`` and the final model (``output_dir/model``).
        dev: evaluated every ``config.eval_steps`` steps and at the end (rank 0).
        misspell: misspelling function for the robustness methods (default :func:`xqg.typos.misspell`).
        resume: continue from the newest checkpoint if there is one.
        show_progress: tqdm bar (rank 0).
        save_model: save the final model with ``model.save(output_dir / "model")``.
        passage_bank: train the query side against these fixed passage vectors (every corpus
            passage a candidate; dev evaluation then searches the bank too). See
            :class:`~xqg.train.step.PassageBank`.
        teacher: ``distill``: the frozen teacher's vectors of every training text (and, without a
            passage bank, of the candidate passages); default with a bank: computed here from
            ``model`` before the first step (and before a resumed checkpoint is loaded).
        dev_bank: the fixed passage vectors dev evaluation searches (default: ``passage_bank``;
            query-tower-only training on some passages, evaluated on others).

    Returns:
        A :class:`TrainResult`.

    Example:
        >>> import tempfile
        >>> from xqg.train.testing import tiny_hash_encoder, toy_examples
        >>> result = train_retriever(tiny_hash_encoder(), toy_examples(8), RetrieverTrainingConfig(
        ...     batch_size=4, num_negatives=1, max_steps=2), tempfile.mkdtemp(), show_progress=False)
        >>> result.steps
        2
    """
    output_dir = Path(output_dir)
    info = ProcessGroupInfo.current()
    for example in examples if passage_bank is None else ():
        if len(example.negatives) != config.num_negatives:
            raise ValueError(
                f"example of query {example.query.id!r} has {len(example.negatives)} negatives, "
                f"config.num_negatives is {config.num_negatives}"
            )
    if info.active and config.batch_size % info.world_size:
        raise ValueError(f"batch_size {config.batch_size} does not split over {info.world_size} processes")
    torch.manual_seed(derive_seed(config.seed, "torch", info.rank) % (2**63))
    broadcast_parameters(model, info)  # type: ignore[arg-type]
    if config.robustness == "distill" and teacher is None:
        if passage_bank is None:
            raise ConfigError(
                "distill with both towers needs candidate passages: pass "
                "teacher=DistillTeacher.from_model(model, texts, passages)"
            )
        teacher = DistillTeacher.from_model(
            model,  # type: ignore[arg-type]
            [e.query.text for e in examples],
            batch_size=config.eval_batch_size,
            precision=config.precision,
        )
    frozen = set_trainable(
        model,  # type: ignore[arg-type]
        config.tuning,
        config.lora_rank,
        config.lora_alpha,
        derive_seed(config.seed, "lora"),
    )
    sampler = UniquePassageBatchSampler(examples, config.batch_size, config.seed, drop_last=info.active)
    total = total_optimizer_steps(sampler, config)
    params = [p for p in model.parameters() if p.requires_grad]  # type: ignore[attr-defined]
    log.info("training %d parameters (%s)", sum(p.numel() for p in params), config.tuning)
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_schedule(total, config.warmup_ratio))
    perturber = QueryPerturber(config, misspell)

    step, epoch, position, history = 0, 0, 0, []
    checkpoints = list_checkpoints(output_dir) if resume else []
    if checkpoints:
        state = load_checkpoint(checkpoints[-1], model, optimizer, scheduler, config.to_dict())  # type: ignore[arg-type]
        step, epoch, position, history = state["step"], state["epoch"], state["position"], state["history"]
        log.info("resumed from %s (step %d of %d)", checkpoints[-1], step, total)
    if info.is_main:
        output_dir.mkdir(parents=True, exist_ok=True)

    def checkpoint() -> None:
        if info.is_main:
            save_checkpoint(
                output_dir,
                step,
                model,
                optimizer,
                scheduler,  # type: ignore[arg-type]
                {
                    "epoch": epoch,
                    "position": position,
                    "config": config.to_dict(),
                    "history": history,
                    "total_steps": total,
                },
                keep=config.keep_checkpoints,
            )

    def evaluate() -> None:
        if dev is not None and info.is_main:
            table, _ = evaluate_encoder(
                model,
                dev,
                (config.eval_metric,),
                config.eval_batch_size,
                passage_bank=dev_bank if dev_bank is not None else passage_bank,
            )
            record = {"step": step, "dev": table[config.eval_metric]}
            history.append(record)
            log.info("step %d: dev %s %s", step, config.eval_metric, record["dev"].get("avg"))
        if info.active:
            torch.distributed.barrier()

    model.train()  # type: ignore[attr-defined]
    bar = tqdm(total=total, initial=step, desc="train", disable=not (show_progress and info.is_main))
    batches = sampler.batches(epoch)
    micro, loss_sum = 0, 0.0
    while step < total:
        if position >= len(batches):
            epoch, position = epoch + 1, 0
            batches = sampler.batches(epoch)
            continue
        batch = [examples[i] for i in batches[position]]
        if info.active and len(batch) % info.world_size:
            position += 1
            continue
        stats = compute_batch_gradients(
            model,
            batch,
            config,
            perturber,
            epoch,
            loss_scale=1.0 / config.grad_accumulation,
            info=info,
            passage_bank=passage_bank,
            teacher=teacher,
        )
        loss_sum += stats.loss / config.grad_accumulation
        position += 1
        micro += 1
        if micro < config.grad_accumulation:
            continue
        all_reduce_gradients(params, info)
        if config.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        history.append({"step": step, "epoch": epoch, "loss": loss_sum, "lr": scheduler.get_last_lr()[0]})
        bar.update(1)
        bar.set_postfix(loss=f"{loss_sum:.4f}")
        micro, loss_sum = 0, 0.0
        if config.eval_steps and step % config.eval_steps == 0 and step < total:
            evaluate()
        if config.save_steps and step % config.save_steps == 0 and step < total:
            checkpoint()
    bar.close()
    evaluate()
    if config.save_steps:
        checkpoint()
    merge_lora(model)  # type: ignore[arg-type]
    for p in frozen:
        p.requires_grad_(True)
    model_dir = None
    if info.is_main:
        atomic_write_json(output_dir / "history.json", history)
        if save_model and hasattr(model, "save"):
            model_dir = output_dir / "model"
            model.save(model_dir)  # type: ignore[attr-defined]
    model.eval()  # type: ignore[attr-defined]
    return TrainResult(output_dir, step, history, model_dir, sum(p.numel() for p in params))


__all__ = [
    "TrainResult",
    "init_distributed_from_env",
    "linear_schedule",
    "total_optimizer_steps",
    "train_retriever",
]
