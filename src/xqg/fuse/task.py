"""The sharded fusion worker: encode a shard's passages, sum its queries' vectors, store both.

For each shard of the corpus (docid order), :class:`FuseShardTask` writes

* ``vectors.npy`` + ``ids.txt``: E(p) through the passage path, one row per passage;
* ``qsum.npy``: Σ_j E(q_j) over the passage's generated (or predicted) queries, query path;
* ``qcount.npy``: how many queries went into each sum (int64).

Query vectors are added to the running sum batch by batch and dropped, never written. The arrays are
aligned by the ids in ``ids.txt``, and :func:`xqg.fuse.store.load_fusion_store` checks that, so a
re-fusion with another α (``xqg fuse --alpha``) never needs the encoder.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xqg.data.records import Passage
from xqg.distributed.plan import ShardSpec
from xqg.distributed.task import TaskSpec
from xqg.distributed.vectors import VectorPartWriter
from xqg.errors import ConfigError, InputError
from xqg.fuse.query_sources import (
    FixedQuerySource,
    GeneratedQueriesFile,
    GeneratorQuerySource,
    PredictedQuerySource,
    QuerySource,
)

QSUM_NAME = "qsum"
QCOUNT_FILE = "qcount.npy"


def build_source(spec: dict[str, Any]) -> QuerySource:
    """Build a query source from a JSON-able description (what remote workers receive).

    ``{"kind": "file", "path": ..., "languages": [...], "per_language": 5}``,
    ``{"kind": "generator", "generator": <name or path>, "languages": [...], "n": 5, "seed": 0, "top_k": 10}``,
    ``{"kind": "predicted", "path": <predictor folder>, "languages": [...], "n": 5}`` or
    ``{"kind": "fixed", "queries": {docid: [text, ...]}}``.

    Example:
        >>> build_source({"kind": "fixed", "queries": {"d": ["q"]}}).fingerprint()["source"]
        'fixed'
    """
    kind = spec.get("kind")
    if kind == "file":
        return GeneratedQueriesFile(spec["path"], spec.get("languages"), spec.get("per_language"))
    if kind == "generator":
        from xqg.generate import load_generator  # the generator stage; imported only when used

        return GeneratorQuerySource(
            load_generator(spec.get("generator")),
            spec["languages"],
            n=int(spec.get("n", 5)),
            seed=int(spec.get("seed", 0)),
            top_k=int(spec.get("top_k", 10)),
            generator_id=str(spec.get("generator")),
        )
    if kind == "predicted":
        from xqg.fuse.predictor import QueryEmbeddingPredictor

        return PredictedQuerySource(
            QueryEmbeddingPredictor.load(spec["path"]), spec.get("languages"), n=int(spec.get("n", 5))
        )
    if kind == "fixed":
        return FixedQuerySource(spec["queries"])
    raise ConfigError(f"unknown query source kind {kind!r} (file, generator, predicted, fixed)")


def read_passage_rows(corpus: str | Path | Sequence[Passage], start: int, stop: int) -> list[Passage]:
    """Rows ``[start, stop)`` of a corpus (a list, or a file read with :func:`xqg.data.corpus.iter_corpus`).

    Example:
        >>> [p.id for p in read_passage_rows([Passage("a", ""), Passage("b", "")], 1, 2)]
        ['b']
    """
    if isinstance(corpus, (str, Path)):
        from xqg.data.corpus import iter_corpus

        rows = list(itertools.islice(iter_corpus(corpus, check_duplicates=False), start, stop))
        if len(rows) != stop - start:
            raise InputError(
                f"corpus has fewer rows than the shard plan expects ({start + len(rows)} < {stop})",
                path=corpus,
            )
        return rows
    return list(corpus[start:stop])


class FuseShardTask:
    """Passage vectors + per-passage query sums and counts, shard by shard.

    Args:
        corpus: a corpus file (JSONL/TSV, docid order) or an in-memory list of passages.
        source: where the queries come from: a :class:`~xqg.fuse.query_sources.QuerySource`, or its
            JSON-able description (see :func:`build_source`).
        encoder: an encoder object (``encode_passages``/``encode_queries``), or a name or path for
            :func:`xqg.encode.load_encoder` (``None`` or ``"default"``: the default encoder). Loaded on
            first use.
        encoder_id: name recorded in the fingerprint when ``encoder`` is an object.
        batch_size: passages per batch (their queries are encoded in batches of this size too).

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> class Enc:
        ...     def encode_passages(self, ps, batch_size=64, show_progress=False):
        ...         return np.ones((len(ps), 2), np.float32)
        ...     def encode_queries(self, ts, batch_size=64, show_progress=False):
        ...         return np.full((len(ts), 2), 0.5, np.float32)
        >>> task = FuseShardTask([Passage("d1", "x")], FixedQuerySource({"d1": ["a", "b"]}), Enc(), "toy")
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> task.run(ShardSpec(0, 0, 1), d)["queries"]
        2
        >>> np.load(d / "qsum.npy").tolist(), np.load(d / "qcount.npy").tolist()
        ([[1.0, 1.0]], [2])
    """

    name = "fuse"

    def __init__(
        self,
        corpus: str | Path | Sequence[Passage],
        source: QuerySource | dict[str, Any],
        encoder: Any = None,
        encoder_id: str | None = None,
        batch_size: int = 64,
    ) -> None:
        self.corpus = corpus
        self._source_spec = source if isinstance(source, dict) else None
        self._source = None if isinstance(source, dict) else source
        by_name = encoder is None or isinstance(encoder, (str, Path))
        self._encoder = None if by_name else encoder
        self._encoder_name = (str(encoder) if encoder is not None else "default") if by_name else None
        if self._encoder is not None and not encoder_id:
            raise ConfigError("give encoder_id (a name for the fingerprint) with an encoder object")
        self.encoder_id = encoder_id or (self._encoder_name or "default")
        self.batch_size = batch_size

    @property
    def source(self) -> QuerySource:
        """The query source (built on first use)."""
        if self._source is None:
            assert self._source_spec is not None
            self._source = build_source(self._source_spec)
        return self._source

    @property
    def encoder(self) -> Any:
        """The encoder (loaded on first use)."""
        if self._encoder is None:
            from xqg.encode import load_encoder

            name = self._encoder_name
            self._encoder = load_encoder(None if name in (None, "default") else name)
        return self._encoder

    def fingerprint(self) -> dict[str, Any]:
        corpus = (
            str(self.corpus) if isinstance(self.corpus, (str, Path)) else f"<{len(self.corpus)} passages>"
        )
        source = self._source_spec if self._source_spec is not None else self.source.fingerprint()
        if source.get("kind") in ("fixed", "file"):
            # cheap to build: fingerprint the content (text checksum; file sizes and times), not the path
            source = build_source(source).fingerprint()
        return {"task": self.name, "corpus": corpus, "encoder": self.encoder_id, "source": source}

    def to_spec(self) -> TaskSpec:
        """Spec for remote workers (needs a corpus path, a source description and an encoder name)."""
        if (
            not isinstance(self.corpus, (str, Path))
            or self._source_spec is None
            or self._encoder_name is None
        ):
            raise ConfigError(
                "a fusion task runs on remote workers only when built from a corpus path, a source "
                "description (dict) and an encoder name, not in-memory objects"
            )
        return TaskSpec(
            f"{__name__}:FuseShardTask",
            {
                "corpus": str(self.corpus),
                "source": self._source_spec,
                "encoder": self._encoder_name,
                "encoder_id": self.encoder_id,
                "batch_size": self.batch_size,
            },
        )

    def run(self, shard: ShardSpec, workdir: Path) -> dict[str, Any]:
        passages = read_passage_rows(self.corpus, shard.start, shard.stop)
        prepare = getattr(self.source, "prepare", None)
        if prepare is not None:
            prepare(passages)
        counts = np.zeros(len(passages), dtype=np.int64)
        writers: tuple[VectorPartWriter, VectorPartWriter] | None = None
        total_queries = 0
        for offset in range(0, len(passages), self.batch_size):
            batch = passages[offset : offset + self.batch_size]
            p_vec = np.asarray(
                self.encoder.encode_passages(batch, batch_size=self.batch_size), dtype=np.float32
            )
            sums, batch_counts = self.source.query_sums(batch, p_vec, self.encoder, self.batch_size)
            if writers is None:
                dim = p_vec.shape[1]
                writers = (
                    VectorPartWriter(workdir, len(passages), dim),
                    VectorPartWriter(workdir, len(passages), dim, name=QSUM_NAME, ids_file=None),
                )
            writers[0].write(p_vec, ids=[p.id for p in batch])
            writers[1].write(sums)
            counts[offset : offset + len(batch)] = batch_counts
            total_queries += int(batch_counts.sum())
        if writers is None:
            raise InputError(f"shard {shard.index} has no passages")
        extras = writers[0].close()
        writers[1].close()
        np.save(workdir / QCOUNT_FILE, counts)
        extras.update(
            {
                "queries": total_queries,
                "min_count": int(counts.min()),
                "max_count": int(counts.max()),
            }
        )
        return extras
