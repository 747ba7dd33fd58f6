"""α sweep on a dev split, the α rule, and the embedding cache."""

from __future__ import annotations

import numpy as np
import pytest

from xqg.evaluate import evaluate_run
from xqg.fuse import EmbeddingCache, FusionStore, alpha_sweep, choose_alpha
from xqg.index import dense_search


def test_choose_alpha_takes_the_best_value_and_the_smallest_alpha_on_ties():
    assert choose_alpha([0.0, 0.1, 0.2], [0.5, 0.7, 0.6]) == 0.1
    assert choose_alpha([0.2, 0.1, 0.0], [0.7, 0.7, 0.5]) == 0.1  # order of the grid does not matter
    # means of the same per-query values summed in another order differ in the last bits: a tie
    assert choose_alpha([0.0, 0.3], [0.1 + 0.2, 0.3]) == 0.0


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
    plain = evaluate_run(dense_search(users, qids, p, store.ids), qrels, ["MRR@10"])["MRR@10"]
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
