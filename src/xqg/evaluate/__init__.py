"""Evaluation: qrel metrics (trec_eval definitions), XOR-Retrieve R@kt, answer-string recall,
per-language aggregation, significance tests and comparison tables.

Per-query values are fractions in [0, 1]; tables print them as percentages. See
``docs/evaluation.md`` for the definitions and the conventions (ties, unscored queries).

Example:
    >>> from xqg.evaluate import aggregate, evaluate_run
    >>> per_query = evaluate_run({"q1": {"d1": 1.0}}, {"q1": {"d1": 1}}, ["Success@1"])
    >>> aggregate(per_query, {"q1": "fi"})
    {'Success@1': {'fi': 1.0, 'avg': 1.0}}
"""

from __future__ import annotations

from xqg.evaluate.aggregate import AVERAGE_KEY, aggregate, count_scored
from xqg.evaluate.answer_recall import answer_recall, has_answer, run_to_texts, simple_tokenize
from xqg.evaluate.comparison import ComparisonTable, compare_systems
from xqg.evaluate.evaluator import evaluate
from xqg.evaluate.measures import Measure, parse_measure, parse_measures
from xqg.evaluate.qrel_metrics import DEFAULT_METRICS, evaluate_run, rank_documents
from xqg.evaluate.rkt import rkt, scorable_answers, token_window
from xqg.evaluate.significance import (
    TestResult,
    compare_per_query,
    holm,
    paired_test,
    paired_ttest,
    randomisation_test,
)
from xqg.evaluate.tables import comparison_json, comparison_latex, comparison_markdown, evaluation_markdown
from xqg.evaluate.typo_drops import (
    group_means,
    mean_over_variants,
    relative_drop,
    relative_drops,
    resource_groups,
)

__all__ = [
    "AVERAGE_KEY",
    "DEFAULT_METRICS",
    "ComparisonTable",
    "Measure",
    "TestResult",
    "aggregate",
    "answer_recall",
    "compare_per_query",
    "compare_systems",
    "comparison_json",
    "comparison_latex",
    "comparison_markdown",
    "count_scored",
    "evaluate",
    "evaluate_run",
    "evaluation_markdown",
    "group_means",
    "has_answer",
    "holm",
    "mean_over_variants",
    "paired_test",
    "paired_ttest",
    "parse_measure",
    "parse_measures",
    "randomisation_test",
    "rank_documents",
    "relative_drop",
    "relative_drops",
    "resource_groups",
    "rkt",
    "run_to_texts",
    "scorable_answers",
    "simple_tokenize",
    "token_window",
]
