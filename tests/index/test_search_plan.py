"""xqg search's path: in memory when the index fits the budget, streaming otherwise; the same run either way."""

from __future__ import annotations

import numpy as np
import pytest

import xqg.index.search_plan as search_plan
from xqg.distributed import VectorPartWriter, run_sharded
from xqg.errors import ConfigError
from xqg.index import search
from xqg.index.search_plan import (
    IndexShape,
    index_shape,
    load_index,
    memory_needed,
    parse_memory,
    plan_search,
    search_index,
)


class ArrayTask:
    name = "array"

    def __init__(self, ids, vectors, dtype="float32"):
        self.ids, self.vectors, self.dtype = ids, vectors, dtype

    def fingerprint(self):
        return {"n": len(self.ids), "sum": float(self.vectors.sum()), "dtype": self.dtype}

    def run(self, shard, workdir):
        with VectorPartWriter(workdir, len(shard), self.vectors.shape[1], dtype=self.dtype) as writer:
            writer.write(self.vectors[shard.start : shard.stop], ids=self.ids[shard.start : shard.stop])
        return {}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XQG_CACHE", str(tmp_path / "cache"))


def _index(tmp_path, name, n=50, dim=8, shard_size=7, dtype="float32", seed=0, ties=True, prefix="d"):
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    if ties:  # exact ties across shards: ranked by doc id on every path
        vectors[n // 2] = vectors[1]
        vectors[n - 1] = vectors[1]
    ids = [f"{prefix}{i:03d}" for i in rng.permutation(n)]
    out = tmp_path / name
    run_sharded(ArrayTask(ids, vectors, dtype), n, out, shard_size=shard_size, show_progress=False)
    return out, ids, vectors


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("8G", 8 << 30),
        ("512MiB", 512 << 20),
        ("1.5g", 3 << 29),
        ("100kb", 100 << 10),
        ("4096", 4096),
        (123, 123),
    ],
)
def test_memory_sizes(spec, expected) -> None:
    assert parse_memory(spec) == expected


def test_memory_shares_and_default_follow_the_available_memory(monkeypatch) -> None:
    monkeypatch.setattr(search_plan, "available_memory", lambda: 10 << 30)
    assert parse_memory("60%") == 6 << 30
    assert parse_memory(None) == int((10 << 30) * search_plan.DEFAULT_MEMORY_FRACTION)


@pytest.mark.parametrize("bad", ["lots", "8X", "0", "-1G", "0%", "150%", "G"])
def test_bad_memory_sizes_are_refused(bad) -> None:
    with pytest.raises(ConfigError, match="memory"):
        parse_memory(bad)


def test_shape_is_read_from_manifests(tmp_path) -> None:
    out, ids, _ = _index(tmp_path, "v", n=50, dim=8, shard_size=7)
    shape = index_shape(out)
    assert (shape.rows, shape.dim, shape.largest_shard) == (50, 8, 7)
    assert shape.stored_bytes > 50 * 8 * 4 and shape.id_bytes == sum(len(i) + 1 for i in ids)
    assert shape.float32
    half, _, _ = _index(tmp_path, "h", n=9, shard_size=4, dtype="float16", prefix="h")
    both = index_shape([out, half])
    assert (both.rows, both.largest_shard, both.float32) == (59, 7, False)  # every folder's dtype is read


def test_estimates_grow_with_the_index_and_streaming_holds_no_float32_vectors() -> None:
    small = IndexShape(rows=10**6, dim=384, largest_shard=10**5, id_bytes=10**7, stored_bytes=0)
    big = IndexShape(rows=10**7, dim=384, largest_shard=10**5, id_bytes=10**8, stored_bytes=0)
    assert memory_needed(small, 10, 100, "memory") >= 10**6 * 384 * 4
    assert memory_needed(big, 10, 100, "memory") >= 10**7 * 384 * 4
    # float32 shards are mapped, not copied: streaming holds ids, never the vectors
    assert memory_needed(big, 10, 100, "streaming") < 10**7 * 384 * 4 / 5
    half = IndexShape(rows=10**7, dim=384, largest_shard=10**5, id_bytes=10**8, stored_bytes=0, float32=False)
    assert (
        memory_needed(half, 10, 100, "streaming") - memory_needed(big, 10, 100, "streaming")
        == 10**5 * 384 * 4
    )


def test_the_plan_takes_the_fastest_path_that_fits_the_budget(tmp_path) -> None:
    out, _, _ = _index(tmp_path, "v")
    streaming = memory_needed(index_shape(out), 3, 5, "streaming")
    memory = memory_needed(index_shape(out), 3, 5, "memory")
    plan = plan_search(out, 3, k=5, max_memory=streaming)
    assert plan.path == "streaming" and plan.needed == streaming and "fastest" in plan.reason
    with pytest.raises(ConfigError, match="even one shard at a time"):
        plan_search(out, 3, k=5, max_memory=min(streaming, memory) - 1)
    forced = plan_search(out, 3, k=5, max_memory=1, path="memory")  # asked for: taken, with a warning
    assert forced.path == "memory" and forced.needed == memory
    assert plan_search(out, 3, k=5, device="cuda").path == "streaming"
    with pytest.raises(ConfigError, match="CPU"):
        plan_search(out, 3, k=5, device="cuda", path="memory")


def test_memory_is_taken_when_only_it_fits(tmp_path, monkeypatch) -> None:
    out, _, _ = _index(tmp_path, "v")
    shape = index_shape(out)
    monkeypatch.setattr(
        search_plan, "memory_needed", lambda s, q, k, path: {"memory": 100, "streaming": 200}[path]
    )
    assert plan_search(out, 3, k=5, max_memory=150).path == "memory"
    assert shape.float32


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_both_paths_give_the_streaming_run(tmp_path, dtype) -> None:
    first, _, _ = _index(tmp_path, "a", n=40, shard_size=6, dtype=dtype, seed=1)
    second, _, _ = _index(tmp_path, "b", n=23, shard_size=5, dtype=dtype, seed=2, prefix="c")
    rng = np.random.default_rng(3)
    queries = rng.standard_normal((9, 8)).astype(np.float32)
    qids = [f"q{i}" for i in range(9)]
    reference = search(queries, qids, [first, second], k=10)
    for path in ("memory", "streaming"):
        run, plan = search_index(queries, qids, [first, second], k=10, path=path)
        assert plan.path == path
        assert {q: list(d) for q, d in run.items()} == {q: list(d) for q, d in reference.items()}
        for qid in qids:
            assert np.allclose(list(run[qid].values()), list(reference[qid].values()), atol=1e-5)


def test_the_in_memory_index_is_read_in_place_and_equals_the_shards(tmp_path) -> None:
    out, ids, vectors = _index(tmp_path, "v", n=30, shard_size=4, dtype="float16")
    index = load_index(out)
    assert index.vectors.dtype == np.float32 and index.vectors.flags.c_contiguous
    assert list(index.ids) == ids
    assert np.array_equal(index.vectors, vectors.astype(np.float16).astype(np.float32))
    out32, ids32, vectors32 = _index(tmp_path, "w", n=30, shard_size=4)
    assert np.array_equal(load_index(out32).vectors, vectors32)
    assert np.array_equal(load_index(out32, mmap=True).vectors, vectors32)


def test_an_unfinished_index_is_an_error_on_both_paths(tmp_path) -> None:
    out, _, _ = _index(tmp_path, "v", n=20, shard_size=5)
    (out / "shard-00002" / "DONE").unlink()
    from xqg.distributed import IncompleteOutputError

    for path in ("memory", "streaming"):
        with pytest.raises(IncompleteOutputError, match="shard 2"):
            search_index(np.ones((1, 8), np.float32), ["q"], out, k=3, path=path)


def test_cli_picks_the_path_by_budget_remembers_checksums_and_verify_rehashes(
    tmp_path, capsys, monkeypatch
) -> None:
    import xqg.distributed.manifest as manifest_module
    from xqg.cli.main import main
    from xqg.data.trec import read_run

    out, _, vectors = _index(tmp_path, "docs", n=30, shard_size=4)
    queries = tmp_path / "queries"
    run_sharded(ArrayTask(["qa", "qb"], vectors[:2].copy()), 2, queries, shard_size=2, show_progress=False)
    hashed: list[str] = []
    real = manifest_module.sha256_file
    monkeypatch.setattr(
        manifest_module,
        "sha256_file",
        lambda path, *a, **kw: (
            (hashed.append(path.name) if path.name != "manifest.json" else None) or real(path, *a, **kw)
        ),
    )
    base = ["search", "--queries", str(queries), "--index", str(out), "-k", "5"]
    assert main([*base, "-o", str(tmp_path / "streaming.trec")]) == 0
    assert "path streaming (fastest; needs" in capsys.readouterr().out
    assert len(hashed) == 2 * 8 + 2  # every part file of both folders, once
    hashed.clear()
    assert main([*base, "-o", str(tmp_path / "memory.trec"), "--search-path", "memory"]) == 0
    assert "path memory (asked for" in capsys.readouterr().out
    assert hashed == []  # remembered
    assert main([*base, "-o", str(tmp_path / "x.trec"), "--max-memory", "1K"]) == 2
    assert "over the memory budget" in capsys.readouterr().err
    assert read_run(tmp_path / "memory.trec") == read_run(tmp_path / "streaming.trec")
    assert main([*base, "-o", str(tmp_path / "v.trec"), "--verify"]) == 0
    assert len(hashed) == 2 * 8 + 2
    with pytest.raises(SystemExit):  # checked when parsed
        main([*base, "-o", str(tmp_path / "x.trec"), "--max-memory", "lots"])
    assert "cannot read memory size" in capsys.readouterr().err
