"""`xqg run` on corpus benchmarks (XOR-Retrieve layout): sharded corpus encoding, generated-query
fusion, sharded search, answer metrics, fine-tuning from training files, and resume of a killed
sharded stage. Tiny random models; the data are synthetic files in the official formats."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xqg.encode.testing import tiny_encoder
from xqg.errors import ConfigError
from xqg.experiment.config import parse_config
from xqg.experiment.pipeline import run_experiment
from xqg.generate.testing import tiny_generator

CITIES = ["Helsinki", "Tampere", "Oulu", "Turku", "Espoo", "Vantaa", "Lahti", "Kuopio", "Pori", "Vaasa"]
LANGS = {"fi": "Mikä on {c}?", "ja": "{c}とは何ですか？", "ru": "Что такое {c}?"}


def _write_xor(folder):
    """XOR-Retrieve files: a DPR TSV corpus and dev questions whose answers are in some passages."""
    folder.mkdir()
    rows = ["id\ttext\ttitle"]
    for i in range(36):
        city = CITIES[i % len(CITIES)]
        rows.append(
            f"{i + 1}\t{city} is a city with {i} parks and the answer token A{i % len(CITIES)}.\t{city}"
        )
    (folder / "enwiki_20190201_w100.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    lines = []
    for lang, template in LANGS.items():
        for j, city in enumerate(CITIES[:6]):
            answers = ["yes"] if j == 5 else [f"A{j}"]  # a yes/no-only question is not scored
            lines.append(
                json.dumps(
                    {
                        "id": f"{lang}-{j}",
                        "question": template.format(c=city),
                        "answers": answers,
                        "lang": lang,
                    },
                    ensure_ascii=False,
                )
            )
    (folder / "xor_dev_retrieve_eng_span_v1_1.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _write_training_files(folder):
    folder.mkdir()
    corpus = [
        {"_id": f"t{i}", "title": c, "text": f"{c} has the answer token A{i}."} for i, c in enumerate(CITIES)
    ]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in corpus) + "\n", encoding="utf-8")
    queries = [{"_id": f"q{i}", "text": f"Missä on {c}?", "lang": "fi"} for i, c in enumerate(CITIES)]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(r) for r in queries) + "\n", encoding="utf-8")
    (folder / "train.qrels").write_text(
        "".join(f"q{i} 0 t{i} 1\n" for i in range(len(CITIES))), encoding="utf-8"
    )
    return folder


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus-bench")
    model = tiny_encoder(seed=4).save(root / "encoder")
    generator = tiny_generator(seed=2).save(root / "generator")
    return {
        "model": model,
        "generator": generator,
        "xor": _write_xor(root / "xor"),
        "train": _write_training_files(root / "train"),
    }


def _config(tmp_path, assets, systems, **extra):
    raw = {
        "experiment": {"name": "tiny-xor", "seed": 1, "output": str(tmp_path / "report")},
        "data": {"dataset": "xor-tydi", "path": str(assets["xor"]), "languages": ["fi", "ja", "ru"]},
        "encoder": {"model": str(assets["model"]), "batch_size": 8, "shard_size": 10},
        "generator": {
            "model": str(assets["generator"]),
            "queries_per_language": 2,
            "languages": ["de", "ru"],
        },
        "fusion": {"alpha": 0.5, "mode": "mean"},
        "typos": {"protocols": ["one-typo"], "variants": 1},
        "systems": {"names": systems, "baseline": systems[0]},
        "metrics": {"names": ["R@2kt", "AnswerRecall@5"], "primary": "R@2kt"},
    }
    for section, values in extra.items():
        raw.setdefault(section, {}).update(values)
    return parse_config(raw, where="tiny-xor.toml")


def _per_query(tmp_path, system, condition="clean"):
    path = tmp_path / "report" / "per_query" / f"{system}.{condition}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_zero_shot_and_xqg_over_a_sharded_corpus(tmp_path, assets) -> None:
    cache = tmp_path / "cache"
    config = _config(tmp_path, assets, ["zero-shot", "zero-shot+xqg"])
    summary = run_experiment(config, cache_dir=cache)
    results = json.loads(summary.results_json.read_text(encoding="utf-8"))
    assert results["languages"] == ["fi", "ja", "ru"]
    clean = _per_query(tmp_path, "zero-shot")
    # 3 languages x 6 questions, the yes/no-only question of each language not scored by R@kt
    assert len(clean["R@2kt"]) == 15 and not any(q.endswith("-5") for q in clean["R@2kt"])
    assert len(clean["AnswerRecall@5"]) == 18
    assert set(clean["R@2kt"].values()) <= {0.0, 1.0}
    # the index was encoded in 4 shards of 10 rows; the fused vectors are sharded the same way
    stages = {
        p.name.split("-")[0] + "-" + p.name.split("-")[1]
        for p in cache.iterdir()
        if p.is_dir() and p.name != "encodings"  # the encoding cache lives beside the stages
    }
    assert {"encode-corpus", "fuse-store", "fused-vectors"} <= stages
    fused = next(cache.glob("fused-vectors-*")) / "vectors"
    assert len(list(fused.glob("shard-*"))) == 4
    assert results["fold0"]["alpha"]["zero-shot+xqg"] == 0.5

    # the fused vectors are (1 - α) E(p) + α mean E(q): check against an in-memory recomputation
    from xqg.distributed import load_vectors
    from xqg.fuse.store import load_fusion_store

    store = load_fusion_store(next(cache.glob("fuse-store-*")) / "store")
    ids, vectors = load_vectors(fused)
    assert ids == store.ids == [str(i) for i in range(1, 37)]
    mean = store.query_sums / store.query_counts[:, None]
    np.testing.assert_allclose(vectors, 0.5 * store.passage_vectors + 0.5 * mean, rtol=1e-5, atol=1e-6)
    assert set(store.query_counts.tolist()) == {4}  # 2 queries x 2 languages per passage
    # E(p) in the store is the zero-shot index's vector
    _, plain = load_vectors(next(cache.glob("encode-corpus-shards-*")) / "vectors")
    np.testing.assert_allclose(store.passage_vectors, plain, rtol=1e-5, atol=1e-6)

    # a re-run with another α re-fuses only; nothing else is recomputed
    before = {p.name for p in cache.iterdir()}
    run_experiment(
        _config(tmp_path, assets, ["zero-shot", "zero-shot+xqg"], fusion={"alpha": 0.25}), cache_dir=cache
    )
    new = {p.name for p in cache.iterdir()} - before
    assert len(new) == 1 and next(iter(new)).startswith("fused-vectors")


def test_one_fused_index_per_generated_language(tmp_path, assets) -> None:
    """[fusion] per_language: ru questions meet the ru-fused index; fi and ja (not generated) the plain one."""
    from xqg.distributed import load_vectors
    from xqg.fuse.store import load_fusion_store

    cache = tmp_path / "cache"
    config = _config(tmp_path, assets, ["zero-shot", "zero-shot+xqg"], fusion={"per_language": True})
    run_experiment(config, cache_dir=cache)
    store_dir = next(cache.glob("fuse-store-*")) / "store"
    fused = next(cache.glob("fused-vectors-*")) / "vectors"
    assert sorted(p.name for p in fused.iterdir() if p.is_dir()) == ["de", "ru"]
    for lang in ("de", "ru"):
        store = load_fusion_store(store_dir, language=lang)
        assert set(store.query_counts.tolist()) == {2}  # 2 queries of that language per passage
        _, vectors = load_vectors(fused / lang)
        np.testing.assert_allclose(vectors, store.fuse(0.5, "mean"), rtol=1e-5, atol=1e-6)
    base, fused_run = _per_query(tmp_path, "zero-shot"), _per_query(tmp_path, "zero-shot+xqg")
    for metric in ("R@2kt", "AnswerRecall@5"):
        for qid, value in base[metric].items():
            if not qid.startswith("ru-"):  # no ru-fused help, no harm: the plain index
                assert fused_run[metric][qid] == value
    # the two languages' indexes differ, and the mixed store is their total
    total = load_fusion_store(store_dir)
    np.testing.assert_allclose(
        total.query_sums,
        load_fusion_store(store_dir, language="de").query_sums
        + load_fusion_store(store_dir, language="ru").query_sums,
        rtol=1e-5,
        atol=1e-5,
    )


def test_fine_tuned_from_training_files(tmp_path, assets) -> None:
    train = assets["train"]
    config = _config(
        tmp_path,
        assets,
        ["zero-shot", "fine-tuned"],
        training={
            "corpus": str(train / "corpus.jsonl"),
            "queries": str(train / "queries.jsonl"),
            "qrels": str(train / "train.qrels"),
            "max_steps": 2,
            "batch_size": 4,
        },
    )
    run_experiment(config, cache_dir=tmp_path / "cache")
    assert len(_per_query(tmp_path, "fine-tuned", "one-typo_0")["R@2kt"]) == 15
    assert list((tmp_path / "cache").glob("train-retriever-*"))


def test_a_killed_corpus_encoding_resumes(tmp_path, assets, monkeypatch) -> None:
    from xqg.encode import task as encode_task

    cache = tmp_path / "cache"
    calls = {"n": 0}
    original = encode_task.EncodeTask.run

    def flaky(self, shard, workdir):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # killed while encoding the third shard
        return original(self, shard, workdir)

    monkeypatch.setattr(encode_task.EncodeTask, "run", flaky)
    config = _config(tmp_path, assets, ["zero-shot"])
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, cache_dir=cache)
    partial = list(cache.glob(".encode-corpus-shards-*.partial"))
    assert len(partial) == 1
    run_experiment(config, cache_dir=cache)
    assert calls["n"] == 5  # 2 shards before the kill, the killed one, then the 2 left: none redone
    assert not list(cache.glob(".*.partial"))


@pytest.mark.parametrize(
    ("systems", "extra", "message"),
    [
        (["zero-shot+oracle"], {}, "needs the questions' relevant passages"),
        (["fine-tuned"], {}, "give \\[training\\] corpus, queries and qrels"),
        (["zero-shot"], {"metrics": {"names": ["MRR@10"], "primary": "MRR@10"}}, "needs passage qrels"),
        (["zero-shot+xqg"], {"fusion": {"alpha_sweep": [0.0, 0.1]}}, "alpha_sweep"),
    ],
)
def test_what_a_corpus_benchmark_cannot_run_is_refused_up_front(
    tmp_path, assets, systems, extra, message
) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, assets, systems, **extra)


def test_missing_corpus_is_named(tmp_path, assets) -> None:
    config = _config(tmp_path, assets, ["zero-shot"], data={"corpus": str(tmp_path / "nope.tsv")})
    with pytest.raises(ConfigError, match="nope.tsv does not exist"):
        run_experiment(config, cache_dir=tmp_path / "cache")


def test_mkqa_questions_against_a_corpus_file(tmp_path, assets) -> None:
    from pathlib import Path

    mkqa = Path(__file__).parents[1] / "data" / "fixtures" / "mkqa" / "mkqa.jsonl"
    config = parse_config(
        {
            "experiment": {"name": "tiny-mkqa", "seed": 1, "output": str(tmp_path / "report")},
            "data": {
                "dataset": "mkqa",
                "path": str(mkqa),
                "corpus": str(assets["xor"] / "enwiki_20190201_w100.tsv"),
                "languages": ["de", "ja"],
            },
            "encoder": {"model": str(assets["model"]), "shard_size": 16},
            "typos": {"protocols": []},
            "systems": {"names": ["zero-shot"], "baseline": "zero-shot"},
            "metrics": {"names": ["AnswerRecall@20", "AnswerRecall@5"], "primary": "AnswerRecall@20"},
        },
        where="tiny-mkqa.toml",
    )
    summary = run_experiment(config, cache_dir=tmp_path / "cache")
    values = _per_query(tmp_path, "zero-shot")["AnswerRecall@20"]
    from xqg.data.mkqa import load_mkqa

    expected = {q.id for lang in ("de", "ja") for q in load_mkqa(["de", "ja"], path=mkqa).queries[lang]}
    assert set(values) == expected
    assert "AnswerRecall@20" in summary.markdown


@pytest.mark.parametrize(
    ("distributed", "message"),
    [
        ({"engine": "spark"}, "must be 'inprocess' or 'ray'"),
        ({"num_workers": 2}, "apply to engine 'ray'"),
    ],
)
def test_distributed_section_is_checked(tmp_path, assets, distributed, message) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, assets, ["zero-shot"], distributed=distributed)


@pytest.mark.slow
def test_ray_engine_gives_the_in_process_results(tmp_path, assets) -> None:
    pytest.importorskip("ray")
    systems = ["zero-shot", "zero-shot+xqg"]
    run_experiment(_config(tmp_path / "a", assets, systems), cache_dir=tmp_path / "cache-a")
    ray_config = _config(tmp_path / "b", assets, systems, distributed={"engine": "ray", "num_workers": 2})
    run_experiment(ray_config, cache_dir=tmp_path / "cache-b")
    for system in systems:
        for condition in ("clean", "one-typo_0"):
            assert _per_query(tmp_path / "a", system, condition) == _per_query(
                tmp_path / "b", system, condition
            )
