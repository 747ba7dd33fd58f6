from __future__ import annotations

import pytest

from xqg.data.records import Passage, Query, RetrievalDataset
from xqg.errors import InputError
from xqg.train.examples import build_training_examples, read_negatives, write_negatives
from xqg.train.negatives import contains_answer, mine_hard_negatives
from xqg.train.testing import tiny_hash_encoder


def _data():
    corpus = [Passage(f"d{i}", f"text number {i}") for i in range(6)] + [
        Passage("ans", "the capital is Paris")
    ]
    queries = {"en": [Query("q1", "capital?", "en"), Query("q2", "number 3?", "en")]}
    qrels = {"q1": {"d0": 1, "d1": 1}, "q2": {"d3": 1}}
    return RetrievalDataset("t", corpus, queries, qrels, answers={"q1": ["paris"]})


def test_examples_use_mined_negatives_first_and_skip_relevant():
    examples = build_training_examples(
        _data(), {"q1": ["d1", "d4", "zzz", "d4", "d5"]}, num_negatives=3, seed=1
    )
    q1 = [e for e in examples if e.query.id == "q1"]
    assert [e.positive.id for e in q1] == ["d0", "d1"]  # one example per positive
    negatives = [p.id for p in q1[0].negatives]
    assert negatives == ["d4", "d5", negatives[2]] and negatives[2] not in {"d0", "d1", "d4", "d5"}
    assert q1[0].relevant == {"d0", "d1"}
    again = build_training_examples(_data(), {"q1": ["d1", "d4", "zzz", "d4", "d5"]}, num_negatives=3, seed=1)
    assert again == examples


def test_unknown_qrel_doc_is_an_error():
    data = _data()
    data.qrels["q2"] = {"nope": 1}
    with pytest.raises(InputError, match="nope"):
        build_training_examples(data, num_negatives=1)


def test_negatives_file_round_trip_and_errors(tmp_path):
    path = tmp_path / "neg.jsonl"
    write_negatives(path, {"q1": ["a", "b"], "q2": []})
    assert read_negatives(path) == {"q1": ["a", "b"], "q2": []}
    path.write_text('{"query_id": "q1", "negatives": ["a"]}\n{"query_id": "q2", "negatives": "a"}\n')
    with pytest.raises(InputError) as info:
        read_negatives(path)
    assert info.value.line == 2 and str(path) in str(info.value)


def test_mining_skips_positives_and_answer_bearing_passages_best_first():
    data = _data()
    model = tiny_hash_encoder(seed=3)
    mined = mine_hard_negatives(
        model, list(data.all_queries()), data.corpus, data.qrels, data.answers, num_negatives=10
    )
    assert set(mined["q1"]).isdisjoint({"d0", "d1", "ans"}) and len(mined["q1"]) == 4
    assert "d3" not in mined["q2"] and "ans" in mined["q2"] and len(mined["q2"]) == 6
    from xqg.train.dev import embed_texts

    q = embed_texts(model, ["number 3?"], "query")[0]
    p = {d.id: embed_texts(model, [d.text], "passage")[0] for d in data.corpus}
    scores = [float(q @ p[d]) for d in mined["q2"]]
    assert scores == sorted(scores, reverse=True)
    assert (
        mine_hard_negatives(
            model, list(data.all_queries()), data.corpus, data.qrels, num_negatives=2, skip_top=1
        )["q2"]
        == mined["q2"][1:3]
    )


def test_contains_answer_is_case_and_width_insensitive():
    assert contains_answer(Passage("d", "ＰＡＲＩＳ is big"), ["paris"])
    assert not contains_answer(Passage("d", "Lyon"), ["paris", " "])


def test_tied_passages_are_mined_in_id_order():
    """Passages with the same text score the same: they are mined by id (xqg.index.ranking's rule),
    where the mining loop used to keep its own argpartition order."""
    corpus = [Passage(pid, "cats and dogs") for pid in ("p3", "p1", "p2")] + [Passage("gold", "cats")]
    mined = mine_hard_negatives(
        tiny_hash_encoder(seed=3), [Query("q", "cats", "en")], corpus, {"q": {"gold": 1}}, num_negatives=3
    )
    assert mined["q"] == ["p1", "p2", "p3"]
