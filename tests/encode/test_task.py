"""Sharded encoding (EncodeTask on the shard machinery): equals direct encoding, resumes byte-identically."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from xqg.distributed import FingerprintMismatchError, load_vectors, run_sharded
from xqg.encode.task import EncodeTask, count_rows, encode_file
from xqg.encode.testing import tiny_encoder

WORDS = "the of and to in is was for on that with as by at from city river war king people".split()


def _corpus(path: Path, n: int) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(0)
    rows = []
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            text = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 30))))
            title = f"Title {i % 3}" if i % 2 else ""
            rows.append((f"d{i}", title, text))
            f.write(json.dumps({"_id": f"d{i}", "title": title, "text": text}) + "\n")
    return rows


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return tiny_encoder(seed=7).save(tmp_path_factory.mktemp("m") / "tiny")


def _files(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name in ("vectors.npy", "ids.txt")
    }


def test_sharded_output_equals_direct_encoding(tmp_path, model_dir) -> None:
    corpus = tmp_path / "c.jsonl"
    rows = _corpus(corpus, 23)
    shards = encode_file(
        corpus, tmp_path / "out", model=str(model_dir), shard_size=5, batch_size=4, show_progress=False
    )
    assert len(shards) == 5
    ids, vectors = load_vectors(tmp_path / "out")
    assert ids == [r[0] for r in rows]
    from xqg.encode import load_encoder

    direct = load_encoder(model_dir, device="cpu").encode_passages(
        [f"{title} {text}" if title else text for _, title, text in rows]
    )
    assert np.allclose(vectors, direct, atol=1e-5)


def test_float16_queries_and_partial_slices_resume_identically(tmp_path, model_dir) -> None:
    queries = tmp_path / "q.tsv"
    queries.write_text(
        "".join(f"q{i}\twhere is the city {i} of the king\tde\n" for i in range(11)), encoding="utf-8"
    )
    full = tmp_path / "full"
    encode_file(
        queries, full, kind="query", model=str(model_dir), dtype="float16", shard_size=3, show_progress=False
    )
    ids, vectors = load_vectors(full)
    assert vectors.dtype == np.float16 and ids[0] == "q0" and len(ids) == 11
    # an array job that ran only slice 1 of 2, then the whole job: same bytes as one uninterrupted run
    parts = tmp_path / "parts"
    for kwargs in ({"num_shards": 2, "shard_index": 1}, {}):
        encode_file(
            queries,
            parts,
            kind="query",
            model=str(model_dir),
            dtype="float16",
            shard_size=3,
            show_progress=False,
            **kwargs,
        )
    assert _files(parts) == _files(full)


def test_changed_settings_refuse_to_resume(tmp_path, model_dir) -> None:
    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, 4)
    encode_file(corpus, tmp_path / "out", model=str(model_dir), shard_size=2, show_progress=False)
    with pytest.raises(FingerprintMismatchError):
        encode_file(
            corpus,
            tmp_path / "out",
            model=str(model_dir),
            options={"pooling": "cls"},
            shard_size=2,
            show_progress=False,
        )


def test_task_is_cheap_to_build_and_rebuilds_from_its_spec(tmp_path, model_dir) -> None:
    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, 3)
    task = EncodeTask(str(corpus), model=str(model_dir), dtype="float16")
    assert task._encoder is None  # nothing loaded by construction or fingerprinting
    fp = task.fingerprint()
    assert task._encoder is None and fp["dtype"] == "float16"
    from xqg.distributed import build_task

    assert build_task(task.to_spec()).fingerprint() == fp
    assert count_rows(corpus, "passage") == 3


def test_short_input_is_an_error(tmp_path, model_dir) -> None:
    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, 3)
    from xqg.errors import InputError

    with pytest.raises(InputError, match="only 3"):
        run_sharded(
            EncodeTask(str(corpus), model=str(model_dir)),
            5,
            tmp_path / "o",
            shard_size=5,
            show_progress=False,
        )


@pytest.mark.slow
def test_cli_killed_mid_run_resumes_to_identical_output(tmp_path, model_dir) -> None:
    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, 400)
    cmd = [
        sys.executable,
        "-m",
        "xqg.cli.main",
        "encode",
        str(corpus),
        "--model",
        str(model_dir),
        "--shard-size",
        "40",
        "--batch-size",
        "2",
    ]
    subprocess.run([*cmd, "-o", str(tmp_path / "ref")], check=True, capture_output=True)
    out = tmp_path / "run"
    proc = subprocess.Popen([*cmd, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(out.glob("shard-*/DONE"))) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(out.glob("shard-*/DONE")))
    assert 2 <= done_before < 10, "the run must be killed part-way"
    subprocess.run([*cmd, "-o", str(out)], check=True, capture_output=True)
    assert _files(out) == _files(tmp_path / "ref")


def _direct(model_dir: Path, rows) -> np.ndarray:
    from xqg.encode import load_encoder

    return load_encoder(model_dir, device="cpu", precision="float32").encode_passages(
        [f"{title} {text}" if title else text for _, title, text in rows]
    )


def _job_precision(out: Path) -> str | None:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["fingerprint"].get("precision")


def test_bfloat16_precision_agrees_with_float32_and_is_recorded(tmp_path, model_dir) -> None:
    corpus = tmp_path / "c.jsonl"
    rows = _corpus(corpus, 9)
    encode_file(
        corpus,
        tmp_path / "bf16",
        model=str(model_dir),
        precision="bfloat16",
        shard_size=4,
        show_progress=False,
    )
    _, vectors = load_vectors(tmp_path / "bf16")
    assert vectors.dtype == np.float32
    cosines = np.sum(vectors * _direct(model_dir, rows), axis=1)
    assert cosines.min() > 0.99
    assert _job_precision(tmp_path / "bf16") == "bfloat16"
    # a folder written at one precision does not silently take shards of another
    with pytest.raises(FingerprintMismatchError, match="precision"):
        encode_file(
            corpus,
            tmp_path / "bf16",
            model=str(model_dir),
            precision="float32",
            shard_size=4,
            show_progress=False,
        )


def test_auto_is_resolved_once_and_a_resume_elsewhere_keeps_the_recorded_precision(
    tmp_path, model_dir, monkeypatch
) -> None:
    import xqg.precision

    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, 9)
    out = tmp_path / "out"
    # started on a CPU with avx512_bf16, only the first of three shards finished
    monkeypatch.setattr(xqg.precision, "cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    encode_file(
        corpus, out, model=str(model_dir), shard_size=3, num_shards=3, shard_index=0, show_progress=False
    )
    assert _job_precision(out) == "bfloat16"
    first = (out / "shard-00000" / "vectors.npy").read_bytes()
    # resumed on a CPU where auto means float32: the job keeps bfloat16 for the other shards
    monkeypatch.setattr(xqg.precision, "cpu_flags", lambda: {"avx512f"})
    encode_file(corpus, out, model=str(model_dir), shard_size=3, show_progress=False)
    assert _job_precision(out) == "bfloat16"
    assert (out / "shard-00000" / "vectors.npy").read_bytes() == first
    shard_manifests = [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(out.glob("shard-*/manifest.json"))
    ]
    assert [m["fingerprint"]["precision"] for m in shard_manifests] == ["bfloat16"] * 3
    # the whole folder equals one bf16 run, and a fresh auto job on this CPU is float32
    encode_file(
        corpus,
        tmp_path / "ref",
        model=str(model_dir),
        precision="bfloat16",
        shard_size=3,
        show_progress=False,
    )
    assert _files(out) == _files(tmp_path / "ref")
    encode_file(corpus, tmp_path / "fresh", model=str(model_dir), shard_size=3, show_progress=False)
    assert _job_precision(tmp_path / "fresh") == "float32"


def test_a_float32_folder_from_before_precisions_were_recorded_resumes(tmp_path, model_dir) -> None:
    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, 6)
    out = tmp_path / "old"
    task = EncodeTask(str(corpus), model=str(model_dir), precision="float32", record_precision=False)
    run_sharded(task, 6, out, shard_size=3, num_shards=2, shard_index=0, show_progress=False)
    assert _job_precision(out) is None  # what folders written before this change look like
    encode_file(corpus, out, model=str(model_dir), shard_size=3, show_progress=False)  # auto: kept float32
    _, vectors = load_vectors(out)
    assert np.allclose(vectors, _direct(model_dir, _corpus(tmp_path / "same.jsonl", 6)), atol=1e-5)


def test_onnx_backend_writes_the_pytorch_vectors(tmp_path, model_dir, monkeypatch) -> None:
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("XQG_CACHE", str(tmp_path / "cache"))
    corpus = tmp_path / "c.jsonl"
    rows = _corpus(corpus, 11)
    encode_file(
        corpus,
        tmp_path / "onnx",
        model=str(model_dir),
        backend="onnx",
        threads=1,
        shard_size=6,
        show_progress=False,
    )
    ids, vectors = load_vectors(tmp_path / "onnx")
    assert ids == [r[0] for r in rows]
    assert np.sum(vectors * _direct(model_dir, rows), axis=1).min() > 0.9999


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "onnx", "precision": "bfloat16"}, "onnx backend runs float32"),
        ({"backend": "onnx", "device": "cuda"}, "onnx backend runs float32"),
        ({"backend": "tensorrt"}, "backend must be one of"),
        ({"precision": "int4"}, "precision must be one of"),
    ],
)
def test_bad_backend_or_precision(tmp_path, model_dir, options, message) -> None:
    from xqg.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        EncodeTask(str(tmp_path / "c.jsonl"), model=str(model_dir), **options)


def test_device_auto_means_what_none_means_for_every_backend(tmp_path, model_dir) -> None:
    """``auto`` (what ``xqg run`` and the CLI pass) is accepted wherever ``None`` is: the onnx backend
    runs it on the CPU instead of refusing it."""
    for device in (None, "auto"):
        task = EncodeTask(str(tmp_path / "c.jsonl"), model=str(model_dir), backend="onnx", device=device)
        assert task.precision == "float32"


def test_float16_compute_on_cpu_is_refused() -> None:
    from xqg.errors import ConfigError
    from xqg.precision import autocast_context

    with pytest.raises(ConfigError, match="GPU setting"):
        autocast_context("cpu", "float16")


def test_cli_passes_the_fast_path_flags(tmp_path, model_dir) -> None:
    from xqg.cli.main import main

    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, 5)
    out = tmp_path / "out"
    args = ["encode", str(corpus), "-o", str(out), "--model", str(model_dir), "--precision", "bfloat16"]
    assert main(args) == 0
    assert _job_precision(out) == "bfloat16"


def test_cli_precision_default_is_auto_and_printed(tmp_path, model_dir, capsys) -> None:
    from xqg.cli.main import main
    from xqg.precision import resolve_precision

    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, 3)
    assert main(["encode", str(corpus), "-o", str(tmp_path / "out"), "--model", str(model_dir)]) == 0
    expected = resolve_precision("auto", "cpu")
    assert _job_precision(tmp_path / "out") == expected
    assert f"(precision {expected})" in capsys.readouterr().out


def test_cli_old_short_spelling_is_an_alias_with_a_warning(tmp_path, model_dir) -> None:
    from xqg.cli.main import main

    corpus = tmp_path / "c.jsonl"
    _corpus(corpus, 3)
    with pytest.warns(FutureWarning, match="'float32'"):
        assert (
            main(
                [
                    "encode",
                    str(corpus),
                    "-o",
                    str(tmp_path / "o"),
                    "--model",
                    str(model_dir),
                    "--precision",
                    "fp32",
                ]
            )
            == 0
        )
    assert _job_precision(tmp_path / "o") == "float32"
    with pytest.raises(SystemExit):
        main(["encode", str(corpus), "-o", str(tmp_path / "x"), "--precision", "half"])
