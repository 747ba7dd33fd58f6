"""α sweep on a dev split, exact top-k, and the embedding cache."""

from __future__ import annotations

import numpy as np
import pytest

from xqg.evaluate import evaluate_run
from xqg.fuse import EmbeddingCache, FusionStore, alpha_sweep, dense_top_k


def test_dense_top_k_matches_full_sort():
    rng = np.random.default_rng(0)
    q, d = rng.standard_normal((7, 5)), rng.standard_normal((30, 5))
    run = dense_top_k(q, [f"q{i}" for i in range(7)], d, [f"d{j}" for j in range(30)], k=4, chunk=3)
    for i in range(7):
        expected = [f"d{j}" for j in np.argsort(-(q[i] @ d.T))[:4]]
        assert sorted(run[f"q{i}"], key=run[f"q{i}"].get, reverse=True) == expected


def test_sweep_finds_that_fusion_helps_when_queries_are_informative():
    # Passage vectors are noisy copies of a topic; the generated queries point at the true topic.
    rng = np.random.default_rng(3)
    n, dim = 40, 16
    topics = rng.standard_normal((n, dim))
    p = topics + 1.5 * rng.standard_normal((n, dim))
    sums = 5 * topics + 0.2 * rng.standard_normal((n, dim))
    store = FusionStore([f"d{i}" for i in range(n)], p, sums, np.full(n, 5))
    users = topics + 0.3 * rng.standard_normal((n, dim))
    qids = [f"q{i}" for i in range(n)]
    qrels = {f"q{i}": {f"d{i}": 1} for i in range(n)}
    lang = {q: ("de" if i % 2 else "ar") for i, q in enumerate(qids)}
    sweep = alpha_sweep(store, users, qids, qrels, [0.0, 0.05, 0.1, 0.2], mode="sum", query_lang=lang)
    assert sweep.best_alpha > 0
    assert sweep.table[sweep.best_alpha]["MRR@10"]["avg"] > sweep.table[0.0]["MRR@10"]["avg"] + 0.05
    # α = 0 is the retriever alone
    plain = evaluate_run(dense_top_k(users, qids, p, store.ids), qrels, ["MRR@10"])["MRR@10"]
    assert sweep.table[0.0]["MRR@10"]["avg"] == pytest.approx(np.mean(list(plain.values())))
    assert "**best**" in sweep.to_markdown()


def test_embedding_cache_encodes_each_text_once_and_survives_reload(tmp_path):
    calls = []

    def fn(texts):
        calls.extend(texts)
        return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)

    cache = EmbeddingCache(tmp_path, "model/a", flush_every=2)
    first = cache.encode(["aa", "b", "aa", "ccc"], "query", fn)
    assert calls == ["aa", "b", "ccc"]
    np.testing.assert_array_equal(first[0], first[2])
    again = EmbeddingCache(tmp_path, "model/a").encode(["ccc", "b", "dd"], "query", fn)
    assert calls == ["aa", "b", "ccc", "dd"]
    np.testing.assert_array_equal(again[:2], first[[3, 1]])
    # passages and other models are kept apart
    EmbeddingCache(tmp_path, "model/a").encode(["aa"], "passage", fn)
    EmbeddingCache(tmp_path, "model/b").encode(["aa"], "query", fn)
    assert calls[-2:] == ["aa", "aa"]
