from __future__ import annotations

import pytest
import torch

from xqg.data.records import Passage
from xqg.errors import ConfigError, InputError
from xqg.generate.base import QueryGenerator
from xqg.generate.bert2bert import Bert2BertGenerator
from xqg.generate.quality import script_share
from xqg.generate.settings import GeneratorSettings
from xqg.generate.testing import tiny_generator

from .conftest import cached_tiny_generator

PASSAGES = [
    Passage("d1", "Berlin ist die Hauptstadt.", "Berlin"),
    Passage("d2", "Москва большая."),
    Passage("d3", "Athens is old."),
]


def test_same_seed_same_output_other_seed_other_output(generator):
    a = list(generator.generate(PASSAGES, ["de", "ru"], n=3, seed=7, max_new_tokens=8))
    b = list(generator.generate(PASSAGES, ["de", "ru"], n=3, seed=7, max_new_tokens=8))
    c = list(generator.generate(PASSAGES, ["de", "ru"], n=3, seed=8, max_new_tokens=8))
    assert a == b
    assert [t for *_, t in a] != [t for *_, t in c]
    assert [(d, lang, s) for d, lang, s, _ in a] == [
        (p.id, lang, s) for p in PASSAGES for lang in ("de", "ru") for s in range(3)
    ]


def test_output_independent_of_batch_size_subset_and_n(generator):
    full = list(generator.generate(PASSAGES, ["de", "zh"], n=3, seed=1, batch_size=3, max_new_tokens=10))
    one_by_one = list(
        generator.generate(PASSAGES, ["de", "zh"], n=3, seed=1, batch_size=1, max_new_tokens=10)
    )
    assert full == one_by_one
    # a shard holding only the last passage gets the same queries
    assert list(generator.generate(PASSAGES[2:], ["de", "zh"], n=3, seed=1, max_new_tokens=10)) == full[-6:]
    # slots 0..1 of n=2 are slots 0..1 of n=3
    two = list(generator.generate(PASSAGES, ["de", "zh"], n=2, seed=1, max_new_tokens=10))
    assert two == [row for row in full if row[2] < 2]


def test_max_new_tokens_respected(generator):
    rows = list(generator.generate(PASSAGES[:1], ["de"], n=4, seed=3, max_new_tokens=5))
    assert len(rows) == 4
    for *_, text in rows:
        assert len(text.replace(" ", "")) <= 5  # one character per token in the tiny tokenizer


def test_language_forcing_keeps_bert2bert_in_the_target_script():
    gen = cached_tiny_generator("bert2bert")
    rows = list(gen.generate(PASSAGES[:2], ["ru", "zh", "el"], n=3, seed=0, max_new_tokens=10))
    assert all(text for *_, text in rows)
    for _, lang, _, text in rows:
        assert script_share(text, lang) == 1.0, (lang, text)


def test_no_repeated_ngrams_within_an_output():
    gen = tiny_generator("seq2seq")  # full vocabulary: repeats would be likely without the constraint
    gen.settings.no_repeat_ngram_size = 2
    for *_, text in gen.generate(PASSAGES[:2], ["de"], n=3, seed=0, max_new_tokens=16):
        ids = gen.tokenizer(text, add_special_tokens=False)["input_ids"][1:]  # drop the leading space piece
        bigrams = list(zip(ids, ids[1:], strict=False))
        assert len(bigrams) == len(set(bigrams)), text


@pytest.mark.parametrize("kind", ["bert2bert", "t5"])
def test_cached_step_logits_equal_full_pass(kind):
    gen = cached_tiny_generator(kind)
    gen.model.eval()
    lang = "ru"
    encoded = gen.encode(gen.prompts(PASSAGES[:2], lang))
    start = gen.decoder_start(lang)
    tokens = torch.tensor([[start, 5, 6, 7], [start, 8, 9, 10]])
    if isinstance(gen, Bert2BertGenerator):
        tokens[:, 1:] = torch.tensor(gen.vocabulary.allowed(lang)[3:6])
    with torch.no_grad():
        full, _ = gen.decoder_logits(tokens, encoded, lang)
        past, steps = None, []
        for i in range(tokens.shape[1]):
            logits, past = gen.decoder_logits(tokens[:, i : i + 1], encoded, lang, past=past, use_cache=True)
            steps.append(logits[:, -1])
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-4, rtol=1e-4)


def test_unknown_language_and_bad_settings_are_errors():
    gen = cached_tiny_generator("bert2bert")
    with pytest.raises(InputError, match="no start token"):
        list(gen.generate(PASSAGES, ["fr"], n=1))
    with pytest.raises(ConfigError):
        GeneratorSettings(kind="nope")
    with pytest.raises(ConfigError):
        GeneratorSettings(prompt="no passage field")
    with pytest.raises(ConfigError):
        GeneratorSettings(kind="bert2bert", prompt="{passage}", language_tokens=False)


def test_save_and_load_give_the_same_queries(tmp_path, generator):
    generator.save(tmp_path / "g")
    loaded = QueryGenerator.load(tmp_path / "g")
    assert loaded.settings == generator.settings
    kwargs = {"n": 2, "seed": 4, "max_new_tokens": 8}
    assert list(loaded.generate(PASSAGES, ["de"], **kwargs)) == list(
        generator.generate(PASSAGES, ["de"], **kwargs)
    )


def test_languages_decoded_together_equal_each_language_alone():
    """The joint decoding loop over all languages gives the per-language loop's queries."""
    gen = cached_tiny_generator("bert2bert")
    languages = ["de", "ru", "zh", "el"]
    together = list(gen.generate(PASSAGES, languages, n=3, seed=5, batch_size=2, max_new_tokens=12))
    alone = {
        lang: list(gen.generate(PASSAGES, [lang], n=3, seed=5, batch_size=2, max_new_tokens=12))
        for lang in languages
    }
    assert sorted(together) == sorted(row for rows in alone.values() for row in rows)
    for _, lang, _, text in together:
        assert script_share(text, lang) == 1.0 or not text.strip(), (lang, text)


def test_grouped_decoding_gives_the_queries_of_the_generic_step(monkeypatch):
    """Cross-attention grouped by passage (GroupedBertDecoder) samples what Hugging Face's step samples."""
    import xqg.generate.bert2bert as module

    gen = cached_tiny_generator("bert2bert")
    kwargs = dict(n=3, seed=11, batch_size=3, max_new_tokens=10)
    grouped = list(gen.generate(PASSAGES, ["de", "zh"], **kwargs))
    monkeypatch.setattr(module, "supports_grouped_decoding", lambda model: False)
    assert list(gen.generate(PASSAGES, ["de", "zh"], **kwargs)) == grouped


def test_mixed_language_rows_need_per_language_vocabularies():
    gen = cached_tiny_generator("bert2bert")
    encoded = gen.encode(["x", "y"])
    gen.settings.language_vocabulary = False
    try:
        with pytest.raises(ConfigError, match="per-language vocabularies"):
            gen.sample(encoded, ["de", "ru"], [0, 1])
    finally:
        gen.settings.language_vocabulary = True
