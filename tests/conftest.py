"""Shared fixtures: where the real test data lives, and temporary caches."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests check what holds, not how fast: on a shared 2-core machine a single example can
# exceed hypothesis' 200 ms default deadline, which is a flake, not a failure.
settings.register_profile("xqg", deadline=None)
settings.load_profile("xqg")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MIRROR = REPO.parent / "shared" / "data"

# Tests never touch the network or a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("XQG_DATA_MIRROR", str(DEFAULT_MIRROR))
# Remembered shard checksums (xqg.distributed.verified) go to a temporary folder, not the user's cache.
os.environ.setdefault("XQG_STAMP_DIR", tempfile.mkdtemp(prefix="xqg-stamps-"))


@pytest.fixture(scope="session")
def data_mirror() -> Path:
    """The local mirror of public data sets (``$XQG_DATA_MIRROR``, by default ``../shared/data``)."""
    path = Path(os.environ["XQG_DATA_MIRROR"])
    if not (path / "xquad" / "xquad.en.json").exists():
        pytest.fail(f"XQuAD mirror not found under {path}; set XQG_DATA_MIRROR")
    return path


@pytest.fixture(scope="session")
def xquad_dir(data_mirror: Path) -> Path:
    """The folder holding ``xquad.{lang}.json``."""
    return data_mirror / "xquad"
