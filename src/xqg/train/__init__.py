"""Training the cross-lingual dense retriever (xDR): contrastive loss over in-batch and hard
negatives, false-negative-free batches, gradient accumulation and caching, several processes,
checkpoints and resume, dev evaluation, and robustness training against misspelled queries.

Example:
    >>> import tempfile
    >>> from xqg.train import RetrieverTrainingConfig, train_retriever
    >>> from xqg.train.testing import tiny_hash_encoder, toy_examples
    >>> result = train_retriever(tiny_hash_encoder(), toy_examples(8), RetrieverTrainingConfig(
    ...     batch_size=4, num_negatives=1, max_steps=1), tempfile.mkdtemp(), show_progress=False)
    >>> result.steps
    1
"""

from __future__ import annotations

import importlib
from typing import Any

# Exports are imported on first use (PEP 562), so that ``import xqg.train.config`` and ``xqg --help``
# do not pull in torch.
_EXPORTS: dict[str, str] = {
    "DevSet": "xqg.train.dev",
    "PAPER_PRESET": "xqg.train.config",
    "PRESETS": "xqg.train.config",
    "QueryPerturber": "xqg.train.robustness",
    "QueryViews": "xqg.train.robustness",
    "ROBUSTNESS_METHODS": "xqg.train.config",
    "StepStats": "xqg.train.loss",
    "TrainResult": "xqg.train.trainer",
    "RetrieverTrainingConfig": "xqg.train.config",
    "TrainingExample": "xqg.train.examples",
    "UniquePassageBatchSampler": "xqg.train.sampler",
    "build_training_examples": "xqg.train.examples",
    "compute_batch_gradients": "xqg.train.step",
    "contains_answer": "xqg.train.negatives",
    "contrastive_loss": "xqg.train.loss",
    "embed_texts": "xqg.train.dev",
    "evaluate_encoder": "xqg.train.dev",
    "false_negative_mask": "xqg.train.loss",
    "init_distributed_from_env": "xqg.train.trainer",
    "masked_logits": "xqg.train.loss",
    "mine_hard_negatives": "xqg.train.negatives",
    "mine_answer_positives": "xqg.train.positives",
    "MinedPairs": "xqg.train.positives",
    "passage_text": "xqg.train.examples",
    "read_negatives": "xqg.train.examples",
    "self_teaching_kl": "xqg.train.loss",
    "train_retriever": "xqg.train.trainer",
    "write_negatives": "xqg.train.examples",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'xqg.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = sorted(_EXPORTS)
