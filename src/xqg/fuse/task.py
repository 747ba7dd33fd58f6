"""The sharded fusion worker: encode a shard's passages, sum its queries' vectors, store both.

For each shard of the corpus (docid order), :class:`FuseShardTask` writes

* ``vectors.npy`` + ``ids.txt``: E(p) through the passage path, one row per passage;
* ``qsum.npy``: Σ_j E(q_j) over the passage's generated (or predicted) queries, query path;
* ``qcount.npy``: how many queries went into each sum (int64);
* with ``languages`` (``xqg fuse --per-language``), also ``qsum-<lang>.npy`` and ``qcount-<lang>.npy``
  per language: the same sums restricted to that language's queries (``qsum.npy`` is their total),
  for one fused passage matrix per query language.

Query vectors are added to the running sum batch by batch and dropped, never written. The arrays are
aligned by the ids in ``ids.txt``, and :func:`xqg.fuse.store.load_fusion_store` checks that, so a
re-fusion with another α (``xqg fuse --alpha``) never needs the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xqg.data.corpus import read_passage_rows
from xqg.data.languages import check_language_code
from xqg.data.records import Passage
from xqg.distributed.fingerprint import corpus_identity, folder_identity
from xqg.distributed.plan import ShardSpec
from xqg.distributed.task import TaskSpec
from xqg.distributed.vectors import VectorPartWriter
from xqg.errors import ConfigError, InputError
from xqg.fuse.misspelled import MisspelledCopiesSource
from xqg.fuse.predictor import QueryEmbeddingPredictor
from xqg.fuse.query_sources import (
    FixedQuerySource,
    GeneratedQueriesFile,
    GeneratorQuerySource,
    KeyedTextSource,
    PredictedQuerySource,
    QuerySource,
)
from xqg.model_paths import check_model_source
from xqg.precision import resolve_precision

QSUM_NAME = "qsum"
QCOUNT_FILE = "qcount.npy"


def language_sum_name(lang: str) -> str:
    """Array name of one language's query sums in a fusion shard (``qsum-<lang>``)."""
    return f"{QSUM_NAME}-{lang}"


def language_count_file(lang: str) -> str:
    """File of one language's query counts in a fusion shard (``qcount-<lang>.npy``)."""
    return f"qcount-{lang}.npy"


def build_source(spec: dict[str, Any]) -> QuerySource:
    """Build a query source from a JSON-able description (what remote workers receive).

    ``{"kind": "file", "path": ..., "languages": [...], "per_language": 5}``,
    ``{"kind": "generator", "generator": <name or path>, "languages": [...], "n": 5, "seed": 0, "top_k": 10,
    "device": "auto", "precision": "bfloat16"}`` (the device is not part of the fingerprint: a store may
    resume on another one; the generation precision, resolved by the driver, is),
    ``{"kind": "predicted", "path": <predictor folder>, "languages": [...], "n": 5}`` or
    ``{"kind": "fixed", "queries": {docid: [text, ...]}}``. A file or generator source with
    ``"misspelled_copies": c, "typo_seed": s`` also fuses ``c`` seeded one-typo copies of each query
    (:class:`~xqg.fuse.misspelled.MisspelledCopiesSource`).

    Example:
        >>> build_source({"kind": "fixed", "queries": {"d": ["q"]}}).fingerprint()["source"]
        'fixed'
    """
    kind = spec.get("kind")
    copies = int(spec.get("misspelled_copies", 0))
    if copies and kind not in ("file", "generator"):
        raise ConfigError(
            f"misspelled copies need query texts (a file or a generator), not a {kind!r} source"
        )
    if kind == "file":
        source: KeyedTextSource = GeneratedQueriesFile(
            spec["path"], spec.get("languages"), spec.get("per_language")
        )
        return MisspelledCopiesSource(source, copies, int(spec.get("typo_seed", 0))) if copies else source
    if kind == "generator":
        from xqg.generate import load_generator  # the generator stage; imported only when used

        source = GeneratorQuerySource(
            load_generator(
                spec.get("generator"),
                device=spec.get("device", "auto"),
                precision=spec.get("precision", "float32"),
            ),
            spec["languages"],
            n=int(spec.get("n", 5)),
            seed=int(spec.get("seed", 0)),
            top_k=int(spec.get("top_k", 10)),
            generator_id=str(spec.get("generator")),
        )
        return MisspelledCopiesSource(source, copies, int(spec.get("typo_seed", 0))) if copies else source
    if kind == "predicted":
        return PredictedQuerySource(
            QueryEmbeddingPredictor.load(spec["path"]), spec.get("languages"), n=int(spec.get("n", 5))
        )
    if kind == "fixed":
        return FixedQuerySource(spec["queries"])
    raise ConfigError(f"unknown query source kind {kind!r} (file, generator, predicted, fixed)")


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
        languages: store the sums of each of these languages' queries too (one fused matrix per query
            language later); the source must know its queries' languages (not a fixed mapping), and
            a query in another language is an error.
        precision: compute precision of an encoder loaded by name: ``"auto"`` (default; resolved
            here, where the job is set up, by :func:`xqg.precision.resolve_precision`), ``"float32"``,
            ``"bfloat16"`` or ``"float16"``; resolve a resumed job's with
            :func:`xqg.precision.resolve_job_precision` so that it keeps what it recorded. An encoder
            object brings its own (``encoder.precision``, float32 if it has none). Recorded in the
            fingerprint, so a store never mixes precisions.
        record_precision: ``False`` only to resume a float32 store from before precisions were recorded.

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
        languages: Sequence[str] | None = None,
        precision: str = "auto",
        record_precision: bool = True,
        input_identities: dict[str, Any] | None = None,
    ) -> None:
        if languages is not None:
            if not languages:
                raise ConfigError("per-language fusion needs at least one language")
            for code in languages:
                check_language_code(code)
            if isinstance(source, dict) and source.get("kind") == "fixed":
                raise ConfigError("a fixed query mapping has no languages: per-language sums need them")
        self.languages = sorted(languages) if languages is not None else None
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
        if self._encoder is not None:
            self.precision = str(getattr(self._encoder, "precision", "float32"))
        else:
            self.precision = resolve_precision(precision, "auto")  # load_encoder's device
        self.record_precision = bool(record_precision)
        self._inputs = dict(input_identities) if input_identities is not None else None

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
            # torch: imported when this runs, so that importing this module stays light
            from xqg.encode import load_encoder

            name = self._encoder_name
            self._encoder = load_encoder(
                None if name in (None, "default") else name, precision=self.precision
            )
        return self._encoder

    def input_identities(self) -> dict[str, Any]:
        """The corpus and the query source identified by content (hashed once, then remembered;
        remote workers receive them in the spec instead of hashing the inputs again)."""
        if self._inputs is None:
            self._inputs = {"corpus": corpus_identity(self.corpus), "source": self._source_identity()}
        return self._inputs

    def _source_identity(self) -> dict[str, Any]:
        if self._source_spec is None:
            return self.source.fingerprint()
        spec = {k: v for k, v in self._source_spec.items() if k != "device"}  # where it runs, not what
        kind = spec.get("kind")
        if kind in ("fixed", "file"):
            return build_source(spec).fingerprint()  # cheap to build; fingerprints the content
        if kind == "predicted":
            return {
                **{k: v for k, v in spec.items() if k != "path"},
                "content": folder_identity(spec["path"]),
            }
        if kind == "generator":
            name = spec.get("generator")
            if name is None:
                # torch: imported when this runs, so that importing this module stays light
                from xqg.generate.loading import default_generator_dir

                folder: Path | None = default_generator_dir()
            else:
                folder = Path(name) if Path(name).is_dir() else None
            if folder is not None and folder.is_dir():
                spec["content"] = folder_identity(folder)
            return spec
        return spec

    def check(self) -> None:
        """Before any manifest is written: the corpus, the query source and the encoder can be found."""

        if isinstance(self.corpus, (str, Path)) and not Path(self.corpus).is_file():
            raise InputError("no such file", path=self.corpus)
        if self._encoder_name not in (None, "default"):
            check_model_source(str(self._encoder_name), "encoder")
        spec = self._source_spec or {}
        if spec.get("kind") in ("file", "predicted") and not Path(spec["path"]).exists():
            raise InputError("not found", path=spec["path"])
        if spec.get("kind") == "generator" and spec.get("generator") not in (None, "default"):
            check_model_source(str(spec["generator"]), "generator")

    def fingerprint(self) -> dict[str, Any]:
        inputs = self.input_identities()
        return {
            "task": self.name,
            "corpus": inputs["corpus"],
            "encoder": self.encoder_id,
            "source": inputs["source"],
            **({"languages": self.languages} if self.languages is not None else {}),
            **({"precision": self.precision} if self.record_precision or self.precision != "float32" else {}),
        }

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
                "languages": self.languages,
                "precision": self.precision,
                "record_precision": self.record_precision,
                # hashed once by the driver (run_sharded fingerprints before it ships the spec)
                "input_identities": self._inputs,
            },
        )

    def run(self, shard: ShardSpec, workdir: Path) -> dict[str, Any]:
        passages = read_passage_rows(self.corpus, shard.start, shard.stop)
        prepare = getattr(self.source, "prepare", None)
        if prepare is not None:
            prepare(passages)
        counts = np.zeros(len(passages), dtype=np.int64)
        languages = self.languages or []
        by_language = getattr(self.source, "query_sums_by_language", None)
        if languages and by_language is None:
            raise ConfigError(
                f"the query source {type(self.source).__name__} gives no per-language sums "
                "(use generated queries, a generator or a predictor)"
            )
        lang_counts = {lang: np.zeros(len(passages), dtype=np.int64) for lang in languages}
        writers: tuple[VectorPartWriter, VectorPartWriter] | None = None
        lang_writers: dict[str, VectorPartWriter] = {}
        total_queries = 0
        for offset in range(0, len(passages), self.batch_size):
            batch = passages[offset : offset + self.batch_size]
            p_vec = np.asarray(
                self.encoder.encode_passages(batch, batch_size=self.batch_size), dtype=np.float32
            )
            if languages:
                per_lang = by_language(batch, p_vec, self.encoder, self.batch_size, languages)
                sums = np.sum([per_lang[lang][0] for lang in languages], axis=0, dtype=np.float32)
                batch_counts = np.sum([per_lang[lang][1] for lang in languages], axis=0)
            else:
                sums, batch_counts = self.source.query_sums(batch, p_vec, self.encoder, self.batch_size)
            if writers is None:
                dim = p_vec.shape[1]
                writers = (
                    VectorPartWriter(workdir, len(passages), dim),
                    VectorPartWriter(workdir, len(passages), dim, name=QSUM_NAME, ids_file=None),
                )
                lang_writers = {
                    lang: VectorPartWriter(
                        workdir, len(passages), dim, name=language_sum_name(lang), ids_file=None
                    )
                    for lang in languages
                }
            writers[0].write(p_vec, ids=[p.id for p in batch])
            writers[1].write(sums)
            for lang in languages:
                lang_writers[lang].write(per_lang[lang][0])
                lang_counts[lang][offset : offset + len(batch)] = per_lang[lang][1]
            counts[offset : offset + len(batch)] = batch_counts
            total_queries += int(batch_counts.sum())
        if writers is None:
            raise InputError(f"shard {shard.index} has no passages")
        extras = writers[0].close()
        writers[1].close()
        for writer in lang_writers.values():
            writer.close()
        np.save(workdir / QCOUNT_FILE, counts)
        for lang in languages:
            np.save(workdir / language_count_file(lang), lang_counts[lang])
        extras.update(
            {
                "queries": total_queries,
                "min_count": int(counts.min()),
                "max_count": int(counts.max()),
            }
        )
        return extras
