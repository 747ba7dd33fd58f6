"""Generation throughput of an embedded generator: xqg's decoding loop vs Hugging Face ``generate``.

The same weights run through xqg and through ``transformers``' ``generate``, each producing exactly
``--max-new-tokens`` tokens per query (end-of-sequence forbidden until then), so every engine does
the same number of decoding steps whatever the (untrained or trained) model writes; speed does not
depend on the weights, so an untrained generator is built when no trained default exists.

The default generator (Gemma 3 270M, a causal LM; :class:`~xqg.generate.causal.CausalLMGenerator`):

* **xqg** — :meth:`QueryGenerator.generate`: each passage read once for all languages, each
  language's instruction once per passage, the ``n`` samples of every language decoded together
  from that shared cache; the output layer over the trimmed vocabulary plus the passage's tokens;
  finished rows dropped;
* **xqg bf16 autocast** — the same under ``torch.autocast("cpu", bfloat16)`` (``--precision
  bfloat16``; CPUs with avx512_bf16/AMX);
* **HF generate** — ``model.generate(input_ids=<passage + instruction, left-padded>, do_sample=True,
  top_k=10, no_repeat_ngram_size=3, num_return_sequences=n)`` once per language for the batch of
  passages: what a user of ``transformers`` would write (prompt re-read per language; logits over
  the whole 262k vocabulary); and the same under bf16 autocast.

``--bert2bert`` measures the BERT-to-BERT generator instead (the table of earlier releases: grouped
cross-attention, one loop for all languages, int8).

Run (about 10 minutes of one core):

    .venv/bin/python benchmarks/bench_generate.py --threads 1 --passages 4 --languages ar de zh --n 5 --repeats 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    cpu_flags,
    fmt,
    hf_generate,
    machine_header,
    markdown_table,
    median,
    pin_threads,
    set_data_mirror,
    time_wall_and_cpu,
)


def load_generator_for(languages: list[str], bert2bert: bool = False):  # noqa: ANN201
    """The trained default generator if one exists (and covers ``languages``), else an untrained one
    built for ``languages``: Gemma 3 270M with its vocabulary trimmed to the XQuAD text of those
    languages, or (``bert2bert``) the BERT-to-BERT generator."""
    from xqg.data import load_xquad
    from xqg.errors import ConfigError
    from xqg.generate import build_bert2bert_generator, build_default_generator, load_generator

    if not bert2bert:
        try:
            generator = load_generator(device="cpu")
            if generator.kind == "causal" and set(languages) <= set(generator.languages):
                return generator, "trained default generator"
        except (ConfigError, OSError):
            pass
    dataset = load_xquad(languages)
    texts = {lang: [q.text for q in dataset.queries[lang]] for lang in languages}
    if bert2bert:
        return build_bert2bert_generator(
            texts
        ), "untrained BERT-to-BERT generator (built from the default encoder)"
    corpus = [p.text for p in dataset.corpus]
    generator = build_default_generator([t for rows in texts.values() for t in rows] + corpus)
    return generator, "untrained default generator (Gemma 3 270M, vocabulary trimmed to the XQuAD text)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--passages", type=int, default=4)
    parser.add_argument("--languages", nargs="+", default=["ar", "de", "zh"])
    parser.add_argument("--n", type=int, default=5, help="queries per passage per language")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-bf16", action="store_true")
    parser.add_argument("--bert2bert", action="store_true", help="measure the BERT-to-BERT generator")
    args = parser.parse_args(argv)

    pin_threads(args.threads)
    set_data_mirror()
    import torch

    torch.set_num_threads(args.threads)
    from xqg.data import load_xquad

    generator, origin = load_generator_for(args.languages, args.bert2bert)
    generator.settings.min_new_tokens = args.max_new_tokens
    generator.settings.max_new_tokens = args.max_new_tokens
    passages = load_xquad(["en"]).corpus[: args.passages]
    generator.model.eval()
    n, steps = args.n, args.max_new_tokens
    bf16 = bool({"avx512_bf16", "amx_bf16"} & cpu_flags()) and not args.no_bf16

    def run_xqg() -> int:
        rows = list(
            generator.generate(passages, args.languages, n=n, seed=0, top_k=10, batch_size=len(passages))
        )
        return len(rows)

    def run_hf() -> int:
        return hf_generate(generator, passages, args.languages, n, steps)

    def bf16_autocast(fn):  # noqa: ANN001, ANN202
        def run() -> int:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return fn()

        return run

    hf = "HF generate (per language)"
    if generator.kind == "causal":
        engines = {"xqg CausalLMGenerator.generate": run_xqg, hf: run_hf}
        peers = {"xqg CausalLMGenerator.generate": hf}
        if bf16:
            engines["xqg, bf16 autocast (--precision bfloat16)"] = bf16_autocast(run_xqg)
            engines["HF generate, bf16 autocast"] = bf16_autocast(run_hf)
            peers["xqg, bf16 autocast (--precision bfloat16)"] = "HF generate, bf16 autocast"
        described = (
            f"{origin}; output vocabulary {len(generator.token_subset)} of "
            f"{generator.model.config.vocab_size} tokens (+ each passage's own)"
            if generator.token_subset is not None
            else origin
        )
    else:

        def run_xqg_per_language() -> int:
            rows = 0
            for lang in args.languages:  # the decoding loop of one language at a time (before 2026-12-02)
                rows += len(
                    list(
                        generator.generate(passages, [lang], n=n, seed=0, top_k=10, batch_size=len(passages))
                    )
                )
            return rows

        engines = {
            "xqg QueryGenerator.generate": run_xqg,
            "xqg, one decoding loop per language": run_xqg_per_language,
        }
        if bf16:
            engines["xqg generate, bf16 autocast"] = bf16_autocast(run_xqg)
        import copy

        quantised = copy.deepcopy(generator).quantize_int8()

        def run_xqg_int8() -> int:
            rows = list(
                quantised.generate(passages, args.languages, n=n, seed=0, top_k=10, batch_size=len(passages))
            )
            return len(rows)

        engines["xqg generate, int8 dynamic (--int8)"] = run_xqg_int8
        engines[hf] = run_hf
        peers = {name: hf for name in engines if name != hf}
        vocab = generator.vocabulary
        described = (
            f"{origin}; output vocabulary {vocab.num_tokens} pieces "
            f"({', '.join(f'{lang} {len(vocab.allowed(lang))}' for lang in args.languages)})"
        )

    total = len(passages) * len(args.languages) * n
    print(
        machine_header(
            "Query generation (default generator)",
            args.threads,
            {
                "generator": described,
                "work per run": f"{len(passages)} XQuAD paragraphs x {len(args.languages)} languages "
                f"({', '.join(args.languages)}) x {n} = {total} queries of exactly {steps} tokens, top-k 10",
                "repeats": f"{args.repeats} timed after 1 warm-up, engines interleaved; medians of CPU seconds "
                "(process_time: the work, robust to other jobs) and of wall seconds",
            },
        )
    )
    print()
    cpus: dict[str, list[float]] = {name: [] for name in engines}
    walls: dict[str, list[float]] = {name: [] for name in engines}
    for fn in engines.values():
        fn()
    for _ in range(args.repeats):
        for name, fn in engines.items():
            wall, cpu, count = time_wall_and_cpu(fn)
            assert count == total, (name, count, total)
            cpus[name].append(cpu)
            walls[name].append(wall)
    rows = []
    for name in engines:
        rate = total / median(cpus[name])
        peer = peers.get(name)
        ratio = f"**{rate / (total / median(cpus[peer])):.2f}x** ({peer})" if peer else ""
        rows.append([name, fmt(rate), fmt(rate * steps, 0), ratio, fmt(total / median(walls[name]))])
    print(
        markdown_table(
            ["engine", "queries/CPU-s", "tokens/CPU-s", "vs HF generate (same precision)", "queries/wall-s"],
            rows,
        )
    )
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
