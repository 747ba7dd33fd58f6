"""Article-level folds, so that anything trained on XQuAD is evaluated on articles it never saw.

Questions about one article share its entities and vocabulary; a split by question or paragraph
leaks. :func:`xquad_folds` shuffles the 48 article indices with a seed derived by
:func:`xqg.seeding.derive_seed` and cuts them into ``num_folds`` near-equal test blocks (sizes
differ by at most one); fold ``i`` trains on every other article. :func:`split_by_articles`
restricts a dataset to a set of articles.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from xqg.data.records import RetrievalDataset
from xqg.errors import InputError
from xqg.seeding import derive_seed


def xquad_folds(
    num_folds: int = 5, seed: int = 0, num_articles: int = 48
) -> list[tuple[list[int], list[int]]]:
    """Deterministic K-fold split of article indices: ``[(train_articles, test_articles), ...]``.

    Every article is in exactly one test block; train = all the others. Lists are sorted.

    Args:
        num_folds: K, from 2 to ``num_articles``.
        seed: shuffling seed; the same seed always gives the same folds (any machine, any process).
        num_articles: number of articles (48 in XQuAD).

    Raises:
        InputError: ``num_folds`` out of range.

    Example:
        >>> folds = xquad_folds(4, seed=0)
        >>> [len(test) for _, test in folds]
        [12, 12, 12, 12]
        >>> sorted(a for _, test in folds for a in test) == list(range(48))
        True
    """
    if not 2 <= num_folds <= num_articles:
        raise InputError(f"num_folds must be between 2 and {num_articles}, got {num_folds}")
    order = list(range(num_articles))
    random.Random(derive_seed(seed, "xquad-folds", num_articles)).shuffle(order)
    base, extra = divmod(num_articles, num_folds)
    folds: list[tuple[list[int], list[int]]] = []
    start = 0
    for i in range(num_folds):
        size = base + (1 if i < extra else 0)
        test = sorted(order[start : start + size])
        start += size
        held = set(test)
        folds.append(([a for a in range(num_articles) if a not in held], test))
    return folds


def fold_split(
    num_folds: int, fold: int, seed: int = 0, num_articles: int = 48
) -> tuple[list[int], list[int]]:
    """``(train_articles, test_articles)`` of fold ``fold`` (0-based) of :func:`xquad_folds`.

    Example:
        >>> train, test = fold_split(5, 0)
        >>> len(train) + len(test), set(train) & set(test)
        (48, set())
    """
    if not 0 <= fold < num_folds:
        raise InputError(f"fold must be between 0 and {num_folds - 1}, got {fold}")
    return xquad_folds(num_folds, seed, num_articles)[fold]


def split_by_articles(dataset: RetrievalDataset, articles: Iterable[int | str]) -> RetrievalDataset:
    """The part of ``dataset`` that belongs to the given articles.

    Passages are kept when ``meta["article"]`` is one of ``articles``; a query is kept when all of
    its relevant documents are kept (in XQuAD a question belongs to exactly one article). Qrels
    and answers follow the kept queries. The input is not modified.

    Args:
        dataset: a dataset whose passages carry ``meta["article"]`` (e.g. from ``load_xquad``).
        articles: article indices (ints or strings).

    Raises:
        InputError: a passage lacks ``meta["article"]``.

    Example:
        >>> from xqg.data.records import Passage, Query
        >>> ds = RetrievalDataset("toy", [Passage("0-0", "a", meta={"article": "0"}),
        ...     Passage("1-0", "b", meta={"article": "1"})], {"en": [Query("q/en", "?", "en")]},
        ...     {"q/en": {"1-0": 1}})
        >>> part = split_by_articles(ds, [1])
        >>> [p.id for p in part.corpus], list(part.qrels)
        (['1-0'], ['q/en'])
    """
    keep_articles = {str(a) for a in articles}
    corpus = []
    for passage in dataset.corpus:
        if "article" not in passage.meta:
            raise InputError(f"passage {passage.id!r} has no meta['article']; split_by_articles needs it")
        if passage.meta["article"] in keep_articles:
            corpus.append(passage)
    kept_docs = {p.id for p in corpus}
    kept_queries = {
        qid for qid, docs in dataset.qrels.items() if docs and all(doc in kept_docs for doc in docs)
    }
    queries = {lang: [q for q in qs if q.id in kept_queries] for lang, qs in dataset.queries.items()}
    return RetrievalDataset(
        name=dataset.name,
        corpus=corpus,
        queries=queries,
        qrels={qid: dict(docs) for qid, docs in dataset.qrels.items() if qid in kept_queries},
        answers={qid: list(a) for qid, a in dataset.answers.items() if qid in kept_queries},
        meta={**dataset.meta, "articles": sorted(keep_articles, key=lambda a: (len(a), a))},
    )
