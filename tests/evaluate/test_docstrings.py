"""The Examples in the evaluation modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "xqg.evaluate",
    "xqg.evaluate.aggregate",
    "xqg.evaluate.answer_recall",
    "xqg.evaluate.comparison",
    "xqg.evaluate.evaluator",
    "xqg.evaluate.inputs",
    "xqg.evaluate.measures",
    "xqg.evaluate.nltk_tokenize",
    "xqg.evaluate.qrel_metrics",
    "xqg.evaluate.rkt",
    "xqg.evaluate.significance",
    "xqg.evaluate.tables",
    "xqg.evaluate.typo_drops",
    "xqg.cli.compare",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
