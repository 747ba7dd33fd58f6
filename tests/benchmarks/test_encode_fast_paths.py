"""Fast encoding paths give the vectors of the plain PyTorch path (stated tolerances)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from xqg.encode.testing import tiny_encoder

TEXTS = [
    "x",
    "what is the capital of France?",
    "¿Dónde está el museo del Prado? " * 3,
    "Берлин — столица Германии",
    "北京是中国的首都。",
    "a much longer passage about nothing in particular " * 6,
]


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _input_order(encoder, texts: list[str], kind: str, batch_size: int) -> np.ndarray:  # noqa: ANN001
    ids = encoder.tokenize(texts, kind)
    with torch.inference_mode():
        parts = [
            encoder._forward_ids(ids[s : s + batch_size], kind).float().numpy()
            for s in range(0, len(ids), batch_size)
        ]
    return np.concatenate(parts)


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_length_bucketed_batches_equal_input_order_batches(kind: str) -> None:
    encoder = tiny_encoder(seed=1)
    bucketed = encoder.encode(TEXTS, kind, batch_size=2)
    plain = _input_order(encoder, TEXTS, kind, batch_size=2)
    one_by_one = _input_order(encoder, TEXTS, kind, batch_size=1)
    np.testing.assert_allclose(bucketed, plain, atol=1e-5)
    np.testing.assert_allclose(bucketed, one_by_one, atol=1e-5)


def test_onnx_runtime_matches_pytorch(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from xqg.encode.onnx_backend import OnnxEncoder

    encoder = tiny_encoder(seed=2)
    fast = OnnxEncoder.from_encoder(encoder, threads=1, cache_dir=tmp_path)
    for kind in ("query", "passage"):
        reference = encoder.encode(TEXTS, kind, batch_size=4)
        got = fast.encode(TEXTS, kind, batch_size=4)
        assert got.shape == reference.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, reference, atol=1e-4)
    # the export is cached by the weights' digest and reused
    assert len(list((tmp_path / "onnx").iterdir())) == 1
    again = OnnxEncoder.from_encoder(encoder, threads=1, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.encode_queries(TEXTS), fast.encode_queries(TEXTS))
    assert fast.encode_queries([]).shape == (0, encoder.dim)


@pytest.mark.slow
def test_default_encoder_fast_paths_agree_with_sentence_transformers(tmp_path: Path, xquad_dir: Path) -> None:
    """ONNX Runtime and bf16 autocast vs sentence-transformers on the real model: cosine >= 0.999."""
    from sentence_transformers import SentenceTransformer

    from xqg.data import load_xquad
    from xqg.encode import ensure_default_model, load_encoder

    passages = [p.text for p in load_xquad(["en"], root=xquad_dir).corpus[:6]]
    encoder = load_encoder(None, device="cpu", precision="float32")
    st = SentenceTransformer(str(ensure_default_model()), device="cpu")
    reference = st.encode(passages, prompt_name="passage", batch_size=4)
    torch_vectors = encoder.encode_passages(passages, batch_size=4)
    assert _cosine(torch_vectors, reference).min() >= 0.9999
    encoder.precision = "bfloat16"
    bf16 = encoder.encode_passages(passages, batch_size=4)
    encoder.precision = "float32"
    assert _cosine(bf16, reference).min() >= 0.999
    pytest.importorskip("onnxruntime")
    from xqg.encode.onnx_backend import OnnxEncoder

    fast = OnnxEncoder.from_encoder(encoder, threads=1, cache_dir=tmp_path)
    assert _cosine(fast.encode_passages(passages, batch_size=4), reference).min() >= 0.9999
