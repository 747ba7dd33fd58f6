"""Fixtures of the data-layer tests: the hand-written files in each official format."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """``tests/data/fixtures``: tiny hand-written files in each benchmark's official format."""
    return FIXTURES


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own ``$XQG_CACHE`` so that downloads and lock files never leak."""
    monkeypatch.setenv("XQG_CACHE", str(tmp_path_factory.mktemp("xqg-cache")))
