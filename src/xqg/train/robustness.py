"""Query-side robustness training against misspellings: which query texts a batch is trained on.

Methods (a flag each, :attr:`RetrieverTrainingConfig.robustness`):

* ``none``: the clean queries.
* ``typos-aware`` (Zhuang & Zuccon, EMNLP 2021): each query is replaced by a misspelled copy with
  probability ``typo_probability``.
* ``self-teaching`` (Zhuang & Zuccon, SIGIR 2022): cross-entropy on the clean query plus
  ``KL(P_clean || P_typo)`` between the score distributions of the clean query (detached) and of a
  misspelled copy over the same candidates.
* ``multi-positive``: the clean query and ``typo_variants`` misspelled copies are each trained
  against the same positive (and the same candidates); the cross-entropies are averaged.
* ``adversarial`` (beyond the literature): for each query, ``adversarial_candidates`` misspelled
  copies are scored against its positive by the *current* model, and the lowest-scored one replaces
  the query (with probability ``typo_probability``): training on the misspelling the model handles
  worst, instead of a random one.
* ``distill`` (self-distillation, :mod:`xqg.train.distill`): the clean text and ``distill_views``
  misspelled copies, each pulled to the frozen teacher's vector (and score distribution) of the
  clean text; no relevance labels.

Misspellings come from :func:`xqg.typos.misspell` (the multilingual generator); any callable with
the signature ``misspell(text, lang, seed, num_typos=1, protocol="one-typo") -> str`` can be
injected. Every random choice is seeded per (seed, epoch, query id, variant), so a run repeats.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from xqg.data.records import passage_text
from xqg.seeding import derive_seed
from xqg.train.config import RetrieverTrainingConfig
from xqg.train.examples import TrainingExample
from xqg.typos import misspell


class Misspeller(Protocol):
    """The contract of :func:`xqg.typos.misspell`."""

    def __call__(
        self, text: str, lang: str, seed: int, num_typos: int = 1, protocol: str = "one-typo"
    ) -> str: ...


PairScorer = Callable[[list[str], list[str]], list[float]]
"""``scorer(query_texts, passage_texts) -> [score of pair i]`` with the current model, no gradient."""


@dataclass
class QueryViews:
    """The query texts of one (local) batch.

    Args:
        ce: lists of query texts (one per example each) trained with cross-entropy; the loss is
            their mean. ``ce[0]`` is the clean view for ``none``, ``self-teaching`` and ``multi-positive``.
        kl_student: self-teaching: the misspelled texts whose distribution is pulled to ``ce[0]``'s.
        distilled: distill: the clean texts, then each misspelled copy (one list per view); ``ce``
            is empty.
    """

    ce: list[list[str]]
    kl_student: list[str] | None = None
    distilled: list[list[str]] | None = None


def default_misspeller() -> Misspeller:
    """The project's multilingual generator, :func:`xqg.typos.misspell`."""
    return misspell


class QueryPerturber:
    """Builds the :class:`QueryViews` of a batch for a :class:`RetrieverTrainingConfig`.

    Args:
        config: the training settings (method, probability, variant counts, protocol, seed).
        misspell: the misspelling function (default :func:`default_misspeller`, loaded lazily;
            never needed for ``none``).

    Example:
        >>> from xqg.data.records import Passage, Query
        >>> fake = lambda text, lang, seed, num_typos=1, protocol="one-typo": text[::-1]
        >>> p = QueryPerturber(RetrieverTrainingConfig(robustness="multi-positive", typo_variants=1), fake)
        >>> p.views([TrainingExample(Query("q", "abc", "en"), Passage("d", ""))], epoch=0).ce
        [['abc'], ['cba']]
    """

    def __init__(self, config: RetrieverTrainingConfig, misspell: Misspeller | None = None) -> None:
        self.config = config
        self._misspell = misspell

    @property
    def misspell(self) -> Misspeller:
        if self._misspell is None:
            self._misspell = default_misspeller()
        return self._misspell

    def typo(self, example: TrainingExample, epoch: int, variant: int) -> str:
        """Misspelled copy ``variant`` of an example's query for an epoch (seeded)."""
        query = example.query
        seed = derive_seed(self.config.seed, "train-typo", epoch, query.id, variant)
        return self.misspell(query.text, query.lang, seed, protocol=self.config.typo_protocol)

    def _replaced(self, example: TrainingExample, epoch: int) -> bool:
        rng = random.Random(derive_seed(self.config.seed, "replace", epoch, example.query.id))
        return rng.random() < self.config.typo_probability

    def views(
        self, examples: Sequence[TrainingExample], epoch: int, scorer: PairScorer | None = None
    ) -> QueryViews:
        """The query texts to train this batch on.

        Args:
            examples: the local batch.
            epoch: the epoch (fresh misspellings each epoch).
            scorer: needed by ``adversarial`` (scores candidate misspellings against the positives).
        """
        method = self.config.robustness
        clean = [e.query.text for e in examples]
        if method == "none":
            return QueryViews([clean])
        if method == "typos-aware":
            mixed = [self.typo(e, epoch, 0) if self._replaced(e, epoch) else e.query.text for e in examples]
            return QueryViews([mixed])
        if method == "self-teaching":
            return QueryViews([clean], kl_student=[self.typo(e, epoch, 0) for e in examples])
        if method == "multi-positive":
            variants = [[self.typo(e, epoch, v) for e in examples] for v in range(self.config.typo_variants)]
            return QueryViews([clean, *variants])
        if method == "adversarial":
            return QueryViews([self._adversarial(examples, epoch, scorer)])
        if method == "distill":
            variants = [[self.typo(e, epoch, v) for e in examples] for v in range(self.config.distill_views)]
            return QueryViews([], distilled=[clean, *variants])
        raise AssertionError(method)  # pragma: no cover - RetrieverTrainingConfig validates

    def _adversarial(
        self, examples: Sequence[TrainingExample], epoch: int, scorer: PairScorer | None
    ) -> list[str]:
        if scorer is None:
            raise ValueError("adversarial misspellings need a scorer (the current model)")
        chosen = [e.query.text for e in examples]
        picked = [i for i, e in enumerate(examples) if self._replaced(e, epoch)]
        if not picked:
            return chosen
        m = self.config.adversarial_candidates
        candidates = [[self.typo(examples[i], epoch, v) for v in range(m)] for i in picked]
        flat_queries = [c for cands in candidates for c in cands]
        flat_passages = [passage_text(examples[i].positive) for i in picked for _ in range(m)]
        scores = scorer(flat_queries, flat_passages)
        for k, i in enumerate(picked):
            row = scores[k * m : (k + 1) * m]
            chosen[i] = candidates[k][min(range(m), key=row.__getitem__)]
        return chosen
