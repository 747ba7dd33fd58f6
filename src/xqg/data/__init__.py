"""Data records, readers/writers, and benchmark loaders.

The names below are the stable entry points (see docs/contracts.md and docs/data.md); each lives
in its own module (``xqg.data.trec``, ``xqg.data.corpus``, ``xqg.data.xquad`` ...).
"""

from __future__ import annotations

from xqg.data.answers import read_answers, write_answers
from xqg.data.beir import load_beir
from xqg.data.corpus import iter_corpus, read_corpus, read_queries, write_corpus, write_queries
from xqg.data.export import export_dataset
from xqg.data.folds import fold_split, split_by_articles, xquad_folds
from xqg.data.languages import LANGUAGES, Language, get_language
from xqg.data.locomo import load_locomo
from xqg.data.miracl import load_miracl
from xqg.data.mkqa import load_mkqa
from xqg.data.records import Answers, Passage, Qrel, Qrels, Query, RetrievalDataset, Run
from xqg.data.trec import read_qrels, read_run, write_qrels, write_run
from xqg.data.validate import validate_folder
from xqg.data.xor_tydi import Prediction, load_xor_retrieve, read_predictions, write_predictions
from xqg.data.xquad import load_xquad

__all__ = [
    "LANGUAGES",
    "Answers",
    "Language",
    "Passage",
    "Prediction",
    "Qrel",
    "Qrels",
    "Query",
    "RetrievalDataset",
    "Run",
    "export_dataset",
    "fold_split",
    "get_language",
    "iter_corpus",
    "load_beir",
    "load_locomo",
    "load_miracl",
    "load_mkqa",
    "load_xor_retrieve",
    "load_xquad",
    "read_answers",
    "read_corpus",
    "read_predictions",
    "read_qrels",
    "read_queries",
    "read_run",
    "split_by_articles",
    "validate_folder",
    "write_answers",
    "write_corpus",
    "write_predictions",
    "write_qrels",
    "write_queries",
    "write_run",
    "xquad_folds",
]
