"""Corpus benchmarks in ``xqg run``: XOR-TyDi XOR-Retrieve and MKQA.

These benchmarks give questions and answer strings, no passage qrels, and a corpus far too large
for memory (XOR-Retrieve: 18M English Wikipedia passages). Each system therefore goes through
the sharded, resumable stages of the command-line tools, every one a cached stage of the run:

1. ``encode-corpus-shards``: the corpus file encoded by :class:`xqg.encode.task.EncodeTask` into
   a sharded vector folder (``[encoder] shard_size``, ``precision``), in this process or on a Ray
   cluster (``[distributed]``); a killed run resumes in the stage's ``.partial`` folder;
2. ``+xqg``: ``fuse-store`` (:class:`xqg.fuse.task.FuseShardTask`: per shard, the generator's
   queries for every passage and language are generated, encoded through the query path and summed;
   never written) and ``fused-vectors`` (:func:`xqg.fuse.store.refuse` at ``[fusion] alpha``);
   with ``[fusion] per_language``, the store keeps each language's sums and there is one fused
   index per generated language, each question searched in its own language's index;
3. the questions (clean and misspelled) encoded in memory and searched exactly, all conditions in
   one pass over the index, shard by shard (:func:`xqg.index.search`, bounded memory), top 100;
4. the retrieved passages' texts collected in one pass over the corpus and scored with the
   answer metrics (``R@2kt``/``R@5kt``, the official XOR-Retrieve measure; ``AnswerRecall@k`` for
   MKQA), then the same per-language report, significance tests and typo drops as the fold
   benchmarks.

Fine-tuned systems train on the files named in ``[training] corpus/queries/qrels`` (the
benchmark itself has no training pairs with passages). The generator is used as given
(``[generator] model``: a folder written by ``xqg train-generator``, a Hugging Face seq2seq model,
or ``default``, the trained default generator); α is ``[fusion] alpha`` (choose it on a dev set
with ``xqg fuse --alpha-sweep``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xqg.data.corpus import iter_corpus, read_corpus, read_queries
from xqg.data.download import sha256_file
from xqg.data.mkqa import load_mkqa
from xqg.data.records import Query, RetrievalDataset
from xqg.data.trec import read_qrels
from xqg.data.xor_tydi import collect_texts, load_xor_retrieve
from xqg.distributed import run_sharded
from xqg.distributed.ray_executor import RayExecutor
from xqg.encode.task import encode_file
from xqg.errors import ConfigError
from xqg.evaluate.evaluator import evaluate
from xqg.experiment.config_schema import SystemSpec
from xqg.experiment.stages import CLEAN, ExperimentStages, SystemResults, query_conditions, split_path
from xqg.fuse.store import refuse
from xqg.fuse.task import FuseShardTask
from xqg.index import search, search_by_language
from xqg.precision import resolve_job_precision, resolve_precision

SEARCH_DEPTH = 100


def _file_key(path: Path) -> str:
    """Content key of a (possibly very large) file: its size and SHA-256."""
    return f"{path.stat().st_size}-{sha256_file(path)[:16]}"


def load_corpus_benchmark(config: Any) -> tuple[RetrievalDataset, list[str], Path]:
    """The evaluated questions, their languages and the corpus file of a corpus benchmark.

    Raises:
        ConfigError: no corpus file, a missing file, or languages the benchmark does not have.
    """
    data = config.data
    where = split_path(data.path)
    corpus = data.corpus or None
    if data.dataset == "xor-tydi":
        dataset = load_xor_retrieve(
            data.split,
            root=where.get("root"),
            questions_path=where.get("path"),
            corpus_path=corpus,
        )
    elif data.dataset == "mkqa":
        dataset = load_mkqa(
            list(data.languages) or None, root=where.get("root"), path=where.get("path"), corpus_path=corpus
        )
    else:  # pragma: no cover - guarded by the config's validation
        raise ConfigError(f"{data.dataset!r} is not a corpus benchmark")
    corpus_path = dataset.meta.get("corpus_path")
    if not corpus_path:
        raise ConfigError(
            f"{data.dataset}: no corpus file; set [data] corpus to the passage collection "
            "(XOR-Retrieve: enwiki_20190201_w100.tsv; MKQA: the English NQ Wikipedia, DPR's psgs_w100.tsv)"
        )
    if not Path(str(corpus_path)).is_file():
        raise ConfigError(f"{data.dataset}: corpus file {corpus_path} does not exist")
    languages = list(data.languages) or dataset.languages
    missing = sorted(set(languages) - set(dataset.languages))
    if missing:
        raise ConfigError(
            f"[data] languages {', '.join(missing)} have no questions in {data.dataset} "
            f"(it has {', '.join(dataset.languages)})"
        )
    return dataset, languages, Path(str(corpus_path))


class CorpusBenchmark:
    """Every system of a corpus-benchmark experiment, through the run's stages.

    Args:
        stages: the run's :class:`~xqg.experiment.stages.ExperimentStages` (cache, encoders, timings).
        dataset: the evaluated questions and answers (from :func:`load_corpus_benchmark`).
        languages: the evaluated query languages.
        corpus_path: the corpus file (JSONL ``{_id, title, text}`` or DPR TSV ``id, text, title``).
    """

    def __init__(
        self,
        stages: ExperimentStages,
        dataset: RetrievalDataset,
        languages: Sequence[str],
        corpus_path: Path,
    ) -> None:
        self.stages = stages
        self.cfg = stages.config
        self.dataset = dataset
        self.languages = list(languages)
        self.corpus_path = corpus_path
        self._corpus_key: str | None = None
        self._train: RetrievalDataset | None = None
        self._train_key: str | None = None

    # ------------------------------------------------------------------ inputs
    @property
    def corpus_key(self) -> str:
        if self._corpus_key is None:
            self._corpus_key = _file_key(self.corpus_path)
        return self._corpus_key

    def test_queries(self) -> list[Query]:
        """The evaluated questions: every language in order, capped by ``max_queries_per_language``."""
        cap = self.cfg.data.max_queries_per_language
        out: list[Query] = []
        for lang in self.languages:
            queries = sorted(self.dataset.queries.get(lang, []), key=lambda q: q.id)
            out += queries[:cap] if cap else queries
        return out

    def training_set(self) -> tuple[RetrievalDataset, str]:
        """The fine-tuning pairs of ``[training] corpus/queries/qrels`` (and ``negatives``) and their content key."""
        if self._train is None:
            tr = self.cfg.training
            paths = [Path(tr.corpus), Path(tr.queries), Path(tr.qrels)] + (
                [Path(tr.negatives)] if tr.negatives else []
            )
            for path in paths:
                if not path.is_file():
                    raise ConfigError(f"[training] file {path} does not exist")
            queries: dict[str, list[Query]] = {}
            for query in read_queries(paths[1]):
                queries.setdefault(query.lang, []).append(query)
            self._train = RetrievalDataset(
                "training-files", read_corpus(paths[0]), queries, read_qrels(paths[2])
            )
            digest = hashlib.sha256("|".join(_file_key(p) for p in paths).encode()).hexdigest()[:16]
            self._train_key = digest
        assert self._train_key is not None
        return self._train, self._train_key

    # ------------------------------------------------------------------ stages
    def _engine(self) -> Any:
        """``"inprocess"`` or a :class:`~xqg.distributed.ray_executor.RayExecutor` per ``[distributed]``."""
        dist = self.cfg.distributed
        if dist.engine == "inprocess":
            return "inprocess"
        return RayExecutor(
            address=dist.address or None,
            num_workers=dist.num_workers or None,
            num_gpus_per_worker=dist.gpus_per_worker,
        )

    def _encoder(self, spec: SystemSpec) -> tuple[str, str | None]:
        if not spec.trained:
            return self.stages.base_model(spec)
        train, key = self.training_set()
        return self.stages.encoder_model(spec, -1, train, train.corpus, extra={"training_files": key})

    def _corpus_index(self, enc_key: str, enc_path: str | None) -> Path:
        """Stage ``encode-corpus-shards``: the corpus encoded into a sharded vector folder."""
        enc = self.cfg.encoder
        settings = {
            "encoder": enc_key,
            "corpus": self.corpus_key,
            "batch_size": enc.batch_size,
            "precision": enc.precision,
            "shard_size": enc.shard_size,
        }

        def build(out: Path) -> None:
            encode_file(
                self.corpus_path,
                out / "vectors",
                kind="passage",
                model=enc_path,
                batch_size=enc.batch_size,
                precision=enc.precision,
                device=self.stages.device,
                shard_size=enc.shard_size,
                engine=self._engine(),
            )

        _, path = self.stages.run_stage("encode-corpus-shards", settings, build, resumable=True)
        return path / "vectors"

    def _fused_index(self, enc_key: str, enc_path: str | None) -> Path | dict[str, Path]:
        """Stages ``fuse-store`` and ``fused-vectors``: generated queries summed per passage, fused at α;
        with ``[fusion] per_language``, one fused index per generated language (``{lang: folder}``)."""
        g, f, enc = self.cfg.generator, self.cfg.fusion, self.cfg.encoder
        languages = list(g.languages) or self.languages
        per_language = sorted(languages) if f.per_language else None
        source = {
            "kind": "generator",
            "generator": None if g.model == "default" else g.model,
            "languages": languages,
            "n": g.queries_per_language,
            "seed": self.stages.seed,
            "top_k": g.top_k,
            "precision": resolve_precision(g.precision, self.stages.device),
        }
        store_settings = {
            "encoder": enc_key,
            "corpus": self.corpus_key,
            "source": source,
            "generator_files": _generator_key(g.model),
            "batch_size": enc.batch_size,
            "shard_size": enc.shard_size,
            **({"per_language": per_language} if per_language else {}),
        }

        def build_store(out: Path) -> None:
            num_rows = sum(1 for _ in iter_corpus(self.corpus_path, check_duplicates=False))
            # resolved once per store; a resumed store keeps the precision it recorded
            precision = resolve_job_precision(
                enc.precision, self.stages.device, out / "store", FuseShardTask.name
            )
            print(f"[xqg run] fuse-store encoder precision {precision}", flush=True)
            task = FuseShardTask(
                str(self.corpus_path),
                {**source, "device": self.stages.device},  # where it runs: not in the stage key
                encoder=enc_path or "default",
                batch_size=enc.batch_size,
                languages=per_language,
                precision=precision.precision,
                record_precision=precision.record,
            )
            run_sharded(
                task,
                num_rows,
                out / "store",
                shard_size=enc.shard_size,
                engine=self._engine(),
                show_progress=True,
            )

        store_key, store = self.stages.run_stage("fuse-store", store_settings, build_store, resumable=True)

        def build_vectors(out: Path) -> None:
            for lang in per_language or [None]:
                target = out / "vectors" / lang if lang else out / "vectors"
                refuse(store / "store", target, alpha=f.alpha, mode=f.mode, show_progress=True, language=lang)

        settings = {"alpha": f.alpha, "mode": f.mode, **({"per_language": True} if per_language else {})}
        _, path = self.stages.run_stage("fused-vectors", settings, build_vectors, {"store": store_key})
        if per_language:
            return {lang: path / "vectors" / lang for lang in per_language}
        return path / "vectors"

    # ------------------------------------------------------------------ systems
    def run_system(self, name: str, spec: SystemSpec, result: SystemResults) -> None:
        """Search and score one system under every condition, into ``result``."""
        if spec.passages == "xqg" and spec.trained and self.cfg.training.towers == "query":
            raise ConfigError(
                f"[systems] {name!r}: fusion encodes passages and queries with one model; "
                "a query-tower-only fine-tuned model needs [training] towers = 'both' here"
            )
        enc_key, enc_path = self._encoder(spec)
        passage_key, passage_path = self.stages.passage_model(spec) or (enc_key, enc_path)
        if spec.passages == "xqg":
            index_dir = self._fused_index(enc_key, enc_path)
        else:
            index_dir = self._corpus_index(passage_key, passage_path)
        result.alpha_chosen[name] = self.cfg.fusion.alpha if spec.passages == "xqg" else 0.0
        test = self.test_queries()
        per_condition: dict[str, tuple[list[Query], np.ndarray]] = {}
        for condition, protocol, variant in query_conditions(self.cfg):
            queries = test if condition == CLEAN else self.stages.typo_queries(test, protocol, variant)
            stage = "encode-questions" if condition == CLEAN else "encode-typos"
            vectors = self.stages.encode_cached(
                stage, enc_key, enc_path, [(q.id, q.text) for q in queries], "query"
            )
            per_condition[condition] = (queries, vectors.matrix)
        # every condition's questions in one pass over the index, shard by shard (bounded memory);
        # with one fused index per language, each language's questions in its own (a language the
        # generator does not write meets the plain passage vectors)
        keys = [(cond, q.id, q.lang) for cond, (queries, _) in per_condition.items() for q in queries]
        all_vectors = np.concatenate([vecs for _, vecs in per_condition.values()]).astype(np.float32)
        labels = [f"{cond}\x1f{qid}" for cond, qid, _ in keys]
        if isinstance(index_dir, dict):
            langs = [lang for _, _, lang in keys]
            plain = self._corpus_index(passage_key, passage_path) if set(langs) - set(index_dir) else None
            combined = search_by_language(
                all_vectors, labels, langs, index_dir, k=SEARCH_DEPTH, fallback=plain
            )
        else:
            combined = search(all_vectors, labels, index_dir, k=SEARCH_DEPTH)
        runs: dict[str, dict[str, dict[str, float]]] = {cond: {} for cond in per_condition}
        for cond, qid, _ in keys:
            runs[cond][qid] = combined[f"{cond}\x1f{qid}"]
        texts = collect_texts(
            self.corpus_path, {d for run in runs.values() for docs in run.values() for d in docs}
        )
        answers = {q.id: self.dataset.answers.get(q.id, []) for q in test}
        result.values[name] = {}
        for cond, run in runs.items():
            run_texts = {qid: [texts[d] for d in docs] for qid, docs in run.items()}
            result.values[name][cond] = evaluate(
                list(self.cfg.metrics.names), run=run, run_texts=run_texts, answers=answers
            )


def _generator_key(model: str) -> str:
    """Content key of a local generator folder's weights and settings (a hub id is its own key)."""
    folder = Path(model)
    if model == "default" or not folder.is_dir():
        if model == "default":
            from xqg.generate.loading import default_generator_dir  # imports torch: only for the default

            folder = default_generator_dir()
            if not folder.is_dir():
                return "default:absent"
        else:
            return model
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in (".json", ".safetensors", ".model", ".txt"):
            digest.update(path.relative_to(folder).as_posix().encode() + _file_key(path).encode())
    return digest.hexdigest()[:16]
