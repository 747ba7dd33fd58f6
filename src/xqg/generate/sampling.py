"""The decoding step every generator shares: constrained top-k sampling, one random stream per row.

Each row of a decoding batch is one query being written (one passage, language and slot). At every
step :class:`TopKSampler` takes the rows' next-token logits over some columns (the whole vocabulary,
or a subset of it), forbids what must not be written (banned columns, end-of-sequence before the
minimum length, a token that would repeat an n-gram of the row), keeps the ``top_k`` best columns,
renormalises them in float64 and draws one with the row's own seeded generator. A row's output
therefore depends only on its seed and its own logits, never on which other rows share the batch:
the property that makes generation independent of batch size, sharding and executor.

Only the top-k candidates of each step leave the device (rows x k numbers); the draw is on the CPU.

Example:
    >>> import torch
    >>> sampler = TopKSampler([7, 8], top_k=1, eos_column=0)
    >>> sampler.choose(torch.tensor([[0.0, 5.0, 1.0], [0.0, 1.0, 5.0]]), [0, 1], step=0)
    array([1, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch


class TopKSampler:
    """Seeded top-k sampling with the decoding constraints, for a batch of rows.

    Args:
        seeds: one seed per row (row ``i`` draws from ``numpy.random.default_rng(seeds[i])`` only).
        top_k: sample among the ``top_k`` best columns (1 = greedy).
        eos_column: the logit column of end-of-sequence.
        banned_columns: columns never written (padding, start tokens, unknown ...).
        min_new_tokens: end-of-sequence is forbidden before this many tokens.
        no_repeat_ngram_size: forbid a token that would repeat an n-gram of the row (0 = off).

    Attributes:
        generated: for each row, the columns it has written so far (end-of-sequence excluded).
    """

    def __init__(
        self,
        seeds: Sequence[int],
        top_k: int,
        eos_column: int,
        banned_columns: Sequence[int] = (),
        min_new_tokens: int = 0,
        no_repeat_ngram_size: int = 0,
    ) -> None:
        if top_k < 1:
            raise ValueError("top_k must be >= 1")
        self.rngs = [np.random.default_rng(int(s)) for s in seeds]
        self.top_k = top_k
        self.eos_column = int(eos_column)
        self.banned_columns = sorted({int(c) for c in banned_columns})
        self.min_new_tokens = min_new_tokens
        self.ngram = no_repeat_ngram_size
        self.generated: list[list[int]] = [[] for _ in seeds]
        self._banned_tensors: dict[torch.device, torch.Tensor] = {}

    def _banned(self, device: torch.device) -> torch.Tensor:
        if device not in self._banned_tensors:
            self._banned_tensors[device] = torch.tensor(self.banned_columns, dtype=torch.long, device=device)
        return self._banned_tensors[device]

    def constrain(self, logits: torch.Tensor, active_rows: Sequence[int], step: int) -> torch.Tensor:
        """Set the forbidden columns of ``logits`` (``[len(active_rows), columns]``, float) to -inf, in place."""
        device = logits.device
        if self.banned_columns:
            logits[:, self._banned(device)] = -float("inf")
        if step < self.min_new_tokens:
            logits[:, self.eos_column] = -float("inf")
        n = self.ngram
        if n > 0:
            blocked_rows: list[int] = []
            blocked_cols: list[int] = []
            for j, row in enumerate(active_rows):
                seq = self.generated[row]
                if len(seq) >= n - 1:
                    prefix = tuple(seq[len(seq) - n + 1 :]) if n > 1 else ()
                    for i in range(len(seq) - n + 1):
                        if tuple(seq[i : i + n - 1]) == prefix:
                            blocked_rows.append(j)
                            blocked_cols.append(seq[i + n - 1])
            if blocked_rows:  # one indexed write for every row (one kernel on a GPU)
                logits[
                    torch.tensor(blocked_rows, device=device), torch.tensor(blocked_cols, device=device)
                ] = -float("inf")
        return logits

    def draw(self, logits: torch.Tensor, active_rows: Sequence[int]) -> np.ndarray:
        """One column per active row: top-k of the (constrained) logits, each row's own uniform draw."""
        k = min(self.top_k, logits.shape[-1])
        values, columns = logits.topk(k, dim=-1)
        # only the top-k candidates leave the device; each row draws on the CPU from its own seed
        probs = torch.softmax(values.double(), dim=-1).cpu().numpy()
        columns = columns.cpu().numpy()
        chosen = np.empty(len(active_rows), dtype=np.int64)
        for j, row in enumerate(active_rows):
            cdf = np.cumsum(probs[j])
            pick = int(np.searchsorted(cdf, self.rngs[row].random() * cdf[-1], side="right"))
            chosen[j] = columns[j, min(pick, k - 1)]
        return chosen

    def choose(self, logits: torch.Tensor, active_rows: Sequence[int], step: int) -> np.ndarray:
        """Constrain and draw (see :meth:`constrain`, :meth:`draw`); does not record the choice."""
        return self.draw(self.constrain(logits, active_rows, step), active_rows)

    def record(self, chosen: np.ndarray, active_rows: Sequence[int]) -> list[int]:
        """Append each row's choice to :attr:`generated`; returns the positions (in ``active_rows``)
        of the rows that go on (those that did not write end-of-sequence)."""
        keep = []
        for j, row in enumerate(active_rows):
            if chosen[j] == self.eos_column:
                continue
            self.generated[row].append(int(chosen[j]))
            keep.append(j)
        return keep


class DecodingSteps(Protocol):
    """What :func:`decode_rows` needs from a model: the next-token logits of the active rows.

    Attributes:
        rows: rows at the start.
        device: where index tensors go.
        eos_column: the logit column of end-of-sequence.
        banned_columns: columns never written.
    """

    rows: int
    device: torch.device
    eos_column: int
    banned_columns: Sequence[int]

    def start(self) -> torch.Tensor:
        """Logits ``[rows, columns]`` (float) of the first token."""
        ...

    def keep(self, index: torch.Tensor) -> None:
        """Keep only these of the active rows (positions among them), in this order."""
        ...

    def advance(self, columns: np.ndarray) -> torch.Tensor:
        """Feed each active row its chosen column; logits of the next token."""
        ...


def decode_rows(steps: DecodingSteps, sampler: TopKSampler, max_new_tokens: int) -> list[list[int]]:
    """Sample until every row has written end-of-sequence or ``max_new_tokens`` tokens.

    Rows that finish leave the batch (``steps.keep``), so later steps cost only what is still being
    written. Returns each row's columns (end-of-sequence excluded), as :attr:`TopKSampler.generated`.
    """
    active_rows = list(range(steps.rows))  # the rows on the host: no device sync to read them
    logits = steps.start()
    for step in range(max_new_tokens):
        chosen = sampler.choose(logits, active_rows, step)
        keep = sampler.record(chosen, active_rows)
        if not keep or step == max_new_tokens - 1:
            break
        if len(keep) < len(active_rows):
            steps.keep(torch.tensor(keep, dtype=torch.long, device=steps.device))
            active_rows = [active_rows[j] for j in keep]
            chosen = chosen[keep]
        logits = steps.advance(chosen)
    return sampler.generated
