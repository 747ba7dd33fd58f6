"""Fixtures of the generator tests: tiny random generators, built once per session."""

from __future__ import annotations

import functools

import pytest
import torch

from xqg.generate.testing import tiny_generator

torch.set_num_threads(1)  # tiny models: threads only add overhead on a shared machine


@functools.cache
def cached_tiny_generator(kind: str):
    return tiny_generator(kind)


@pytest.fixture(params=["bert2bert", "seq2seq", "t5", "causal"])
def generator(request):
    return cached_tiny_generator(request.param)
