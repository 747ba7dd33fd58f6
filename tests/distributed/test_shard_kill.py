"""A job SIGKILLed in the middle of a shard resumes to output byte-identical to an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xqg.distributed import load_vectors, run_sharded
from xqg.distributed.testing import NumpyVectorTask

TASK = {"dim": 16, "seed": 5, "batch_size": 2, "delay": 0.04}
NUM_ROWS, SHARD_SIZE = 60, 20
SCRIPT = """
import sys
import pytest

from xqg.distributed import load_vectors, run_sharded
from xqg.distributed.testing import NumpyVectorTask
run_sharded(NumpyVectorTask(**{task}), {rows}, sys.argv[1], {size}, show_progress=False)
"""


def snapshot(out_dir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out_dir).as_posix(): p.read_bytes() for p in sorted(out_dir.rglob("*")) if p.is_file()
    }


def test_sigkill_mid_shard_then_resume_is_byte_identical(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    run_sharded(NumpyVectorTask(**TASK), NUM_ROWS, reference, SHARD_SIZE, show_progress=False)

    out = tmp_path / "killed"
    script = SCRIPT.format(task=TASK, rows=NUM_ROWS, size=SHARD_SIZE)
    proc = subprocess.Popen([sys.executable, "-c", script, str(out)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    partial: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        # Kill once shard 0 is committed and shard 1 is a few batches in.
        if (out / "shard-00000" / "DONE").exists():
            partial = [p for p in out.glob(".shard-00001.tmp-*") if (p / "ids.txt").exists()]
            if partial and (partial[0] / "ids.txt").read_text().count("\n") >= 4:
                os.kill(proc.pid, signal.SIGKILL)
                break
        time.sleep(0.005)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode() if proc.stderr else ""

    # Killed mid-shard: shard 1 exists only as a temp folder, with part of its rows; nothing else looks done.
    assert partial and partial[0].exists()
    rows_written = (partial[0] / "ids.txt").read_text().count("\n")
    assert 4 <= rows_written < SHARD_SIZE
    assert not (out / "shard-00001").exists()
    assert not (out / "shard-00002").exists()
    done_inode = (out / "shard-00000").stat().st_ino

    run_sharded(NumpyVectorTask(**TASK), NUM_ROWS, out, SHARD_SIZE, show_progress=False)
    assert (out / "shard-00000").stat().st_ino == done_inode  # the finished shard was not redone
    assert not list(out.glob(".shard-*"))
    assert snapshot(out) == snapshot(reference)


ENCODE_SCRIPT = """
import sys
import torch
torch.set_num_threads(1)  # same as the reference run: float sums depend on the thread count
from xqg.distributed import run_sharded
from xqg.encode.task import EncodeTask
task = EncodeTask(sys.argv[1], model=sys.argv[2], batch_size=4, chunk_size=4)
run_sharded(task, int(sys.argv[4]), sys.argv[3], 240, show_progress=False)
"""


@pytest.mark.slow
def test_sigkill_mid_shard_of_real_encoding_then_resume_is_byte_identical(
    tmp_path: Path, write_corpus, tiny_encoder_dir: Path, single_torch_thread: None
) -> None:
    from xqg.encode.task import EncodeTask

    corpus = tmp_path / "corpus.jsonl"
    num_rows = write_corpus(corpus, copies=3)  # 720 paragraphs, 3 shards of 240
    task = EncodeTask(str(corpus), model=str(tiny_encoder_dir), batch_size=4, chunk_size=4)
    reference = tmp_path / "reference"
    run_sharded(task, num_rows, reference, 240, show_progress=False)

    out = tmp_path / "killed"
    argv = [sys.executable, "-c", ENCODE_SCRIPT, str(corpus), str(tiny_encoder_dir), str(out), str(num_rows)]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE)
    killed_at = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "shard-00000" / "DONE").exists():
            for temp in out.glob(".shard-00001.tmp-*"):
                ids = temp / "ids.txt"
                rows = ids.read_text().count("\n") if ids.exists() else 0
                if rows >= 8:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed_at = rows
                    break
            if killed_at is not None:
                break
        time.sleep(0.002)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"not killed mid-shard: {proc.stderr.read().decode()[-2000:]}"
    assert killed_at is not None and killed_at < 240
    assert not (out / "shard-00001").exists()

    run_sharded(task, num_rows, out, 240, show_progress=False)
    assert snapshot(out) == snapshot(reference)
    ids, vectors = load_vectors(out)
    assert len(ids) == num_rows and vectors.shape == (num_rows, 32)
