"""Training recipes for the default generator, and the one call that builds and trains it.

``fast`` is the recipe of ``make demo`` (about 5-8 minutes on an idle 2-core CPU for an XQuAD
training fold: 4-layer decoder, frozen encoder, bf16 autocast); ``long`` trains 4x as long for better
quality (or use a GPU). The numbers behind these choices are in ``docs/generator.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from xqg.data.records import RetrievalDataset
from xqg.errors import ConfigError, InputError
from xqg.generate.generator import SETTINGS_FILE, GeneratorSettings, QueryGenerator
from xqg.generate.training import (
    GeneratorExample,
    TrainingConfig,
    examples_from_dataset,
    train_generator,
)

logger = logging.getLogger(__name__)

#: Training settings of the default generator by recipe name.
RECIPES: dict[str, TrainingConfig] = {
    "fast": TrainingConfig(steps=360, batch_size=32, lr=1e-3, warmup=0.05, precision="bf16", save_every=60),
    "long": TrainingConfig(steps=1500, batch_size=32, lr=1e-3, warmup=0.05, precision="bf16", save_every=100),
}
#: Decoder depth of the default generator by recipe name.
RECIPE_DECODER_LAYERS = {"fast": 4, "long": 4}


def recipe_config(name: str, **overrides: object) -> TrainingConfig:
    """The :class:`TrainingConfig` of a recipe, with overrides.

    Example:
        >>> recipe_config("fast", steps=10).steps
        10
    """
    if name not in RECIPES:
        raise ConfigError(f"unknown generator recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return replace(RECIPES[name], **overrides)  # type: ignore[arg-type]


def texts_by_language(examples: Iterable[GeneratorExample]) -> dict[str, list[str]]:
    """The training questions grouped by language (they define the default generator's vocabulary).

    Example:
        >>> from xqg.data.records import Passage
        >>> texts_by_language([GeneratorExample(Passage("d", "t"), "de", "Wer?")])
        {'de': ['Wer?']}
    """
    out: dict[str, list[str]] = {}
    for ex in examples:
        out.setdefault(ex.lang, []).append(ex.query)
    return out


def train_default_generator(
    train: RetrievalDataset | Sequence[GeneratorExample],
    output_dir: str | Path,
    recipe: str = "fast",
    languages: Iterable[str] | None = None,
    eval_examples: Sequence[GeneratorExample] = (),
    seed: int = 0,
    encoder_dir: str | Path | None = None,
    settings: GeneratorSettings | None = None,
    decoder_layers: int | None = None,
    show_progress: bool = True,
    **overrides: object,
) -> QueryGenerator:
    """Build the default generator from the default encoder and train it; resumable; returns it trained.

    A finished ``output_dir`` is loaded instead of retrained (delete it to retrain).

    Args:
        train: the training split (e.g. an XQuAD training fold) or its triples.
        output_dir: where the generator, its checkpoints and training log go.
        recipe: ``"fast"`` or ``"long"`` (see :data:`RECIPES`).
        languages: target languages (default: every language of ``train``).
        eval_examples: held-out triples for the evaluation loss.
        seed: training seed.
        encoder_dir: HF folder of the encoder (default: the rebuilt multilingual-e5-small).
        settings: generator settings (to switch levers off for comparisons).
        decoder_layers: decoder depth (default: the recipe's).
        show_progress: tqdm bars.
        **overrides: fields of :class:`TrainingConfig` to change (``steps=...``).

    Example:
        >>> from xqg.data import load_xquad  # doctest: +SKIP
        >>> gen = train_default_generator(load_xquad(), "runs/generator")  # doctest: +SKIP
    """
    from xqg.generate.default import build_default_generator

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
        import json

        if json.loads(state.read_text(encoding="utf-8")).get("step") == config.steps:
            logger.info("loading the trained generator in %s", out)
            return QueryGenerator.load(out)
    generator = build_default_generator(
        texts_by_language(examples),
        decoder_layers=decoder_layers or RECIPE_DECODER_LAYERS[recipe],
        encoder_dir=encoder_dir,
        settings=settings,
    )
    generator.settings.source = {**generator.settings.source, "recipe": recipe}
    train_generator(
        generator, examples, out, config, eval_examples=eval_examples, show_progress=show_progress
    )
    return generator
