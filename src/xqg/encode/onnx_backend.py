"""An ONNX Runtime inference backend for a :class:`~xqg.encode.dual_encoder.DualEncoder` (CPU fast path).

The encoder's tower is exported once to ONNX (``input_ids``, ``attention_mask`` -> token vectors),
optionally rewritten by ONNX Runtime's transformer optimiser (fused attention, layer norm, GELU), and
run by an ``onnxruntime.InferenceSession`` with a fixed thread count. Tokenisation, length-bucketed
batching, pooling and normalisation are the encoder's own, so the vectors match the PyTorch path to
float32 rounding (checked in ``tests/benchmarks``: cosine >= 0.9999).

Optional: needs ``pip install 'xqg[onnx]'`` (onnxruntime, onnx, onnxscript). Inference only: training
uses the PyTorch encoder.

Example:
    >>> from xqg.encode import load_encoder
    >>> from xqg.encode.onnx_backend import OnnxEncoder
    >>> fast = OnnxEncoder.from_encoder(load_encoder(), threads=2)  # doctest: +SKIP
    >>> fast.encode_queries(["Wo liegt Berlin?"]).shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xqg.data.download import cache_root
from xqg.data.records import Passage, passage_text
from xqg.encode.dual_encoder import DualEncoder, Kind
from xqg.errors import ConfigError

ONNX_FILE = "model.onnx"
OPSET = 17
#: bump when the exported graph changes (the cache is keyed by it)
EXPORT_VERSION = 2


def onnx_cache_dir(encoder: DualEncoder, cache_dir: str | Path | None = None) -> Path:
    """Where the exported graph of ``encoder`` lives: ``<cache>/onnx/<weights digest>``.

    Example:
        >>> from xqg.encode.testing import tiny_encoder
        >>> onnx_cache_dir(tiny_encoder(), "/tmp/c").parent.name
        'onnx'
    """

    digest = hashlib.sha256(json.dumps(encoder.fingerprint(), sort_keys=True).encode()).hexdigest()[:16]
    return Path(cache_dir or cache_root()) / "onnx" / digest


def export_tower(tower: Any, path: str | Path, optimize: bool = True) -> Path:
    """Export a Hugging Face encoder to ONNX (dynamic batch and length), optionally ORT-optimised.

    Args:
        tower: a ``BertModel``-like module taking ``input_ids`` and ``attention_mask``.
        path: the ``.onnx`` file to write (atomically).
        optimize: run ``onnxruntime.transformers.optimizer`` (fused attention / layer norm / GELU)
            for BERT-family models; the unfused graph is kept if fusion fails.

    Example:
        >>> from xqg.encode.testing import tiny_encoder
        >>> export_tower(tiny_encoder().query_model, tempfile.mkdtemp() + "/m.onnx").exists()  # doctest: +SKIP
        True
    """
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    class _Hidden(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask)[0]

    # ORT fuses attention only in the classic (eager) pattern, not in the SDPA graph transformers exports
    previous = getattr(getattr(tower, "config", None), "_attn_implementation", None)
    switch = optimize and previous not in (None, "eager") and hasattr(tower, "set_attn_implementation")
    if switch:
        tower.set_attn_implementation("eager")
    wrapper = _Hidden(tower).eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    staging = Path(tempfile.mkdtemp(prefix=".onnx-export-", dir=path.parent))
    try:
        raw = staging / "raw.onnx"
        with torch.no_grad():
            torch.onnx.export(
                wrapper,
                (ids, mask),
                str(raw),
                input_names=["input_ids", "attention_mask"],
                output_names=["hidden"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "length"},
                    "attention_mask": {0: "batch", 1: "length"},
                },
                opset_version=OPSET,
                dynamo=False,
            )
        final = raw
        config = getattr(tower, "config", None)
        if (
            optimize
            and config is not None
            and getattr(config, "model_type", "") in ("bert", "xlm-roberta", "roberta")
        ):
            try:
                from onnxruntime.transformers.optimizer import optimize_model

                optimized = optimize_model(
                    str(raw),
                    model_type="bert",
                    num_heads=int(config.num_attention_heads),
                    hidden_size=int(config.hidden_size),
                )
                final = staging / "optimized.onnx"
                optimized.save_model_to_file(str(final))
            except Exception:  # noqa: BLE001 - the unfused graph is still correct, only slower
                final = raw
        os.replace(final, path)
    finally:
        if switch:
            tower.set_attn_implementation(previous)
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()
    return path


class OnnxEncoder:
    """Inference-only twin of a :class:`DualEncoder` running its tower(s) with ONNX Runtime.

    Args:
        encoder: the PyTorch encoder (its tokenizer and settings are used; its weights are exported).
        sessions: ``{"query": session, "passage": session}`` (the same session when tied).

    Build with :meth:`from_encoder`.

    Example:
        >>> from xqg.encode.testing import tiny_encoder
        >>> fast = OnnxEncoder.from_encoder(tiny_encoder(), threads=1, cache_dir=tempfile.mkdtemp())  # doctest: +SKIP
        >>> fast.encode_queries(["hello"]).shape  # doctest: +SKIP
        (1, 32)
    """

    def __init__(self, encoder: DualEncoder, sessions: dict[str, Any]) -> None:
        self.encoder = encoder
        self.sessions = sessions

    @classmethod
    def from_encoder(
        cls,
        encoder: DualEncoder,
        threads: int | None = None,
        cache_dir: str | Path | None = None,
        optimize: bool = True,
    ) -> OnnxEncoder:
        """Export ``encoder`` (once, cached by its weights' digest) and open ONNX Runtime sessions.

        Args:
            encoder: a loaded :class:`DualEncoder`.
            threads: intra-op threads (default: ONNX Runtime's choice, all cores).
            cache_dir: cache root (default ``$XQG_CACHE`` or ``~/.cache/xqg``).
            optimize: apply ORT's transformer graph fusions.

        Raises:
            ImportError: onnxruntime is not installed (``pip install 'xqg[onnx]'``).
        """
        import onnxruntime as ort

        folder = onnx_cache_dir(encoder, cache_dir) / (f"fused-v{EXPORT_VERSION}" if optimize else "plain")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        sessions: dict[str, Any] = {}
        towers = {"query": encoder.query_model, "passage": encoder.passage_model}
        for kind, tower in towers.items():
            if kind == "passage" and tower is encoder.query_model:
                sessions[kind] = sessions["query"]
                continue
            path = folder / kind / ONNX_FILE
            if not path.exists():
                export_tower(tower, path, optimize=optimize)
            sessions[kind] = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return cls(encoder, sessions)

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return self.encoder.dim

    def _forward(self, batch: Sequence[Sequence[int]], kind: Kind) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        pad = self.encoder.tokenizer.pad_token_id or 0
        input_ids = np.full((len(batch), width), pad, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        (hidden,) = self.sessions[kind].run(["hidden"], {"input_ids": input_ids, "attention_mask": mask})
        settings = self.encoder.settings
        if settings.pooling == "cls":
            vectors = hidden[:, 0]
        else:
            weights = mask[..., None].astype(hidden.dtype)
            vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        if settings.normalize:
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors.astype(np.float32, copy=False)

    def encode(self, texts: Sequence[str], kind: Kind, batch_size: int = 64) -> np.ndarray:
        """Encode texts in batches of equal token length, rows in input order (like :meth:`DualEncoder.encode`).

        Example:
            >>> fast.encode(["x"], "query").dtype  # doctest: +SKIP
            dtype('float32')
        """
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.encoder.tokenize(list(texts), kind)
        order = sorted(range(len(ids)), key=lambda i: (-len(ids[i]), i))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._forward([ids[i] for i in rows], kind)
        return out

    def encode_queries(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Encode queries: float32 ``(len(texts), dim)``."""
        return self.encode(list(texts), "query", batch_size=batch_size)

    def encode_passages(
        self, passages: Sequence[Passage] | Sequence[str], batch_size: int = 64
    ) -> np.ndarray:
        """Encode passages (:class:`Passage` as ``title + " " + text``, or strings)."""
        return self.encode([passage_text(p) for p in passages], "passage", batch_size=batch_size)
