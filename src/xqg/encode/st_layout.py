"""The sentence-transformers folder layout: the small JSON files around a Hugging Face model folder.

A sentence-transformers model folder is a Hugging Face model folder (``config.json``,
``model.safetensors``, ``tokenizer.json`` ...) plus ``modules.json`` (the module pipeline:
Transformer → Pooling → optional Normalize), ``sentence_bert_config.json`` (max sequence length),
``1_Pooling/config.json`` and ``config_sentence_transformers.json`` (named prompts such as
``{"query": "query: ", "passage": "passage: "}``). The legacy module names
(``sentence_transformers.models.*``) are written because every sentence-transformers version loads
them. :func:`read_sentence_transformers_settings` reads the same files back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xqg.data.atomic import atomic_write_json

POOLING_DIR = "1_Pooling"
NORMALIZE_DIR = "2_Normalize"


def write_sentence_transformers_files(
    folder: str | Path,
    dim: int,
    pooling: str,
    normalize: bool,
    max_seq_length: int,
    prompts: dict[str, str] | None = None,
) -> None:
    """Write the sentence-transformers configuration files into a saved Hugging Face model folder.

    Args:
        folder: the model folder (already holding ``config.json``, weights and tokenizer).
        dim: embedding dimension (the model's hidden size).
        pooling: ``"mean"`` or ``"cls"``.
        normalize: add a Normalize module (unit-length vectors).
        max_seq_length: sentence-transformers' single truncation length.
        prompts: named prompts, e.g. ``{"query": "query: ", "passage": "passage: "}``.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> write_sentence_transformers_files(d, 8, "mean", True, 128, {"query": "query: "})
        >>> read_sentence_transformers_settings(d)["pooling"]
        'mean'
    """
    if pooling not in ("mean", "cls"):
        raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
    folder = Path(folder)
    modules: list[dict[str, Any]] = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": POOLING_DIR, "type": "sentence_transformers.models.Pooling"},
    ]
    if normalize:
        modules.append(
            {"idx": 2, "name": "2", "path": NORMALIZE_DIR, "type": "sentence_transformers.models.Normalize"}
        )
        (folder / NORMALIZE_DIR).mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "modules.json", modules)
    atomic_write_json(
        folder / "sentence_bert_config.json", {"max_seq_length": int(max_seq_length), "do_lower_case": False}
    )
    atomic_write_json(
        folder / POOLING_DIR / "config.json",
        {
            "word_embedding_dimension": int(dim),
            "pooling_mode_cls_token": pooling == "cls",
            "pooling_mode_mean_tokens": pooling == "mean",
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    atomic_write_json(
        folder / "config_sentence_transformers.json",
        {
            "prompts": dict(prompts or {}),
            "default_prompt_name": None,
            "similarity_fn_name": "cosine" if normalize else "dot",
        },
    )


def read_sentence_transformers_settings(folder: str | Path) -> dict[str, Any]:
    """Read pooling, normalisation, prompts and max length from a sentence-transformers folder.

    Args:
        folder: a folder with ``modules.json``.

    Returns:
        ``{"pooling", "normalize", "prompts", "max_seq_length"}``; keys whose files are missing are
        left out.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> write_sentence_transformers_files(d, 8, "cls", False, 64)
        >>> s = read_sentence_transformers_settings(d)
        >>> s["pooling"], s["normalize"], s["max_seq_length"]
        ('cls', False, 64)
    """
    folder = Path(folder)
    settings: dict[str, Any] = {}
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    settings["normalize"] = any(m.get("type", "").endswith("Normalize") for m in modules)
    for module in modules:
        if module.get("type", "").endswith("Pooling"):
            config = json.loads((folder / module["path"] / "config.json").read_text(encoding="utf-8"))
            if config.get("pooling_mode_cls_token"):
                settings["pooling"] = "cls"
            elif config.get("pooling_mode_mean_tokens"):
                settings["pooling"] = "mean"
            else:
                raise ValueError(f"{folder}: only cls or mean pooling is supported, got {config}")
    bert_config = folder / "sentence_bert_config.json"
    if bert_config.exists():
        length = json.loads(bert_config.read_text(encoding="utf-8")).get("max_seq_length")
        if length:
            settings["max_seq_length"] = int(length)
    st_config = folder / "config_sentence_transformers.json"
    if st_config.exists():
        settings["prompts"] = dict(json.loads(st_config.read_text(encoding="utf-8")).get("prompts") or {})
    return settings
