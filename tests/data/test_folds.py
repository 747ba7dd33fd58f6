from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.data.folds import fold_split, split_by_articles, xquad_folds
from xqg.data.xquad import load_xquad
from xqg.errors import InputError


@settings(max_examples=50, deadline=None)
@given(num_folds=st.integers(2, 48), seed=st.integers(0, 2**32))
def test_every_article_is_tested_exactly_once(num_folds: int, seed: int) -> None:
    folds = xquad_folds(num_folds, seed)
    assert len(folds) == num_folds
    tested = [a for _, test in folds for a in test]
    assert sorted(tested) == list(range(48))
    sizes = [len(test) for _, test in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, test in folds:
        assert not set(train) & set(test)
        assert sorted(train + test) == list(range(48))


def test_folds_are_deterministic_and_depend_on_seed() -> None:
    assert xquad_folds(5, 0) == xquad_folds(5, 0)
    assert xquad_folds(5, 0) != xquad_folds(5, 1)
    assert fold_split(5, 2, seed=0) == xquad_folds(5, 0)[2]


def test_bad_fold_arguments() -> None:
    with pytest.raises(InputError, match="num_folds"):
        xquad_folds(1)
    with pytest.raises(InputError, match="fold must be"):
        fold_split(5, 5)


def test_no_article_on_both_sides_of_real_xquad(xquad_dir: Path) -> None:
    dataset = load_xquad(["de", "zh"], root=xquad_dir)
    total = 0
    for train_articles, test_articles in xquad_folds(5, seed=0):
        train = split_by_articles(dataset, train_articles)
        test = split_by_articles(dataset, test_articles)
        train_art = {p.meta["article"] for p in train.corpus}
        test_art = {p.meta["article"] for p in test.corpus}
        assert not train_art & test_art
        assert len(train_art | test_art) == 48
        # Queries follow their paragraph's article: none shared, none lost.
        train_q = {q.id for q in train.all_queries()}
        test_q = {q.id for q in test.all_queries()}
        assert not train_q & test_q
        assert len(train_q) + len(test_q) == 2 * 1190
        docs = {p.id for p in test.corpus}
        assert all(set(test.qrels[q]) <= docs for q in test_q)
        assert set(test.answers) == test_q
        total += len(test_q)
    assert total == 2 * 1190


def test_split_needs_article_meta() -> None:
    from xqg.data.records import Passage, RetrievalDataset

    dataset = RetrievalDataset("x", [Passage("d", "t")], {}, {})
    with pytest.raises(InputError, match="meta\\['article'\\]"):
        split_by_articles(dataset, [0])
