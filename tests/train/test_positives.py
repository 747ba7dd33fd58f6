"""Answer-matched positives and hard negatives over a sharded index (``xqg mine-positives``)."""

from __future__ import annotations

import json

import numpy as np

from xqg.data.corpus import read_corpus, read_queries
from xqg.data.trec import read_qrels
from xqg.encode import load_encoder
from xqg.encode.task import encode_file
from xqg.encode.testing import tiny_encoder
from xqg.train.examples import read_negatives
from xqg.train.negatives import contains_answer

CITIES = ["Helsinki", "Tampere", "Oulu", "Turku", "Espoo", "Lahti"]


def _setup(tmp_path):
    model = tiny_encoder(seed=9).save(tmp_path / "enc")
    rows = ["id\ttext\ttitle"]
    for i in range(30):
        city = CITIES[i % len(CITIES)]
        rows.append(f"p{i}\t{city} has {i} bridges and code Z{i % 4}.\t{city}")
    corpus = tmp_path / "psgs.tsv"
    corpus.write_text("\n".join(rows) + "\n", encoding="utf-8")
    encode_file(corpus, tmp_path / "index", model=str(model), shard_size=7, show_progress=False)
    questions = tmp_path / "train.jsonl"
    items = [
        {"id": "a", "question": "Paljonko siltoja Oulussa?", "answers": ["Z1"], "lang": "fi"},
        {"id": "b", "question": "Сколько мостов в Турку?", "answers": ["z2"], "lang": "ru"},  # case-folded
        {"id": "c", "question": "Onko Espoo kaupunki?", "answers": ["yes"], "lang": "fi"},  # yes/no: unusable
        {"id": "d", "question": "Missä on Atlantis?", "answers": ["Atlantis"], "lang": "fi"},  # in no passage
    ]
    questions.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in items) + "\n", encoding="utf-8")
    return model, corpus, questions, items


def test_mine_positives_cli_writes_training_files(tmp_path) -> None:
    from xqg.cli.main import main

    model, corpus, questions, items = _setup(tmp_path)
    out = tmp_path / "pairs"
    args = ["mine-positives", "--questions", str(questions), "--index", str(tmp_path / "index")]
    args += [
        "--corpus",
        str(corpus),
        "-o",
        str(out),
        "--model",
        str(model),
        "--depth",
        "30",
        "--num-negatives",
        "3",
    ]
    assert main(args) == 0
    report = json.loads((out / "mining.json").read_text(encoding="utf-8"))
    assert report["kept"] == 2 and sorted(report["dropped"]) == ["c", "d"]
    assert report["per_language"] == {"fi": {"questions": 3, "kept": 1}, "ru": {"questions": 1, "kept": 1}}
    qrels = read_qrels(out / "train.qrels")
    passages = {p.id: p for p in read_corpus(out / "corpus.jsonl")}
    negatives = read_negatives(out / "negatives.jsonl")
    assert [q.id for q in read_queries(out / "queries.jsonl")] == ["a", "b"]
    triples = [
        json.loads(line)
        for line in (out / "generator_triples.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [(t["lang"], t["docid"]) for t in triples] == [
        ("fi", next(iter(qrels["a"]))),
        ("ru", next(iter(qrels["b"]))),
    ]
    from xqg.generate.examples import read_examples_jsonl

    assert [ex.lang for ex in read_examples_jsonl(out / "generator_triples.jsonl")] == ["fi", "ru"]

    # brute force: the positive is the best-scored answer-bearing passage, the negatives the best
    # answer-free ones, in rank order
    encoder = load_encoder(model, device="cpu")
    all_passages = read_corpus(corpus)
    pvecs = encoder.encode_passages(all_passages)
    for item in items[:2]:
        qvec = encoder.encode_queries([item["question"]])[0]
        ranked = sorted(range(len(all_passages)), key=lambda j: (-float(pvecs[j] @ qvec), all_passages[j].id))
        bearing = [all_passages[j].id for j in ranked if contains_answer(all_passages[j], item["answers"])]
        free = [all_passages[j].id for j in ranked if not contains_answer(all_passages[j], item["answers"])]
        assert list(qrels[item["id"]]) == [bearing[0]]
        assert negatives[item["id"]] == free[:3]
        assert all(d in passages for d in negatives[item["id"]] + bearing[:1])


def test_mined_pairs_train_a_retriever(tmp_path) -> None:
    """The written files are what `xqg train-retriever --corpus/--queries/--qrels --negatives` reads."""
    from xqg.cli.main import main

    model, corpus, questions, _ = _setup(tmp_path)
    out = tmp_path / "pairs"
    assert (
        main(
            ["mine-positives", "--questions", str(questions), "--index", str(tmp_path / "index"), "--corpus"]
            + [str(corpus), "-o", str(out), "--model", str(model), "--depth", "30"]
        )
        == 0
    )
    trained = tmp_path / "trained"
    args = ["train-retriever", "--model", str(model), "--corpus", str(out / "corpus.jsonl")]
    args += ["--queries", str(out / "queries.jsonl"), "--qrels", str(out / "train.qrels")]
    args += ["--negatives", str(out / "negatives.jsonl"), "--num-negatives", "2", "--batch-size", "2"]
    args += ["--max-steps", "1", "--output", str(trained), "--no-progress"]
    assert main(args) == 0
    assert np.isfinite(
        load_encoder(next(trained.rglob("modules.json")).parent, device="cpu").encode_queries(["x"])
    ).all()
