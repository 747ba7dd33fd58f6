"""A fusion store identifies its corpus and its queries by content: an input edited in place is never
mixed with results of its old version, and the refusal names what changed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xqg.data.corpus import write_corpus
from xqg.distributed import FingerprintMismatchError, load_vectors, run_sharded
from xqg.fuse import FuseShardTask, load_fusion_store, refuse


def _write_generated(path: Path, passages, per_doc: int = 2) -> None:
    rows = [
        {"docid": p.id, "lang": "de", "slot": j, "query": f"question {j} about {p.text}"}
        for p in passages
        for j in range(per_doc)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _task(corpus: Path, queries: Path, encoder) -> FuseShardTask:
    return FuseShardTask(str(corpus), {"kind": "file", "path": str(queries)}, encoder, "hash")


def test_corpus_edited_in_place_is_refused_not_mixed(tmp_path, encoder, passages) -> None:
    corpus, queries, store = tmp_path / "c.jsonl", tmp_path / "g.jsonl", tmp_path / "store"
    write_corpus(corpus, passages)
    _write_generated(queries, passages)
    run_sharded(_task(corpus, queries, encoder), len(passages), store, 5, show_progress=False)
    old = load_fusion_store(store).passage_vectors.copy()

    edited = [type(p)(p.id, p.text + " (edited)", p.title) for p in passages]
    write_corpus(corpus, edited)
    for shard in ("shard-00001", "shard-00002"):  # a partial job, as after an interruption
        for f in (store / shard).iterdir():
            f.unlink()
        (store / shard).rmdir()
    with pytest.raises(FingerprintMismatchError, match=r"corpus: content changed \(sha256 .* bytes\)"):
        run_sharded(_task(corpus, queries, encoder), len(passages), store, 5, show_progress=False)
    assert sorted(p.name for p in store.iterdir()) == ["manifest.json", "shard-00000"]
    np.testing.assert_array_equal(np.load(store / "shard-00000" / "vectors.npy"), old[:5])

    fresh = tmp_path / "fresh"
    run_sharded(_task(corpus, queries, encoder), len(passages), fresh, 5, show_progress=False)
    assert not np.allclose(load_fusion_store(fresh).passage_vectors[:5], old[:5])


def test_generated_queries_edited_in_place_are_refused(tmp_path, encoder, passages) -> None:
    corpus, queries, store = tmp_path / "c.jsonl", tmp_path / "g.jsonl", tmp_path / "store"
    write_corpus(corpus, passages)
    _write_generated(queries, passages, per_doc=2)
    run_sharded(_task(corpus, queries, encoder), len(passages), store, 5, show_progress=False)
    _write_generated(queries, passages, per_doc=3)
    with pytest.raises(FingerprintMismatchError, match=r"source.content: content changed"):
        run_sharded(_task(corpus, queries, encoder), len(passages), store, 5, show_progress=False)


def test_the_same_content_at_another_path_resumes(tmp_path, encoder, passages) -> None:
    corpus, queries, store = tmp_path / "c.jsonl", tmp_path / "g.jsonl", tmp_path / "store"
    write_corpus(corpus, passages)
    _write_generated(queries, passages)
    run_sharded(_task(corpus, queries, encoder), len(passages), store, 5, show_progress=False)
    moved = tmp_path / "moved"
    moved.mkdir()
    copy, qcopy = moved / "c.jsonl", moved / "g.jsonl"
    copy.write_bytes(corpus.read_bytes())
    qcopy.write_bytes(queries.read_bytes())
    before = {p.name: p.stat().st_ino for p in store.iterdir()}
    run_sharded(_task(copy, qcopy, encoder), len(passages), store, 5, show_progress=False)
    assert {p.name: p.stat().st_ino for p in store.iterdir()} == before


def test_refused_vectors_follow_the_store_content(tmp_path, encoder, passages) -> None:
    corpus, queries, store = tmp_path / "c.jsonl", tmp_path / "g.jsonl", tmp_path / "store"
    write_corpus(corpus, passages)
    _write_generated(queries, passages)
    run_sharded(_task(corpus, queries, encoder), len(passages), store, 5, show_progress=False)
    refuse(store, tmp_path / "fused", alpha=0.5)
    # the store is rebuilt in place from other queries: the fused output must not be reused
    for shard in sorted(store.glob("shard-*")):
        for f in shard.iterdir():
            f.unlink()
        shard.rmdir()
    (store / "manifest.json").unlink()
    _write_generated(queries, passages, per_doc=2)
    text = queries.read_text(encoding="utf-8").replace("question", "query")
    queries.write_text(text, encoding="utf-8")
    run_sharded(_task(corpus, queries, encoder), len(passages), store, 5, show_progress=False)
    with pytest.raises(FingerprintMismatchError, match="store"):
        refuse(store, tmp_path / "fused", alpha=0.5)
    refuse(store, tmp_path / "fused2", alpha=0.5)
    assert len(load_vectors(tmp_path / "fused2")[0]) == len(passages)
