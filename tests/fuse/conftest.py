"""Fixtures of the fusion tests: a deterministic toy encoder (no model), passages, queries."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from xqg.data.records import Passage


def text_vector(text: str, dim: int, salt: str) -> np.ndarray:
    """A pseudo-random unit vector that depends only on (salt, text)."""
    seed = int.from_bytes(hashlib.sha256(f"{salt}\x1f{text}".encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


class HashEncoder:
    """Deterministic stand-in for a dual encoder: each text maps to a fixed random unit vector.

    Counts how many texts went through each path, so tests can check what was (not) encoded.
    """

    def __init__(self, dim: int = 8) -> None:
        self.dim = dim
        self.calls = {"query": 0, "passage": 0}

    def encode_queries(self, texts, batch_size=64, show_progress=False):
        self.calls["query"] += len(texts)
        return np.stack([text_vector(t, self.dim, "q") for t in texts]) if texts else np.zeros((0, self.dim))

    def encode_passages(self, passages, batch_size=64, show_progress=False):
        self.calls["passage"] += len(passages)
        texts = [p if isinstance(p, str) else p.text for p in passages]
        return np.stack([text_vector(t, self.dim, "p") for t in texts])


@pytest.fixture
def encoder() -> HashEncoder:
    return HashEncoder(dim=8)


@pytest.fixture
def passages() -> list[Passage]:
    return [Passage(f"doc-{i}", f"passage number {i} about topic {i % 3}") for i in range(11)]


@pytest.fixture
def queries_per_doc(passages) -> dict[str, list[str]]:
    """Three queries per passage (equal counts, as fusion with mode='sum' requires)."""
    return {p.id: [f"question {j} on {p.id}" for j in range(3)] for p in passages}


@pytest.fixture
def wide_encoder() -> HashEncoder:
    """64-d random directions: far enough apart that a text's own vector always ranks it first."""
    return HashEncoder(dim=64)
