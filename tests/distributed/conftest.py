"""Fixtures for the shard tests: a small real corpus (XQuAD paragraphs) and a saved tiny encoder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest


def write_xquad_corpus(xquad_dir: Path, path: Path, copies: int = 1) -> int:
    """Write the 240 English XQuAD paragraphs (``copies`` times, with distinct ids) as corpus JSONL."""
    data = json.loads((xquad_dir / "xquad.en.json").read_text(encoding="utf-8"))["data"]
    rows = 0
    with open(path, "w", encoding="utf-8") as handle:
        for copy in range(copies):
            for a, article in enumerate(data):
                for p, paragraph in enumerate(article["paragraphs"]):
                    record = {
                        "_id": f"{a}-{p}" + (f"-c{copy}" if copy else ""),
                        "title": article["title"],
                        "text": paragraph["context"],
                    }
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                    rows += 1
    return rows


@pytest.fixture(scope="session")
def write_corpus(xquad_dir: Path):  # noqa: ANN201 - returns a function
    """``write_corpus(path, copies=1) -> rows``: the XQuAD paragraphs as a corpus JSONL."""
    return lambda path, copies=1: write_xquad_corpus(xquad_dir, path, copies)


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random dual encoder saved to a folder (so remote workers can load it by path)."""
    encode_testing = pytest.importorskip("xqg.encode.testing")
    return encode_testing.tiny_encoder(seed=0).save(tmp_path_factory.mktemp("encoder") / "tiny")


@pytest.fixture
def single_torch_thread() -> Iterator[None]:
    """Run torch on one thread (deterministic sums, and no spinning threads on a busy machine)."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
