"""GPU checks of the fast paths: one prepared script for a lent GPU machine (timings and tolerances).

What it measures on the GPU, each against the float32 result of the same code:

* **bandwidth** — device-to-device copy (bytes read + written per second), the bound for exact search;
* **encode** — passages/s and queries/s of the default encoder's architecture (multilingual-e5-small,
  its real tokenizer; random weights, since the 470 MB weights do not travel) in float32, float16 and
  bfloat16 autocast, the cosine of each to float32 on the GPU and to float32 on the CPU;
* **search** — `xqg search --search-device cuda` over N × 384 vectors, one shard through
  ``xqg.index.exact_search.shard_topk`` as `xqg search` reads it: float32 (a torch product on the GPU)
  / float16 / bfloat16 (low precision shortlists within a proven rounding bound, float32 re-scores:
  ``xqg.index.bounded_shortlist``), the queries/s end
  to end and with the shard resident, against the bandwidth bound, and how many queries' top-100
  equal the float32 one;
* **generate** — the default generator's architecture (Gemma 3 270M, its real tokenizer, random
  weights since the 1 GB weights do not travel; output vocabulary trimmed to real XQuAD text) writing
  n queries per passage per language: xqg's prefix-shared decoding on the GPU in float32 and bfloat16
  against Hugging Face ``generate`` on the GPU and xqg on the CPU, and the share of queries identical
  on GPU and CPU (same seeds);
* **train** — seconds per generator training step on the GPU (packed examples, bf16 autocast);
* **tests** — the CUDA-only tests (``tests/generate/test_device.py``).

Each section runs on its own: an error is recorded and the next section runs.

Prepare here (the tokenizer, model settings and a few XQuAD texts, about 17 MB, into a git-ignored
folder), then run on the GPU machine with that folder carried:

    .venv/bin/python benchmarks/gpu_checks.py prepare --assets .gpu
    # device run, carry [".gpu"]:
    PYTHONPATH=src python3 benchmarks/gpu_checks.py run --assets .gpu --out $OUT

``run --device cpu --quick`` runs every section here at toy sizes (what the slow test does).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt, hf_generate, markdown_table, median, set_data_mirror, versions  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LANGUAGES = ["ar", "de", "el", "es", "hi", "ru", "th", "tr", "vi", "zh"]
MODEL_FILES_SKIPPED = {"model.safetensors", "pytorch_model.bin", "xqg_build.json"}
QUICK_GENERATOR_LAYERS = 2  # --quick: a check of the script, not of the speed


# ----------------------------------------------------------------------------- prepare (here)
def prepare(assets: Path, questions_per_language: int = 300) -> None:
    """Copy the default encoder's and generator's files but their weights, and XQuAD texts, into ``assets``."""
    from xqg.data import load_xquad
    from xqg.encode.default_model import ensure_default_model

    model_dir = Path(ensure_default_model())
    target = assets / "encoder"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(
        model_dir, target, ignore=lambda _d, names: [n for n in names if n in MODEL_FILES_SKIPPED]
    )
    from xqg.generate.gemma import ensure_gemma_base

    generator_target = assets / "generator"
    if generator_target.exists():
        shutil.rmtree(generator_target)
    shutil.copytree(
        ensure_gemma_base(),
        generator_target,
        ignore=lambda _d, names: [n for n in names if n in MODEL_FILES_SKIPPED],
    )
    dataset = load_xquad(["en", *LANGUAGES])
    texts = {
        "passages": [{"id": p.id, "title": p.title, "text": p.text} for p in dataset.corpus],
        "questions": {
            lang: [q.text for q in dataset.queries[lang][:questions_per_language]] for lang in LANGUAGES
        },
    }
    (assets / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    size = sum(f.stat().st_size for f in assets.rglob("*") if f.is_file())
    print(f"{assets}: {size / 2**20:.1f} MiB (carry it to the GPU machine)")


# ----------------------------------------------------------------------------- run (GPU machine)
class Checks:
    """Runs the sections, keeps their tables and numbers, never stops at a failing section."""

    def __init__(self, device: str, quick: bool) -> None:
        self.device, self.quick = device, quick
        self.results: dict[str, Any] = {}
        self.tables: list[str] = []

    def section(self, name: str, fn: Callable[[], tuple[dict[str, Any], str]]) -> None:
        start = time.perf_counter()
        print(f"[gpu_checks] {name} ...", flush=True)
        try:
            numbers, table = fn()
            self.results[name] = {**numbers, "seconds": round(time.perf_counter() - start, 1)}
            self.tables.append(f"#### {name}\n\n{table}")
        except Exception as exc:  # a section's failure is a result too
            self.results[name] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
            self.tables.append(f"#### {name}\n\nfailed: {type(exc).__name__}: {exc}")
        print(self.tables[-1], "\n", flush=True)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(fn: Callable[[], Any], device: str, repeats: int) -> tuple[float, Any]:
    """Median seconds of ``repeats`` calls after one warm-up, and the last result."""
    result = fn()
    _sync(device)
    seconds = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        result = fn()
        _sync(device)
        seconds.append(time.perf_counter() - start)
    return median(seconds), result


def random_encoder_folder(assets: Path, work: Path, seed: int = 0) -> Path:
    """The encoder folder of ``assets`` with random weights of the same architecture (safetensors)."""
    import torch
    from transformers import BertConfig, BertModel

    folder = work / "encoder"
    if (folder / "model.safetensors").exists():
        return folder
    shutil.copytree(assets / "encoder", folder, dirs_exist_ok=True)
    torch.manual_seed(seed)
    model = BertModel(BertConfig.from_pretrained(str(folder)), add_pooling_layer=False)
    model.save_pretrained(str(folder), safe_serialization=True)
    return folder


def bandwidth(device: str, quick: bool) -> tuple[dict[str, Any], str]:
    import torch

    gib = 0.125 if quick else 2.0
    source = torch.empty(int(gib * 2**30) // 4, dtype=torch.float32, device=device)
    target = torch.empty_like(source)
    seconds, _ = _timed(lambda: target.copy_(source), device, 5)
    rate = 2 * source.numel() * 4 / seconds / 1e9  # read + write
    source = target = None  # free the memory for the next sections
    return {"gb_per_s": rate}, markdown_table(["copy", "GB/s (read + write)"], [[f"{gib} GiB", fmt(rate)]])


def encode(device: str, quick: bool, folder: Path, texts: dict[str, Any]) -> tuple[dict[str, Any], str]:
    import numpy as np

    from xqg.data.records import Passage, passage_text
    from xqg.encode import load_encoder
    from xqg.precision import autocast_context

    passages = [Passage(p["id"], p["text"], p["title"]) for p in texts["passages"]]
    questions = [q for lang in LANGUAGES for q in texts["questions"][lang]]
    passages = (passages * 4)[: 16 if quick else 960]
    questions = questions[: 32 if quick else 3000]
    p_texts = [passage_text(p) for p in passages]
    subset = 8 if quick else 64
    cpu = load_encoder(folder, device="cpu", precision="float32")
    cpu_p = cpu.encode_passages(p_texts[:subset], batch_size=32)
    cpu_q = cpu.encode_queries(questions[:subset], batch_size=64)
    del cpu
    encoder = load_encoder(folder, device=device, precision="float32")  # each row sets its precision below
    precisions = ["float32"] + (["float16", "bfloat16"] if device.startswith("cuda") else ["bfloat16"])
    rows, numbers, reference = [], {}, {}
    for precision in precisions:
        with autocast_context(device, precision):
            tp, vp = _timed(lambda: encoder.encode_passages(p_texts, batch_size=128), device, 2)
            tq, vq = _timed(lambda: encoder.encode_queries(questions, batch_size=256), device, 2)
        if precision == "float32":
            reference = {"p": vp, "q": vq}

        def cos(a: np.ndarray, b: np.ndarray) -> float:
            return float(np.min((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))

        entry = {
            "passages_per_s": len(p_texts) / tp,
            "queries_per_s": len(questions) / tq,
            "min_cos_vs_device_fp32": min(cos(vp, reference["p"]), cos(vq, reference["q"])),
            "min_cos_vs_cpu_fp32": min(cos(vp[:subset], cpu_p), cos(vq[:subset], cpu_q)),
        }
        numbers[precision] = entry
        rows.append(
            [
                precision,
                fmt(entry["passages_per_s"]),
                fmt(entry["queries_per_s"]),
                f"{entry['min_cos_vs_device_fp32']:.6f}",
                f"{entry['min_cos_vs_cpu_fp32']:.6f}",
            ]
        )
    table = markdown_table(
        [
            "precision",
            "passages/s",
            "queries/s",
            "min cosine vs fp32 (same device)",
            "min cosine vs CPU fp32",
        ],
        rows,
    )
    return numbers, f"{len(p_texts)} passages (batch 128), {len(questions)} questions (batch 256)\n\n{table}"


def search(device: str, quick: bool, bandwidth_gb_s: float | None) -> tuple[dict[str, Any], str]:
    import numpy as np
    import torch

    from xqg.index.exact_search import shard_topk

    n, dim, nq, k = (20_000 if quick else 1_000_000), 384, (64 if quick else 1024), 100
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[rng.choice(n, nq, replace=False)] + 0.1 * rng.standard_normal(
        (nq, dim), dtype=np.float32
    )
    rows, numbers, reference = [], {}, None
    for precision in ("float32", "float16", "bfloat16"):
        seconds, (_, top) = _timed(lambda p=precision: shard_topk(queries, vectors, k, p, device), device, 3)
        if reference is None:
            reference = top
        dtype = getattr(torch, precision)
        docs = torch.from_numpy(vectors).to(device=device, dtype=dtype)
        resident = {}
        for batch in (1, nq):
            q = torch.from_numpy(queries[:batch]).to(device=device, dtype=dtype)
            resident[batch], _ = _timed(lambda q=q, d=docs: torch.topk(q @ d.T, k, dim=1), device, 5)
        docs = None
        bound = None
        if bandwidth_gb_s:  # one read of the matrix per query batch, at the measured memory bandwidth
            bound = (n * dim * dtype.itemsize) / (bandwidth_gb_s * 1e9)
        same = float(np.mean([set(a) == set(b) for a, b in zip(top, reference, strict=True)]))
        entry = {
            "queries_per_s_end_to_end": nq / seconds,
            "resident_batch1_ms": resident[1] * 1e3,
            f"resident_batch{nq}_ms": resident[nq] * 1e3,
            "bandwidth_bound_ms": None if bound is None else bound * 1e3,
            "ratio_to_bound_batch1": None if bound is None else resident[1] / bound,
            "top100_equal_to_fp32": same,
        }
        numbers[precision] = entry
        rows.append(
            [
                precision,
                fmt(entry["queries_per_s_end_to_end"]),
                fmt(resident[1] * 1e3, 3),
                fmt(resident[nq] * 1e3, 3),
                "-" if bound is None else fmt(bound * 1e3, 3),
                "-" if bound is None else fmt(resident[1] / bound, 2),
                f"{100 * same:.1f} %",
            ]
        )
    table = markdown_table(
        [
            "precision",
            f"queries/s ({nq} per call, shard copied in)",
            "resident, 1 query (ms)",
            f"resident, {nq} queries (ms)",
            "bandwidth bound per pass (ms)",
            "1 query / bound",
            "top-100 = fp32",
        ],
        rows,
    )
    return numbers, f"{n:,} × {dim} vectors, top-{k}\n\n{table}"


def random_generator_folder(assets: Path, work: Path, quick: bool) -> Path:
    """The default generator's architecture with seeded random weights (its real tokenizer)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    folder = work / "generator"
    if (folder / "model.safetensors").exists():
        return folder
    shutil.copytree(assets / "generator", folder, dirs_exist_ok=True)
    config = AutoConfig.from_pretrained(folder)
    if quick:
        config.num_hidden_layers = QUICK_GENERATOR_LAYERS
        if getattr(config, "layer_types", None):
            config.layer_types = config.layer_types[:QUICK_GENERATOR_LAYERS]
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    return folder


def _generator(assets: Path, work: Path, quick: bool, texts: dict[str, Any]) -> Any:
    from xqg.generate import build_default_generator

    vocabulary_text = [q for questions in texts["questions"].values() for q in questions]
    vocabulary_text += [p["text"] for p in texts["passages"]]
    return build_default_generator(vocabulary_text, base=random_generator_folder(assets, work, quick))


def generate(
    device: str, quick: bool, assets: Path, work: Path, texts: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    import torch

    from xqg.data.records import Passage
    from xqg.precision import autocast_context

    generator = _generator(assets, work, quick, texts)
    passages = [Passage(p["id"], p["text"], p["title"]) for p in texts["passages"]]
    n, steps = 5, (8 if quick else 32)
    batch = passages[: 2 if quick else 64]
    generator.settings.max_new_tokens = generator.settings.min_new_tokens = steps  # fixed work per query
    rows, numbers = [], {}

    def run_xqg(on: str, precision: str, items: list[Passage]) -> list[tuple[str, str, int, str]]:
        generator.to(on)
        with autocast_context(on, precision):
            return list(generator.generate(items, LANGUAGES, n=n, seed=0, top_k=10, batch_size=len(items)))

    cpu_items = batch[: 2 if quick else 8]
    cpu_seconds, _ = _timed(lambda: run_xqg("cpu", "float32", cpu_items), "cpu", 1)
    cpu_rate = len(cpu_items) * len(LANGUAGES) * n / cpu_seconds
    rows.append([f"xqg, CPU fp32 ({torch.get_num_threads()} threads)", len(cpu_items), fmt(cpu_rate), "1.00"])
    numbers["cpu_fp32_queries_per_s"] = cpu_rate
    for precision in ("float32", "bfloat16"):
        seconds, _ = _timed(lambda p=precision: run_xqg(device, p, batch), device, 2)
        rate = len(batch) * len(LANGUAGES) * n / seconds
        numbers[f"{device}_{precision}_queries_per_s"] = rate
        rows.append([f"xqg, {device} {precision}", len(batch), fmt(rate), fmt(rate / cpu_rate, 2)])

    generator.to(device)
    seconds, _ = _timed(lambda: hf_generate(generator, batch, LANGUAGES, n, steps), device, 1)
    rate = len(batch) * len(LANGUAGES) * n / seconds
    numbers[f"{device}_hf_generate_queries_per_s"] = rate
    rows.append([f"HF generate, {device} fp32", len(batch), fmt(rate), fmt(rate / cpu_rate, 2)])

    # the same seeds on both devices, free lengths: how many queries are identical
    generator.settings.min_new_tokens = 2
    on_cpu = run_xqg("cpu", "float32", cpu_items)
    on_device = run_xqg(device, "float32", cpu_items)
    same = sum(a[3] == b[3] for a, b in zip(on_cpu, on_device, strict=True)) / len(on_cpu)
    numbers["identical_to_cpu_share"] = same
    table = markdown_table(["engine", "passages per call", "queries/s", "vs xqg CPU"], rows)
    note = (
        f"{len(LANGUAGES)} languages × {n} queries per passage, {steps} tokens each (untrained weights: the "
        f"work does not depend on them); identical queries GPU fp32 vs CPU fp32, same seeds: {100 * same:.1f} %"
    )
    return numbers, f"{note}\n\n{table}"


def train(
    device: str, quick: bool, assets: Path, work: Path, texts: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    from xqg.data.records import Passage
    from xqg.generate import GeneratorExample, GeneratorTrainingConfig, train_generator

    generator = _generator(assets, work, quick, texts)
    passages = [Passage(p["id"], p["text"], p["title"]) for p in texts["passages"]]
    examples = [
        GeneratorExample(passages[i % len(passages)], lang, q)
        for lang in LANGUAGES
        for i, q in enumerate(texts["questions"][lang])
    ]
    steps = 4 if quick else 40
    layers = min(9, generator.model.config.num_hidden_layers)  # the recipes' top 9 of 18
    config = GeneratorTrainingConfig(
        steps=steps, batch_size=32, precision="bfloat16", device=device, save_every=0, train_layers=layers
    )
    result = train_generator(generator, examples, work / "train", config, show_progress=False)
    per_step = result.seconds / steps
    return {"seconds_per_step": per_step, "steps": steps}, markdown_table(
        ["steps", "batch", "precision", "trained layers", "seconds per step"],
        [[steps, 32, "bfloat16", layers, fmt(per_step, 3)]],
    )


def tests(device: str) -> tuple[dict[str, Any], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/generate/test_device.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
    return {"returncode": done.returncode, "tail": tail}, "```\n" + "\n".join(tail) + "\n```"


def run(assets: Path, out: Path, device: str, quick: bool) -> int:
    import tempfile

    import torch

    texts = json.loads((assets / "texts.json").read_text(encoding="utf-8"))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpu-checks-"))
    checks = Checks(device, quick)
    header = {"device": device, "versions": versions(["torch", "transformers", "numpy"])}
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(device)
        header.update(
            gpu=props.name, memory_gib=round(props.total_memory / 2**30, 1), cuda=torch.version.cuda
        )
    print(json.dumps(header), flush=True)
    folder = random_encoder_folder(assets, work)
    checks.section("bandwidth", lambda: bandwidth(device, quick))
    gb_s = checks.results["bandwidth"].get("gb_per_s")
    checks.section("encode", lambda: encode(device, quick, folder, texts))
    checks.section("search", lambda: search(device, quick, gb_s))
    checks.section("generate", lambda: generate(device, quick, assets, work, texts))
    checks.section("train", lambda: train(device, quick, assets, work, texts))
    if not quick:
        checks.section("tests", lambda: tests(device))
    report = "\n\n".join([f"### GPU checks\n\n```\n{json.dumps(header, indent=1)}\n```", *checks.tables])
    (out / "gpu_checks.md").write_text(report + "\n", encoding="utf-8")
    (out / "gpu_checks.json").write_text(
        json.dumps({"header": header, **checks.results}, indent=1), encoding="utf-8"
    )
    shutil.rmtree(work, ignore_errors=True)
    failed = [name for name, r in checks.results.items() if "error" in r]
    print(f"written {out / 'gpu_checks.md'}; failed sections: {failed or 'none'}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="here: write the assets folder to carry")
    prep.add_argument("--assets", default=".gpu")
    go = sub.add_parser("run", help="on the GPU machine: run every section")
    go.add_argument("--assets", default=".gpu")
    go.add_argument("--out", default="runs/gpu_checks")
    go.add_argument("--device", default="cuda")
    go.add_argument("--quick", action="store_true", help="toy sizes (a check of the script itself)")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        set_data_mirror()
        prepare(Path(args.assets))
        return 0
    return run(Path(args.assets), Path(args.out), args.device, args.quick)


if __name__ == "__main__":
    raise SystemExit(main())
