"""Encoders: the default multilingual-e5-small rebuilt offline, the dual encoder, sharded encoding.

Example:
    >>> from xqg.encode import load_encoder
    >>> enc = load_encoder()  # doctest: +SKIP
    >>> enc.encode_queries(["¿Dónde está el Prado?"]).shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "DualEncoder",
    "EncodeTask",
    "EncoderSettings",
    "ensure_default_model",
    "load_encoder",
    "passage_text",
]

if TYPE_CHECKING:  # pragma: no cover
    from xqg.data.records import passage_text
    from xqg.encode.default_model import ensure_default_model
    from xqg.encode.dual_encoder import DualEncoder, EncoderSettings, load_encoder
    from xqg.encode.task import EncodeTask

_LOCATIONS = {
    "DualEncoder": "xqg.encode.dual_encoder",
    "EncoderSettings": "xqg.encode.dual_encoder",
    "load_encoder": "xqg.encode.dual_encoder",
    "passage_text": "xqg.data.records",
    "ensure_default_model": "xqg.encode.default_model",
    "EncodeTask": "xqg.encode.task",
}


def __getattr__(name: str) -> Any:
    # lazy: importing xqg.encode (e.g. from the CLI) must not import torch
    if name in _LOCATIONS:
        import importlib

        return getattr(importlib.import_module(_LOCATIONS[name]), name)
    raise AttributeError(f"module 'xqg.encode' has no attribute {name!r}")
