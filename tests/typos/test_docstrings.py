"""The Examples in the typo and robustness modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "xqg.typos",
    "xqg.typos.text",
    "xqg.typos.generator",
    "xqg.typos.script_errors",
    "xqg.typos.resources_loader",
    "xqg.typos.homophones",
    "xqg.evaluate.robustness",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
