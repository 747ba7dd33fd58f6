"""A disk cache of text embeddings keyed by model, path (query/passage) and text hash.

Experiments encode the same texts again and again (XQuAD's 240 paragraphs and 13k questions for every
condition and every fold); on a shared CPU that is the dominant cost. The cache keeps one ``.npy``
matrix and one JSON list of text hashes per (model, kind), rewritten atomically when new texts are
added, so an interrupted run keeps everything encoded before the last flush.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from xqg.data.atomic import atomic_open, atomic_write_json
from xqg.errors import InputError

EncodeFn = Callable[[list[str]], np.ndarray]


def text_key(text: str) -> str:
    """The cache key of one text: the first 32 hex digits of its SHA-256.

    Example:
        >>> len(text_key("hello"))
        32
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class EmbeddingCache:
    """Vectors of texts already encoded by one model, stored under ``root/<model>/<kind>``.

    Args:
        root: cache folder.
        model_id: a name that identifies the encoder and its settings (vectors of different models
            never mix).
        flush_every: write to disk after this many new vectors (and at the end of each call).

    Example:
        >>> import tempfile, numpy as np
        >>> cache = EmbeddingCache(tempfile.mkdtemp(), "toy")
        >>> enc = lambda texts: np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
        >>> cache.encode(["ab", "abc"], "query", enc).tolist()
        [[2.0, 1.0], [3.0, 1.0]]
        >>> cache.encode(["abc"], "query", lambda t: 1 / 0).tolist()  # served from the cache
        [[3.0, 1.0]]
    """

    def __init__(self, root: str | Path, model_id: str, flush_every: int = 2048) -> None:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id).strip("_") or "model"
        self.folder = Path(root) / safe
        self.model_id = model_id
        self.flush_every = flush_every
        self._vectors: dict[str, np.ndarray | None] = {}
        self._index: dict[str, dict[str, int]] = {}

    def _paths(self, kind: str) -> tuple[Path, Path]:
        return self.folder / f"{kind}.npy", self.folder / f"{kind}.keys.json"

    def _load(self, kind: str) -> None:
        if kind in self._index:
            return
        vec_path, key_path = self._paths(kind)
        if vec_path.exists() and key_path.exists():
            keys = json.loads(key_path.read_text(encoding="utf-8"))
            vectors = np.load(vec_path)
            if len(keys) != len(vectors):
                raise InputError(
                    f"embedding cache is inconsistent ({len(keys)} keys, {len(vectors)} vectors); delete it",
                    path=vec_path,
                )
            self._vectors[kind] = vectors
            self._index[kind] = {k: i for i, k in enumerate(keys)}
        else:
            self._vectors[kind] = None
            self._index[kind] = {}

    def _append(self, kind: str, keys: list[str], vectors: np.ndarray) -> None:
        old = self._vectors[kind]
        merged = vectors if old is None else np.concatenate([old, vectors.astype(old.dtype)])
        index = self._index[kind]
        for k in keys:
            index[k] = len(index)
        self._vectors[kind] = merged
        vec_path, key_path = self._paths(kind)
        with atomic_open(vec_path, "wb") as handle:
            np.save(handle, merged)
        ordered = sorted(index, key=index.__getitem__)
        atomic_write_json(key_path, ordered, indent=None)
        atomic_write_json(self.folder / "model.json", {"model_id": self.model_id})

    def encode(self, texts: Sequence[str], kind: str, encode_fn: EncodeFn) -> np.ndarray:
        """Return the vectors of ``texts``, encoding with ``encode_fn`` only those not cached yet.

        Args:
            texts: the texts, in any order, duplicates allowed.
            kind: ``"query"`` or ``"passage"`` (the two encoder paths are cached apart).
            encode_fn: encodes a list of texts into a float32 matrix, one row per text.

        Returns:
            float32 array ``(len(texts), dim)`` in the order of ``texts``.
        """
        if kind not in ("query", "passage"):
            raise ValueError(f"kind must be 'query' or 'passage', not {kind!r}")
        self._load(kind)
        keys = [text_key(t) for t in texts]
        index = self._index[kind]
        missing: dict[str, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in index and k not in missing:
                missing[k] = t
        pending = list(missing.items())
        for start in range(0, len(pending), self.flush_every):
            chunk = pending[start : start + self.flush_every]
            vectors = np.asarray(encode_fn([t for _, t in chunk]), dtype=np.float32)
            if vectors.shape[0] != len(chunk):
                raise ValueError(f"encoder returned {vectors.shape[0]} vectors for {len(chunk)} texts")
            self._append(kind, [k for k, _ in chunk], vectors)
        stored = self._vectors[kind]
        if not keys:
            dim = 0 if stored is None else stored.shape[1]
            return np.zeros((0, dim), dtype=np.float32)
        assert stored is not None
        return stored[[index[k] for k in keys]]
