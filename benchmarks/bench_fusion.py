"""End-to-end xQG fusion throughput: generate -> encode -> fuse, passages/s and peak memory.

Runs the real sharded job (:class:`xqg.fuse.FuseShardTask` with a
:class:`xqg.fuse.GeneratorQuerySource` over the default generator and the default encoder, through
:func:`xqg.distributed.run_sharded`, writing ``vectors.npy`` / ``qsum.npy`` / ``qcount.npy``), and times
its stages separately on the same passages: query generation, passage encoding, query encoding, and
the fusion arithmetic itself (:meth:`xqg.fuse.FusionStore.fuse`, a re-fusion for a new α).

Every generated query is exactly ``--max-new-tokens`` tokens long (end-of-sequence forbidden until
then; the default generator is built untrained when no trained one exists), so the numbers are an
upper bound on the work per passage and do not depend on the weights.

Peak memory: ``resource.getrusage`` peak RSS of the process (models included) and the
``tracemalloc`` peak of Python-level allocations during the end-to-end run (NumPy buffers are
traced; torch's allocator is not).

Run (about 3 minutes of one idle core):

    .venv/bin/python benchmarks/bench_fusion.py --threads 1 --passages 4 --languages ar de zh --n 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    fmt,
    machine_header,
    markdown_table,
    peak_rss_mib,
    pin_threads,
    set_data_mirror,
    time_wall_and_cpu,
)
from bench_generate import load_generator_for  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--passages", type=int, default=4)
    parser.add_argument("--languages", nargs="+", default=["ar", "de", "zh"])
    parser.add_argument("--n", type=int, default=5, help="queries per passage per language")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)

    pin_threads(args.threads)
    set_data_mirror()
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from xqg.data import load_xquad
    from xqg.distributed import load_vectors, run_sharded
    from xqg.encode import load_encoder
    from xqg.fuse import FuseShardTask, FusionStore, GeneratorQuerySource, load_fusion_store

    generator, origin = load_generator_for(args.languages)
    generator.settings.min_new_tokens = args.max_new_tokens
    generator.settings.max_new_tokens = args.max_new_tokens
    encoder = load_encoder(None, device="cpu")
    passages = load_xquad(["en"]).corpus[: args.passages]
    rss_models = peak_rss_mib()
    num_queries = len(passages) * len(args.languages) * args.n
    source = GeneratorQuerySource(
        generator, args.languages, n=args.n, seed=0, top_k=10, generator_id="default"
    )

    stages = []
    # stage by stage, on the same passages
    wall, cpu, texts = time_wall_and_cpu(lambda: source.texts_for(passages))
    stages.append(("generate queries", wall, cpu))
    flat = [t for rows in texts for t in rows]
    assert len(flat) == num_queries
    wall, cpu, _ = time_wall_and_cpu(lambda: encoder.encode_passages(passages, batch_size=args.batch_size))
    stages.append(("encode passages", wall, cpu))
    wall, cpu, _ = time_wall_and_cpu(lambda: encoder.encode_queries(flat, batch_size=args.batch_size))
    stages.append(("encode queries", wall, cpu))

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fused"
        task = FuseShardTask(passages, source, encoder, encoder_id="default", batch_size=args.batch_size)
        tracemalloc.start()
        wall, cpu, _ = time_wall_and_cpu(
            lambda: run_sharded(task, len(passages), out, shard_size=len(passages), show_progress=False)
        )
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        end_to_end = (wall, cpu)
        store = load_fusion_store(out)
        assert isinstance(store, FusionStore) and len(store) == len(passages)
        assert store.query_counts.tolist() == [len(args.languages) * args.n] * len(passages)
        ids, fused_vectors = load_vectors(out)
        assert len(ids) == len(passages) and np.isfinite(fused_vectors).all()
        wall, cpu, _ = time_wall_and_cpu(lambda: store.fuse(alpha=0.01, mode="sum"))
        stages.append(("re-fuse for a new alpha (FusionStore.fuse)", wall, cpu))

    print(
        machine_header(
            "Generate -> encode -> fuse (default generator + default encoder)",
            args.threads,
            {
                "generator": origin,
                "work": f"{len(passages)} XQuAD paragraphs x {len(args.languages)} languages "
                f"({', '.join(args.languages)}) x {args.n} = {num_queries} queries of {args.max_new_tokens} tokens",
                "timing": "one run each (CPU seconds of this process, and wall seconds)",
            },
        )
    )
    print()
    rows = []
    for name, wall, cpu in stages:
        rows.append([name, f"{cpu:.2f}", f"{wall:.2f}", fmt(len(passages) / cpu) if cpu > 0 else "-"])
    e2e_wall, e2e_cpu = end_to_end
    rows.append(
        [
            "**end to end** (run_sharded(FuseShardTask), files written)",
            f"{e2e_cpu:.2f}",
            f"{e2e_wall:.2f}",
            fmt(len(passages) / e2e_cpu),
        ]
    )
    print(markdown_table(["stage", "CPU s", "wall s", "passages/CPU-s"], rows))
    print()
    share = {name: cpu / e2e_cpu for name, _, cpu in stages}
    print(
        "- share of end-to-end CPU: "
        + ", ".join(f"{name} {100 * value:.0f}%" for name, value in share.items())
    )
    print(
        f"- peak RSS: {peak_rss_mib():.0f} MiB (of which {rss_models:.0f} MiB reached after loading both models); "
        f"tracemalloc peak during the end-to-end run: {traced_peak / 2**20:.1f} MiB"
    )
    print(
        f"- projection: {len(passages) / e2e_cpu * 3600:.0f} passages per core-hour at "
        f"{len(args.languages) * args.n} queries each"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
