"""The sharded fusion worker equals a direct dense computation, whatever the shard size."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xqg.data.records import Passage
from xqg.distributed import load_vectors, run_sharded
from xqg.errors import ConfigError, InputError
from xqg.fuse import (
    FixedQuerySource,
    FuseShardTask,
    GeneratedQueriesFile,
    load_fusion_store,
    refuse,
)
from xqg.fuse.query_sources import GeneratorQuerySource


def dense_reference(encoder, passages, queries_per_doc):
    """Direct computation: E(p), Σ E(q), counts, with no sharding and no batching."""
    p = encoder.encode_passages(passages)
    sums = np.stack([encoder.encode_queries(queries_per_doc[x.id]).sum(axis=0) for x in passages])
    counts = np.array([len(queries_per_doc[x.id]) for x in passages])
    return p, sums, counts


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shard_size=st.integers(1, 12), batch_size=st.integers(1, 7), alpha=st.floats(0.0, 1.0))
def test_sharded_fusion_equals_dense(
    tmp_path_factory, encoder, passages, queries_per_doc, shard_size, batch_size, alpha
):
    out = tmp_path_factory.mktemp("store")
    task = FuseShardTask(passages, FixedQuerySource(queries_per_doc), encoder, "hash", batch_size=batch_size)
    run_sharded(task, len(passages), out, shard_size=shard_size, show_progress=False)
    store = load_fusion_store(out)
    p, sums, counts = dense_reference(encoder, passages, queries_per_doc)
    assert store.ids == [x.id for x in passages]
    np.testing.assert_allclose(store.passage_vectors, p, atol=1e-6)
    np.testing.assert_allclose(store.query_sums, sums, atol=1e-5)
    np.testing.assert_array_equal(store.query_counts, counts)
    # fused scores follow s(q, ê_p) = (1 − α)⟨q, p⟩ + α Σ_j ⟨q, q_j⟩
    user = encoder.encode_queries(["a user question"])[0]
    expected = np.array(
        [
            (1 - alpha) * p[i] @ user + alpha * (encoder.encode_queries(queries_per_doc[x.id]) @ user).sum()
            for i, x in enumerate(passages)
        ]
    )
    np.testing.assert_allclose(store.fuse(alpha, "sum") @ user, expected, atol=1e-4)
    # writing fused vectors shard by shard gives the same as fusing in memory
    fused_dir = tmp_path_factory.mktemp("fused")
    refuse(out, fused_dir, alpha=alpha, mode="sum")
    ids, vectors = load_vectors(fused_dir)
    assert ids == store.ids
    np.testing.assert_allclose(vectors, store.fuse(alpha, "sum"), atol=1e-6)


def test_no_query_vector_is_written_to_disk(tmp_path, encoder, passages, queries_per_doc):
    task = FuseShardTask(passages, FixedQuerySource(queries_per_doc), encoder, "hash")
    run_sharded(task, len(passages), tmp_path, shard_size=4, show_progress=False)
    rows = 0
    for npy in tmp_path.rglob("*.npy"):
        rows += np.load(npy).shape[0]
        assert npy.name in ("vectors.npy", "qsum.npy", "qcount.npy")
    assert rows == 3 * len(passages)  # one row per passage in each of the three arrays
    assert encoder.calls["query"] == sum(len(v) for v in queries_per_doc.values())


def test_resume_skips_finished_shards(tmp_path, encoder, passages, queries_per_doc):
    task = FuseShardTask(passages, FixedQuerySource(queries_per_doc), encoder, "hash")
    run_sharded(task, len(passages), tmp_path, shard_size=4, show_progress=False)
    calls = dict(encoder.calls)
    run_sharded(task, len(passages), tmp_path, shard_size=4, show_progress=False)
    assert encoder.calls == calls


def test_refuse_with_sum_over_unequal_counts_is_refused(tmp_path, encoder, passages, queries_per_doc):
    queries = dict(queries_per_doc)
    queries[passages[-1].id] = queries[passages[-1].id][:1]  # the last shard's passage has fewer queries
    task = FuseShardTask(passages, FixedQuerySource(queries), encoder, "hash")
    run_sharded(task, len(passages), tmp_path / "store", shard_size=4, show_progress=False)
    with pytest.raises(ConfigError, match="different numbers of queries, 1 to 3"):
        refuse(tmp_path / "store", tmp_path / "fused", alpha=0.01, mode="sum")
    refuse(tmp_path / "store", tmp_path / "fused-mean", alpha=0.3, mode="mean")  # the mean is fine
    ids, vectors = load_vectors(tmp_path / "fused-mean")
    assert len(ids) == len(passages)


def _write_generated(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_generated_queries_file_equals_in_memory_source(tmp_path, encoder, passages, queries_per_doc):
    rows = [
        {"docid": docid, "lang": "de" if j % 2 else "fr", "slot": j, "query": text}
        for docid, texts in reversed(list(queries_per_doc.items()))  # file order does not matter
        for j, text in enumerate(texts)
    ]
    _write_generated(tmp_path / "gen.jsonl", rows)
    from_file = FuseShardTask(passages, GeneratedQueriesFile(tmp_path / "gen.jsonl"), encoder, "hash")
    in_memory = FuseShardTask(passages, FixedQuerySource(queries_per_doc), encoder, "hash")
    run_sharded(from_file, len(passages), tmp_path / "a", shard_size=5, show_progress=False)
    run_sharded(in_memory, len(passages), tmp_path / "b", shard_size=3, show_progress=False)
    a, b = load_fusion_store(tmp_path / "a"), load_fusion_store(tmp_path / "b")
    np.testing.assert_allclose(a.query_sums, b.query_sums, atol=1e-5)
    np.testing.assert_array_equal(a.query_counts, b.query_counts)


def test_generated_queries_file_errors_name_file_and_line(tmp_path):
    path = tmp_path / "gen.jsonl"
    _write_generated(
        path,
        [
            {"docid": "d", "lang": "de", "slot": 0, "query": "a"},
            {"docid": "d", "lang": "de", "slot": 0, "query": "b"},
        ],
    )
    with pytest.raises(InputError, match="duplicate query") as info:
        GeneratedQueriesFile(path).texts_for([Passage("d", "x")])
    assert info.value.line == 2 and info.value.path == str(path)
    _write_generated(path, [{"docid": "d", "lang": "de", "query": "a"}])
    with pytest.raises(InputError, match="'slot'"):
        GeneratedQueriesFile(path).texts_for([Passage("d", "x")])
    _write_generated(path, [{"docid": "d", "lang": "de", "slot": 0, "query": "a"}])
    with pytest.raises(InputError, match="has 1 generated queries in 'de', expected 2"):
        GeneratedQueriesFile(path, per_language=2).texts_for([Passage("d", "x")])


def test_in_process_generator_source_generates_encodes_and_sums(tmp_path, encoder, passages):
    from xqg.generate.testing import tiny_generator

    generator = tiny_generator()
    lang = generator.languages[0]
    source = GeneratorQuerySource(generator, [lang], n=2, seed=3, top_k=5)
    task = FuseShardTask(passages[:4], source, encoder, "hash", batch_size=3)
    run_sharded(task, 4, tmp_path, shard_size=3, show_progress=False)
    store = load_fusion_store(tmp_path)
    np.testing.assert_array_equal(store.query_counts, [2, 2, 2, 2])
    texts = [t for _, _, _, t in generator.generate(passages[:4], [lang], n=2, seed=3, top_k=5)]
    expected = encoder.encode_queries(texts).reshape(4, 2, -1).sum(axis=1)
    np.testing.assert_allclose(store.query_sums, expected, atol=1e-5)  # same seed, same queries


def test_fingerprint_mismatch_on_resume_is_an_error(tmp_path, encoder, passages, queries_per_doc):
    from xqg.distributed import FingerprintMismatchError

    task = FuseShardTask(passages, FixedQuerySource(queries_per_doc), encoder, "hash")
    run_sharded(task, len(passages), tmp_path, shard_size=4, show_progress=False)
    other = FuseShardTask(passages, FixedQuerySource(queries_per_doc), encoder, "another-encoder")
    with pytest.raises(FingerprintMismatchError):
        run_sharded(other, len(passages), tmp_path, shard_size=4, show_progress=False)


def test_remote_spec_needs_names_not_objects(tmp_path, encoder, passages, queries_per_doc):
    task = FuseShardTask(passages, FixedQuerySource(queries_per_doc), encoder, "hash")
    with pytest.raises(ConfigError, match="remote workers"):
        task.to_spec()
    spec = FuseShardTask(
        str(tmp_path / "corpus.jsonl"), {"kind": "file", "path": "g.jsonl"}, "some/encoder"
    ).to_spec()
    assert spec.kwargs["encoder"] == "some/encoder" and spec.kwargs["source"]["kind"] == "file"


def test_generated_file_is_read_once_per_shard_not_per_batch(
    tmp_path, encoder, passages, queries_per_doc, monkeypatch
):
    rows = [
        {"docid": d, "lang": "de", "slot": j, "query": t}
        for d, texts in queries_per_doc.items()
        for j, t in enumerate(texts)
    ]
    _write_generated(tmp_path / "gen.jsonl", rows)
    source = GeneratedQueriesFile(tmp_path / "gen.jsonl")
    reads = []
    original = GeneratedQueriesFile.keyed_queries  # the one method that reads the file(s)
    monkeypatch.setattr(
        GeneratedQueriesFile, "keyed_queries", lambda self, ps: reads.append(len(ps)) or original(self, ps)
    )
    task = FuseShardTask(passages, source, encoder, "hash", batch_size=2)
    run_sharded(task, len(passages), tmp_path / "out", shard_size=5, show_progress=False)
    assert reads == [5, 5, 1]
    np.testing.assert_array_equal(load_fusion_store(tmp_path / "out").query_counts, [3] * len(passages))


def test_where_the_generator_runs_is_not_part_of_the_fingerprint(tmp_path, passages):
    from xqg.generate.testing import tiny_generator

    folder = tiny_generator().save(tmp_path / "generator")
    spec = {"kind": "generator", "generator": str(folder), "languages": ["de"], "n": 1, "seed": 0, "top_k": 5}
    on_cpu = FuseShardTask(passages, {**spec, "device": "cpu"}, "default")
    anywhere = FuseShardTask(passages, {**spec, "device": "auto"}, "default")
    assert on_cpu.fingerprint() == anywhere.fingerprint()  # a store may resume on another device
    assert on_cpu.source.generator.device.type == "cpu"
