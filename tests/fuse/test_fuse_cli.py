"""``xqg fuse`` and ``xqg fuse-predictor`` end to end on a tiny random encoder saved to disk."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xqg.cli.main import main
from xqg.distributed import load_vectors
from xqg.fuse import QueryEmbeddingPredictor, load_fusion_store


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from xqg.encode.testing import tiny_encoder

    root = tmp_path_factory.mktemp("cli")
    tiny_encoder(seed=1).save(root / "encoder")
    docs = [
        {"_id": f"d{i}", "title": f"title {i}", "text": f"the city {i} has river {i % 3}"} for i in range(6)
    ]
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    generated = [
        {"docid": d["_id"], "lang": lang, "slot": j, "query": f"where is city {i} {lang} {j}"}
        for i, d in enumerate(docs)
        for lang in ("de", "fr")
        for j in range(2)
    ]
    (root / "gen.jsonl").write_text("".join(json.dumps(r) + "\n" for r in generated), encoding="utf-8")
    queries = [{"_id": f"q{i}", "text": f"city {i} river", "lang": "de"} for i in range(6)]
    (root / "dev.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    (root / "dev.qrels").write_text("".join(f"q{i} 0 d{i} 1\n" for i in range(6)), encoding="utf-8")
    return root


def test_fuse_builds_store_sweeps_alpha_and_writes_fused_vectors(files, capsys):
    store, fused = files / "store", files / "fused"
    code = main(
        [
            "fuse",
            "--store",
            str(store),
            "--corpus",
            str(files / "corpus.jsonl"),
            "--queries",
            str(files / "gen.jsonl"),
            "--encoder",
            str(files / "encoder"),
            "--shard-size",
            "4",
            "--alpha-sweep",
            "0,0.01,0.5",
            "--dev-queries",
            str(files / "dev.jsonl"),
            "--dev-qrels",
            str(files / "dev.qrels"),
            "--output",
            str(fused),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "best alpha" in out and "| 0.5" in out
    data = load_fusion_store(store)
    assert data.ids == [f"d{i}" for i in range(6)]
    np.testing.assert_array_equal(data.query_counts, [4] * 6)
    best = float(out.split("best alpha")[1].split(":")[1].split()[0])
    ids, vectors = load_vectors(fused)
    assert ids == data.ids
    np.testing.assert_allclose(vectors, data.fuse(best, "sum"), atol=1e-6)
    # a sweep on the existing store finds the store's encoder by itself
    assert (
        main(
            [
                "fuse",
                "--store",
                str(store),
                "--alpha-sweep",
                "0,0.5",
                "--dev-queries",
                str(files / "dev.jsonl"),
                "--dev-qrels",
                str(files / "dev.qrels"),
            ]
        )
        == 0
    )
    assert "best alpha" in capsys.readouterr().out
    # re-fusion with another alpha reuses the store (no --corpus, no encoder)
    assert (
        main(
            [
                "fuse",
                "--store",
                str(store),
                "--alpha",
                "0.2",
                "--mode",
                "mean",
                "--output",
                str(files / "fused-mean"),
            ]
        )
        == 0
    )
    np.testing.assert_allclose(load_vectors(files / "fused-mean")[1], data.fuse(0.2, "mean"), atol=1e-6)


def test_fuse_without_a_query_source_is_a_clear_error(files, capsys):
    code = main(["fuse", "--store", str(files / "s2"), "--corpus", str(files / "corpus.jsonl")])
    assert code == 2
    assert "--queries, --generator or --predictor" in capsys.readouterr().err


def test_fuse_predictor_trains_and_fuses_without_text(files):
    queries = [
        {"_id": f"t{i}-{lang}", "text": f"question {i} in {lang}", "lang": lang}
        for i in range(6)
        for lang in ("de", "fr")
    ]
    (files / "train.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    (files / "train.qrels").write_text(
        "".join(f"t{i}-{lang} 0 d{i} 1\n" for i in range(6) for lang in ("de", "fr")), encoding="utf-8"
    )
    assert (
        main(
            [
                "fuse-predictor",
                "--corpus",
                str(files / "corpus.jsonl"),
                "--queries",
                str(files / "train.jsonl"),
                "--qrels",
                str(files / "train.qrels"),
                "--encoder",
                str(files / "encoder"),
                "--output",
                str(files / "predictor"),
            ]
        )
        == 0
    )
    model = QueryEmbeddingPredictor.load(files / "predictor")
    assert model.languages == ["de", "fr"]
    assert (
        main(
            [
                "fuse",
                "--store",
                str(files / "pstore"),
                "--corpus",
                str(files / "corpus.jsonl"),
                "--predictor",
                str(files / "predictor"),
                "--encoder",
                str(files / "encoder"),
                "--n",
                "3",
            ]
        )
        == 0
    )
    store = load_fusion_store(files / "pstore")
    np.testing.assert_array_equal(store.query_counts, [6] * 6)
    expected = 3 * (model.predict(store.passage_vectors, "de") + model.predict(store.passage_vectors, "fr"))
    np.testing.assert_allclose(store.query_sums, expected, atol=1e-4)
