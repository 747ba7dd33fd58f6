"""Fusion without text: the query-embedding predictor."""

from __future__ import annotations

import numpy as np
import pytest

from xqg.data.records import Passage
from xqg.distributed import run_sharded
from xqg.errors import ConfigError, InputError
from xqg.fuse import FuseShardTask, PredictedQuerySource, QueryEmbeddingPredictor, load_fusion_store


def synthetic_pairs(seed=0, n=300, dim=12):
    """Passages, and queries that are a language-specific affine function of them plus noise."""
    rng = np.random.default_rng(seed)
    maps = {"de": rng.standard_normal((dim, dim)) * 0.3, "th": rng.standard_normal((dim, dim)) * 0.3}
    shift = {"de": rng.standard_normal(dim), "th": rng.standard_normal(dim)}
    p = rng.standard_normal((n, dim)).astype(np.float32)
    langs = np.array(["de", "th"] * (n // 2))
    q = np.stack([p[i] @ maps[lang] + shift[lang] for i, lang in enumerate(langs)])
    q += 0.01 * rng.standard_normal(q.shape)
    return p, langs, q.astype(np.float32), maps, shift


def test_per_language_ridge_recovers_language_specific_affine_maps():
    p, langs, q, maps, shift = synthetic_pairs()
    model = QueryEmbeddingPredictor.fit(p, langs, q, kind="per-language", ridge=1e-4, language_ridge=1e-4)
    test = np.random.default_rng(9).standard_normal((20, 12)).astype(np.float32)
    for lang in ("de", "th"):
        np.testing.assert_allclose(model.predict(test, lang), test @ maps[lang] + shift[lang], atol=0.05)


def test_shared_map_cannot_fit_different_maps_but_per_language_can():
    p, langs, q, _, _ = synthetic_pairs()
    shared = QueryEmbeddingPredictor.fit(p, langs, q, kind="shared", ridge=1e-4)
    per_lang = QueryEmbeddingPredictor.fit(p, langs, q, kind="per-language", ridge=1e-4, language_ridge=1e-4)

    def err(m):
        return np.mean([np.abs(m.predict(p[i : i + 1], langs[i]) - q[i]).mean() for i in range(len(p))])

    assert err(per_lang) < 0.2 * err(shared)


def test_save_and_load_roundtrip_is_safetensors(tmp_path):
    p, langs, q, _, _ = synthetic_pairs()
    model = QueryEmbeddingPredictor.fit(p, langs, q, kind="per-language", encoder="toy-encoder")
    path = model.save(tmp_path / "pred")
    assert path.suffix == ".safetensors"
    back = QueryEmbeddingPredictor.load(tmp_path / "pred")
    assert back.languages == ["de", "th"] and back.kind == "per-language" and back.encoder == "toy-encoder"
    np.testing.assert_array_equal(back.predict(p[:5], "th"), model.predict(p[:5], "th"))
    assert back.fingerprint() == model.fingerprint()


def test_bad_inputs():
    p, langs, q, _, _ = synthetic_pairs(n=10)
    with pytest.raises(InputError):
        QueryEmbeddingPredictor.fit(p, langs[:3], q)
    with pytest.raises(ConfigError):
        QueryEmbeddingPredictor.fit(p, langs, q, kind="mlp")
    model = QueryEmbeddingPredictor.fit(p, langs, q)
    with pytest.raises(ConfigError, match="not trained for language 'ar'"):
        model.predict(p, "ar")
    with pytest.raises(InputError, match="not found"):
        QueryEmbeddingPredictor.load("/nonexistent/predictor")


def test_predicted_source_in_the_sharded_worker_never_encodes_queries(tmp_path, encoder):
    passages = [Passage(f"d{i}", f"text {i}") for i in range(7)]
    p = encoder.encode_passages(passages)
    rng = np.random.default_rng(1)
    langs = ["de", "th"] * 7
    model = QueryEmbeddingPredictor.fit(np.repeat(p, 2, axis=0), langs, rng.standard_normal((14, 8)))
    encoder.calls["passage"] = 0
    task = FuseShardTask(passages, PredictedQuerySource(model, n=5), encoder, "hash", batch_size=3)
    run_sharded(task, len(passages), tmp_path, shard_size=4, show_progress=False)
    store = load_fusion_store(tmp_path)
    assert encoder.calls["query"] == 0
    np.testing.assert_array_equal(store.query_counts, [10] * 7)  # n x languages, equal for every passage
    expected = 5 * (model.predict(p, "de") + model.predict(p, "th"))
    np.testing.assert_allclose(store.query_sums, expected, atol=1e-4)
