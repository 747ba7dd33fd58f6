"""Sharded encoding: :class:`EncodeTask`, a :class:`~xqg.distributed.ShardTask` that turns a corpus or a
queries file into shards of vectors (``vectors.npy`` fp32/fp16 + ``ids.txt``), resumably.

The driver (:func:`encode_file`, or ``xqg encode``) counts the input rows and hands the task to
:func:`xqg.distributed.run_sharded`, which plans the shards, skips finished ones and commits each new
one atomically with a manifest. A shard is encoded in chunks of ``chunk_size`` rows, each chunk in
batches of similar length, and written in input order; the output depends only on the input, the
model, the settings and the shard plan, so a killed run, resumed, gives byte-identical files (on CPU).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from xqg.data.corpus import count_passages, count_queries, iter_corpus, iter_queries
from xqg.data.output_paths import check_output_folder
from xqg.data.records import passage_text
from xqg.distributed import TaskSpec, VectorPartWriter, run_sharded
from xqg.distributed.fingerprint import file_identity, folder_identity
from xqg.encode.default_model import BUILD_INFO_FILE, default_model_dir, ensure_default_model
from xqg.errors import ConfigError, InputError
from xqg.model_paths import check_model_source
from xqg.precision import normalise_precision, resolve_job_precision, resolve_precision

logger = logging.getLogger(__name__)

KINDS = ("passage", "query")
BACKENDS = ("torch", "onnx")
CHUNK_SIZE = 4096


def _model_identity(model: str | None) -> dict[str, Any]:
    """What identifies a model by content (no weights loaded): the default model's source checksum,
    or the SHA-256 over a folder's files (names and bytes; :func:`xqg.distributed.fingerprint.folder_identity`).
    A Hugging Face id in the local cache is identified by its name."""
    if model is None:
        folder = default_model_dir()
        if not (folder / BUILD_INFO_FILE).exists():
            folder = ensure_default_model()
        info = json.loads((folder / BUILD_INFO_FILE).read_text(encoding="utf-8"))
        return {"name": "multilingual-e5-small", "source_sha256": info.get("source_sha256")}
    path = Path(model)
    if not path.is_dir():
        return {"name": str(model)}

    return {"name": str(path.resolve()), "content": folder_identity(path)}


def iter_input_texts(path: str | Path, kind: str, lang: str | None = None) -> Iterator[tuple[str, str]]:
    """``(id, text)`` pairs of a corpus file (passages, ``title + " " + text``) or a queries file.

    Args:
        path: JSONL or TSV (see :mod:`xqg.data.corpus`).
        kind: ``"passage"`` or ``"query"``.
        lang: language for query rows without one (not needed for encoding: rows may have none;
            a language a row does give must be a language code).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.jsonl"
        >>> _ = p.write_text('{"_id": "d1", "title": "T", "text": "body"}\\n')
        >>> list(iter_input_texts(p, "passage"))
        [('d1', 'T body')]
    """
    if kind == "passage":
        for passage in iter_corpus(path, check_duplicates=False):
            yield passage.id, passage_text(passage)
    elif kind == "query":
        for _, query in iter_queries(path, lang=lang, require_language=False):
            yield query.id, query.text
    else:
        raise ConfigError(f"kind must be 'passage' or 'query', got {kind!r}")


def count_rows(path: str | Path, kind: str, lang: str | None = None) -> int:
    """Number of rows (passages or queries) in an input file, validating every line on the way.

    Raises:
        InputError: a malformed line, a duplicate id, an empty query, no row at all (``path:line``);
            passages without text are counted, with a warning.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "q.tsv"
        >>> _ = p.write_text("q1\\tWer?\\nq2\\tWo?\\n")
        >>> count_rows(p, "query", lang="de")
        2
    """

    if kind == "passage":
        return count_passages(path)
    if kind == "query":
        return count_queries(path, lang=lang, require_language=False)
    raise ConfigError(f"kind must be 'passage' or 'query', got {kind!r}")


class EncodeTask:
    """Encode rows ``[start, stop)`` of a corpus or queries file into ``vectors.npy`` + ``ids.txt``.

    Cheap to construct (the model is loaded on the first :meth:`run`). Rebuilt in remote workers
    from :meth:`to_spec`.

    Args:
        input_path: corpus (``kind="passage"``) or queries file (``kind="query"``), JSONL or TSV.
        kind: ``"passage"`` or ``"query"``.
        model: encoder folder or local Hugging Face id; ``None`` = the default multilingual-e5-small.
        options: :class:`~xqg.encode.dual_encoder.EncoderSettings` overrides (JSON-able).
        batch_size: texts per forward pass.
        dtype: ``"float32"`` or ``"float16"`` vectors on disk.
        device: ``"auto"`` or ``None`` (the same: CUDA if available, else the CPU; the CPU for the
            onnx backend), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        lang: language of query rows that do not name one.
        chunk_size: rows read, length-sorted and encoded together (memory bound).
        show_progress: progress bar over the rows of each shard.
        backend: ``"torch"`` (default) or ``"onnx"`` (ONNX Runtime on the CPU, ``xqg[onnx]``;
            vectors equal to the PyTorch ones to float32 rounding).
        precision: compute precision of the PyTorch backend: ``"auto"`` (default; resolved here,
            where the task is built, by :func:`xqg.precision.resolve_precision` for ``device``:
            bfloat16 on a CPU with avx512_bf16/AMX or a GPU with native bf16, else float32),
            ``"float32"``, ``"bfloat16"`` or ``"float16"`` (GPU). The ONNX backend is float32.
        threads: intra-op threads of the ONNX backend (default: all cores).
        record_precision: write the precision into the fingerprint (default). ``False`` only to
            resume a float32 folder written before precisions were recorded (:func:`encode_file`
            decides this from the folder's manifest).

    Example:
        >>> import tempfile, pathlib
        >>> from xqg.distributed import run_sharded, load_vectors
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "c.tsv").write_text("d1\\tfirst passage\\nd2\\tsecond one\\n")
        >>> task = EncodeTask(str(d / "c.tsv"), model=None)  # doctest: +SKIP
        >>> _ = run_sharded(task, 2, d / "out", shard_size=1, show_progress=False)  # doctest: +SKIP
        >>> load_vectors(d / "out")[1].shape  # doctest: +SKIP
        (2, 384)
    """

    name = "encode"

    def __init__(
        self,
        input_path: str,
        kind: str = "passage",
        model: str | None = None,
        options: dict[str, Any] | None = None,
        batch_size: int = 64,
        dtype: str = "float32",
        device: str | None = None,
        lang: str | None = None,
        chunk_size: int = CHUNK_SIZE,
        show_progress: bool = False,
        backend: str = "torch",
        precision: str = "auto",
        threads: int | None = None,
        record_precision: bool = True,
        input_identity: dict[str, Any] | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {BACKENDS}, got {backend!r}")
        precision = normalise_precision(precision)
        if backend == "onnx":
            if precision == "auto":
                precision = "float32"
        else:
            precision = resolve_precision(precision, device)
        # ONNX Runtime runs on the CPU: "auto" (or None, the same) means the CPU for it
        if backend == "onnx" and (precision != "float32" or device not in (None, "auto", "cpu")):
            raise ConfigError(
                "the onnx backend runs float32 on the CPU; use backend 'torch' for bf16/fp16 or a GPU"
            )
        if kind not in KINDS:
            raise ConfigError(f"kind must be one of {KINDS}, got {kind!r}")
        if dtype not in ("float32", "float16"):
            raise ConfigError(f"dtype must be float32 or float16, got {dtype!r}")
        if batch_size < 1 or chunk_size < 1:
            raise ConfigError("batch_size and chunk_size must be >= 1")
        self.input_path = str(input_path)
        self.kind = kind
        self.model = None if model is None else str(model)
        self.options = dict(options or {})
        self.batch_size = int(batch_size)
        self.dtype = dtype
        self.device = device
        self.lang = lang
        self.chunk_size = int(chunk_size)
        self.show_progress = show_progress
        self.backend = backend
        self.precision = precision
        self.threads = threads
        self.record_precision = bool(record_precision)
        self._encoder: Any = None
        self._engine: Any = None
        self._fingerprint: dict[str, Any] | None = None
        self._input_identity = dict(input_identity) if input_identity is not None else None

    def to_spec(self):  # -> xqg.distributed.TaskSpec
        """How a remote worker rebuilds this task."""

        return TaskSpec(
            "xqg.encode.task:EncodeTask",
            {
                "input_path": self.input_path,
                "kind": self.kind,
                "model": self.model,
                "options": self.options,
                "batch_size": self.batch_size,
                "dtype": self.dtype,
                "device": self.device,
                "lang": self.lang,
                "chunk_size": self.chunk_size,
                "show_progress": self.show_progress,
                "backend": self.backend,
                "precision": self.precision,
                "threads": self.threads,
                "record_precision": self.record_precision,
                # hashed once by the driver (run_sharded fingerprints before it ships the spec), so a
                # worker does not re-read the whole input
                "input_identity": self._input_identity,
            },
        )

    def input_identity(self) -> dict[str, Any]:
        """``{"name", "bytes", "sha256"}`` of the input file (its content, hashed once)."""
        if self._input_identity is None:
            self._input_identity = {"name": Path(self.input_path).name, **file_identity(self.input_path)}
        return self._input_identity

    def check(self) -> None:
        """Before any manifest is written: the input exists and the model can be found."""

        path = Path(self.input_path)
        if not path.is_file():
            raise InputError("no such file" if not path.exists() else "expected a file", path=path)
        if self.model is not None:
            check_model_source(self.model, "encoder")

    def fingerprint(self) -> dict[str, Any]:
        """Model identity, settings and input checksum (everything that determines the vectors)."""
        if self._fingerprint is None:
            self._fingerprint = {
                "model": _model_identity(self.model),
                "options": dict(sorted(self.options.items())),
                "kind": self.kind,
                "dtype": self.dtype,
                "lang": self.lang,
                "input": self.input_identity(),
            }
            # the backend is recorded only when not the default, so folders written before it resume
            if self.backend != "torch":
                self._fingerprint["backend"] = self.backend
            if self.record_precision or self.precision != "float32":
                self._fingerprint["precision"] = self.precision
        return self._fingerprint

    def encoder(self):  # -> DualEncoder
        """The encoder, loaded on first use."""
        if self._encoder is None:
            # torch: imported when this runs, so that importing this module stays light
            from xqg.encode.dual_encoder import load_encoder

            self._encoder = load_encoder(
                self.model, device=self.device, precision=self.precision, **self.options
            )
        return self._encoder

    def _encode_chunk(self, texts: list[str]) -> np.ndarray:
        """Encode one chunk with the chosen backend and precision."""
        if self.backend == "onnx":
            if self._engine is None:
                # torch: imported when this runs, so that importing this module stays light
                from xqg.encode.onnx_backend import OnnxEncoder

                self._engine = OnnxEncoder.from_encoder(self.encoder(), threads=self.threads)
            return self._engine.encode(texts, self.kind, batch_size=self.batch_size)
        vectors = self.encoder().encode(texts, self.kind, batch_size=self.batch_size)  # at self.precision
        return np.asarray(vectors, dtype=np.float32)

    def run(self, shard, workdir: Path) -> dict[str, Any]:  # shard: xqg.distributed.ShardSpec
        """Encode the shard's rows chunk by chunk and stream them into the part files."""
        from tqdm.auto import tqdm

        encoder = self.encoder()
        rows = itertools.islice(
            iter_input_texts(self.input_path, self.kind, self.lang), shard.start, shard.stop
        )
        written = 0
        with (
            VectorPartWriter(workdir, num_rows=len(shard), dim=encoder.dim, dtype=self.dtype) as writer,
            tqdm(total=len(shard), disable=not self.show_progress, unit=self.kind, desc=shard.dirname) as bar,
        ):
            while True:
                chunk = list(itertools.islice(rows, self.chunk_size))
                if not chunk:
                    break
                ids = [docid for docid, _ in chunk]
                vectors = self._encode_chunk([text for _, text in chunk])
                writer.write(vectors, ids=ids)
                written += len(chunk)
                bar.update(len(chunk))
            if written != len(shard):
                raise InputError(
                    f"expected rows {shard.start}..{shard.stop} but the file has only {shard.start + written}",
                    path=self.input_path,
                )
        return {"kind": self.kind, "model": self.fingerprint()["model"]["name"]}


def encode_file(
    input_path: str | Path,
    out_dir: str | Path,
    kind: str = "passage",
    model: str | None = None,
    options: dict[str, Any] | None = None,
    batch_size: int = 64,
    dtype: str = "float32",
    device: str | None = None,
    lang: str | None = None,
    shard_size: int = 100_000,
    show_progress: bool = True,
    backend: str = "torch",
    precision: str = "auto",
    threads: int | None = None,
    **sharding: Any,
) -> list[Path]:
    """Encode a corpus or queries file into a sharded vector folder (resumable); returns the shard folders.

    Args:
        input_path, kind, model, options, batch_size, dtype, device, lang, backend, threads: see
            :class:`EncodeTask`.
        precision: ``"auto"`` (default), ``"float32"``, ``"bfloat16"`` or ``"float16"``. ``auto`` is
            resolved once, when the job starts (:func:`xqg.precision.resolve_job_precision`), recorded
            in ``out_dir/manifest.json`` and kept by every later run of the job, on any machine, so a
            folder never mixes precisions; an explicit precision other than the recorded one is refused.
            The choice is logged (and printed by ``xqg encode``).
        out_dir: output folder (``manifest.json`` + ``shard-*/``).
        shard_size: rows per shard.
        show_progress: progress bars.
        **sharding: passed to :func:`xqg.distributed.run_sharded` (``engine``, ``num_shards``,
            ``shard_index``, ``redo_corrupt``, ``verify``).

    Example:
        >>> encode_file("corpus.jsonl", "vectors/corpus")  # doctest: +SKIP
    """

    if backend == "onnx":  # float32 on the CPU; an explicit other precision is refused by the task
        precision = "float32" if normalise_precision(precision) == "auto" else precision
        choice = resolve_job_precision(precision, "cpu", out_dir, task=EncodeTask.name)
    else:
        choice = resolve_job_precision(precision, device, out_dir, task=EncodeTask.name)
    precision, choice_text, record = choice.precision, str(choice), choice.record
    logger.info("%s: precision %s", out_dir, choice_text)
    task = EncodeTask(
        str(input_path),
        kind=kind,
        model=model,
        options=options,
        batch_size=batch_size,
        dtype=dtype,
        device=device,
        lang=lang,
        show_progress=show_progress,
        backend=backend,
        precision=precision,
        threads=threads,
        record_precision=record,
    )

    check_output_folder(out_dir)  # before the pass over the input, which is long for a large corpus
    task.check()
    num_rows = count_rows(input_path, kind, lang)
    return run_sharded(
        task, num_rows, out_dir, shard_size=shard_size, show_progress=show_progress, **sharding
    )
