"""The Example sections of the data layer's docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "answers", "atomic", "corpus", "download", "export", "folds", "jsonl", "languages", "miracl",
    "output_paths", "scripts", "sentences", "text_input", "trec", "validate", "xor_tydi", "xquad",
]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_examples(name: str) -> None:
    module = importlib.import_module(f"xqg.data.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0 or name in ("validate", "xquad")  # their examples need data (skipped)
