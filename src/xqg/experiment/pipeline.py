"""``xqg run``: one experiment file, its systems run by the fold or the corpus engine, one report.

* fold experiments (XQuAD, LoCoMo): :class:`~xqg.experiment.fold_benchmark.FoldBenchmark`, every
  evaluated fold in memory;
* corpus benchmarks (XOR-TyDi, MKQA): :class:`~xqg.experiment.corpus_benchmark.CorpusBenchmark`,
  sharded stages over the corpus file;
* both through one :class:`~xqg.experiment.stages.ExperimentStages` (stage cache, encoders, timings),
  then :func:`~xqg.experiment.report_builder.build_report`.

Every stage result lives in the stage cache (``$XQG_CACHE/stages`` by default) under a key made of
its settings and its inputs' keys, so a re-run with a changed setting redoes only what depends on it.
"""

from __future__ import annotations

import time
from pathlib import Path

from xqg.experiment.config_schema import CORPUS_DATASETS, ExperimentConfig
from xqg.experiment.corpus_benchmark import SEARCH_DEPTH, CorpusBenchmark, load_corpus_benchmark
from xqg.experiment.fold_benchmark import FoldBenchmark
from xqg.experiment.report_builder import RunSummary, build_report
from xqg.experiment.stages import ExperimentStages, SystemResults


def run_experiment(config: ExperimentConfig, cache_dir: str | Path | None = None) -> RunSummary:
    """Run an experiment end to end and write its report folder.

    Args:
        config: a validated experiment (:func:`xqg.experiment.config.load_config`).
        cache_dir: stage cache (default ``$XQG_CACHE/stages``).

    Returns:
        A :class:`RunSummary` with the main tables as Markdown and the report's paths.
    """
    start = time.perf_counter()
    stages = ExperimentStages(config, cache_dir)
    if config.data.dataset in CORPUS_DATASETS:
        dataset, languages, corpus_path = load_corpus_benchmark(config)
        stages.use_full_dataset(dataset)
        print(
            f"[xqg run] {config.experiment.name}: corpus {corpus_path}, languages {', '.join(languages)}, "
            f"systems {', '.join(config.systems.names)}",
            flush=True,
        )
        bench = CorpusBenchmark(stages, dataset, languages, corpus_path)
        result = SystemResults()
        for name, spec in config.system_specs.items():
            bench.run_system(name, spec, result)
        protocol = (
            f"Dataset {config.data.dataset}"
            + (f" ({config.data.split} split)" if config.data.dataset == "xor-tydi" else "")
            + f", {len(bench.test_queries())} questions searched in {corpus_path.name} (sharded exact search, "
            f"top {SEARCH_DEPTH}); answer-string metrics."
        )
        seconds = time.perf_counter() - start
        return build_report(
            config, languages, dataset, {0: result}, stages.timings, seconds, protocol=protocol
        )
    engine = FoldBenchmark(stages)
    dataset, languages = engine.load_dataset()
    print(
        f"[xqg run] {config.experiment.name}: {len(dataset.corpus)} passages, languages {', '.join(languages)}, "
        f"systems {', '.join(config.systems.names)}",
        flush=True,
    )
    folds = {fold: engine.run_fold(fold, dataset, languages) for fold in config.data.eval_folds}
    seconds = time.perf_counter() - start
    return build_report(config, languages, dataset, folds, stages.timings, seconds)
