"""Training the cross-lingual dense retriever (xDR): contrastive loss over in-batch and hard
negatives, false-negative-free batches, gradient accumulation and caching, several processes,
checkpoints and resume, dev evaluation, and robustness training against misspelled queries.

Example:
    >>> import tempfile
    >>> from xqg.train import TrainingConfig, train_retriever
    >>> from xqg.train.testing import tiny_hash_encoder, toy_examples
    >>> result = train_retriever(tiny_hash_encoder(), toy_examples(8), TrainingConfig(
    ...     batch_size=4, num_negatives=1, max_steps=1), tempfile.mkdtemp(), show_progress=False)
    >>> result.steps
    1
"""

from __future__ import annotations

from xqg.train.config import PAPER_PRESET, PRESETS, ROBUSTNESS_METHODS, TrainingConfig
from xqg.train.dev import DevSet, dense_run, embed_texts, evaluate_encoder
from xqg.train.examples import (
    TrainingExample,
    build_training_examples,
    passage_text,
    read_negatives,
    write_negatives,
)
from xqg.train.loss import contrastive_loss, false_negative_mask, masked_logits, self_teaching_kl
from xqg.train.negatives import contains_answer, mine_hard_negatives
from xqg.train.robustness import QueryPerturber, QueryViews
from xqg.train.sampler import UniquePassageBatchSampler
from xqg.train.step import StepStats, compute_batch_gradients
from xqg.train.trainer import TrainResult, init_distributed_from_env, train_retriever

__all__ = [
    "PAPER_PRESET",
    "PRESETS",
    "ROBUSTNESS_METHODS",
    "DevSet",
    "QueryPerturber",
    "QueryViews",
    "StepStats",
    "TrainResult",
    "TrainingConfig",
    "TrainingExample",
    "UniquePassageBatchSampler",
    "build_training_examples",
    "compute_batch_gradients",
    "contains_answer",
    "contrastive_loss",
    "dense_run",
    "embed_texts",
    "evaluate_encoder",
    "false_negative_mask",
    "init_distributed_from_env",
    "masked_logits",
    "mine_hard_negatives",
    "passage_text",
    "read_negatives",
    "self_teaching_kl",
    "train_retriever",
    "write_negatives",
]
