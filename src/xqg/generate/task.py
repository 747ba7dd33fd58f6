"""Corpus-scale generation as a shard task: ``n`` queries per passage per language, JSONL per shard.

Each shard folder holds ``queries.jsonl`` with one row per query, ``{"docid", "lang", "slot",
"query"}``, in corpus order, then language order, then slot. Because slot ``j`` of ``(docid, lang)``
draws from ``derive_seed(seed, docid, lang, j)``, the output is the same for any shard size, batch size
or executor; an interrupted job resumes with the shard framework (finished shards are skipped).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from xqg.data.corpus import read_passage_rows
from xqg.data.records import Passage
from xqg.devices import check_device_name
from xqg.distributed.fingerprint import corpus_identity, folder_identity
from xqg.distributed.plan import ShardSpec
from xqg.distributed.reader import iter_finished_shards
from xqg.distributed.task import TaskSpec
from xqg.errors import ConfigError, InputError
from xqg.generate.loading import default_generator_dir, load_generator
from xqg.generate.settings import SETTINGS_FILE
from xqg.model_paths import check_model_source
from xqg.precision import normalise_precision, resolve_precision

QUERIES_FILE = "queries.jsonl"


def _generator_identity(name_or_path: str | None) -> dict[str, Any]:
    """The generator by content: a folder's files hashed (:func:`xqg.distributed.fingerprint.folder_identity`),
    a hub id by its name."""
    if name_or_path is None:
        path = default_generator_dir()
    else:
        path = Path(name_or_path)
    if not path.is_dir():
        return {"generator": str(name_or_path)}
    return {"generator": str(name_or_path or "default"), **folder_identity(path)}


class GenerateTask:
    """Sharded query generation (a :class:`~xqg.distributed.task.ShardTask`).

    Args:
        corpus: corpus file (JSONL/TSV, read in order) or a list of passages (in-process only).
        languages: target language codes.
        generator: generator folder or HF seq2seq model id/folder (``None``: the default generator).
        n: queries per passage per language (5 as in the paper).
        top_k: top-k sampling (10).
        seed: base seed.
        batch_size: passages per generation batch (does not change the output).
        max_new_tokens: generated tokens at most (32).
        max_input_length: encoder tokens (256).
        int8: dynamic int8 quantisation of the encoder and decoder layers (CPU fast path,
            :meth:`QueryGenerator.quantize_int8`; recorded in the fingerprint).
        precision: ``"auto"`` (default: resolved here, where the task is built, for ``device`` by
            :func:`xqg.precision.resolve_precision`: bfloat16 on a CPU with avx512_bf16/AMX or a GPU
            with native bf16, else float32; float32 with ``int8``), ``"float32"``, ``"bfloat16"``,
            ``"float16"`` (GPU). Autocast around each batch; outputs differ slightly from float32
            (docs/performance.md); recorded in the fingerprint, so a job never mixes precisions
            (``xqg generate`` keeps the precision a job recorded when it resumes it).
        device: where the generator runs when this task loads it: ``"auto"`` (a CUDA GPU when there is
            one, else the CPU; always the CPU with ``int8``), ``"cpu"``, ``"cuda"``, ``"cuda:N"``. A
            generator given with :meth:`use` stays where it is. Recorded in each shard's stats, not in
            the fingerprint: a run may resume on another device (outputs agree up to float rounding
            of the logits before sampling).
        identities: content digests of the generator folder and the corpus, as the driver computed
            them (:meth:`to_spec`), so that remote workers do not hash them again.

    Example:
        >>> import tempfile
        >>> from xqg.distributed import run_sharded
        >>> from xqg.generate.testing import tiny_generator
        >>> task = GenerateTask([Passage("a", "x"), Passage("b", "y")], ["de"], n=2)
        >>> task.use(tiny_generator())
        >>> out = tempfile.mkdtemp()
        >>> _ = run_sharded(task, 2, out, shard_size=1, show_progress=False)
        >>> [(r["docid"], r["slot"]) for r in read_generated(out)]
        [('a', 0), ('a', 1), ('b', 0), ('b', 1)]
    """

    name = "generate"

    def __init__(
        self,
        corpus: str | Path | Sequence[Passage],
        languages: Sequence[str],
        generator: str | None = None,
        n: int = 5,
        top_k: int = 10,
        seed: int = 0,
        batch_size: int = 8,
        max_new_tokens: int = 32,
        max_input_length: int = 256,
        int8: bool = False,
        precision: str = "auto",
        device: str = "auto",
        identities: dict[str, Any] | None = None,
    ) -> None:
        if not languages:
            raise ConfigError("generation needs at least one language")
        check_device_name(device)
        precision = normalise_precision(precision)
        if int8 and precision not in ("auto", "float32"):
            raise ConfigError("int8 and bfloat16 are two alternative fast paths: choose one")
        precision = "float32" if int8 else resolve_precision(precision, device)
        if int8 and device not in ("auto", "cpu"):
            raise ConfigError("int8 generation is a CPU path; on a GPU use --precision bfloat16")
        if n < 1 or top_k < 1 or batch_size < 1 or max_new_tokens < 1:
            raise ConfigError("n, top_k, batch_size and max_new_tokens must be >= 1")
        self.corpus = corpus
        self.languages = list(languages)
        self.generator_name = generator
        self.n, self.top_k, self.seed = n, top_k, seed
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.max_input_length = max_input_length
        self.int8 = int8
        self.precision = precision
        self.device = device
        self._generator: Any = None
        self._in_memory = False
        # content digests computed by the driver travel with the task spec: workers do not hash again
        self._identity: dict[str, Any] | None = (identities or {}).get("generator")
        self._corpus_identity: dict[str, Any] | None = (identities or {}).get("corpus")

    def use(self, generator: Any) -> None:
        """Use an already loaded generator object (in-process runs; not sent to remote workers).
        With ``int8`` the object is quantised in place."""
        if self.int8 and not getattr(generator, "int8", False):
            generator.quantize_int8()
        self._generator = generator
        self._in_memory = True

    @property
    def generator(self) -> Any:
        if self._generator is None:
            self._generator = load_generator(self.generator_name, device="cpu" if self.int8 else self.device)
            if self.int8:
                self._generator.quantize_int8()
        return self._generator

    def check(self) -> None:
        """Before any manifest is written: the corpus exists and the generator can be found."""
        if isinstance(self.corpus, (str, Path)) and not Path(self.corpus).is_file():
            raise InputError(
                "no such file" if not Path(self.corpus).exists() else "expected a file", path=self.corpus
            )
        if not self._in_memory:
            if self.generator_name is None:
                if not (default_generator_dir() / SETTINGS_FILE).exists():
                    raise ConfigError(
                        f"no default generator in {default_generator_dir()}: train one with "
                        "`xqg train-generator --default --xquad` (or pass --generator)"
                    )
            elif not str(self.generator_name).endswith(".gguf"):
                check_model_source(self.generator_name, "generator")

    def fingerprint(self) -> dict[str, Any]:
        """Generator (by content), settings and the corpus (by content): what determines the queries."""
        if self._in_memory:
            ident = {"generator": "in-memory", **self._generator.fingerprint()}
        else:
            if self._identity is None:
                self._identity = _generator_identity(self.generator_name)
            ident = self._identity
        if self._corpus_identity is None:
            self._corpus_identity = corpus_identity(self.corpus)
        return {
            "task": self.name,
            **{k: v for k, v in ident.items() if k != "num_parameters"},
            "languages": self.languages,
            "n": self.n,
            "top_k": self.top_k,
            "seed": self.seed,
            "max_new_tokens": self.max_new_tokens,
            "max_input_length": self.max_input_length,
            **({"int8": True} if self.int8 else {}),
            **({"precision": self.precision} if self.precision != "float32" else {}),
            "corpus": self._corpus_identity,
        }

    def to_spec(self) -> TaskSpec:
        if not isinstance(self.corpus, (str, Path)) or self._in_memory:
            raise ConfigError(
                "remote generation needs a corpus file and a generator path, not in-memory objects"
            )
        self.fingerprint()  # the digests, computed once here
        return TaskSpec(
            f"{__name__}:GenerateTask",
            {
                "corpus": str(self.corpus),
                "languages": self.languages,
                "generator": self.generator_name,
                "n": self.n,
                "top_k": self.top_k,
                "seed": self.seed,
                "batch_size": self.batch_size,
                "max_new_tokens": self.max_new_tokens,
                "max_input_length": self.max_input_length,
                "int8": self.int8,
                "precision": self.precision,
                "device": self.device,
                "identities": {"generator": self._identity, "corpus": self._corpus_identity},
            },
        )

    def run(self, shard: ShardSpec, workdir: Path) -> dict[str, Any]:
        passages = read_passage_rows(self.corpus, shard.start, shard.stop)
        generator = self.generator
        generator.settings.max_input_length = self.max_input_length
        generator.precision = self.precision  # autocast around each batch (QueryGenerator.generate)
        count = 0
        with open(Path(workdir) / QUERIES_FILE, "w", encoding="utf-8") as handle:
            for docid, lang, slot, text in generator.generate(
                passages,
                self.languages,
                n=self.n,
                seed=self.seed,
                top_k=self.top_k,
                batch_size=self.batch_size,
                max_new_tokens=self.max_new_tokens,
            ):
                handle.write(
                    json.dumps(
                        {"docid": docid, "lang": lang, "slot": slot, "query": text}, ensure_ascii=False
                    )
                    + "\n"
                )
                count += 1
        return {"rows": len(passages), "queries": count, "device": str(generator.device)}


def read_generated(out_dir: str | Path, verify: str = "sha256") -> Iterator[dict[str, Any]]:
    """Rows ``{"docid", "lang", "slot", "query"}`` of a finished generation folder, in corpus order.

    Example:
        >>> list(read_generated("missing-folder"))  # doctest: +SKIP
    """
    for shard in iter_finished_shards(out_dir, verify=verify):
        with open(shard.part(QUERIES_FILE), encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)
