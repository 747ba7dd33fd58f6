"""The in-memory exact search (:class:`LoadedIndex`) returns what :func:`xqg.index.search` returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xqg.distributed import load_vectors, run_sharded
from xqg.distributed.testing import NumpyVectorTask
from xqg.errors import InputError
from xqg.index import search
from xqg.index.loaded_index import LoadedIndex


def _assert_same_run(fast: dict, reference: dict) -> None:
    assert fast.keys() == reference.keys()
    for qid, docs in reference.items():
        assert list(fast[qid]) == list(docs), qid
        np.testing.assert_allclose(list(fast[qid].values()), list(docs.values()), rtol=0, atol=1e-5)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vectors")
    run_sharded(NumpyVectorTask(dim=16, seed=3, batch_size=64), 230, out, shard_size=50, show_progress=False)
    return out


@pytest.mark.parametrize("query_batch", [4, 16])
@pytest.mark.parametrize("block_rows", [7, 64, 100_000])
@pytest.mark.parametrize("k", [1, 10, 230, 500])
def test_same_run_as_streaming_search(sharded: Path, block_rows: int, k: int, query_batch: int) -> None:
    ids, vectors = load_vectors(sharded)
    queries = np.random.default_rng(0).standard_normal((19, vectors.shape[1])).astype(np.float32)
    qids = [f"q{i}" for i in range(len(queries))]
    index = LoadedIndex.open(sharded, block_rows=block_rows, query_batch=query_batch)
    assert len(index) == 230
    _assert_same_run(index.search(queries, qids, k=k), search(queries, qids, sharded, k=k))


def test_ties_are_broken_by_doc_id_like_search(tmp_path: Path) -> None:
    # many exact ties across shard and block boundaries: the order must be doc-id order, as in search()
    from xqg.distributed.vectors import VectorPartWriter

    class TiedTask:
        name = "tied"

        def fingerprint(self) -> dict:
            return {"task": "tied"}

        def run(self, shard, workdir):  # noqa: ANN001, ANN201
            rows = np.zeros((len(shard), 4), dtype=np.float32)
            rows[:, 0] = [(r % 3) for r in range(shard.start, shard.stop)]
            writer = VectorPartWriter(workdir, len(shard), 4)
            writer.write(rows, ids=[f"d{r}" for r in range(shard.start, shard.stop)])
            return writer.close()

    run_sharded(TiedTask(), 40, tmp_path, shard_size=13, show_progress=False)
    queries = np.array([[1.0, 0, 0, 0], [-1.0, 0, 0, 0]], dtype=np.float32)
    index = LoadedIndex.open(tmp_path, block_rows=5)
    _assert_same_run(index.search(queries, ["a", "b"], k=7), search(queries, ["a", "b"], tmp_path, k=7))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    num_docs=st.integers(1, 60),
    num_queries=st.integers(1, 6),
    k=st.integers(1, 70),
    block_rows=st.integers(1, 70),
    levels=st.integers(2, 50),
    seed=st.integers(0, 2**16),
)
def test_topk_matches_a_full_sort(
    num_docs: int, num_queries: int, k: int, block_rows: int, levels: int, seed: int
) -> None:
    # quantised scores make ties frequent; reference = full sort by (-score, doc id)
    rng = np.random.default_rng(seed)
    vectors = rng.integers(0, levels, size=(num_docs, 3)).astype(np.float32)
    queries = rng.integers(-2, 3, size=(num_queries, 3)).astype(np.float32)
    ids = [f"doc{rng.integers(0, 10**6)}-{i}" for i in range(num_docs)]
    index = LoadedIndex(ids, vectors, block_rows=block_rows, query_batch=2)
    scores, rows = index.topk(queries, k)
    full = queries @ vectors.T
    for q in range(num_queries):
        expected = sorted(range(num_docs), key=lambda r: (-full[q, r], ids[r]))[: min(k, num_docs)]
        assert rows[q].tolist() == expected
        assert scores[q].tolist() == full[q, expected].tolist()


def test_bad_input_is_rejected(sharded: Path) -> None:
    index = LoadedIndex.open(sharded)
    with pytest.raises(InputError):
        index.search(np.zeros((2, 3), dtype=np.float32), ["a", "b"], k=1)
    with pytest.raises(InputError):
        index.search(np.zeros((2, 16), dtype=np.float32), ["a"], k=1)
    with pytest.raises(InputError):
        LoadedIndex(["a", "a"], np.zeros((2, 2), dtype=np.float32))
