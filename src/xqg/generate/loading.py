"""Finding and loading generators: a folder, any Hugging Face seq2seq or causal LM, or the default generator."""

from __future__ import annotations

import os
from pathlib import Path

from xqg.devices import resolve_device
from xqg.errors import ConfigError
from xqg.generate.base import QueryGenerator
from xqg.generate.settings import SETTINGS_FILE, GeneratorSettings


def default_generator_dir() -> Path:
    """Where ``xqg train-generator --default`` puts the default generator: ``$XQG_CACHE/generators/default``.

    Example:
        >>> default_generator_dir().name
        'default'
    """
    root = Path(os.environ.get("XQG_CACHE") or Path.home() / ".cache" / "xqg")
    return root / "generators" / "default"


def load_generator(
    name_or_path: str | Path | None = None,
    settings: GeneratorSettings | None = None,
    device: str | None = "auto",
    precision: str = "auto",
) -> QueryGenerator:
    """Load a generator for :meth:`QueryGenerator.generate`.

    Args:
        name_or_path: a generator folder (written by ``xqg train-generator``), any Hugging Face
            seq2seq model or causal LM (folder, locally cached hub id, ``.gguf`` file; prompted with
            the paper's prompt, passage first for a causal LM), or ``None`` for the default generator
            trained into :func:`default_generator_dir`.
        settings: settings for a plain HF model (ignored when the folder has ``xqg_generator.json``).
        device: where to put it: ``"auto"`` (the default, as everywhere in xqg: a CUDA GPU when there
            is one, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        precision: compute precision of generation: ``"auto"`` (the default, as everywhere in xqg:
            bfloat16 on a CPU with avx512_bf16/AMX or a GPU with native bf16, else float32),
            ``"float32"``, ``"bfloat16"``, ``"float16"`` (GPU); see :meth:`QueryGenerator.set_precision`.

    Example:
        >>> gen = load_generator("runs/generator")  # doctest: +SKIP
        >>> list(gen.generate(passages, ["ar", "fi"], n=5, seed=0, top_k=10))  # doctest: +SKIP
    """
    if name_or_path is None:
        folder = default_generator_dir()
        if not (folder / SETTINGS_FILE).exists():
            raise ConfigError(
                f"no default generator in {folder}: train one with `xqg train-generator --default "
                "--xquad` (or pass a generator folder)"
            )
        generator = QueryGenerator.load(folder)
    else:
        generator = QueryGenerator.load(name_or_path, settings=settings)

    generator.to(resolve_device(device))
    generator.set_precision(precision)
    return generator
