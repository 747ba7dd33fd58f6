"""A tiny random dual encoder and toy examples, for tests of the training code (no downloads).

:class:`TinyHashEncoder` is a 2-layer BERT built from a config, with a character-hashing
tokenizer: fast, deterministic for a seed, and with the same ``embed(texts, kind)`` interface as
:class:`xqg.encode.DualEncoder`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertModel

from xqg.data.records import Passage, Query
from xqg.train.examples import TrainingExample


class TinyHashEncoder(torch.nn.Module):
    """A small BERT dual encoder: characters hashed into a 97-row vocabulary, mean pooling, L2 norm.

    Args:
        seed: initialisation seed.
        hidden: hidden size.
        dropout: hidden and attention dropout (0 makes the forward pass deterministic).
        max_length: characters kept per text.
        normalize: L2-normalise the embeddings.

    Example:
        >>> TinyHashEncoder().embed(["hello", "world"], "query").shape
        torch.Size([2, 16])
    """

    vocab_size = 97

    def __init__(
        self,
        seed: int = 0,
        hidden: int = 16,
        dropout: float = 0.0,
        max_length: int = 48,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        self.config = BertConfig(
            vocab_size=self.vocab_size,
            hidden_size=hidden,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=2 * hidden,
            max_position_embeddings=max_length + 2,
            hidden_dropout_prob=dropout,
            attention_probs_dropout_prob=dropout,
        )
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.bert = BertModel(self.config, add_pooling_layer=False)
        self.max_length = max_length
        self.normalize = normalize

    def tokenize(self, texts: list[str], kind: str) -> dict[str, torch.Tensor]:
        """Ids: [CLS]=1, a kind marker (2 query / 3 passage), then hashed characters; pad=0."""
        marker = 2 if kind == "query" else 3
        rows = [
            [1, marker] + [4 + ord(c) % (self.vocab_size - 4) for c in t[: self.max_length]] for t in texts
        ]
        width = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        return {"input_ids": ids, "attention_mask": mask}

    def embed(self, texts: list[str], kind: str) -> torch.Tensor:
        """Embeddings (n, hidden) with gradients when enabled."""
        inputs = self.tokenize(list(texts), kind)
        hidden = self.bert(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        return torch.nn.functional.normalize(pooled, dim=-1) if self.normalize else pooled

    def save(self, path: str | Path) -> None:
        """Write ``model.safetensors`` and ``tiny_config.json`` into ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(path / "model.safetensors"))
        (path / "tiny_config.json").write_text(json.dumps({"hidden": self.config.hidden_size}))


def tiny_hash_encoder(seed: int = 0, **options: object) -> TinyHashEncoder:
    """A :class:`TinyHashEncoder` (see there for the options)."""
    return TinyHashEncoder(seed=seed, **options)  # type: ignore[arg-type]


def toy_examples(num: int = 8, num_negatives: int = 1, docs: int | None = None) -> list[TrainingExample]:
    """``num`` toy examples over ``docs`` passages (default ``num``; fewer makes shared positives).

    Example:
        >>> [e.positive.id for e in toy_examples(3, docs=2)]
        ['d0', 'd1', 'd0']
    """
    docs = docs or num
    passages = [
        Passage(f"d{i}", f"passage {i} about topic {i * 7 % 11}") for i in range(docs + num_negatives + 1)
    ]
    examples = []
    for i in range(num):
        positive = passages[i % docs]
        negatives = tuple(passages[(i % docs + 1 + k) % len(passages)] for k in range(num_negatives))
        examples.append(
            TrainingExample(
                Query(f"q{i}", f"question {i} on topic {(i % docs) * 7 % 11}", "en"),
                positive,
                negatives,
                frozenset({positive.id}),
            )
        )
    return examples
