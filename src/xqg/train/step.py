"""One batch: encode, share across processes, loss, backward (plain or with gradient caching).

Gradient caching (GradCache, Gao et al., RepL4NLP 2021) makes the batch size independent of
memory: (1) encode every text in chunks without a graph, (2) compute the loss on those embeddings
(made leaves) and back-propagate to get d loss / d embedding, (3) re-encode each chunk with a graph
and back-propagate ``<embedding, cached gradient>``. The random state of each chunk is recorded in
(1) and restored in (3), so dropout masks match and the parameter gradients equal those of the
whole batch encoded at once (up to floating-point summation order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from xqg.data.records import passage_text
from xqg.train.config import RetrieverTrainingConfig
from xqg.train.distill import DistillTeacher, distill_batch_gradients
from xqg.train.distributed import ProcessGroupInfo, gather_with_local_grad
from xqg.train.examples import TrainingExample
from xqg.train.forward import embed_at
from xqg.train.loss import StepStats, contrastive_loss, false_negative_mask, masked_logits, self_teaching_kl
from xqg.train.robustness import QueryPerturber


class TrainableEncoder(Protocol):
    """What training needs from a dual encoder (:class:`xqg.encode.DualEncoder` has it)."""

    def embed(self, texts: list[str], kind: str) -> torch.Tensor: ...


@dataclass
class PassageBank:
    """Fixed passage embeddings to train the query side against (query-tower-only fine-tuning).

    With a bank, every query is scored against *all* bank passages (a full-corpus softmax; hard
    negatives are implicit), passages are not re-encoded and get no gradient: training costs only
    the query forward/backward passes, and an index built with the same vectors stays valid.

    Args:
        ids: doc id of each row (unique).
        vectors: (N, d) float tensor.

    Example:
        >>> bank = PassageBank(["a", "b"], torch.eye(2))
        >>> bank.index["b"]
        1
    """

    ids: list[str]
    vectors: torch.Tensor

    def __post_init__(self) -> None:
        self.index = {doc: i for i, doc in enumerate(self.ids)}
        if len(self.index) != len(self.ids) or len(self.ids) != self.vectors.shape[0]:
            raise ValueError("a passage bank needs unique ids, one per vector row")


class _RandomState:
    """The CPU (and CUDA) random state at one point, to replay dropout exactly."""

    def __init__(self) -> None:
        self.cpu = torch.get_rng_state()
        self.cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None

    def restore(self) -> None:
        torch.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def batch_layout(examples: Sequence[TrainingExample]) -> tuple[list[str], list[int]]:
    """Doc ids of the passage columns (each example: positive, then its negatives) and each query's target."""
    doc_ids: list[str] = []
    targets: list[int] = []
    for e in examples:
        targets.append(len(doc_ids))
        doc_ids.append(e.positive.id)
        doc_ids.extend(p.id for p in e.negatives)
    return doc_ids, targets


def pair_scorer(
    model: TrainableEncoder, fixed_passages: dict[str, torch.Tensor] | None = None, precision: str = "float32"
):
    """A no-grad ``scorer(queries, passages) -> [dot of pair i]`` with the model in eval mode (for adversarial typos).

    Args:
        model: the encoder being trained.
        fixed_passages: passage text → its fixed vector (query-tower-only training against a
            :class:`PassageBank`: candidates are scored against the vectors the loss uses).
    """

    def score(queries: list[str], passages: list[str]) -> list[float]:
        module = model if isinstance(model, torch.nn.Module) else None
        was_training = module.training if module is not None else False
        if module is not None:
            module.eval()
        try:
            with torch.no_grad():
                unique = list(dict.fromkeys(passages))
                q = embed_at(model, queries, "query", precision)
                if fixed_passages is not None:
                    p = torch.stack([fixed_passages[t] for t in unique]).to(q.device, q.dtype)
                else:
                    p = embed_at(model, unique, "passage", precision)
                index = torch.tensor([unique.index(t) for t in passages])
                return (q * p[index]).sum(-1).tolist()
        finally:
            if module is not None and was_training:
                module.train()

    return score


def compute_batch_gradients(
    model: TrainableEncoder,
    batch: Sequence[TrainingExample],
    config: RetrieverTrainingConfig,
    perturber: QueryPerturber | None = None,
    epoch: int = 0,
    loss_scale: float = 1.0,
    info: ProcessGroupInfo | None = None,
    passage_bank: PassageBank | None = None,
    teacher: DistillTeacher | None = None,
) -> StepStats:
    """Accumulate into ``.grad`` the gradient of the loss of one global batch (this process's part).

    The caller sums gradients over processes (:func:`xqg.train.distributed.all_reduce_gradients`)
    and steps the optimizer.

    Args:
        model: the encoder (``embed(texts, kind)`` with gradients).
        batch: the **global** batch (every process passes the same list; each encodes its slice).
        config: loss and robustness settings (temperature, grad_cache_chunk, kl_weight, ...).
        perturber: builds the query views (default: from ``config``).
        epoch: for the seeded misspellings.
        loss_scale: the loss is multiplied by it before backward (1 / accumulation steps).
        info: the process group (default: the current one).
        passage_bank: score queries against these fixed passage vectors instead of encoding the
            batch's passages (see :class:`PassageBank`).
        teacher: the frozen teacher's vectors, needed by ``distill`` (:mod:`xqg.train.distill`).

    Returns:
        The batch's loss terms.

    Example:
        >>> from xqg.train.testing import tiny_hash_encoder, toy_examples
        >>> stats = compute_batch_gradients(tiny_hash_encoder(), toy_examples(4), RetrieverTrainingConfig(num_negatives=1))
        >>> stats.loss > 0
        True
    """
    info = info or ProcessGroupInfo.current()
    perturber = perturber or QueryPerturber(config)
    if config.robustness == "distill":
        if teacher is None:
            raise ValueError("distill needs the teacher's vectors (xqg.train.distill.DistillTeacher)")
        return distill_batch_gradients(
            model, batch, config, perturber, epoch, loss_scale, info, passage_bank, teacher
        )
    local = list(batch[info.local_slice(len(batch))])
    if passage_bank is None:
        doc_ids, targets = batch_layout(batch)
    else:
        doc_ids, targets = passage_bank.ids, [passage_bank.index[e.positive.id] for e in batch]
    scorer = None
    if config.robustness == "adversarial":
        fixed = (
            {passage_text(e.positive): passage_bank.vectors[passage_bank.index[e.positive.id]] for e in local}
            if passage_bank is not None
            else None
        )
        scorer = pair_scorer(model, fixed, config.precision)
    views = perturber.views(local, epoch, scorer)
    query_texts = [t for view in views.ce for t in view] + (views.kl_student or [])
    passage_texts = (
        [] if passage_bank else [passage_text(p) for e in local for p in (e.positive, *e.negatives)]
    )

    if config.grad_cache_chunk > 0:
        caches: list[tuple[str, list[str], list[_RandomState], torch.Tensor]] = []
        for kind, texts in (("query", query_texts), ("passage", passage_texts))[: 1 if passage_bank else 2]:
            states, parts = [], []
            with torch.no_grad():
                for part in _chunks(len(texts), config.grad_cache_chunk):
                    states.append(_RandomState())
                    parts.append(embed_at(model, texts[part], kind, config.precision))
            caches.append((kind, texts, states, torch.cat(parts).requires_grad_()))
        after_first_pass = _RandomState()
        q_local = caches[0][3]
        p_local = caches[1][3] if passage_bank is None else None
    else:
        q_local = embed_at(model, query_texts, "query", config.precision)
        p_local = (
            embed_at(model, passage_texts, "passage", config.precision) if passage_bank is None else None
        )

    if passage_bank is None:
        passages = gather_with_local_grad(p_local, info)
    else:
        passages = passage_bank.vectors.to(q_local.device, q_local.dtype)
    mask = false_negative_mask(doc_ids, targets, [e.relevant for e in batch], device=passages.device)
    target_tensor = torch.tensor(targets, device=passages.device)
    b = len(local)
    ce_terms, clean_logits = [], None
    for v in range(len(views.ce)):
        q = gather_with_local_grad(q_local[v * b : (v + 1) * b], info)
        logits = masked_logits(q, passages, mask, config.temperature)
        if v == 0:
            clean_logits = logits
        ce_terms.append(torch.nn.functional.cross_entropy(logits, target_tensor))
    ce = torch.stack(ce_terms).mean()
    loss = ce
    kl = torch.zeros(())
    if views.kl_student is not None:
        start = len(views.ce) * b
        student = gather_with_local_grad(q_local[start : start + b], info)
        student_logits = masked_logits(student, passages, mask, config.temperature)
        kl = self_teaching_kl(clean_logits, student_logits, config.kl_temperature)
        loss = ce + config.kl_weight * kl
    (loss * loss_scale).backward()

    if config.grad_cache_chunk > 0:
        for kind, texts, states, reps in caches:
            for part, state in zip(_chunks(len(texts), config.grad_cache_chunk), states, strict=True):
                state.restore()
                emb = embed_at(model, texts[part], kind, config.precision)
                emb.backward(gradient=reps.grad[part])
        after_first_pass.restore()
    return StepStats(loss=float(loss.detach()), ce=float(ce.detach()), kl=float(kl.detach()))


__all__ = [
    "StepStats",
    "TrainableEncoder",
    "batch_layout",
    "compute_batch_gradients",
    "contrastive_loss",
    "pair_scorer",
]
