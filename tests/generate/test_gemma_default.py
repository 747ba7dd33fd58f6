"""The embedded default generator, Gemma 3 270M from PyPI, on real data (slow: converts and loads the model)."""

from __future__ import annotations

import pytest

from xqg.generate.quality import script_share


@pytest.mark.slow
def test_default_generator_fine_tunes_and_writes_the_target_language(tmp_path, xquad_dir):
    from xqg.data import load_xquad, split_by_articles
    from xqg.generate import CausalLMGenerator, QueryGenerator, train_default_generator
    from xqg.generate.examples import examples_from_dataset
    from xqg.generate.gemma import GEMMA_GGUF_SHA256, ensure_gemma_base
    from xqg.generate.training import evaluation_loss
    from xqg.generate.training_config import GeneratorTrainingConfig

    base = ensure_gemma_base()
    assert f'"gguf_sha256": "{GEMMA_GGUF_SHA256}"' in (base / "xqg_build.json").read_text()
    dataset = load_xquad(["de", "ru", "zh"], root=xquad_dir)
    train = examples_from_dataset(split_by_articles(dataset, range(2)))
    held_out = examples_from_dataset(split_by_articles(dataset, [40]))[:24]
    generator = train_default_generator(
        train,
        tmp_path / "gen",
        recipe="fast",
        steps=12,
        epochs=0.0,
        eval_examples=held_out,
        show_progress=False,
    )
    assert isinstance(generator, CausalLMGenerator) and len(generator.token_subset) < 30_000
    log = [
        line
        for line in (tmp_path / "gen" / "train_log.jsonl").read_text().splitlines()
        if "eval_loss" in line
    ]
    assert log, "the held-out loss is logged"
    # the pretrained model already knows the languages: its held-out loss starts far below log(262k) ≈ 12.5
    fresh = QueryGenerator.load(base)
    assert evaluation_loss(fresh, held_out, GeneratorTrainingConfig(precision="bfloat16")) < 6.0
    loaded = QueryGenerator.load(tmp_path / "gen")
    passages = [p for p in dataset.corpus if p.meta.get("article") == "40"][:2]
    rows = list(loaded.generate(passages, ["ru", "zh", "de"], n=2, seed=0))
    assert len(rows) == 12 and all(text for *_, text in rows)
    for _, lang, _, text in rows:
        if lang in ("ru", "zh"):
            assert script_share(text, lang) >= 0.6, (lang, text)
