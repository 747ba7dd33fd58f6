"""Training recipes for the embedded generators, and the one call that builds and trains one.

The default generator is Gemma 3 270M fine-tuned on the task (:mod:`xqg.generate.default`):

* ``full``: two epochs of the training triples, each passage packed with its questions in all
  languages, the top half of the layers trained, bfloat16 autocast (the recipe of the measured
  tables, docs/generator.md);
* ``fast``: the budget of ``make demo`` (a fraction of an epoch; what it costs against ``full`` is in
  docs/generator.md).

The BERT-to-BERT generator of earlier releases stays available as ``bert2bert-fast`` and
``bert2bert-long`` (the numbers behind them are in docs/generator.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from xqg.data.records import RetrievalDataset
from xqg.errors import ConfigError, InputError
from xqg.generate.examples import GeneratorExample, examples_from_dataset
from xqg.generate.settings import SETTINGS_FILE, GeneratorSettings
from xqg.generate.training_config import GeneratorTrainingConfig

if TYPE_CHECKING:
    from xqg.generate.base import QueryGenerator

logger = logging.getLogger(__name__)

#: The default generator's training (Gemma 3 270M): packed units of at most 32 examples, the top 9 of
#: 18 layers, bfloat16 where the hardware has it; the recipes differ in length only.
_CAUSAL = GeneratorTrainingConfig(
    steps=1,
    batch_size=32,
    lr=2e-4,
    warmup=0.05,
    precision="auto",
    train_layers=9,
    max_input_length=192,
    save_every=25,
)
#: Training settings by recipe name.
RECIPES: dict[str, GeneratorTrainingConfig] = {
    "fast": replace(_CAUSAL, epochs=0.5),
    "full": replace(_CAUSAL, epochs=2.0),
    "bert2bert-fast": GeneratorTrainingConfig(
        steps=360, batch_size=32, lr=1e-3, warmup=0.05, precision="auto", save_every=60
    ),
    "bert2bert-long": GeneratorTrainingConfig(
        steps=1500, batch_size=32, lr=1e-3, warmup=0.05, precision="auto", save_every=100
    ),
}
#: Decoder depth of the BERT-to-BERT generator by recipe name.
RECIPE_DECODER_LAYERS = {"bert2bert-fast": 4, "bert2bert-long": 4}
#: The recipe used where none is named.
DEFAULT_RECIPE = "full"


def recipe_config(name: str, **overrides: object) -> GeneratorTrainingConfig:
    """The :class:`GeneratorTrainingConfig` of a recipe, with overrides.

    Example:
        >>> recipe_config("bert2bert-fast", steps=10).steps
        10
    """
    if name not in RECIPES:
        raise ConfigError(f"unknown generator recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return replace(RECIPES[name], **overrides)  # type: ignore[arg-type]


def is_bert2bert_recipe(name: str) -> bool:
    """Whether a recipe builds the BERT-to-BERT generator (else the default causal LM).

    Example:
        >>> is_bert2bert_recipe("bert2bert-long"), is_bert2bert_recipe("full")
        (True, False)
    """
    return name in RECIPE_DECODER_LAYERS


def texts_by_language(examples: Iterable[GeneratorExample]) -> dict[str, list[str]]:
    """The training questions grouped by language (they define the BERT-to-BERT vocabulary).

    Example:
        >>> from xqg.data.records import Passage
        >>> texts_by_language([GeneratorExample(Passage("d", "t"), "de", "Wer?")])
        {'de': ['Wer?']}
    """
    out: dict[str, list[str]] = {}
    for ex in examples:
        out.setdefault(ex.lang, []).append(ex.query)
    return out


def vocabulary_texts(examples: Iterable[GeneratorExample], extra: Iterable[str] = ()) -> list[str]:
    """The texts whose tokens the default generator may write: questions, passages, titles, ``extra``.

    Example:
        >>> from xqg.data.records import Passage
        >>> vocabulary_texts([GeneratorExample(Passage("d", "Berlin", "B"), "de", "Wer?")], ["Berlin ist"])
        ['Wer?', 'Berlin', 'B', 'Berlin ist']
    """
    seen: dict[str, None] = {}
    for ex in examples:
        for text in (ex.query, ex.passage.text, ex.passage.title):
            if text:
                seen.setdefault(text)
    for text in extra:
        if text:
            seen.setdefault(text)
    return list(seen)


def train_default_generator(
    train: RetrievalDataset | Sequence[GeneratorExample],
    output_dir: str | Path,
    recipe: str = DEFAULT_RECIPE,
    languages: Iterable[str] | None = None,
    eval_examples: Sequence[GeneratorExample] = (),
    seed: int = 0,
    base: str | Path | None = None,
    settings: GeneratorSettings | None = None,
    decoder_layers: int | None = None,
    vocabulary_extra: Iterable[str] = (),
    show_progress: bool = True,
    **overrides: object,
) -> QueryGenerator:
    """Build an embedded generator (Gemma 3 270M, or BERT-to-BERT for ``bert2bert-*``) and train it;
    resumable; returns it trained. A finished ``output_dir`` is loaded instead of retrained.

    Args:
        train: the training split (e.g. an XQuAD training fold) or its triples.
        output_dir: where the generator, its checkpoints and training log go.
        recipe: a name of :data:`RECIPES`.
        languages: target languages (default: every language of ``train``).
        eval_examples: held-out triples for the evaluation loss.
        seed: training seed.
        base: the model to start from: a causal LM (folder, hub id, ``.gguf``; default Gemma 3 270M), or
            for ``bert2bert-*`` the encoder folder (default multilingual-e5-small).
        settings: generator settings (to switch levers off for comparisons).
        decoder_layers: ``bert2bert-*``: decoder depth (default: the recipe's).
        vocabulary_extra: more text in the target languages for the default generator's output
            vocabulary (e.g. the training passages' translations).
        show_progress: tqdm bars.
        **overrides: fields of :class:`GeneratorTrainingConfig` to change (``steps=...``).

    Example:
        >>> from xqg.data import load_xquad  # doctest: +SKIP
        >>> gen = train_default_generator(load_xquad(), "runs/generator")  # doctest: +SKIP
    """
    # the model code (torch) is imported here, not at import: recipe names serve `xqg --help` and config checks
    from xqg.generate.base import QueryGenerator
    from xqg.generate.training import train_generator

    examples = examples_from_dataset(train, languages) if isinstance(train, RetrievalDataset) else list(train)
    if languages is not None:
        keep = set(languages)
        examples = [ex for ex in examples if ex.lang in keep]
    if not examples:
        raise InputError("no training questions for the default generator")
    out = Path(output_dir)
    config = recipe_config(recipe, seed=seed, **overrides)
    state = out / "checkpoint" / "trainer_state.json"
    if (out / SETTINGS_FILE).exists() and state.exists():
        saved = json.loads(state.read_text(encoding="utf-8"))
        saved_config = saved.get("config", {})
        wanted = json.loads(json.dumps(config.identity()))
        if config.epochs:  # the steps follow from the epochs and the data
            wanted["steps"] = saved_config.get("steps")
        if saved.get("step") == saved_config.get("steps") and saved_config == wanted:
            logger.info("loading the trained generator in %s", out)
            return QueryGenerator.load(out)
    if is_bert2bert_recipe(recipe):
        from xqg.generate.bert2bert import build_bert2bert_generator  # torch: see above

        generator = build_bert2bert_generator(
            texts_by_language(examples),
            decoder_layers=decoder_layers or RECIPE_DECODER_LAYERS[recipe],
            encoder_dir=base,
            settings=settings,
        )
    else:
        if decoder_layers:
            raise ConfigError("decoder_layers applies to the bert2bert recipes only")
        from xqg.generate.default import build_default_generator  # torch: see above

        generator = build_default_generator(  # type: ignore[assignment]
            vocabulary_texts(examples, vocabulary_extra), base=base, settings=settings
        )
    generator.settings.languages = sorted({ex.lang for ex in examples})
    generator.settings.source = {**generator.settings.source, "recipe": recipe}
    train_generator(
        generator, examples, out, config, eval_examples=eval_examples, show_progress=show_progress
    )
    return generator
