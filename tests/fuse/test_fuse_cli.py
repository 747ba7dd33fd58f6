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


def _build_store(files, store) -> list[str]:
    """``xqg fuse`` arguments that build ``store`` from the fixture's corpus, generated queries and encoder."""
    return [
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
    ]


def test_fuse_builds_store_sweeps_alpha_and_writes_fused_vectors(files, capsys):
    store, fused = files / "store", files / "fused"
    code = main(
        [
            *_build_store(files, store),
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


@pytest.mark.parametrize("per_language", [False, True])
def test_fuse_with_misspelled_copies_sums_each_query_and_its_copies(files, per_language):
    """``--misspelled-copies 2``: each passage's sum is over its generated queries and two seeded one-typo
    copies of each (the copies ``xqg run``'s +xqg-typos passages use); another count is refused on resume."""
    from xqg.encode import load_encoder
    from xqg.fuse.misspelled import misspelled_copies

    store = files / f"store-typos-{per_language}"
    args = [
        *_build_store(files, store),
        "--misspelled-copies",
        "2",
        "--typo-seed",
        "5",
        *(["--per-language", "--languages", "de,fr"] if per_language else []),
    ]
    assert main(args) == 0
    encoder = load_encoder(str(files / "encoder"))
    rows = [json.loads(line) for line in (files / "gen.jsonl").read_text(encoding="utf-8").splitlines()]
    changed = 0
    for lang in ("de", "fr") if per_language else (None,):
        data = load_fusion_store(store, language=lang)
        for i, docid in enumerate(data.ids):
            texts = []
            for r in rows:
                if r["docid"] == docid and lang in (None, r["lang"]):
                    copies = misspelled_copies(docid, r["lang"], r["slot"], r["query"], 2, seed=5)
                    changed += sum(c != r["query"] for c in copies)
                    texts += [r["query"], *copies]
            assert data.query_counts[i] == len(texts) == (6 if per_language else 12)
            np.testing.assert_allclose(data.query_sums[i], encoder.encode_queries(texts).sum(0), atol=1e-5)
    assert changed > 0
    # the same store with another number of copies is another input: refused, never mixed
    args[args.index("--misspelled-copies") + 1] = "1"
    assert main(args) == 2


def test_misspelled_copies_need_query_texts_and_a_corpus(files, capsys):
    base = ["fuse", "--store", str(files / "s3"), "--misspelled-copies", "1"]
    assert main([*base, "--corpus", str(files / "corpus.jsonl"), "--predictor", str(files)]) == 2
    assert "needs --queries or --generator" in capsys.readouterr().err
    assert main([*base, "--output", str(files / "o3")]) == 2
    assert "need --corpus" in capsys.readouterr().err
