"""Settings of a retriever training run, and the paper's preset."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from xqg.errors import ConfigError
from xqg.precision import normalise_precision, resolve_precision

ROBUSTNESS_METHODS: tuple[str, ...] = (
    "none",
    "typos-aware",
    "self-teaching",
    "multi-positive",
    "adversarial",
    "distill",
)
"""Query-side robustness training methods (see :mod:`xqg.train.robustness`; ``distill``:
:mod:`xqg.train.distill`)."""

TUNING_MODES: tuple[str, ...] = ("full", "no-embeddings", "lora")
"""Which weights training changes: all of them, all but the token embeddings, or low-rank adapters
(:mod:`xqg.train.lora`) merged into the weights at the end."""

DISTILL_SOURCES: tuple[str, ...] = ("questions", "pieces", "files")
"""Where self-distillation's label-free texts come from (:func:`xqg.train.distill.label_free_texts`)."""

DISTILL_LOSSES: tuple[str, ...] = ("cosine", "kl", "cosine+kl")
"""Terms of the self-distillation loss (:func:`xqg.train.distill.distillation_loss`)."""


@dataclass(frozen=True)
class RetrieverTrainingConfig:
    """Everything that decides what a training run computes.

    Args:
        epochs: passes over the examples (a fraction trains part of the last epoch).
        max_steps: stop after this many optimizer steps (0 = ``epochs`` decides).
        batch_size: queries per optimizer step over all processes (before accumulation; each
            brings ``1 + num_negatives`` passages).
        num_negatives: hard negatives per query (the paper: 7).
        learning_rate: peak learning rate of AdamW (the paper: 1e-5).
        weight_decay: AdamW weight decay.
        warmup_ratio: fraction of the steps with a linear warm-up (the paper: 0.1); linear decay to 0 after.
        temperature: logits = dot / temperature (1.0 = none, the paper's setting for unnormalised
            mBERT [CLS] vectors; L2-normalised encoders such as E5 need about 0.01-0.05).
        grad_accumulation: micro-batches per optimizer step (in-batch negatives stay per micro-batch).
        grad_cache_chunk: with a value > 0, gradient caching (GradCache, Gao et al. 2021): the batch
            is encoded in chunks of this many texts and the gradients equal those of the whole batch
            at the memory of one chunk. 0 = off.
        max_grad_norm: gradient clipping (0 = off).
        robustness: one of :data:`ROBUSTNESS_METHODS`.
        typo_probability: typos-aware / adversarial: probability a query is replaced by a misspelled copy.
        typo_variants: multi-positive: misspelled variants per query trained beside the clean one.
        adversarial_candidates: adversarial: candidate misspellings per query, the worst-scored is used.
        kl_weight: self-teaching: weight of the KL term.
        kl_temperature: self-teaching: softmax temperature of the KL term (applied to the logits).
        typo_protocol: the :func:`xqg.typos.misspell` protocol used for training typos.
        distill_loss: distill: ``cosine`` (1 - cos between the student's vector of a text, clean or
            misspelled, and the frozen teacher's vector of the clean text), ``kl`` (KL between the
            teacher's and the student's score distributions over the candidate passages, at
            ``temperature`` and ``kl_temperature``; ``kl_weight`` scales it) or ``cosine+kl``.
        distill_views: distill: misspelled copies of each text per step (beside the clean one).
        distill_clean_weight: distill: weight of the clean text's terms (the anchor that keeps clean
            behaviour; the misspelled copies' terms have weight 1 together).
        distill_passages: distill with both towers (no passage bank): corpus passages sampled per
            step as the candidates, encoded by the student and anchored to the teacher's vectors.
        tuning: one of :data:`TUNING_MODES`: ``full`` (every weight), ``no-embeddings`` (the token,
            position and type embeddings frozen: their AdamW update is half the step time of a
            250k-token vocabulary) or ``lora`` (low-rank adapters on every linear layer of the
            transformer, merged at the end).
        lora_rank: rank of the LoRA adapters.
        lora_alpha: LoRA scaling numerator (the update is ``alpha / rank * B @ A``).
        precision: compute precision of the encoder's forward and backward passes during training:
            ``float32`` or ``bfloat16`` (autocast: weights, optimizer and loss stay in float32;
            2-5x faster on CPUs with AMX/avx512_bf16, measured in docs/training.md). Resolve
            ``auto`` first with :func:`xqg.train.config.training_precision`.
        seed: base seed (batches, typos, dropout).
        save_steps: save a resumable checkpoint every this many optimizer steps and at the end
            (0 = none: only the final model is saved).
        keep_checkpoints: how many checkpoints to keep (oldest deleted).
        eval_steps: evaluate on the dev set every this many steps (0 = only at the end).
        eval_metric: dev metric recorded in the history and used to pick ``best``.
        eval_batch_size: batch size of dev encoding.
    """

    epochs: float = 1.0
    max_steps: int = 0
    batch_size: int = 32
    num_negatives: int = 7
    learning_rate: float = 1e-5
    weight_decay: float = 0.0
    warmup_ratio: float = 0.1
    temperature: float = 1.0
    grad_accumulation: int = 1
    grad_cache_chunk: int = 0
    max_grad_norm: float = 0.0
    robustness: str = "none"
    typo_probability: float = 0.5
    typo_variants: int = 2
    adversarial_candidates: int = 4
    kl_weight: float = 1.0
    kl_temperature: float = 1.0
    typo_protocol: str = "one-typo"
    distill_loss: str = "cosine+kl"
    distill_views: int = 1
    distill_clean_weight: float = 1.0
    distill_passages: int = 16
    tuning: str = "full"
    lora_rank: int = 8
    lora_alpha: float = 16.0
    precision: str = "float32"
    seed: int = 0
    save_steps: int = 0
    keep_checkpoints: int = 2
    eval_steps: int = 0
    eval_metric: str = "MRR@10"
    eval_batch_size: int = 64

    def __post_init__(self) -> None:
        if self.robustness not in ROBUSTNESS_METHODS:
            raise ConfigError(
                f"robustness must be one of {', '.join(ROBUSTNESS_METHODS)}, got {self.robustness!r}"
            )
        if self.batch_size < 1 or self.grad_accumulation < 1:
            raise ConfigError("batch_size and grad_accumulation must be at least 1")
        if self.num_negatives < 0 or self.grad_cache_chunk < 0:
            raise ConfigError("num_negatives and grad_cache_chunk must not be negative")
        if self.temperature <= 0 or self.kl_temperature <= 0:
            raise ConfigError("temperatures must be positive")
        if not 0.0 <= self.typo_probability <= 1.0:
            raise ConfigError(f"typo_probability must lie in [0, 1], got {self.typo_probability}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(f"warmup_ratio must lie in [0, 1), got {self.warmup_ratio}")
        if self.epochs <= 0 and self.max_steps <= 0:
            raise ConfigError("give epochs > 0 or max_steps > 0")
        if self.typo_variants < 1 or self.adversarial_candidates < 1:
            raise ConfigError("typo_variants and adversarial_candidates must be at least 1")
        if self.distill_loss not in DISTILL_LOSSES:
            raise ConfigError(
                f"distill_loss must be one of {', '.join(DISTILL_LOSSES)}, got {self.distill_loss!r}"
            )
        if self.distill_views < 1 or self.distill_passages < 1 or self.distill_clean_weight < 0:
            raise ConfigError(
                "distill_views and distill_passages must be at least 1, distill_clean_weight not negative"
            )
        if self.tuning not in TUNING_MODES:
            raise ConfigError(f"tuning must be one of {', '.join(TUNING_MODES)}, got {self.tuning!r}")
        if self.lora_rank < 1 or self.lora_alpha <= 0:
            raise ConfigError("lora_rank must be at least 1 and lora_alpha positive")
        if self.precision not in ("float32", "bfloat16"):
            raise ConfigError(
                f"training precision must be float32 or bfloat16 (resolve 'auto' with training_precision), "
                f"got {self.precision!r}"
            )
        if self.robustness == "distill" and self.grad_cache_chunk:
            raise ConfigError("distill computes per-text losses: gradient caching does not apply to it")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored in checkpoints; a resume with different settings is refused)."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> RetrieverTrainingConfig:
        """A copy with some settings changed."""
        return dataclasses.replace(self, **changes)


def training_precision(name: str, device: str | None = None) -> str:
    """The concrete training precision a setting means on ``device``: ``auto`` is bfloat16 where
    :func:`xqg.precision.resolve_precision` finds native bf16 (AMX/avx512_bf16 CPUs, GPUs of
    capability >= 8), else float32; float16 is not used for training (it would need loss scaling).

    Example:
        >>> training_precision("float32")
        'float32'
    """

    name = normalise_precision(name)
    if name == "float16":
        raise ConfigError("training runs in float32 or bfloat16 (float16 would need loss scaling)")
    resolved = resolve_precision(name, device)
    return "bfloat16" if resolved == "bfloat16" else "float32"


PAPER_PRESET = RetrieverTrainingConfig(
    epochs=40, batch_size=128, num_negatives=7, learning_rate=1e-5, warmup_ratio=0.1, temperature=1.0
)
"""xQG's xDR setting (Tevatron v1, design.md §1): 128 queries x (1 positive + 7 hard negatives),
in-batch negatives, no temperature, lr 1e-5, 10 % warm-up, linear decay, 40 epochs."""

PRESETS: dict[str, RetrieverTrainingConfig] = {"paper": PAPER_PRESET, "default": RetrieverTrainingConfig()}
