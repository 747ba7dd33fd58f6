"""Contrastive loss of a dual encoder over in-batch and hard negatives, with false-negative masking.

Each query is scored (dot product) against every passage of the (global) batch: its positive, its
hard negatives and every other query's passages. The loss is the softmax cross-entropy of the
positive (design.md §1), optionally with a temperature. A column is **masked** out of a query's
softmax when it would be a false negative: another copy of the query's positive (the same passage
paired with the question in several languages), any passage judged relevant to the query, or a
later duplicate of a passage already in the batch (so that no document counts twice).

The self-teaching term (Zhuang & Zuccon, SIGIR 2022) is ``KL(P_clean || P_typo)`` over the same
candidates, the clean distribution detached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class StepStats:
    """Loss values of one batch (global, identical on every process)."""

    loss: float
    ce: float
    kl: float = 0.0


def false_negative_mask(
    doc_ids: Sequence[str],
    targets: Sequence[int],
    relevant: Sequence[frozenset[str] | set[str]] | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Which (query, passage column) pairs to leave out of the softmax.

    Args:
        doc_ids: the doc id of each passage column (length N), in column order.
        targets: the column of each query's positive (length B).
        relevant: per query, every doc id judged relevant to it (its other positives); optional.
        device: where to put the mask.

    Returns:
        Bool tensor (B, N): ``True`` = masked. A query's own target column is never masked.

    Example:
        >>> false_negative_mask(["a", "x", "a", "x"], [0, 2]).tolist()
        [[False, False, True, True], [True, False, False, True]]
    """
    n = len(doc_ids)
    first: dict[str, int] = {}
    later_duplicate = [False] * n
    for j, doc in enumerate(doc_ids):
        if doc in first:
            later_duplicate[j] = True
        else:
            first[doc] = j
    rows = []
    for i, target in enumerate(targets):
        positives = {doc_ids[target]}
        if relevant is not None:
            positives |= set(relevant[i])
        rows.append([j != target and (later_duplicate[j] or doc_ids[j] in positives) for j in range(n)])
    return torch.tensor(rows, dtype=torch.bool, device=device).reshape(len(targets), n)


def masked_logits(
    queries: torch.Tensor, passages: torch.Tensor, mask: torch.Tensor | None, temperature: float = 1.0
) -> torch.Tensor:
    """Dot-product scores divided by the temperature, masked columns set to a very low value.

    Args:
        queries: (B, d) query embeddings.
        passages: (N, d) passage embeddings.
        mask: (B, N) bool, ``True`` = leave out (see :func:`false_negative_mask`), or ``None``.
        temperature: scores are divided by it (1.0 = no temperature, the paper's setting).

    Returns:
        (B, N) logits. Masked entries hold a large finite negative (so that KL terms stay finite).

    Example:
        >>> q, p = torch.eye(2), torch.eye(2)
        >>> masked_logits(q, p, None, 0.5).tolist()
        [[2.0, 0.0], [0.0, 2.0]]
    """
    logits = queries @ passages.T
    if temperature != 1.0:
        logits = logits / temperature
    if mask is not None:
        logits = logits.masked_fill(mask, torch.finfo(logits.dtype).min / 4)
    return logits


def contrastive_loss(
    queries: torch.Tensor,
    passages: torch.Tensor,
    targets: torch.Tensor,
    mask: torch.Tensor | None = None,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Mean softmax cross-entropy of each query's positive over all passages of the batch.

    Args:
        queries: (B, d).
        passages: (N, d): every passage of the batch (positives and hard negatives of all queries).
        targets: (B,) long: the column of each query's positive.
        mask: (B, N) bool false-negative mask, or ``None``.
        temperature: logit temperature (1.0 = none).

    Returns:
        Scalar loss (mean over the B queries).

    Example:
        >>> q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> round(contrastive_loss(q, q, torch.tensor([0, 1])).item(), 4)
        0.3133
    """
    return F.cross_entropy(masked_logits(queries, passages, mask, temperature), targets)


def self_teaching_kl(
    clean_logits: torch.Tensor, typo_logits: torch.Tensor, kl_temperature: float = 1.0
) -> torch.Tensor:
    """``KL(P_clean || P_typo)`` averaged over queries, the clean distribution detached.

    Args:
        clean_logits: (B, N) logits of the clean queries (from :func:`masked_logits`).
        typo_logits: (B, N) logits of their misspelled copies over the same candidates.
        kl_temperature: both logit sets are divided by it before the softmax (1 in the paper).

    Returns:
        Scalar: the mean over queries of the KL divergence.

    Example:
        >>> x = torch.tensor([[2.0, 0.0]])
        >>> self_teaching_kl(x, x).item()
        0.0
    """
    teacher = F.log_softmax(clean_logits.detach() / kl_temperature, dim=-1)
    student = F.log_softmax(typo_logits / kl_temperature, dim=-1)
    return F.kl_div(student, teacher, log_target=True, reduction="batchmean")
