"""Query generation (xQG): train a seq2seq generator, the embedded default generator, corpus-scale generation.

* :func:`train_generator` fine-tunes any Hugging Face seq2seq model (or the default) on
  (passage, language, question) triples with the paper's prompt; checkpoints and resume.
* :func:`train_default_generator` builds the default BERT-to-BERT generator from the default encoder
  (multilingual-e5-small) with language start tokens and per-language output vocabularies, and trains it.
* :func:`load_generator` + :meth:`QueryGenerator.generate` generate in-process:
  ``(docid, lang, slot, text)`` for ``n`` top-k samples per passage and language, seeded per
  (docid, language, slot).
* :class:`GenerateTask` is the sharded, resumable corpus-scale job (``xqg generate``).

Example:
    >>> from xqg.data.records import Passage
    >>> from xqg.generate.testing import tiny_generator
    >>> gen = tiny_generator()
    >>> [row[:3] for row in gen.generate([Passage("d1", "Paris")], ["de"], n=2, seed=0)]
    [('d1', 'de', 0), ('d1', 'de', 1)]
"""

from __future__ import annotations

from xqg.generate.default import build_bert2bert, build_default_generator, build_vocabulary
from xqg.generate.generator import GeneratorSettings, QueryGenerator
from xqg.generate.loading import default_generator_dir, load_generator
from xqg.generate.prompt import PAPER_PROMPT, PASSAGE_ONLY_PROMPT, build_prompt
from xqg.generate.quality import LanguageIdentifier, distinct_n, repetition_rate, script_share, sentence_chrf
from xqg.generate.recipes import RECIPES, recipe_config, train_default_generator
from xqg.generate.task import GenerateTask, read_generated
from xqg.generate.training import (
    GeneratorExample,
    TrainingConfig,
    TrainingResult,
    evaluation_loss,
    examples_from_dataset,
    read_examples_jsonl,
    train_generator,
)
from xqg.generate.vocabulary import OutputVocabulary

__all__ = [
    "PAPER_PROMPT",
    "PASSAGE_ONLY_PROMPT",
    "RECIPES",
    "GenerateTask",
    "GeneratorExample",
    "GeneratorSettings",
    "LanguageIdentifier",
    "OutputVocabulary",
    "QueryGenerator",
    "TrainingConfig",
    "TrainingResult",
    "build_bert2bert",
    "build_default_generator",
    "build_prompt",
    "build_vocabulary",
    "default_generator_dir",
    "distinct_n",
    "evaluation_loss",
    "examples_from_dataset",
    "load_generator",
    "read_examples_jsonl",
    "read_generated",
    "recipe_config",
    "repetition_rate",
    "script_share",
    "sentence_chrf",
    "train_default_generator",
    "train_generator",
]
