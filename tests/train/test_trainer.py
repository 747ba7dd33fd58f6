from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from xqg.data.records import Passage, Query, RetrievalDataset
from xqg.errors import ConfigError
from xqg.train import DevSet, RetrieverTrainingConfig, build_training_examples, train_retriever
from xqg.train.checkpoint import list_checkpoints
from xqg.train.step import PassageBank
from xqg.train.testing import tiny_hash_encoder
from xqg.train.trainer import linear_schedule


def _dataset(n=12):
    topics = [
        "rivers",
        "music",
        "chess",
        "volcano",
        "bread",
        "comets",
        "tennis",
        "ocean",
        "cats",
        "glass",
        "train",
        "paper",
    ]
    corpus = [Passage(f"d{i}", f"{t} {t} {t} facts about {t}") for i, t in enumerate(topics[:n])]
    queries = {
        "en": [Query(f"q{i}/en", f"what about {t}?", "en") for i, t in enumerate(topics[:n])],
        "de": [Query(f"q{i}/de", f"was ist mit {t}?", "de") for i, t in enumerate(topics[:n])],
    }
    qrels = {f"q{i}/{lang}": {f"d{i}": 1} for i in range(n) for lang in ("en", "de")}
    return RetrievalDataset("toy", corpus, queries, qrels)


CONFIG = RetrieverTrainingConfig(
    batch_size=6, num_negatives=1, learning_rate=3e-3, temperature=0.1, max_steps=6, warmup_ratio=0.2
)


def test_training_lowers_the_loss_and_improves_dev(tmp_path):
    data = _dataset()
    examples = build_training_examples(data, num_negatives=1, seed=0)
    model = tiny_hash_encoder(seed=0)
    dev = DevSet.from_dataset(data)
    from xqg.train.dev import evaluate_encoder

    before = evaluate_encoder(model, dev, ("MRR@10",))[0]["MRR@10"]["avg"]
    result = train_retriever(
        model, examples, CONFIG.replace(max_steps=25, eval_steps=10), tmp_path, dev=dev, show_progress=False
    )
    after = evaluate_encoder(model, dev, ("MRR@10",))[0]["MRR@10"]["avg"]
    losses = [h["loss"] for h in result.history if "loss" in h]
    assert result.steps == 25 and len(losses) == 25
    assert sum(losses[-5:]) < sum(losses[:5])
    assert after > before
    assert [h["step"] for h in result.history if "dev" in h] == [10, 20, 25]
    assert json.loads((tmp_path / "history.json").read_text()) == result.history
    assert (tmp_path / "model" / "model.safetensors").exists()


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    data = _dataset()
    examples = build_training_examples(data, num_negatives=1, seed=0)
    config = CONFIG.replace(save_steps=3, keep_checkpoints=5)
    full = tiny_hash_encoder(seed=0, dropout=0.1)
    train_retriever(full, examples, config, tmp_path / "full", show_progress=False)

    # "crash" after step 3: train to 3 with the same settings, keep only that checkpoint
    part = tiny_hash_encoder(seed=0, dropout=0.1)
    train_retriever(part, examples, config, tmp_path / "resumed", show_progress=False)
    checkpoints = list_checkpoints(tmp_path / "resumed")
    assert [c.name for c in checkpoints] == ["checkpoint-00000003", "checkpoint-00000006"]
    for c in checkpoints[1:]:
        import shutil

        shutil.rmtree(c)
    resumed = tiny_hash_encoder(seed=5, dropout=0.1)  # different start: everything comes from the checkpoint
    result = train_retriever(resumed, examples, config, tmp_path / "resumed", show_progress=False)
    assert result.steps == 6
    for (name, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name
    weights = load_file(str(tmp_path / "full" / "checkpoint-00000006" / "model.safetensors"))
    assert torch.equal(
        weights["bert.embeddings.word_embeddings.weight"], full.bert.embeddings.word_embeddings.weight
    )


def test_resume_with_other_settings_is_refused(tmp_path):
    examples = build_training_examples(_dataset(), num_negatives=1, seed=0)
    train_retriever(
        tiny_hash_encoder(),
        examples,
        CONFIG.replace(max_steps=2, save_steps=1),
        tmp_path,
        show_progress=False,
    )
    with pytest.raises(ConfigError, match="learning_rate"):
        train_retriever(
            tiny_hash_encoder(),
            examples,
            CONFIG.replace(max_steps=2, save_steps=1, learning_rate=1.0),
            tmp_path,
            show_progress=False,
        )


def test_accumulation_and_passage_bank_run(tmp_path):
    data = _dataset()
    examples = build_training_examples(data, num_negatives=1, seed=0)
    result = train_retriever(
        tiny_hash_encoder(),
        examples,
        CONFIG.replace(grad_accumulation=2, max_steps=2),
        tmp_path / "acc",
        show_progress=False,
    )
    assert result.steps == 2 and len([h for h in result.history if "loss" in h]) == 2
    model = tiny_hash_encoder()
    from xqg.train.dev import embed_texts

    bank = PassageBank(
        [p.id for p in data.corpus],
        torch.from_numpy(embed_texts(model, [p.text for p in data.corpus], "passage")),
    )
    examples0 = build_training_examples(data, num_negatives=0)
    before = bank.vectors.clone()
    result = train_retriever(
        model,
        examples0,
        CONFIG.replace(num_negatives=0, max_steps=3),
        tmp_path / "bank",
        dev=DevSet.from_dataset(data),
        show_progress=False,
        passage_bank=bank,
    )
    assert torch.equal(bank.vectors, before) and result.steps == 3


def test_adversarial_against_a_passage_bank_scores_with_the_bank(tmp_path):
    from xqg.train.dev import embed_texts
    from xqg.train.step import pair_scorer

    data = _dataset()
    model = tiny_hash_encoder()
    fixed = {"p": torch.tensor([1.0, 0.0]), "q": torch.tensor([0.0, 2.0])}

    class TwoDims(torch.nn.Module):
        def embed(self, texts, kind):
            return torch.tensor([[1.0, 1.0]] * len(texts))

    assert pair_scorer(TwoDims(), fixed)(["a", "b"], ["p", "q"]) == [1.0, 2.0]
    bank = PassageBank(
        [p.id for p in data.corpus],
        torch.from_numpy(embed_texts(model, [p.text for p in data.corpus], "passage")),
    )
    result = train_retriever(
        model,
        build_training_examples(data, num_negatives=0),
        CONFIG.replace(num_negatives=0, max_steps=2, robustness="adversarial", typo_probability=1.0),
        tmp_path,
        show_progress=False,
        passage_bank=bank,
    )
    assert result.steps == 2


def test_wrong_negative_count_is_an_error(tmp_path):
    examples = build_training_examples(_dataset(), num_negatives=2)
    with pytest.raises(ValueError, match="negatives"):
        train_retriever(tiny_hash_encoder(), examples, CONFIG, tmp_path, show_progress=False)


def test_linear_schedule_shape():
    f = linear_schedule(100, 0.1)
    assert f(0) == 0 and f(10) == 1 and f(55) == pytest.approx(0.5) and f(100) == 0
    assert all(f(s) >= f(s + 1) for s in range(10, 100))


def test_tied_dual_encoder_checkpoints_resume_and_saves(tmp_path):
    from xqg.encode.testing import tiny_encoder

    examples = build_training_examples(_dataset(), num_negatives=1, seed=0)
    config = CONFIG.replace(max_steps=2, save_steps=1)
    result = train_retriever(tiny_encoder(seed=0), examples, config, tmp_path, show_progress=False)
    assert (result.model_dir / "config.json").exists()
    again = train_retriever(tiny_encoder(seed=1), examples, config, tmp_path, show_progress=False)
    assert again.steps == 2
