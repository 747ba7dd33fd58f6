from __future__ import annotations

import pytest

from xqg.data.records import Passage, Query
from xqg.train.config import RetrieverTrainingConfig
from xqg.train.examples import TrainingExample
from xqg.train.robustness import QueryPerturber


def _fake(text, lang, seed, num_typos=1, protocol="one-typo"):
    return f"{text}~{seed % 1000}"


def _examples(n=40):
    return [
        TrainingExample(Query(f"q{i}", f"question {i}", "de"), Passage(f"p{i}", f"passage {i}"))
        for i in range(n)
    ]


def test_none_keeps_clean_queries():
    views = QueryPerturber(RetrieverTrainingConfig(), _fake).views(_examples(3), epoch=0)
    assert views.ce == [["question 0", "question 1", "question 2"]] and views.kl_student is None


def test_typos_aware_replaces_about_p_of_the_queries_seeded_per_epoch():
    perturber = QueryPerturber(RetrieverTrainingConfig(robustness="typos-aware", typo_probability=0.5), _fake)
    examples = _examples(400)
    views = perturber.views(examples, epoch=0)
    replaced = sum("~" in t for t in views.ce[0])
    assert 150 < replaced < 250
    assert views.ce == perturber.views(examples, epoch=0).ce  # same seed, same epoch: same texts
    assert views.ce != perturber.views(examples, epoch=1).ce  # fresh typos each epoch
    all_typo = QueryPerturber(RetrieverTrainingConfig(robustness="typos-aware", typo_probability=1.0), _fake)
    assert all("~" in t for t in all_typo.views(examples, 0).ce[0])


def test_self_teaching_pairs_clean_and_typo():
    views = QueryPerturber(RetrieverTrainingConfig(robustness="self-teaching"), _fake).views(_examples(4), 0)
    assert views.ce[0] == [f"question {i}" for i in range(4)]
    assert [t.split("~")[0] for t in views.kl_student] == views.ce[0]


def test_multi_positive_has_distinct_variants():
    views = QueryPerturber(
        RetrieverTrainingConfig(robustness="multi-positive", typo_variants=3), _fake
    ).views(_examples(5), 0)
    assert len(views.ce) == 4
    for i in range(5):
        assert len({views.ce[v][i] for v in range(1, 4)}) == 3


def test_adversarial_picks_the_lowest_scored_candidate():
    config = RetrieverTrainingConfig(robustness="adversarial", typo_probability=1.0, adversarial_candidates=5)
    perturber = QueryPerturber(config, _fake)
    examples = _examples(6)
    calls = []

    def scorer(queries, passages):
        calls.append((queries, passages))
        return [float(int(q.split("~")[1]) % 97) for q in queries]  # any deterministic score

    chosen = perturber.views(examples, epoch=0, scorer=scorer).ce[0]
    queries, passages = calls[0]
    assert len(queries) == 6 * 5 and passages[:5] == ["passage 0"] * 5
    for i, text in enumerate(chosen):
        candidates = queries[i * 5 : (i + 1) * 5]
        assert text == min(candidates, key=lambda q: int(q.split("~")[1]) % 97)
    with pytest.raises(ValueError):
        perturber.views(examples, epoch=0)


def test_real_generator_is_the_default():
    pytest.importorskip("xqg.typos.generator")
    perturber = QueryPerturber(RetrieverTrainingConfig(robustness="self-teaching"))
    example = TrainingExample(Query("q", "Wer schrieb den Faust im Jahr 1808?", "de"), Passage("p", ""))
    typo = perturber.views([example], 0).kl_student[0]
    assert typo != example.query.text and len(typo.split()) >= len(example.query.text.split()) - 1
