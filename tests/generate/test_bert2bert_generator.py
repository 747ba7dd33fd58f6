"""The BERT-to-BERT generator on real data (slow: builds from the rebuilt multilingual-e5-small)."""

from __future__ import annotations

import pytest

from xqg.generate.bert2bert import build_bert2bert_generator
from xqg.generate.examples import examples_from_dataset
from xqg.generate.quality import script_share
from xqg.generate.recipes import texts_by_language
from xqg.generate.training import evaluation_loss, train_generator
from xqg.generate.training_config import GeneratorTrainingConfig


@pytest.mark.slow
def test_bert2bert_generator_trains_and_writes_the_target_script(tmp_path, xquad_dir):
    from xqg.data import load_xquad, split_by_articles

    dataset = load_xquad(["de", "ru", "zh"], root=xquad_dir)
    train = examples_from_dataset(split_by_articles(dataset, range(4)))
    held_out = examples_from_dataset(split_by_articles(dataset, [40]))[:24]
    generator = build_bert2bert_generator(texts_by_language(train), decoder_layers=2)
    vocab = generator.vocabulary
    assert vocab.num_tokens < 20_000 and all(len(vocab.allowed(lang)) < 5_000 for lang in ("de", "ru", "zh"))
    config = GeneratorTrainingConfig(steps=30, batch_size=16, lr=1e-3, precision="bfloat16", save_every=0)
    before = evaluation_loss(generator, held_out, config)
    result = train_generator(generator, train, tmp_path, config, eval_examples=held_out, show_progress=False)
    assert result.eval_loss[-1][1] < before - 1.0
    passages = [p for p in dataset.corpus if p.meta.get("article") == "40"][:2]
    rows = list(generator.generate(passages, ["ru", "zh"], n=3, seed=0))
    assert len(rows) == 12 and all(text for *_, text in rows)
    for _, lang, _, text in rows:
        assert script_share(text, lang) >= 0.9, (lang, text)
