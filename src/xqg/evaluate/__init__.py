"""Evaluation: qrel metrics (trec_eval definitions), XOR-Retrieve R@kt, answer-string recall,
per-language aggregation, significance tests and comparison tables.

Per-query values are fractions in [0, 1]; tables print them as percentages.
"""

from __future__ import annotations

from xqg.evaluate.aggregate import AVERAGE_KEY, aggregate, count_scored
from xqg.evaluate.measures import Measure, parse_measure, parse_measures
from xqg.evaluate.qrel_metrics import DEFAULT_METRICS, evaluate_run, rank_documents

__all__ = [
    "AVERAGE_KEY",
    "DEFAULT_METRICS",
    "Measure",
    "aggregate",
    "count_scored",
    "evaluate_run",
    "parse_measure",
    "parse_measures",
    "rank_documents",
]
