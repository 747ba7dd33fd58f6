"""Where a model named on the command line is, checked before any work starts.

A model (an encoder, a generator, a predictor) is named by a local folder or by a Hugging Face id
already in the local cache (xqg never downloads weights). :func:`check_model_source` tells which,
reading nothing but directory entries, so that ``xqg encode --model /bad/path`` stops at once with a
clear message instead of after counting the corpus and writing a manifest. The argparse validator
:func:`xqg.cli.validators.model_path` and the sharded tasks' ``check()`` call it.
"""

from __future__ import annotations

from pathlib import Path

from xqg.errors import ConfigError

MODEL_FILES = (
    "config.json",
    "xqg_encoder.json",
    "xqg_generator.json",
    "modules.json",
    "model.safetensors",
    "predictor.json",
)
"""Any of these marks a folder as a model folder (Hugging Face, sentence-transformers, xqg)."""


def looks_like_path(value: str) -> bool:
    """Whether ``value`` names a file-system path rather than a Hugging Face id (``org/name``).

    Example:
        >>> looks_like_path("/bad/path"), looks_like_path("./enc"), looks_like_path("intfloat/e5-small")
        (True, True, False)
    """
    if Path(value).exists() or value in (".", ".."):
        return True
    if value.startswith(("/", "./", "../", "~")) or value.endswith("/") or "\\" in value:
        return True
    return value.count("/") > 1  # a Hugging Face id has at most one: "org/name"


def _in_hf_cache(model_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on it
        return False
    try:
        found = try_to_load_from_cache(model_id, "config.json")
    except Exception:  # an id the hub library rejects (bad characters): not in the cache
        return False
    return isinstance(found, str)


def check_model_source(value: str, what: str = "model", markers: tuple[str, ...] = MODEL_FILES) -> str:
    """Check that ``value`` is a model folder or a Hugging Face id in the local cache.

    Args:
        value: the ``--model`` / ``--encoder`` / ``--generator`` value.
        what: how to call it in messages (``"encoder"``, ``"generator"``).
        markers: files of which a model folder holds at least one.

    Returns:
        ``value`` unchanged.

    Raises:
        ConfigError: a path that does not exist, a file, a folder without any of ``markers``, or an id
            that is not in the local Hugging Face cache.

    Example:
        >>> check_model_source("/no/such/folder", "encoder")
        Traceback (most recent call last):
        ...
        xqg.errors.ConfigError: encoder '/no/such/folder': no such folder
    """
    path = Path(value).expanduser()
    if path.exists() or looks_like_path(value):
        if not path.exists():
            raise ConfigError(f"{what} {value!r}: no such folder")
        if not path.is_dir():
            raise ConfigError(f"{what} {value!r}: a file, expected a model folder")
        if not any((path / name).exists() for name in markers):
            raise ConfigError(f"{what} {value!r}: not a model folder (it holds none of {', '.join(markers)})")
        return value
    if not _in_hf_cache(value):
        raise ConfigError(
            f"{what} {value!r}: neither a folder nor a model in the local Hugging Face cache "
            "(xqg downloads nothing; give a local folder)"
        )
    return value
