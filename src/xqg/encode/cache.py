"""The encoding cache: vectors of a list of texts by one encoder, kept on disk by their content.

Experiments encode the same texts again and again (XQuAD's corpus and 13k questions for every system
and fold, the same misspelled variants on every re-run); on a shared CPU that is the dominant cost.
Every place in xqg that re-uses encodings goes through :class:`EncodingCache` (``xqg run``'s stages,
``xqg robustness``, the experiment drivers).

The unit of the cache is a whole list, not a text: ``(encoder key, settings, kind, the texts in
order)`` names one ``.npy``. An encoder batches texts by length, and a text's vector depends on the
batch it was encoded in (in the last bits of float32), so caching texts one by one would make a
list's vectors depend on which lists were encoded before. Keyed by the whole list, a re-run gets
exactly the vectors a fresh run computes.

Layout: ``<root>/<encoder key>/<kind>-<content key>.npy`` and a ``.json`` beside it (encoder, settings,
kind, count), written atomically (the ``.npy`` last becomes visible whole).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xqg.data.atomic import atomic_open, atomic_write_json
from xqg.errors import ConfigError, InputError

KINDS = ("query", "passage")

EncodeFn = Callable[[list[str]], np.ndarray]
"""Encodes a list of texts into a ``(len(texts), dim)`` matrix, in order."""


def texts_key(texts: Sequence[str], kind: str, settings: Mapping[str, Any] | None = None) -> str:
    """Content key (16 hex digits) of a list of texts encoded as ``kind`` with ``settings``.

    Example:
        >>> texts_key(["a", "b"], "query") == texts_key(["a", "b"], "query")
        True
        >>> texts_key(["a", "b"], "query") == texts_key(["b", "a"], "query")
        False
    """
    digest = hashlib.sha256(json.dumps({"kind": kind, **dict(settings or {})}, sort_keys=True).encode())
    for text in texts:
        digest.update(b"\x1e" + text.encode("utf-8"))
    return digest.hexdigest()[:16]


class EncodingCache:
    """Vectors of lists of texts by one encoder, on disk (or in memory with ``root=None``).

    Args:
        root: cache folder (one sub-folder per encoder), or ``None`` to keep vectors in memory only.
        encoder_key: identifies the encoder's weights (vectors of different encoders never mix).
        settings: anything else that changes the vectors (batch size, precision); part of each key.

    Example:
        >>> import tempfile
        >>> cache = EncodingCache(tempfile.mkdtemp(), "toy")
        >>> enc = lambda texts: np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
        >>> cache.encode(["ab", "abc"], "query", enc).tolist()
        [[2.0, 1.0], [3.0, 1.0]]
        >>> cache.encode(["ab", "abc"], "query", lambda t: 1 / 0).tolist(), cache.last_cached
        ([[2.0, 1.0], [3.0, 1.0]], True)
    """

    def __init__(
        self, root: str | Path | None, encoder_key: str, settings: Mapping[str, Any] | None = None
    ) -> None:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", encoder_key).strip("_") or "encoder"
        self.folder = Path(root) / safe if root is not None else None
        self.encoder_key = encoder_key
        self.settings = dict(settings or {})
        self.last_cached = False
        self._memory: dict[str, np.ndarray] = {}

    def path(self, texts: Sequence[str], kind: str) -> Path | None:
        """The ``.npy`` file of ``texts`` as ``kind`` (``None`` for a memory-only cache)."""
        if self.folder is None:
            return None
        return self.folder / f"{kind}-{texts_key(texts, kind, self.settings)}.npy"

    def encode(self, texts: Sequence[str], kind: str, encode: EncodeFn, label: str = "") -> np.ndarray:
        """The float32 vectors of ``texts`` (in order), computed with ``encode(list(texts))`` unless cached.

        Args:
            texts: the texts, duplicates allowed (the list as a whole is the unit).
            kind: ``"query"`` or ``"passage"`` (the two encoder paths are cached apart).
            encode: the encoder for a miss.
            label: what the list is (e.g. ``xqg run``'s step name), kept in the ``.json`` beside it.

        Raises:
            ConfigError: an unknown ``kind``.
            InputError: the encoder returned the wrong number of vectors, or a cached file does not
                hold one vector per text (delete it).
        """
        if kind not in KINDS:
            raise ConfigError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        key = texts_key(texts, kind, self.settings)
        path = self.path(texts, kind)
        cached = self._memory.get(key)
        if cached is None and path is not None and path.is_file():
            cached = np.load(path)
            if cached.shape[0] != len(texts):
                raise InputError(
                    f"cached encodings hold {cached.shape[0]} vectors for {len(texts)} texts; delete the file",
                    path=path,
                )
        self.last_cached = cached is not None
        if cached is None:
            cached = np.asarray(encode(list(texts)), dtype=np.float32)
            if cached.shape[0] != len(texts):
                raise InputError(f"the encoder returned {cached.shape[0]} vectors for {len(texts)} texts")
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_open(path, "wb") as handle:
                    np.save(handle, cached)
                atomic_write_json(
                    path.with_suffix(".json"),
                    {
                        "encoder": self.encoder_key,
                        "settings": self.settings,
                        "kind": kind,
                        "count": len(texts),
                        "label": label,
                    },
                )
        if self.folder is None:
            self._memory[key] = cached
        return cached


def encoder_key(encoder: Any) -> str:
    """The cache key of a loaded encoder: a digest of its fingerprint (source, settings, weights).

    Example:
        >>> from xqg.encode.testing import tiny_encoder
        >>> encoder_key(tiny_encoder(1)) == encoder_key(tiny_encoder(1)) != encoder_key(tiny_encoder(2))
        True
    """
    payload = json.dumps(encoder.fingerprint(), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def encoder_function(encoder: Any, kind: str, batch_size: int = 64, show_progress: bool = False) -> EncodeFn:
    """``encode(texts)`` of an encoder with ``encode_queries`` / ``encode_passages`` for :meth:`EncodingCache.encode`.

    Example:
        >>> from xqg.encode.testing import tiny_encoder  # doctest: +SKIP
        >>> EncodingCache(None, "tiny").encode(["x"], "query", encoder_function(tiny_encoder(), "query"))  # doctest: +SKIP
    """
    method = encoder.encode_queries if kind == "query" else encoder.encode_passages
    return lambda texts: method(texts, batch_size=batch_size, show_progress=show_progress)
