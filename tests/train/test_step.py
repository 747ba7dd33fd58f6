"""Gradient caching and accumulation give the gradients of the plain whole batch."""

from __future__ import annotations

import pytest
import torch

from xqg.train.config import RetrieverTrainingConfig
from xqg.train.step import compute_batch_gradients
from xqg.train.testing import tiny_hash_encoder, toy_examples


def _grads(model, batch, config, **kw):
    model.zero_grad(set_to_none=True)
    stats = compute_batch_gradients(model, batch, config, **kw)
    return stats, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def _fake(text, lang, seed, num_typos=1, protocol="one-typo"):
    return text[: seed % max(1, len(text))] + "#" + text[seed % max(1, len(text)) + 1 :]


@pytest.mark.parametrize(("robustness", "chunk"), [("none", 2), ("self-teaching", 5), ("multi-positive", 7)])
def test_grad_cache_equals_plain_batch(robustness, chunk):
    from xqg.train.robustness import QueryPerturber

    batch = toy_examples(6, num_negatives=2, docs=4)
    plain = RetrieverTrainingConfig(num_negatives=2, temperature=0.1, robustness=robustness, typo_variants=2)
    cached = plain.replace(grad_cache_chunk=chunk)
    model = tiny_hash_encoder(seed=1, dropout=0.0)
    model.train()
    s1, g1 = _grads(model, batch, plain, perturber=QueryPerturber(plain, _fake))
    s2, g2 = _grads(model, batch, cached, perturber=QueryPerturber(cached, _fake))
    assert s1.loss == pytest.approx(s2.loss, rel=1e-5)
    assert g1.keys() == g2.keys() and g1
    for name in g1:
        assert torch.allclose(g1[name], g2[name], atol=1e-6, rtol=1e-4), name


def test_grad_cache_replays_dropout_masks():
    # one chunk covering everything draws the same random numbers as the plain path: with dropout
    # on, equal gradients show the first pass's random state is restored for the second.
    batch = toy_examples(4, num_negatives=1)
    plain = RetrieverTrainingConfig(num_negatives=1, temperature=0.1)
    model = tiny_hash_encoder(seed=2, dropout=0.3)
    model.train()
    torch.manual_seed(11)
    s1, g1 = _grads(model, batch, plain)
    torch.manual_seed(11)
    s2, g2 = _grads(model, batch, plain.replace(grad_cache_chunk=100))
    assert s1.loss == pytest.approx(s2.loss, rel=1e-6)
    for name in g1:
        assert torch.allclose(g1[name], g2[name], atol=1e-6, rtol=1e-4), name
    torch.manual_seed(12)
    s3, _ = _grads(model, batch, plain)
    assert s3.loss != pytest.approx(s1.loss, rel=1e-6)  # dropout is really on


def test_loss_scale_scales_gradients():
    batch = toy_examples(4, num_negatives=1)
    config = RetrieverTrainingConfig(num_negatives=1)
    model = tiny_hash_encoder(seed=3)
    _, g1 = _grads(model, batch, config)
    _, g2 = _grads(model, batch, config, loss_scale=0.25)
    for name in g1:
        assert torch.allclose(g1[name] * 0.25, g2[name], atol=1e-7)


def test_masked_duplicates_do_not_change_the_loss():
    # a batch where an example's negative is another example's positive: masking that column for
    # the query whose positive it is equals dropping the duplicate altogether
    from xqg.train.loss import false_negative_mask

    batch = toy_examples(3, num_negatives=1, docs=3)  # q0: d0 + neg d1 (d1 is q1's positive)
    mask = false_negative_mask(["d0", "d1", "d1", "d2", "d2", "d3"], [0, 2, 4])
    assert mask[1, 1] and not mask[0, 1]  # q1 never sees its own positive as a negative
    stats = compute_batch_gradients(tiny_hash_encoder(), batch, RetrieverTrainingConfig(num_negatives=1))
    assert stats.loss > 0
