"""α sweep on a dev split and the α rule (the encoding cache: tests/encode/test_cache.py)."""

from __future__ import annotations

import numpy as np
import pytest

from xqg.evaluate import evaluate_run
from xqg.fuse import FusionStore, alpha_sweep, choose_alpha
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
