"""Fusion without text: predict, from a passage vector, the embedding of its queries in a language.

Fusion only needs Σ E(q) for each passage, not the query texts. :class:`QueryEmbeddingPredictor`
learns that directly from (passage, real query, language) pairs of a training split, with ridge
regression in closed form (seconds on a CPU, no generation, no query encoding):

    f_l(p) = (p − μ) · W + b_l                     kind="shared"        (a shared map, a bias per language)
    f_l(p) = (p − μ) · (W + ΔW_l) + b_l            kind="per-language"  (plus a per-language correction,
                                                                          shrunk towards the shared map)

Note on what this can and cannot do: because f is affine, ``(1 − α) p + α n Σ_l f_l(p)`` is an affine
map of ``p``; the language biases add the same vector to every passage and so do not change a ranking.
The predictor therefore acts as a learned passage-side adapter towards "the queries this passage
answers" — a cheap, text-free counterpart of generation whose gain the XQuAD experiment measures.

Saved as safetensors (tensors ``mean``, ``shared``, ``bias.<lang>``, ``delta.<lang>``; settings in the
metadata), never pickle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xqg.data.atomic import atomic_write_bytes
from xqg.errors import ConfigError, InputError

PREDICTOR_KINDS = ("shared", "per-language")
WEIGHTS_FILE = "query_embedding_predictor.safetensors"


def _ridge(x: np.ndarray, y: np.ndarray, ridge: float, penalise: np.ndarray) -> np.ndarray:
    """Solve min ||x w − y||² + ridge · ||diag(penalise) w||² in closed form (float64)."""
    x64 = x.astype(np.float64)
    gram = x64.T @ x64
    gram[np.diag_indices_from(gram)] += ridge * penalise
    return np.linalg.solve(gram, x64.T @ y.astype(np.float64))


class QueryEmbeddingPredictor:
    """Predicts E(q) for queries in language ``l`` that a passage answers, from E(p).

    Args:
        languages: the languages it predicts.
        mean: ``(d,)`` centre of the training passage vectors.
        shared: ``(d, d)`` shared map.
        bias: ``{lang: (d,)}``.
        delta: ``{lang: (d, d)}`` per-language corrections (empty for ``kind="shared"``).
        kind: ``"shared"`` or ``"per-language"``.
        ridge: the ridge strengths used (for the record).
        encoder: name of the encoder whose vectors it was trained on (using it with another
            encoder's vectors is meaningless).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> p = rng.standard_normal((200, 8)).astype(np.float32)
        >>> langs = ["de"] * 100 + ["fr"] * 100
        >>> q = p @ np.eye(8) * 0.5 + np.where(np.array(langs)[:, None] == "de", 1.0, -1.0)
        >>> model = QueryEmbeddingPredictor.fit(p, langs, q, ridge=1e-3)
        >>> float(np.abs(model.predict(p[:100], "de") - q[:100]).max()) < 1e-2
        True
    """

    def __init__(
        self,
        languages: Sequence[str],
        mean: np.ndarray,
        shared: np.ndarray,
        bias: dict[str, np.ndarray],
        delta: dict[str, np.ndarray] | None = None,
        kind: str = "shared",
        ridge: dict[str, float] | None = None,
        encoder: str = "",
    ) -> None:
        if kind not in PREDICTOR_KINDS:
            raise ConfigError(f"predictor kind must be one of {PREDICTOR_KINDS}, not {kind!r}")
        self.languages = list(languages)
        self.mean = np.asarray(mean, dtype=np.float32)
        self.shared = np.asarray(shared, dtype=np.float32)
        self.bias = {k: np.asarray(v, dtype=np.float32) for k, v in bias.items()}
        self.delta = {k: np.asarray(v, dtype=np.float32) for k, v in (delta or {}).items()}
        self.kind = kind
        self.ridge = dict(ridge or {})
        self.encoder = encoder

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self.mean.shape[0])

    @classmethod
    def fit(
        cls,
        passage_vectors: np.ndarray,
        languages: Sequence[str],
        query_vectors: np.ndarray,
        kind: str = "shared",
        ridge: float = 1.0,
        language_ridge: float = 10.0,
        encoder: str = "",
    ) -> QueryEmbeddingPredictor:
        """Fit on training pairs: row ``i`` is a real query (``query_vectors[i]``, ``languages[i]``) of the
        passage whose vector is ``passage_vectors[i]`` (a passage repeats once per query).

        Args:
            passage_vectors: ``(m, d)`` E(p) of the passage of each pair.
            languages: ``(m,)`` language of each pair's query.
            query_vectors: ``(m, d)`` E(q) through the query path.
            kind: ``"shared"`` or ``"per-language"``.
            ridge: ridge strength of the shared map (scaled by the number of pairs / 1000).
            language_ridge: ridge strength of the per-language corrections (same scaling).
            encoder: name of the encoder, stored with the model.
        """
        if kind not in PREDICTOR_KINDS:
            raise ConfigError(f"predictor kind must be one of {PREDICTOR_KINDS}, not {kind!r}")
        x = np.asarray(passage_vectors, dtype=np.float32)
        y = np.asarray(query_vectors, dtype=np.float32)
        langs = np.asarray([str(v) for v in languages])
        if x.ndim != 2 or y.shape != x.shape or langs.shape != (x.shape[0],):
            raise InputError(
                f"need passage_vectors (m, d), query_vectors (m, d) and m languages; got {x.shape}, "
                f"{y.shape}, {langs.shape}"
            )
        if x.shape[0] == 0:
            raise InputError("no training pairs")
        codes = sorted(set(langs.tolist()))
        m, d = x.shape
        scale = m / 1000.0
        mean = x.mean(axis=0)
        xc = x - mean
        onehot = (langs[:, None] == np.asarray(codes)[None, :]).astype(np.float32)
        features = np.concatenate([xc, onehot], axis=1)
        penalise = np.concatenate([np.ones(d), np.full(len(codes), 1e-6)])
        solution = _ridge(features, y, ridge * scale, penalise)
        shared = solution[:d]
        bias = {c: solution[d + i] for i, c in enumerate(codes)}
        delta: dict[str, np.ndarray] = {}
        if kind == "per-language":
            residual = y - (xc @ shared + onehot @ solution[d:])
            for c in codes:
                rows = langs == c
                lang_scale = rows.sum() / 1000.0
                with_intercept = np.concatenate([xc[rows], np.ones((int(rows.sum()), 1), np.float32)], axis=1)
                penalise_lang = np.concatenate([np.ones(d), [1e-6]])
                fitted = _ridge(with_intercept, residual[rows], language_ridge * lang_scale, penalise_lang)
                delta[c] = fitted[:d]
                bias[c] = bias[c] + fitted[d]
        return cls(
            codes,
            mean,
            shared,
            bias,
            delta,
            kind,
            {"ridge": ridge, "language_ridge": language_ridge},
            encoder,
        )

    def predict(self, passage_vectors: np.ndarray, lang: str) -> np.ndarray:
        """Predicted query embedding in ``lang`` for each passage vector, ``(n, d)`` float32."""
        if lang not in self.bias:
            raise ConfigError(f"the predictor was not trained for language {lang!r} (has {self.languages})")
        xc = np.asarray(passage_vectors, dtype=np.float32) - self.mean
        out = xc @ self.shared + self.bias[lang]
        if lang in self.delta:
            out = out + xc @ self.delta[lang]
        return out.astype(np.float32)

    def fingerprint(self) -> dict[str, Any]:
        """What identifies the model (kind, languages, ridge, encoder, a checksum of the weights)."""
        import hashlib

        digest = hashlib.sha256(self.shared.tobytes() + self.mean.tobytes()).hexdigest()[:16]
        return {
            "kind": self.kind,
            "languages": self.languages,
            "ridge": self.ridge,
            "encoder": self.encoder,
            "weights": digest,
        }

    def save(self, path: str | Path) -> Path:
        """Write the model into folder ``path`` as safetensors; returns the file.

        Example:
            >>> import numpy as np, tempfile
            >>> m = QueryEmbeddingPredictor(["de"], np.zeros(2), np.eye(2), {"de": np.ones(2)})
            >>> back = QueryEmbeddingPredictor.load(m.save(tempfile.mkdtemp()))
            >>> back.predict(np.ones((1, 2)), "de").tolist()
            [[2.0, 2.0]]
        """
        from safetensors.numpy import save_file

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {"mean": self.mean, "shared": self.shared}
        tensors.update({f"bias.{k}": v for k, v in self.bias.items()})
        tensors.update({f"delta.{k}": v for k, v in self.delta.items()})
        meta = {
            "format": "xqg-query-embedding-predictor/1",
            "kind": self.kind,
            "languages": json.dumps(self.languages),
            "ridge": json.dumps(self.ridge),
            "encoder": self.encoder,
        }
        target = folder / WEIGHTS_FILE
        tmp = folder / f".{WEIGHTS_FILE}.tmp"
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp), metadata=meta)
        atomic_write_bytes(target, tmp.read_bytes())
        tmp.unlink()
        return target

    @classmethod
    def load(cls, path: str | Path) -> QueryEmbeddingPredictor:
        """Load a model written by :meth:`save` (the folder or the ``.safetensors`` file)."""
        from safetensors import safe_open

        file = Path(path)
        if file.is_dir():
            file = file / WEIGHTS_FILE
        if not file.exists():
            raise InputError("query-embedding predictor not found", path=file)
        with safe_open(str(file), framework="numpy") as handle:
            meta = handle.metadata() or {}
            if meta.get("format") != "xqg-query-embedding-predictor/1":
                raise InputError("not an xqg query-embedding predictor (metadata 'format')", path=file)
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
        languages = json.loads(meta["languages"])
        return cls(
            languages,
            tensors["mean"],
            tensors["shared"],
            {k: tensors[f"bias.{k}"] for k in languages},
            {k: tensors[f"delta.{k}"] for k in languages if f"delta.{k}" in tensors},
            meta["kind"],
            json.loads(meta.get("ridge", "{}")),
            meta.get("encoder", ""),
        )
