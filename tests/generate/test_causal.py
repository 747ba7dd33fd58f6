"""The causal-LM generator (the default's architecture) on a tiny random Gemma 3 model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xqg.data.records import Passage
from xqg.errors import ConfigError
from xqg.generate.causal import CausalLMGenerator
from xqg.generate.examples import GeneratorExample
from xqg.generate.prompt import PAPER_PROMPT
from xqg.generate.sampling import TopKSampler
from xqg.generate.settings import GeneratorSettings
from xqg.generate.testing import tiny_generator
from xqg.generate.training import evaluation_loss, train_generator
from xqg.generate.training_config import GeneratorTrainingConfig
from xqg.seeding import derive_seed

PASSAGES = [
    Passage("p1", "Berlin ist die Hauptstadt. Q ist ein Buchstabe.", "Berlin"),
    Passage("p2", "Москва большая."),
    Passage("p3", "Athens is old."),
]
BLOCKS = [("de", "Wer ist das?"), ("ru", "Кто это?"), ("de", "Wann wurde es gebaut?"), ("zh", "这是谁?")]
EXAMPLES = [GeneratorExample(PASSAGES[i % 3], lang, q) for i, (lang, q) in enumerate(BLOCKS * 3)]


@pytest.mark.parametrize("trim", [True, False])
def test_packed_unit_loss_equals_the_unpacked_examples(trim):
    """One read of the passage shared by all blocks gives the loss of each block on its own."""
    gen = tiny_generator("causal", trim_vocabulary=trim)
    for passage in PASSAGES:
        packed, tokens = gen.unit_loss(passage, BLOCKS, packed=True)
        plain, plain_tokens = gen.unit_loss(passage, BLOCKS, packed=False)
        assert tokens == plain_tokens == sum(len(gen.target_ids(q, 32)) for _, q in BLOCKS)
        torch.testing.assert_close(packed, plain, rtol=1e-5, atol=1e-4)


def test_packed_gradients_equal_the_unpacked_ones():
    gen = tiny_generator("causal")
    gen.configure_training(GeneratorTrainingConfig())
    grads = []
    for packed in (True, False):
        gen.model.zero_grad()
        loss, _ = gen.unit_loss(PASSAGES[0], BLOCKS, packed=packed)
        loss.backward()
        grads.append({n: p.grad.clone() for n, p in gen.model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-4, atol=1e-5, msg=name)


@torch.no_grad()
def test_batch_loss_is_the_token_mean_over_its_passages():
    gen = tiny_generator("causal")
    config = GeneratorTrainingConfig()
    total, count = 0.0, 0
    for passage in PASSAGES:
        blocks = [(ex.lang, ex.query) for ex in EXAMPLES if ex.passage == passage]
        loss, tokens = gen.unit_loss(passage, blocks)
        total, count = total + float(loss), count + tokens
    assert float(gen.batch_loss(EXAMPLES, config)) == pytest.approx(total / count, rel=1e-5)


def test_training_units_hold_one_passage_and_cover_an_epoch_once():
    gen = tiny_generator("causal")
    examples = [GeneratorExample(PASSAGES[i % 3], "de", f"Frage {i}?") for i in range(23)]
    batches = gen.training_batches(examples, batch_size=4, seed=3, epoch=0)
    assert sorted(i for b in batches for i in b) == list(range(23))
    for batch in batches:
        assert 1 <= len(batch) <= 4 and len({examples[i].passage.id for i in batch}) == 1
    # near-equal chunks: a passage with 8 examples and batch size 4 gives 4 + 4, one with 7 gives 4 + 3
    assert sorted(len(b) for b in batches) == [3, 4, 4, 4, 4, 4]
    assert batches == gen.training_batches(examples, batch_size=4, seed=3, epoch=0)
    assert batches != gen.training_batches(examples, batch_size=4, seed=3, epoch=1)


@torch.no_grad()
def _naive_queries(
    gen: CausalLMGenerator, passage: Passage, lang: str, n: int, seed: int, steps: int
) -> list[str]:
    """The plain way: each query re-reads its whole prompt and what it wrote so far at every step."""
    prompt = gen.shared_ids(passage) + gen.language_ids(passage, lang)
    columns, subset_size = gen.columns(gen.passage_token_ids(passage))
    head = gen._projection(columns, subset_size)
    out = []
    for slot in range(n):
        sampler = TopKSampler(
            [derive_seed(seed, passage.id, lang, slot)],
            10,
            columns.tolist().index(gen.eos_id),
            [j for j, t in enumerate(columns.tolist()) if t in gen.special_ids],
            gen.settings.min_new_tokens,
            gen.settings.no_repeat_ngram_size,
        )
        sequence = list(prompt)
        for step in range(steps):
            hidden = gen.body(input_ids=torch.tensor([sequence])).last_hidden_state[:, -1]
            chosen = sampler.choose(gen.project(hidden, head), [0], step)
            if not sampler.record(chosen, [0]):
                break
            sequence.append(int(columns[int(chosen[0])]))
        tokens = [int(columns[c]) for c in sampler.generated[0]]
        out.append(gen.tokenizer.decode(tokens, skip_special_tokens=True).strip())
    return out


def test_shared_cache_decoding_equals_the_plain_way():
    """Passages read once, instructions once per language, n samples from one cache: same queries as
    re-reading everything at every step."""
    gen = tiny_generator("causal")
    gen.model.eval()
    rows = list(gen.generate(PASSAGES, ["de", "ru"], n=3, seed=9, batch_size=2, max_new_tokens=8))
    for passage in PASSAGES:
        for lang in ("de", "ru"):
            fast = [text for docid, code, _, text in rows if docid == passage.id and code == lang]
            assert fast == _naive_queries(gen, passage, lang, 3, 9, 8)


def test_a_row_may_write_its_own_passage_tokens_but_no_other_passages():
    gen = tiny_generator("causal")
    q_id = gen.tokenizer.convert_tokens_to_ids("Q")
    assert q_id not in gen.token_subset  # only the first passage has a "Q"
    original = gen.project

    def favour_q(hidden, head):
        logits = original(hidden, head)
        columns = torch.tensor(gen._last_columns)
        logits[:, (columns == q_id).nonzero().flatten()] += 50.0
        return logits

    real_columns = gen.columns

    def remember(extra):
        columns, size = real_columns(extra)
        gen._last_columns = columns.tolist()
        return columns, size

    gen.columns, gen.project = remember, favour_q
    rows = list(gen.generate(PASSAGES, ["de"], n=4, seed=0, max_new_tokens=6))
    by_passage = {docid: [text for d, _, _, text in rows if d == docid] for docid in ("p1", "p2", "p3")}
    assert all("Q" in text for text in by_passage["p1"])
    assert not any("Q" in text for text in by_passage["p2"] + by_passage["p3"])


def test_generation_order_and_full_vocabulary():
    gen = tiny_generator("causal", trim_vocabulary=False)
    rows = list(gen.generate(PASSAGES[:2], ["de", "el"], n=2, seed=1, max_new_tokens=5))
    assert [(d, lang, s) for d, lang, s, _ in rows] == [
        (p.id, lang, s) for p in PASSAGES[:2] for lang in ("de", "el") for s in range(2)
    ]
    pad = gen.tokenizer.pad_token
    assert all(pad not in text for *_, text in rows)


def test_paper_order_prompt_works_without_a_shared_part():
    gen = tiny_generator("causal")
    paper = CausalLMGenerator(
        gen.model, gen.tokenizer, GeneratorSettings(kind="causal", prompt=PAPER_PROMPT), gen.token_subset
    )
    assert paper.shared_ids(PASSAGES[0]) == [gen.start_id]
    loss, tokens = paper.unit_loss(PASSAGES[0], BLOCKS)
    plain, _ = paper.unit_loss(PASSAGES[0], BLOCKS, packed=False)
    torch.testing.assert_close(loss, plain, rtol=1e-5, atol=1e-4)
    assert len(list(paper.generate(PASSAGES[:1], ["de"], n=2, max_new_tokens=4))) == 2


def test_a_prompt_without_the_language_is_refused():
    gen = tiny_generator("causal")
    with pytest.raises(ConfigError, match="language"):
        CausalLMGenerator(gen.model, gen.tokenizer, GeneratorSettings(kind="causal", prompt="{passage}"))


def test_training_lowers_the_loss_and_freezes_embeddings_and_lower_layers(tmp_path):
    gen = tiny_generator("causal")
    frozen = {
        name: p.detach().clone()
        for name, p in gen.model.named_parameters()
        if "embed" in name or ".layers.0." in name
    }
    config = GeneratorTrainingConfig(
        steps=15, batch_size=4, lr=3e-3, warmup=0.1, save_every=0, train_layers=1
    )
    before = evaluation_loss(gen, EXAMPLES, config)
    result = train_generator(gen, EXAMPLES, tmp_path, config, eval_examples=EXAMPLES, show_progress=False)
    assert result.eval_loss[-1][1] < before - 0.5
    for name, value in frozen.items():
        assert torch.equal(dict(gen.model.named_parameters())[name], value), name
    assert not torch.equal(
        gen.model.model.layers[1].mlp.up_proj.weight,
        tiny_generator("causal").model.model.layers[1].mlp.up_proj.weight,
    )
    assert (tmp_path / "output_tokens.json").exists()


def test_epochs_set_the_number_of_steps(tmp_path):
    gen = tiny_generator("causal")
    config = GeneratorTrainingConfig(steps=1, epochs=2, batch_size=4, save_every=0)
    result = train_generator(gen, EXAMPLES, tmp_path, config, show_progress=False)
    per_epoch = len(gen.training_batches(EXAMPLES, 4, 0, 0))
    assert result.steps == 2 * per_epoch and len(result.train_loss) == 2 * per_epoch


def test_resume_equals_uninterrupted(tmp_path):
    config = GeneratorTrainingConfig(
        steps=6, batch_size=3, lr=3e-3, save_every=0, precision="bfloat16", train_layers=1
    )
    whole = tiny_generator("causal", dropout=0.1)
    train_generator(whole, EXAMPLES, tmp_path / "a", config, show_progress=False)
    first = tiny_generator("causal", dropout=0.1)
    train_generator(first, EXAMPLES, tmp_path / "b", config, show_progress=False, stop_after=3)
    resumed = tiny_generator("causal", dropout=0.1)
    result = train_generator(resumed, EXAMPLES, tmp_path / "b", config, show_progress=False)
    assert result.resumed_from == 3
    for (name, a), (_, b) in zip(
        whole.model.named_parameters(), resumed.model.named_parameters(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=name, atol=0, rtol=0)


def test_int8_generation_runs_and_stays_in_the_vocabulary():
    gen = tiny_generator("causal").quantize_int8()
    rows = list(gen.generate(PASSAGES[:1], ["ru"], n=3, seed=2, max_new_tokens=6))
    allowed = set(gen.token_subset.ids) | gen.passage_token_ids(PASSAGES[0])
    for *_, text in rows:
        assert set(gen.tokenizer(" " + text, add_special_tokens=False)["input_ids"]) <= allowed


def test_sampler_draws_are_a_function_of_the_seed_only():
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0]] * 3)
    a = TopKSampler([1, 2, 3], top_k=3, eos_column=0).choose(logits.clone(), [0, 1, 2], step=5)
    b = TopKSampler([3], top_k=3, eos_column=0).choose(logits[:1].clone(), [0], step=5)
    assert a[2] == b[0] and isinstance(a, np.ndarray)
