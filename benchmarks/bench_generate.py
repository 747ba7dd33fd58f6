"""Generation throughput of the default generator: xqg's decoding loop vs Hugging Face ``generate``.

The default generator (:func:`xqg.generate.build_default_generator`: BERT-to-BERT warm-started from the
default encoder, 4 decoder layers, language start tokens, per-language output vocabularies) is a
Hugging Face ``EncoderDecoderModel``, so the same weights run through:

* **xqg** — :meth:`QueryGenerator.generate`: one encoder pass per passage shared by all languages,
  one decoding loop for the rows of every language (each language's rows projected on its own
  vocabulary subset only), cross-attention grouped by passage (:mod:`xqg.generate.bert_decoder`:
  keys and values computed and read once per passage for its n x languages rows), preallocated
  self-attention cache, finished rows dropped;
* **xqg, one decoding loop per language** — the same, called once per language;
* **xqg bf16 autocast** — the same under ``torch.autocast("cpu", bfloat16)`` (CPUs with avx512_bf16/AMX);
* **xqg int8 dynamic** — the same after :meth:`QueryGenerator.quantize_int8` (``xqg generate --int8``);
* **HF generate** — ``model.generate(input_ids, decoder_input_ids=<language token>, do_sample=True,
  top_k=10, no_repeat_ngram_size=3, num_return_sequences=n)`` once per language: what a user of
  ``transformers`` would write (encoder run per language; logits over the whole reduced vocabulary).

Both produce exactly ``--max-new-tokens`` tokens per query (end-of-sequence forbidden until then:
``min_new_tokens`` = ``max_new_tokens``), so every engine does the same number of decoding steps and
the comparison does not depend on what an (untrained or trained) model happens to write. The
generator is built untrained when no trained default exists (speed does not depend on the weights).

CTranslate2 (the int8 backend one would try next) converts T5/mT5/BART/Marian/NLLB/Whisper, not a
BERT encoder-decoder (``EncoderDecoderModel``), so it is not offered for the default generator.

Run (about 2 minutes of one idle core):

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


def load_generator_for(languages: list[str]):  # noqa: ANN201
    """The trained default generator if one exists, else the untrained default built for ``languages``."""
    from xqg.data import load_xquad
    from xqg.errors import ConfigError
    from xqg.generate import build_default_generator, load_generator

    try:
        generator = load_generator()
        if set(languages) <= set(generator.languages):
            return generator, "trained default generator"
    except (ConfigError, OSError):
        pass
    dataset = load_xquad(languages)
    texts = {lang: [q.text for q in dataset.queries[lang]] for lang in languages}
    return build_default_generator(texts), "untrained default generator (built from the default encoder)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--passages", type=int, default=4)
    parser.add_argument("--languages", nargs="+", default=["ar", "de", "zh"])
    parser.add_argument("--n", type=int, default=5, help="queries per passage per language")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-bf16", action="store_true")
    args = parser.parse_args(argv)

    pin_threads(args.threads)
    set_data_mirror()
    import torch

    torch.set_num_threads(args.threads)
    from xqg.data import load_xquad

    generator, origin = load_generator_for(args.languages)
    generator.settings.min_new_tokens = args.max_new_tokens
    generator.settings.max_new_tokens = args.max_new_tokens
    passages = load_xquad(["en"]).corpus[: args.passages]
    generator.model.eval()
    vocab = generator.vocabulary
    n, steps = args.n, args.max_new_tokens

    def run_xqg() -> int:
        rows = list(
            generator.generate(passages, args.languages, n=n, seed=0, top_k=10, batch_size=len(passages))
        )
        return len(rows)

    def run_hf() -> int:
        return hf_generate(generator, passages, args.languages, n, steps)

    def run_xqg_per_language() -> int:
        rows = 0
        for lang in args.languages:  # the decoding loop of one language at a time (before 2026-12-02)
            rows += len(
                list(generator.generate(passages, [lang], n=n, seed=0, top_k=10, batch_size=len(passages)))
            )
        return rows

    engines = {
        "xqg QueryGenerator.generate": run_xqg,
        "xqg, one decoding loop per language": run_xqg_per_language,
    }
    if {"avx512_bf16", "amx_bf16"} & cpu_flags() and not args.no_bf16:

        def run_xqg_bf16() -> int:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return run_xqg()

        engines["xqg generate, bf16 autocast"] = run_xqg_bf16
    import copy

    quantised = copy.deepcopy(generator).quantize_int8()

    def run_xqg_int8() -> int:
        rows = list(
            quantised.generate(passages, args.languages, n=n, seed=0, top_k=10, batch_size=len(passages))
        )
        return len(rows)

    engines["xqg generate, int8 dynamic (--int8)"] = run_xqg_int8
    engines["HF generate (per language)"] = run_hf

    total = len(passages) * len(args.languages) * n
    print(
        machine_header(
            "Query generation (default generator)",
            args.threads,
            {
                "generator": f"{origin}; output vocabulary {vocab.num_tokens} pieces "
                f"({', '.join(f'{lang} {len(vocab.allowed(lang))}' for lang in args.languages)})",
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
    hf = "HF generate (per language)"
    hf_rate = total / median(cpus[hf])
    rows = []
    for name in engines:
        rate = total / median(cpus[name])
        rows.append(
            [
                name,
                fmt(rate),
                fmt(rate * steps, 0),
                f"**{rate / hf_rate:.2f}x**",
                fmt(total / median(walls[name])),
            ]
        )
    print(
        markdown_table(["engine", "queries/CPU-s", "tokens/CPU-s", "vs HF generate", "queries/wall-s"], rows)
    )
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
