"""The Examples in the generation modules' docstrings run and hold (tiny random models, no downloads)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import xqg.generate

MODULES = ["xqg.generate"] + [f"xqg.generate.{m.name}" for m in pkgutil.iter_modules(xqg.generate.__path__)]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
