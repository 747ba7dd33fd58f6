"""Batches in which no passage is the positive of two examples.

XQuAD (and any multilingual set built from parallel questions) pairs one passage with the same
question in many languages, and several questions share a paragraph. A random batch would hold the
same passage twice: as one example's positive and, for the others, as an in-batch *negative* that
is in fact relevant, a false negative. :class:`UniquePassageBatchSampler` never puts two examples
with the same positive into one batch; :func:`xqg.train.loss.false_negative_mask` removes what is
left (a hard negative that is another example's positive, or a duplicate hard negative).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from xqg.errors import ConfigError
from xqg.seeding import derive_seed
from xqg.train.examples import TrainingExample


class UniquePassageBatchSampler:
    """Seeded, per-epoch shuffled batches of example indices with distinct positive passages.

    Examples are shuffled (seed derived from ``seed`` and the epoch), then placed greedily into the
    oldest open batch that does not hold their positive yet; full batches come out in the order
    they fill. At the end of the epoch the open batches are emitted too (smaller), unless
    ``drop_last``. Every index appears exactly once per epoch (or, with ``drop_last``, at most once).

    Args:
        examples: the training examples (only ``positive.id`` is used).
        batch_size: examples per batch (the global batch, over all processes).
        seed: base seed; epoch ``e`` uses ``derive_seed(seed, "batches", e)``.
        drop_last: drop the incomplete batches at the end of an epoch (needed with several
            processes, which split each batch evenly).

    Example:
        >>> from xqg.data.records import Passage, Query
        >>> ex = [TrainingExample(Query(f"q{i}", "?", "en"), Passage(f"p{i % 2}", "")) for i in range(4)]
        >>> batches = UniquePassageBatchSampler(ex, batch_size=2, seed=0).batches(0)
        >>> all(len({ex[i].positive.id for i in b}) == len(b) for b in batches)
        True
    """

    def __init__(
        self, examples: Sequence[TrainingExample], batch_size: int, seed: int = 0, drop_last: bool = False
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        self.doc_ids = [e.positive.id for e in examples]
        self.batch_size = batch_size
        self.seed = seed
        self.drop_last = drop_last

    def batches(self, epoch: int) -> list[list[int]]:
        """The batches of one epoch (deterministic for a given seed and epoch)."""
        order = list(range(len(self.doc_ids)))
        random.Random(derive_seed(self.seed, "batches", epoch)).shuffle(order)
        open_batches: list[tuple[list[int], set[str]]] = []
        done: list[list[int]] = []
        for index in order:
            doc = self.doc_ids[index]
            for k, (members, docs) in enumerate(open_batches):
                if doc not in docs:
                    members.append(index)
                    docs.add(doc)
                    if len(members) == self.batch_size:
                        done.append(members)
                        del open_batches[k]
                    break
            else:
                if self.batch_size == 1:
                    done.append([index])
                else:
                    open_batches.append(([index], {doc}))
        if not self.drop_last:
            done.extend(members for members, _ in open_batches)
        return done

    def __len__(self) -> int:
        return len(self.batches(0))

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches(0))
