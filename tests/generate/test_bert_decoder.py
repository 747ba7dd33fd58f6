from __future__ import annotations

import copy

import pytest
import torch
from torch.nn import functional as F

from xqg.data.records import Passage
from xqg.generate.bert_decoder import GroupedBertDecoder, supports_grouped_decoding

from .conftest import cached_tiny_generator

PASSAGES = [
    Passage("p0", "Die Hauptstadt von Frankreich ist Paris.", "Paris"),
    Passage("p1", "Water boils at one hundred degrees.", "Water"),
    Passage("p2", "短い文章です。", "zh"),
]


def _reference_states(gen, encoded, tokens: torch.Tensor) -> torch.Tensor:
    """Hugging Face's full (uncached) pass over each row's whole prefix: [rows, steps, d]."""
    states, _ = gen._decoder_states(tokens, encoded, None, None, use_cache=False)
    return states


def _tokens(gen, rows: int, steps: int, seed: int = 0) -> torch.Tensor:
    allowed = torch.tensor(gen.vocabulary.allowed("de"))
    g = torch.Generator().manual_seed(seed)
    tokens = allowed[torch.randint(len(allowed), (rows, steps), generator=g)]
    tokens[:, 0] = gen.decoder_start("de")
    return tokens


def test_supported_for_the_default_construction_only():
    assert supports_grouped_decoding(cached_tiny_generator("bert2bert").model)
    assert not supports_grouped_decoding(cached_tiny_generator("t5").model)


@pytest.mark.parametrize("row_prompt", [[0, 0, 0, 1, 1, 2], [2, 0, 1, 0, 2, 2, 2], [1]])
def test_every_step_equals_the_full_pass(row_prompt):
    """Rows in any order, groups of unequal sizes, a prompt with no rows: the states of the
    grouped incremental step equal a full pass over each row's prefix."""
    gen = cached_tiny_generator("bert2bert")
    gen.model.eval()
    index = torch.tensor(row_prompt)
    with torch.no_grad():
        prompts = gen.encode(gen.prompts(PASSAGES, "de"))
        rows = prompts.rows(index)
        tokens = _tokens(gen, len(row_prompt), 6)
        reference = _reference_states(gen, rows, tokens)
        step = GroupedBertDecoder(gen.model, prompts.hidden, prompts.mask, index, 6)
        got = torch.stack([step(tokens[:, t]) for t in range(6)], 1)
    torch.testing.assert_close(got, reference, atol=1e-5, rtol=1e-4)


def test_dropping_rows_keeps_the_others_exact():
    gen = cached_tiny_generator("bert2bert")
    gen.model.eval()
    index = torch.tensor([0, 0, 1, 1, 2, 2])
    with torch.no_grad():
        prompts = gen.encode(gen.prompts(PASSAGES, "de"))
        tokens = _tokens(gen, 6, 5, seed=3)
        reference = _reference_states(gen, prompts.rows(index), tokens)
        step = GroupedBertDecoder(gen.model, prompts.hidden, prompts.mask, index, 5)
        alive = torch.arange(6)
        for t in range(5):
            states = step(tokens[alive, t])
            torch.testing.assert_close(states, reference[alive, t], atol=1e-5, rtol=1e-4)
            if t == 1:  # rows 1 and 4 finish
                keep = torch.tensor([0, 2, 3, 5])
                step.keep(keep)
                alive = alive.index_select(0, keep)
        with pytest.raises(ValueError, match="5 steps"):
            step(tokens[alive, 0])


def test_int8_modules_and_bf16_autocast_run_through_the_same_step():
    """The step calls the model's own modules, so quantised layers and autocast apply to it."""
    gen = copy.deepcopy(cached_tiny_generator("bert2bert"))
    gen.model.eval()
    index = torch.tensor([0, 0, 1, 2, 2])
    with torch.no_grad():
        prompts = gen.encode(gen.prompts(PASSAGES, "de"))
        tokens = _tokens(gen, 5, 4, seed=5)
        reference = _reference_states(gen, prompts.rows(index), tokens)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            step = GroupedBertDecoder(gen.model, prompts.hidden, prompts.mask, index, 4)
            bf16 = torch.stack([step(tokens[:, t]) for t in range(4)], 1).float()
        gen.quantize_int8()
        step = GroupedBertDecoder(gen.model, prompts.hidden, prompts.mask, index, 4)
        int8 = torch.stack([step(tokens[:, t]) for t in range(4)], 1)
    for approx in (bf16, int8):
        cosine = F.cosine_similarity(approx.flatten(0, 1), reference.flatten(0, 1), dim=-1)
        assert float(cosine.min()) > 0.98
