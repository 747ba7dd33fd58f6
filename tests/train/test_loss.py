from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.train.loss import contrastive_loss, false_negative_mask, masked_logits, self_teaching_kl


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from("abcde"), min_size=1, max_size=12), st.data())
def test_mask_keeps_target_and_one_copy_of_each_other_doc(docs, data):
    targets = data.draw(st.lists(st.integers(0, len(docs) - 1), min_size=1, max_size=5))
    mask = false_negative_mask(docs, targets)
    for i, t in enumerate(targets):
        assert not mask[i, t]
        kept = [docs[j] for j in range(len(docs)) if not mask[i, j]]
        # every doc id appears at most once among the unmasked columns, the positive only at its target
        assert len(kept) == len(set(kept))
        assert kept.count(docs[t]) == 1
        assert set(kept) == set(docs)


def test_mask_hides_other_relevant_docs():
    mask = false_negative_mask(["a", "b", "c"], [0], relevant=[{"a", "c"}])
    assert mask.tolist() == [[False, False, True]]


def test_loss_equals_manual_cross_entropy_over_unmasked_columns():
    torch.manual_seed(0)
    q, p = torch.randn(3, 4), torch.randn(6, 4)
    docs, targets = ["a", "x", "b", "a", "c", "y"], [0, 2, 4]
    mask = false_negative_mask(docs, targets)
    loss = contrastive_loss(q, p, torch.tensor(targets), mask, temperature=0.5)
    manual = 0.0
    for i, t in enumerate(targets):
        cols = [j for j in range(6) if not mask[i, j]]
        scores = torch.stack([q[i] @ p[j] / 0.5 for j in cols])
        manual += -(scores[cols.index(t)] - torch.logsumexp(scores, 0))
    assert torch.allclose(loss, manual / 3, atol=1e-5)
    # column 3 repeats "a" (query 0's positive): masked for every query, so no row counts "a" twice
    assert bool(mask[0, 3]) and bool(mask[1, 3]) and bool(mask[2, 3])


def test_masked_logits_without_mask_are_scaled_dot_products():
    q, p = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]])
    assert masked_logits(q, p, None, 0.1).item() == (3 + 8) / 0.1


def test_self_teaching_kl_is_zero_for_equal_and_detaches_the_clean_side():
    clean = torch.randn(4, 5, requires_grad=True)
    assert self_teaching_kl(clean, clean.detach().clone()).abs().item() < 1e-6
    typo = torch.randn(4, 5, requires_grad=True)
    kl = self_teaching_kl(clean, typo)
    assert kl.item() > 0
    kl.backward()
    assert clean.grad is None and typo.grad is not None and typo.grad.abs().sum() > 0


def test_self_teaching_kl_is_finite_with_masked_columns():
    clean = masked_logits(
        torch.randn(2, 3), torch.randn(4, 3), torch.tensor([[False, True, False, False]] * 2)
    )
    typo = masked_logits(
        torch.randn(2, 3), torch.randn(4, 3), torch.tensor([[False, True, False, False]] * 2)
    )
    value = self_teaching_kl(clean, typo).item()
    assert math.isfinite(value) and value >= 0
