"""Declarative experiment configuration (``xqg run EXPERIMENT.toml``), validated up front.

The schema (one dataclass per table, the system-name grammar) is :mod:`xqg.experiment.config_schema`;
this module reads a file, checks every value, and selects systems.

An experiment names a dataset and its split, the encoder, optional retriever fine-tuning, the
query generator and fusion settings, typo conditions, metrics and the systems to compare. Every
table and key is checked before any work starts: an unknown key, a wrong type or an invalid value
stops with a message naming the file and the key.

Example TOML::

    [experiment]
    name = "xquad-demo"
    seed = 13

    [data]
    dataset = "xquad"
    languages = ["ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]
    num_folds = 4
    eval_folds = [0]

    [generator]
    recipe = "fast"
    queries_per_language = 5

    [fusion]
    alpha = 0.3
    mode = "mean"

    [typos]
    variants = 3

    [systems]
    names = ["zero-shot", "zero-shot+xqg"]
    baseline = "zero-shot"
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Sequence
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from xqg.data.languages import is_language_code
from xqg.devices import check_device_name
from xqg.errors import ConfigError
from xqg.evaluate.measures import QREL_FAMILIES, parse_measure
from xqg.experiment.config_schema import (
    CORPUS_DATASETS,
    DATASETS,
    FOLD_DATASETS,
    PASSAGE_REPRESENTATIONS,
    SECTIONS,
    TRAINING_METHODS,
    DataSection,
    DistributedSection,
    EncoderSection,
    ExperimentConfig,
    ExperimentSection,
    FusionSection,
    GeneratorSection,
    MetricsSection,
    SystemSpec,
    SystemsSection,
    TrainingSection,
    TyposSection,
    parse_system,
)
from xqg.precision import normalise_precision
from xqg.train.config import DISTILL_LOSSES, DISTILL_SOURCES, TUNING_MODES
from xqg.typos.generator import PROTOCOLS

#: the schema's names are re-exported: ``from xqg.experiment.config import SystemSpec`` keeps working
__all__ = [
    "CORPUS_DATASETS",
    "DATASETS",
    "DataSection",
    "DistributedSection",
    "EncoderSection",
    "ExperimentConfig",
    "ExperimentSection",
    "FOLD_DATASETS",
    "FusionSection",
    "GeneratorSection",
    "MetricsSection",
    "PASSAGE_REPRESENTATIONS",
    "SECTIONS",
    "SystemSpec",
    "SystemsSection",
    "TRAINING_METHODS",
    "TrainingSection",
    "TyposSection",
    "load_config",
    "parse_config",
    "parse_system",
    "select_systems",
]


def _coerce(value: Any, default: Any, where: str) -> Any:
    """Check ``value`` against the type of the field's default and convert lists to tuples."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if isinstance(default, int) and not isinstance(default, bool):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if isinstance(default, dict):
        if not isinstance(value, dict) or not all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in value.values()
        ):
            raise ConfigError(f"{where}: expected a table of strings or integers, got {value!r}")
        return dict(value)
    if isinstance(default, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(value)
    raise ConfigError(f"{where}: unsupported value {value!r}")  # pragma: no cover


def _validate(config: ExperimentConfig, where: str) -> None:
    d, g, f, t, s, m, tr = (
        config.data,
        config.generator,
        config.fusion,
        config.typos,
        config.systems,
        config.metrics,
        config.training,
    )

    try:
        check_device_name(config.experiment.device)
    except ConfigError as exc:
        raise ConfigError(f"{where}: [experiment] device: {exc}") from None
    if d.dataset not in DATASETS:
        raise ConfigError(f"{where}: [data] dataset {d.dataset!r} is not one of {', '.join(DATASETS)}")
    for code in (*d.languages, *g.languages):
        if not is_language_code(code):
            raise ConfigError(
                f"{where}: {code!r} is not a language code (ISO 639 or BCP-47, e.g. 'ro', 'pt-BR')"
            )
    if d.level not in ("paragraph", "sentence"):
        raise ConfigError(f"{where}: [data] level must be 'paragraph' or 'sentence', not {d.level!r}")
    if d.num_folds < 2:
        raise ConfigError(f"{where}: [data] num_folds must be at least 2 (something must be held out)")
    for fold in d.eval_folds:
        if not 0 <= fold < d.num_folds:
            raise ConfigError(f"{where}: [data] eval_folds has {fold}, outside 0..{d.num_folds - 1}")
    if g.queries_per_language < 1 or g.top_k < 1:
        raise ConfigError(f"{where}: [generator] queries_per_language and top_k must be >= 1")
    # torch (the generator package): imported only when a config is checked, so that importing this module stays light
    from xqg.generate.recipes import RECIPES

    if g.recipe not in RECIPES:
        raise ConfigError(
            f"{where}: [generator] recipe must be one of {', '.join(RECIPES)}, not {g.recipe!r}"
        )
    if g.steps < 0 or g.epochs < 0:
        raise ConfigError(f"{where}: [generator] steps and epochs must be >= 0 (0 = the recipe's)")
    if g.steps and g.epochs:
        raise ConfigError(f"{where}: [generator] give steps or epochs, not both")
    if g.translation_pairs and (d.dataset != "xquad" or d.level != "paragraph" or g.model != "default"):
        raise ConfigError(
            f"{where}: [generator] translation_pairs needs the default generator on XQuAD paragraphs "
            "(the parallel text is XQuAD's translated paragraphs)"
        )
    if f.mode not in ("sum", "mean"):
        raise ConfigError(f"{where}: [fusion] mode must be 'sum' or 'mean', not {f.mode!r}")
    if f.misspelled_copies < 1:
        raise ConfigError(f"{where}: [fusion] misspelled_copies must be >= 1, got {f.misspelled_copies}")
    if not 0.0 < f.dev_fraction < 1.0:
        raise ConfigError(f"{where}: [fusion] dev_fraction must lie in (0, 1), got {f.dev_fraction}")
    for alpha in (f.alpha, *f.alpha_sweep):
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"{where}: [fusion] alpha {alpha} is outside [0, 1]")
    if t.variants < 1:
        raise ConfigError(f"{where}: [typos] variants must be >= 1")

    for protocol in (*t.protocols, *t.variants_by_protocol):
        if protocol not in PROTOCOLS:
            raise ConfigError(f"{where}: [typos] protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    for protocol, count in t.variants_by_protocol.items():
        if not isinstance(count, int) or count < 1:
            raise ConfigError(f"{where}: [typos] variants_by_protocol {protocol} must be an integer >= 1")
    if not all(isinstance(v, str) for v in config.encoder.others.values()):
        raise ConfigError(f"{where}: [encoder] others: expected a table of strings (alias = model)")
    if tr.towers not in ("both", "query"):
        raise ConfigError(f"{where}: [training] towers must be 'both' or 'query', got {tr.towers!r}")
    if not 0.0 <= tr.typo_probability <= 1.0 or tr.adversarial_candidates < 1 or tr.typo_variants < 1:
        raise ConfigError(
            f"{where}: [training] typo_probability must be in [0, 1], typo_variants and "
            "adversarial_candidates >= 1"
        )
    for code in (*tr.languages, tr.distill_corpus_language):
        if not is_language_code(code):
            raise ConfigError(
                f"{where}: {code!r} is not a language code (ISO 639 or BCP-47, e.g. 'ro', 'pt-BR')"
            )

    if tr.precision not in ("auto", "float32", "bfloat16"):
        raise ConfigError(
            f"{where}: [training] precision must be auto, float32 or bfloat16, not {tr.precision!r}"
        )
    if tr.tuning not in TUNING_MODES or tr.lora_rank < 1:
        raise ConfigError(
            f"{where}: [training] tuning must be one of {', '.join(TUNING_MODES)} and lora_rank >= 1"
        )
    unknown_sources = sorted(set(tr.distill_sources) - set(DISTILL_SOURCES))
    if unknown_sources or not tr.distill_sources:
        raise ConfigError(
            f"{where}: [training] distill_sources must be a non-empty subset of {', '.join(DISTILL_SOURCES)}"
        )
    if ("files" in tr.distill_sources) != bool(tr.distill_files):
        raise ConfigError(
            f"{where}: [training] distill_files go with the distill source 'files' (both or neither)"
        )
    if tr.distill_loss not in DISTILL_LOSSES or tr.distill_views < 1 or tr.distill_clean_weight < 0:
        raise ConfigError(
            f"{where}: [training] distill_loss must be one of {', '.join(DISTILL_LOSSES)}, distill_views >= 1, "
            "distill_clean_weight >= 0"
        )
    if tr.distill_pieces_per_passage < 0:
        raise ConfigError(f"{where}: [training] distill_pieces_per_passage must be >= 0 (0 = all pieces)")
    if not s.names:
        raise ConfigError(f"{where}: [systems] names is empty")
    for name in s.names:
        try:
            spec = parse_system(name)
        except ConfigError as exc:
            raise ConfigError(f"{where}: [systems] {exc}") from None
        if spec.encoder != "default" and spec.encoder not in config.encoder.others:
            raise ConfigError(
                f"{where}: [systems] {name!r} uses encoder {spec.encoder!r}, "
                "which is not defined in [encoder] others"
            )
    if len(set(s.names)) != len(s.names):
        raise ConfigError(f"{where}: [systems] names has duplicates")
    if s.baseline not in s.names:
        raise ConfigError(f"{where}: [systems] baseline {s.baseline!r} is not among names {list(s.names)}")
    if f.per_language and f.mode != "mean":
        raise ConfigError(
            f"{where}: [fusion] per_language needs mode = 'mean' (each language has its own count)"
        )
    if d.dataset in CORPUS_DATASETS:
        _validate_corpus_experiment(config, where)
    elif d.dataset in FOLD_DATASETS and (d.corpus or tr.corpus or tr.queries or tr.qrels or tr.negatives):
        raise ConfigError(
            f"{where}: [data] corpus and [training] corpus/queries/qrels/negatives are for corpus benchmarks "
            f"({', '.join(CORPUS_DATASETS)}); {d.dataset} trains on its own training folds"
        )

    for section in ("encoder", "generator"):
        try:
            normalise_precision(getattr(config, section).precision)
        except ConfigError as exc:
            raise ConfigError(f"{where}: [{section}] {exc}") from None
    dist = config.distributed
    if dist.engine not in ("inprocess", "ray"):
        raise ConfigError(f"{where}: [distributed] engine must be 'inprocess' or 'ray', not {dist.engine!r}")
    if dist.engine == "inprocess" and (dist.address or dist.num_workers or dist.gpus_per_worker):
        raise ConfigError(f"{where}: [distributed] address/num_workers/gpus_per_worker apply to engine 'ray'")
    if dist.num_workers < 0 or dist.gpus_per_worker < 0:
        raise ConfigError(f"{where}: [distributed] num_workers and gpus_per_worker must be >= 0")
    if dist.engine == "ray" and d.dataset not in CORPUS_DATASETS:
        raise ConfigError(
            f"{where}: [distributed] engine 'ray' drives the sharded stages of corpus benchmarks "
            f"({', '.join(CORPUS_DATASETS)}); {d.dataset} runs in memory"
        )
    if config.encoder.shard_size < 1:
        raise ConfigError(f"{where}: [encoder] shard_size must be >= 1")
    if m.primary not in m.names:
        raise ConfigError(f"{where}: [metrics] primary {m.primary!r} is not among names {list(m.names)}")
    if not 0 < m.significance_level < 1:
        raise ConfigError(f"{where}: [metrics] significance_level must be in (0, 1)")


def _validate_corpus_experiment(config: ExperimentConfig, where: str) -> None:
    """What a corpus benchmark (answers, no passage qrels, a large corpus) can and cannot run."""

    d, tr, f = config.data, config.training, config.fusion
    if d.dataset == "xor-tydi" and d.split not in ("dev", "train"):
        raise ConfigError(f"{where}: [data] split for xor-tydi is 'dev' or 'train', not {d.split!r}")
    for name in config.metrics.names:
        if parse_measure(name).family in QREL_FAMILIES:
            raise ConfigError(
                f"{where}: [metrics] {name!r} needs passage qrels, which {d.dataset} does not have; "
                "use answer metrics (R@2kt, R@5kt, AnswerRecall@20, AnswerRecall@100)"
            )
    for name, spec in config.system_specs.items():
        if spec.passages in ("oracle", "predicted"):
            raise ConfigError(
                f"{where}: [systems] {name!r}: +{spec.passages} needs the questions' relevant passages, "
                f"which {d.dataset} does not have"
            )
        if spec.passages == "xqg-typos":
            raise ConfigError(
                f"{where}: [systems] {name!r}: +xqg-typos is implemented for fold experiments "
                "(xquad, locomo); on a corpus, fuse with `xqg fuse --misspelled-copies`"
            )
        if spec.trained and not (tr.corpus and tr.queries and tr.qrels):
            raise ConfigError(
                f"{where}: [systems] {name!r} is fine-tuned: {d.dataset} has no training pairs of its own, "
                "so give [training] corpus, queries and qrels (the files `xqg train-retriever` reads)"
            )
    if f.alpha_sweep:
        raise ConfigError(
            f"{where}: [fusion] alpha_sweep needs held-out questions with relevant passages; for "
            f"{d.dataset} choose α with `xqg fuse --alpha-sweep` on a dev set and set [fusion] alpha"
        )


def parse_config(raw: dict[str, Any], where: str = "<config>") -> ExperimentConfig:
    """Build and validate an :class:`ExperimentConfig` from a parsed TOML mapping.

    Args:
        raw: the TOML document as a dict.
        where: name of the source for error messages.

    Raises:
        ConfigError: unknown table or key, wrong type, invalid value.

    Example:
        >>> cfg = parse_config({"experiment": {"name": "t"}, "fusion": {"alpha": 0.1}})
        >>> cfg.fusion.alpha, cfg.output_dir.as_posix()
        (0.1, 'runs/t')
    """
    sections: dict[str, Any] = {}
    for table, values in raw.items():
        if table not in SECTIONS:
            raise ConfigError(f"{where}: unknown table [{table}] (known: {', '.join(SECTIONS)})")
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: [{table}] must be a table")
        cls = SECTIONS[table]
        defaults = {f.name: (f.default_factory() if f.default is MISSING else f.default) for f in fields(cls)}
        kwargs = {}
        for key, value in values.items():
            if key not in defaults:
                raise ConfigError(f"{where}: unknown key {key!r} in [{table}] (known: {', '.join(defaults)})")
            kwargs[key] = _coerce(value, defaults[key], f"{where}: [{table}] {key}")
        sections[table] = cls(**kwargs)
    config = ExperimentConfig(**sections, source=where)
    _validate(config, where)
    return config


def select_systems(config: ExperimentConfig, names: Sequence[str]) -> ExperimentConfig:
    """The same experiment restricted to some of its systems (the baseline is always kept).

    Stages are cached by content, so running a subset computes exactly what those systems need and
    a later run of the whole file reuses it.

    Args:
        config: a validated experiment.
        names: system names, each one of ``config.systems.names``.

    Raises:
        ConfigError: a name is not a system of the experiment.

    Example:
        >>> cfg = parse_config({"systems": {"names": ["zero-shot", "zero-shot+xqg", "zero-shot+oracle"]}})
        >>> select_systems(cfg, ["zero-shot+oracle"]).systems.names
        ('zero-shot', 'zero-shot+oracle')
    """
    known = config.systems.names
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"{config.source}: system(s) {unknown} are not in [systems] names {list(known)}")
    wanted = {config.systems.baseline, *names}
    systems = dataclasses.replace(config.systems, names=tuple(n for n in known if n in wanted))
    return dataclasses.replace(config, systems=systems)


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment TOML file.

    Raises:
        ConfigError: the file is missing, is not valid TOML, or fails validation.
    """
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: experiment file not found")
    text = p.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    return dataclasses.replace(parse_config(raw, where=str(p)), source_text=text)
