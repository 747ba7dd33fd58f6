"""Per-language fusion stores: each language's query sums stored beside the total, one fused matrix
per query language, equal to fusing that language's queries alone."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xqg.cli.main import main
from xqg.distributed import load_vectors, run_sharded
from xqg.errors import ConfigError, InputError
from xqg.fuse import (
    FixedQuerySource,
    FuseShardTask,
    GeneratedQueriesFile,
    load_fusion_store,
    refuse,
    store_languages,
)
from xqg.fuse.query_sources import GeneratorQuerySource, PredictedQuerySource
from xqg.fuse.sweep import alpha_sweep

LANGS = ("de", "ru")


def _generated(tmp_path, passages, slots=(2, 3)):
    """Queries in two languages with different counts per language (2 de, 3 ru), lines shuffled."""
    rows = [
        {"docid": p.id, "lang": lang, "slot": j, "query": f"{lang} question {j} on {p.id}"}
        for p in passages
        for lang, n in zip(LANGS, slots, strict=True)
        for j in range(n)
    ]
    order = np.random.default_rng(0).permutation(len(rows))
    path = tmp_path / "gen.jsonl"
    path.write_text("".join(json.dumps(rows[i]) + "\n" for i in order), encoding="utf-8")
    return path, rows


@pytest.mark.parametrize("shard_size,batch_size", [(4, 3), (11, 64), (1, 1)])
def test_each_language_store_equals_fusing_that_language_alone(
    tmp_path, encoder, passages, shard_size, batch_size
):
    path, rows = _generated(tmp_path, passages)
    task = FuseShardTask(passages, GeneratedQueriesFile(path), encoder, "hash", batch_size, languages=LANGS)
    run_sharded(task, len(passages), tmp_path / "store", shard_size=shard_size, show_progress=False)
    assert store_languages(tmp_path / "store") == list(LANGS)
    total = load_fusion_store(tmp_path / "store")
    lang_sums = 0
    for lang, n in zip(LANGS, (2, 3), strict=True):
        only = {
            p.id: [r["query"] for r in rows if r["docid"] == p.id and r["lang"] == lang] for p in passages
        }
        alone = FuseShardTask(passages, FixedQuerySource(only), encoder, "hash")
        run_sharded(alone, len(passages), tmp_path / f"alone-{lang}", shard_size=5, show_progress=False)
        expected = load_fusion_store(tmp_path / f"alone-{lang}")
        got = load_fusion_store(tmp_path / "store", language=lang)
        assert got.ids == expected.ids
        np.testing.assert_allclose(got.query_sums, expected.query_sums, atol=1e-5)
        np.testing.assert_array_equal(got.query_counts, np.full(len(passages), n))
        np.testing.assert_array_equal(got.passage_vectors, total.passage_vectors)
        lang_sums = lang_sums + got.query_sums
    np.testing.assert_allclose(total.query_sums, lang_sums, atol=1e-5)  # the mixed sum is their total
    np.testing.assert_array_equal(total.query_counts, np.full(len(passages), 5))
    # a query is encoded once, whichever sums it enters
    assert encoder.calls["query"] == 2 * len(rows)  # the store + the two single-language references


def test_refuse_per_language_writes_each_languages_matrix(tmp_path, encoder, passages):
    path, _ = _generated(tmp_path, passages)
    task = FuseShardTask(passages, GeneratedQueriesFile(path), encoder, "hash", languages=LANGS)
    run_sharded(task, len(passages), tmp_path / "store", shard_size=4, show_progress=False)
    for lang in LANGS:
        refuse(tmp_path / "store", tmp_path / "out" / lang, alpha=0.3, mode="mean", language=lang)
        ids, vectors = load_vectors(tmp_path / "out" / lang)
        expected = load_fusion_store(tmp_path / "store", language=lang).fuse(0.3, "mean")
        assert ids == [p.id for p in passages]
        np.testing.assert_allclose(vectors, expected, atol=1e-6)
    with pytest.raises(ConfigError, match="no per-language sums for 'fr'.*de, ru"):
        load_fusion_store(tmp_path / "store", language="fr")


def test_per_language_needs_languages_the_source_knows(tmp_path, encoder, passages, queries_per_doc):
    with pytest.raises(ConfigError, match="fixed query mapping has no languages"):
        FuseShardTask(passages, {"kind": "fixed", "queries": queries_per_doc}, languages=["de"])
    task = FuseShardTask(passages, FixedQuerySource(queries_per_doc), encoder, "hash", languages=["de"])
    with pytest.raises(ConfigError, match="gives no per-language sums"):
        run_sharded(task, len(passages), tmp_path / "a", shard_size=4, show_progress=False)
    path, _ = _generated(tmp_path, passages)
    task = FuseShardTask(passages, GeneratedQueriesFile(path), encoder, "hash", languages=["de"])
    with pytest.raises(InputError, match="a query in 'ru', not one of the fused languages de"):
        run_sharded(task, len(passages), tmp_path / "b", shard_size=4, show_progress=False)
    with pytest.raises(InputError, match="not a language code"):
        FuseShardTask(passages, GeneratedQueriesFile(path), encoder, "hash", languages=["xx"])
    plain = FuseShardTask(passages, GeneratedQueriesFile(path), encoder, "hash")
    run_sharded(plain, len(passages), tmp_path / "c", shard_size=4, show_progress=False)
    with pytest.raises(ConfigError, match="built without --per-language"):
        load_fusion_store(tmp_path / "c", language="de")


@pytest.mark.parametrize("kind", ["bert2bert", "causal"])
def test_generator_and_predictor_sources_give_per_language_sums(tmp_path, encoder, passages, kind):
    from xqg.generate.testing import tiny_generator

    generator = tiny_generator(kind)
    langs = generator.languages[:2]
    source = GeneratorQuerySource(generator, langs, n=2, seed=3, top_k=5)
    task = FuseShardTask(passages[:4], source, encoder, "hash", batch_size=3, languages=langs)
    run_sharded(task, 4, tmp_path / "gen", shard_size=3, show_progress=False)
    rows = list(generator.generate(passages[:4], langs, n=2, seed=3, top_k=5))
    for lang in langs:
        texts = [t for _, row_lang, _, t in rows if row_lang == lang]
        expected = encoder.encode_queries(texts).reshape(4, 2, -1).sum(axis=1)
        np.testing.assert_allclose(
            load_fusion_store(tmp_path / "gen", language=lang).query_sums, expected, atol=1e-5
        )

    class Linear:  # a predictor: f_l(p) = p + bias_l
        languages = ["de", "ru"]

        def predict(self, vectors, lang):
            return vectors + (1.0 if lang == "de" else -1.0)

        def fingerprint(self):
            return {"kind": "toy"}

    task = FuseShardTask(
        passages, PredictedQuerySource(Linear(), n=5), encoder, "hash", languages=["de", "ru"]
    )
    run_sharded(task, len(passages), tmp_path / "pred", shard_size=4, show_progress=False)
    de = load_fusion_store(tmp_path / "pred", language="de")
    np.testing.assert_allclose(de.query_sums, 5 * (de.passage_vectors + 1.0), atol=1e-5)
    np.testing.assert_array_equal(de.query_counts, np.full(len(passages), 5))


def test_alpha_sweep_searches_each_query_in_its_languages_matrix(tmp_path, wide_encoder, passages):
    encoder = wide_encoder
    path, _ = _generated(tmp_path, passages)
    task = FuseShardTask(passages, GeneratedQueriesFile(path), encoder, "hash", languages=LANGS)
    run_sharded(task, len(passages), tmp_path / "store", shard_size=4, show_progress=False)
    stores = {lang: load_fusion_store(tmp_path / "store", language=lang) for lang in LANGS}
    # each dev query is one of its passage's generated queries: found best in its own language's matrix
    qids = [f"q-{lang}-{p.id}" for lang in LANGS for p in passages]
    vectors = encoder.encode_queries([f"{lang} question 0 on {p.id}" for lang in LANGS for p in passages])
    qrels = {f"q-{lang}-{p.id}": {p.id: 1} for lang in LANGS for p in passages}
    query_lang = {q: q.split("-")[1] for q in qids}
    per_language = alpha_sweep(
        stores, vectors, qids, qrels, [0.0, 0.5, 0.9], "mean", "Success@1", query_lang=query_lang
    )
    assert per_language.best_alpha > 0
    assert per_language.table[0.9]["Success@1"]["avg"] == 1.0
    # the same queries against the other language's matrix do not get that help
    swapped = {"de": stores["ru"], "ru": stores["de"]}
    crossed = alpha_sweep(swapped, vectors, qids, qrels, [0.9], "mean", "Success@1", query_lang=query_lang)
    assert crossed.table[0.9]["Success@1"]["avg"] < 1.0
    with pytest.raises(ConfigError, match="need the language of every dev query"):
        alpha_sweep(stores, vectors, qids, qrels, [0.5], "mean")


def test_cli_per_language_store_sweep_and_one_folder_per_language(tmp_path, passages, capsys):
    from xqg.encode.testing import tiny_encoder

    tiny_encoder(seed=1).save(tmp_path / "encoder")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": p.id, "text": p.text}) + "\n" for p in passages), "utf-8")
    path, _ = _generated(tmp_path, passages)
    dev = [
        {"_id": f"q{i}-{lang}", "text": f"{lang} question 0 on {p.id}", "lang": lang}
        for i, p in enumerate(passages)
        for lang in LANGS
    ]
    (tmp_path / "dev.jsonl").write_text("".join(json.dumps(q) + "\n" for q in dev), encoding="utf-8")
    (tmp_path / "dev.qrels").write_text(
        "".join(f"q{i}-{lang} 0 {p.id} 1\n" for i, p in enumerate(passages) for lang in LANGS),
        encoding="utf-8",
    )
    common = ["fuse", "--store", str(tmp_path / "store"), "--mode", "mean", "--per-language"]
    build = [
        *common,
        "--corpus",
        str(corpus),
        "--queries",
        str(path),
        "--encoder",
        str(tmp_path / "encoder"),
        "--shard-size",
        "4",
    ]
    assert main(build) == 2
    assert "--per-language needs --languages" in capsys.readouterr().err
    assert (
        main(
            [
                *build,
                "--languages",
                "de,ru",
                "--alpha-sweep",
                "0,0.3",
                "--dev-queries",
                str(tmp_path / "dev.jsonl"),
                "--dev-qrels",
                str(tmp_path / "dev.qrels"),
                "--output",
                str(tmp_path / "fused"),
            ]
        )
        == 0
    )
    for lang in LANGS:
        ids, vectors = load_vectors(tmp_path / "fused" / lang)
        assert ids == [p.id for p in passages] and vectors.shape[0] == len(passages)
    assert not np.allclose(
        load_vectors(tmp_path / "fused" / "de")[1], load_vectors(tmp_path / "fused" / "ru")[1]
    )
    # search: each language's queries in its own index, one run
    run_file = tmp_path / "run.trec"
    search = ["search", "--queries", str(tmp_path / "dev.jsonl"), "--model", str(tmp_path / "encoder")]
    assert (
        main([*search, "--index", str(tmp_path / "fused"), "--per-language", "-o", str(run_file), "-k", "3"])
        == 0
    )
    from xqg.data.trec import read_run

    run = read_run(run_file)
    assert set(run) == {q["_id"] for q in dev}
    for lang in LANGS:  # the same as searching that language's queries in its folder alone
        only = tmp_path / f"dev-{lang}.jsonl"
        only.write_text("".join(json.dumps(q) + "\n" for q in dev if q["lang"] == lang), encoding="utf-8")
        main(
            [
                *search[:2],
                str(only),
                *search[3:],
                "--index",
                str(tmp_path / "fused" / lang),
                "-o",
                str(tmp_path / f"{lang}.trec"),
                "-k",
                "3",
            ]
        )
        alone = read_run(tmp_path / f"{lang}.trec")
        assert {q: list(docs) for q, docs in alone.items()} == {q: list(run[q]) for q in alone}
    assert (
        main([*search, "--index", str(tmp_path / "fused" / "de"), "--per-language", "-o", str(run_file)]) == 2
    )
    assert "no fused index for 'de' queries" in capsys.readouterr().err
