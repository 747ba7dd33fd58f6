"""The examples in the index, checksum-stamp and precision docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "name",
    [
        "xqg.index.search_plan",
        "xqg.index.exact_search",
        "xqg.distributed.verified",
        "xqg.precision",
        "xqg.cli.precision_option",
    ],
)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
