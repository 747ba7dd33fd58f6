"""Exact search over shards: same ranking however the corpus is sharded, ties by doc id, TREC output."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.distributed import VectorPartWriter, run_sharded
from xqg.errors import ConfigError, InputError
from xqg.index import search, search_to_trec


class ArrayTask:
    """Writes given vectors and ids, shard by shard (no model)."""

    name = "array"

    def __init__(self, ids: list[str], vectors: np.ndarray, dtype: str = "float32") -> None:
        self.ids, self.vectors, self.dtype = ids, vectors, dtype

    def fingerprint(self) -> dict:
        return {"n": len(self.ids), "sum": float(self.vectors.sum()), "dtype": self.dtype}

    def run(self, shard, workdir):
        with VectorPartWriter(workdir, len(shard), self.vectors.shape[1], dtype=self.dtype) as writer:
            writer.write(self.vectors[shard.start : shard.stop], ids=self.ids[shard.start : shard.stop])
        return {}


def _write(tmp_path, name, ids, vectors, shard_size, dtype="float32"):
    out = tmp_path / name
    run_sharded(ArrayTask(ids, vectors, dtype), len(ids), out, shard_size=shard_size, show_progress=False)
    return out


def _reference(queries: np.ndarray, ids: list[str], vectors: np.ndarray, k: int) -> list[list[str]]:
    scores = queries.astype(np.float64) @ vectors.astype(np.float64).T
    return [[ids[j] for j in sorted(range(len(ids)), key=lambda j: (-row[j], ids[j]))[:k]] for row in scores]


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(1, 60),
    shard_size=st.integers(1, 25),
    k=st.integers(1, 15),
    seed=st.integers(0, 10_000),
)
def test_sharded_equals_unsharded_equals_brute_force(tmp_path_factory, n, shard_size, k, seed) -> None:
    tmp_path = tmp_path_factory.mktemp("s")
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, 8)).astype(np.float32)
    ids = [f"doc{i:03d}" for i in rng.permutation(n)]
    queries = rng.standard_normal((5, 8)).astype(np.float32)
    qids = [f"q{i}" for i in range(5)]
    sharded = search(queries, qids, _write(tmp_path, "a", ids, vectors, shard_size), k=k)
    whole = search(queries, qids, _write(tmp_path, "b", ids, vectors, n), k=k)
    expected = _reference(queries, ids, vectors, k)
    for row, qid in enumerate(qids):
        assert list(sharded[qid]) == list(whole[qid]) == expected[row]
        assert np.allclose(list(sharded[qid].values()), list(whole[qid].values()), atol=1e-5)


def test_ties_are_broken_by_doc_id_across_shards(tmp_path) -> None:
    vectors = np.ones((9, 4), dtype=np.float32)  # every document scores the same
    ids = ["d9", "d1", "d5", "d3", "d7", "d2", "d8", "d4", "d6"]
    q = np.ones((1, 4), dtype=np.float32)
    for shard_size in (1, 2, 4, 9):
        run = search(q, ["q"], _write(tmp_path, f"s{shard_size}", ids, vectors, shard_size), k=4)
        assert list(run["q"]) == ["d1", "d2", "d3", "d4"]


def test_several_folders_and_float16_shards(tmp_path) -> None:
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((30, 6)).astype(np.float32)
    ids = [f"x{i}" for i in range(30)]
    a = _write(tmp_path, "a", ids[:12], vectors[:12], 5, dtype="float16")
    b = _write(tmp_path, "b", ids[12:], vectors[12:], 7, dtype="float16")
    q = rng.standard_normal((3, 6)).astype(np.float32)
    run = search(q, ["a", "b", "c"], [a, b], k=30)
    expected = _reference(q, ids, vectors.astype(np.float16).astype(np.float32), 30)
    assert [list(run[x]) for x in "abc"] == expected


def test_bad_inputs(tmp_path) -> None:
    out = _write(tmp_path, "a", ["d1", "d2"], np.eye(2, 4, dtype=np.float32), 1)
    with pytest.raises(InputError, match="dimension"):
        search(np.ones((1, 3), dtype=np.float32), ["q"], out, k=1)
    with pytest.raises(InputError, match="query ids"):
        search(np.ones((2, 4), dtype=np.float32), ["q"], out, k=1)
    with pytest.raises(InputError, match="more than one shard"):
        search(np.ones((1, 4), dtype=np.float32), ["q"], [out, out], k=1)


def test_trec_run_round_trip_and_cli(tmp_path) -> None:
    from xqg.cli.main import main
    from xqg.data.trec import read_run

    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((10, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)  # unit vectors: each is its own nearest
    docs = _write(tmp_path, "docs", [f"d{i}" for i in range(10)], vectors, 4)
    queries = _write(tmp_path, "queries", ["q1", "q2"], vectors[[3, 7]], 1)
    run = search_to_trec(vectors[[3, 7]], ["q1", "q2"], docs, tmp_path / "api.trec", k=3)
    assert read_run(tmp_path / "api.trec") == run
    assert next(iter(run["q1"])) == "d3" and next(iter(run["q2"])) == "d7"
    assert (
        main(
            [
                "search",
                "--queries",
                str(queries),
                "--index",
                str(docs),
                "-o",
                str(tmp_path / "cli.trec"),
                "-k",
                "3",
            ]
        )
        == 0
    )
    assert read_run(tmp_path / "cli.trec") == run
    # a half-precision product shortlists and re-scores in float32: the same run
    args = ["search", "--queries", str(queries), "--index", str(docs), "-o", str(tmp_path / "h.trec")]
    assert main([*args, "-k", "3", "--search-precision", "float16"]) == 0
    half = read_run(tmp_path / "h.trec")
    assert [list(half[q]) for q in run] == [list(run[q]) for q in run]
    for q in run:  # scores: float32 BLAS vs the correctly rounded dot product, a few ulp apart
        np.testing.assert_allclose(list(half[q].values()), list(run[q].values()), rtol=1e-6)
    # the in-memory path is float32 only: refused before anything is written
    assert main([*args, "--search-precision", "bfloat16", "--search-path", "memory"]) == 2
    # encoded query vectors carry no language: one index per language needs a queries file
    assert main([*args, "--per-language"]) == 2


@pytest.mark.parametrize("flags", [["--in-memory"], ["--in-memory", "--mmap"]])
def test_cli_in_memory_search_writes_the_same_run(tmp_path, flags) -> None:
    from xqg.cli.main import main

    rng = np.random.default_rng(5)
    vectors = rng.integers(-2, 3, size=(40, 6)).astype(np.float32)  # many tied scores
    ids = [f"d{i:02d}" for i in rng.permutation(40)]
    docs = _write(tmp_path, "docs", ids, vectors, 7)
    queries = _write(tmp_path, "queries", [f"q{i}" for i in range(5)], vectors[:5] + 0.5, 2)
    common = ["search", "--queries", str(queries), "--index", str(docs), "-k", "9"]
    assert main([*common, "-o", str(tmp_path / "shards.trec")]) == 0
    assert main([*common, "-o", str(tmp_path / "memory.trec"), *flags]) == 0
    assert (tmp_path / "memory.trec").read_text() == (tmp_path / "shards.trec").read_text()


def test_cli_mmap_is_an_in_memory_option(tmp_path, capsys) -> None:
    from xqg.cli.main import main

    vectors = np.eye(3, dtype=np.float32)
    docs = _write(tmp_path, "docs", ["a", "b", "c"], vectors, 2)
    args = ["search", "--queries", str(docs), "--index", str(docs), "-o", str(tmp_path / "r"), "--mmap"]
    assert main([*args, "--search-path", "streaming"]) != 0
    assert "--mmap applies to the in-memory path only" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    assert main(args) == 0
    assert "path memory" in capsys.readouterr().out


def test_the_gpu_matrix_product_path_ranks_like_faiss(tmp_path, monkeypatch) -> None:
    """The torch path behind ``--search-device cuda``, run on the CPU, gives FAISS's run."""
    from xqg.index import exact_search

    rng = np.random.default_rng(11)
    vectors = rng.integers(-2, 3, size=(30, 5)).astype(np.float32)
    ids = [f"d{i:02d}" for i in rng.permutation(30)]
    docs = _write(tmp_path, "docs", ids, vectors, 8)
    queries = vectors[:4] + 0.25
    expected = search(queries, ["a", "b", "c", "d"], docs, k=6)
    monkeypatch.setattr(
        exact_search, "_shard_topk_faiss", lambda q, v, k: exact_search._shard_topk_torch(q, v, k, "cpu")
    )
    assert search(queries, ["a", "b", "c", "d"], docs, k=6) == expected


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_reduced_precision_product_rescores_to_the_float32_run(tmp_path, precision) -> None:
    """A float16/bfloat16 product (the GPU path's, and bfloat16 the CPU's default for large batches)
    only shortlists; on near-twin vectors, whose order the low-precision product alone gets wrong, the
    run and its scores equal FAISS's float32 run."""
    import torch

    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[1::2] = vectors[::2] + rng.normal(scale=1e-4, size=(150, 16)).astype(np.float32)  # near-twins
    ids = [f"d{i:03d}" for i in range(300)]
    docs = _write(tmp_path, "docs", ids, vectors, 70)
    queries = vectors[:6] + rng.normal(scale=0.05, size=(6, 16)).astype(np.float32)
    qids = [f"q{i}" for i in range(6)]
    expected = search(queries, qids, docs, k=10, precision="float32")
    dtype = getattr(torch, precision)
    raw = torch.topk(torch.from_numpy(queries).to(dtype) @ torch.from_numpy(vectors).to(dtype).T, 10).indices
    assert any([ids[j] for j in row] != list(expected[q]) for row, q in zip(raw.tolist(), qids, strict=True))

    low = search(queries, qids, docs, k=10, precision=precision)
    assert [list(low[q]) for q in qids] == [list(expected[q]) for q in qids]
    for q in qids:
        np.testing.assert_allclose(list(low[q].values()), list(expected[q].values()), rtol=1e-6)


def test_auto_precision_takes_the_bfloat16_shortlist_for_large_batches_only(monkeypatch) -> None:
    from xqg import precision as precision_module
    from xqg.index.exact_search import SHORTLIST_MIN_QUERIES, resolve_search_precision

    monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: True)
    assert resolve_search_precision("auto", "cpu", SHORTLIST_MIN_QUERIES) == "bfloat16"
    assert resolve_search_precision("auto", "cpu", SHORTLIST_MIN_QUERIES - 1) == "float32"
    assert resolve_search_precision("auto", "cuda", SHORTLIST_MIN_QUERIES) == "float32"
    monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: False)
    assert resolve_search_precision("auto", "cpu", 10**6) == "float32"
    assert resolve_search_precision("float16", "cpu", 1) == "float16"
    with pytest.raises(ConfigError, match="search precision must be one of"):
        resolve_search_precision("int8", "cpu", 1)


def test_the_unique_id_check_is_remembered_until_an_ids_file_changes(tmp_path, monkeypatch) -> None:
    import os

    import xqg.index.exact_search as exact

    calls: list[int] = []
    check = exact._check_unique_ids
    monkeypatch.setattr(
        exact, "_check_unique_ids", lambda seen, ids, folder: calls.append(1) or check(seen, ids, folder)
    )
    monkeypatch.setenv("XQG_STAMP_DIR", str(tmp_path / "stamps"))
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((9, 4)).astype(np.float32)
    a = _write(tmp_path, "a", [f"a{i}" for i in range(9)], vectors, 4)
    b = _write(tmp_path, "b", [f"b{i}" for i in range(9)], vectors, 5)
    dup = _write(tmp_path, "dup", ["b8", "x1"], vectors[:2], 1)
    q = rng.standard_normal((3, 4)).astype(np.float32)
    first = search(q, ["q0", "q1", "q2"], [a, b], k=5)
    assert len(calls) == 5  # every shard of both folders checked
    assert search(q, ["q0", "q1", "q2"], [a, b], k=5) == first
    assert len(calls) == 5  # remembered: not checked again
    search(q, ["q0", "q1", "q2"], [a], k=5)
    assert len(calls) == 8  # another set of folders is another check
    search(q, ["q0", "q1", "q2"], [a, b], k=5, verify="sha256")
    assert len(calls) == 13  # --verify checks again
    ids_file = b / "shard-00001" / "ids.txt"
    stat = ids_file.stat()
    os.utime(ids_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert search(q, ["q0", "q1", "q2"], [a, b], k=5) == first
    assert len(calls) == 18  # an ids file changed: checked again
    for _ in range(2):  # a failed check is never remembered
        with pytest.raises(InputError, match="'b8' occurs in more than one shard"):
            search(q, ["q0", "q1", "q2"], [a, b, dup], k=5)
