"""The product precision of ``xqg search`` by batch size: FAISS's float32 scan vs the bfloat16 shortlist.

:func:`xqg.index.search` over a sharded float32 index (1M random unit 384-d vectors in shards of 100k,
written once into ``--work``; or any ``xqg encode`` folder with ``--index``), top ``k``, for query
batches of several sizes, with ``precision="float32"`` (FAISS ``knn`` over each memory-mapped shard)
and ``precision="bfloat16"`` (:mod:`xqg.index.bounded_shortlist`: bfloat16 product, a shortlist bounded
by the rounding error, float32 re-scoring), CPU seconds of this process (``time.process_time``), the
two alternating, median of ``--repeats``. It also counts the queries whose two runs have the same
documents, and in the same order (documents whose float32 scores are a few units in the last place
apart can change places between two float32 computations). ``--precision auto`` (the default of
``xqg search``) takes bfloat16 from :data:`xqg.index.exact_search.SHORTLIST_MIN_QUERIES` queries on
a CPU with ``avx512_bf16``/AMX; this table is where that number comes from.

    .venv/bin/python benchmarks/bench_search_precision.py --threads 1 --batches 1 4 8 16 64 256 1190

``--mean-cosine C`` makes the random vectors anisotropic as sentence embeddings are (multilingual-e5's
vectors of unrelated texts have cosines around 0.7-0.8, not 0): each vector is a shared direction plus
isotropic noise scaled so that two vectors' expected cosine is ``C``. The scores then crowd into a
narrow band, more documents fall within the rounding bound of the k-th, and more are re-scored.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt, machine_header, markdown_table, median, pin_threads  # noqa: E402
from bench_search import RandomVectorTask  # noqa: E402


class AnisotropicVectorTask(RandomVectorTask):
    """Shard task: unit vectors ``normalize(m + s g)``, ``m`` one shared unit direction, ``g`` isotropic
    Gaussian of norm ~1, ``s = sqrt(1 / mean_cosine - 1)``: two vectors' expected cosine is ``mean_cosine``."""

    name = "bench-anisotropic-vectors"

    def __init__(self, mean_cosine: float, dim: int = 384, seed: int = 0) -> None:
        super().__init__(dim=dim, seed=seed)
        self.mean_cosine = mean_cosine

    def fingerprint(self) -> dict[str, object]:
        return {**super().fingerprint(), "mean_cosine": self.mean_cosine}

    def vectors(self, rng, n: int):  # noqa: ANN001, ANN201
        import numpy as np

        direction = np.random.default_rng(12345).standard_normal(self.dim).astype(np.float32)
        direction /= np.linalg.norm(direction)
        scale = (1.0 / self.mean_cosine - 1.0) ** 0.5
        batch = direction + scale * rng.standard_normal((n, self.dim), dtype=np.float32) / np.sqrt(self.dim)
        return batch / np.linalg.norm(batch, axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/xqg-bench-search-precision"))
    parser.add_argument(
        "--index", type=Path, default=None, help="an index folder (default: random, in --work)"
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the random index")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8, 16, 64, 256, 1190])
    parser.add_argument(
        "--mean-cosine", type=float, default=0.0, help="anisotropic vectors (see above); 0: isotropic"
    )
    parser.add_argument("-k", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    pin_threads(args.threads)

    import numpy as np

    from xqg.distributed import run_sharded
    from xqg.distributed.manifest import JOB_MANIFEST
    from xqg.index.exact_search import search

    index = args.index
    anisotropic = AnisotropicVectorTask(args.mean_cosine) if args.mean_cosine else None
    if index is None:
        index = args.work / (f"index-{args.rows}" + (f"-cos{args.mean_cosine:g}" if anisotropic else ""))
        if not (index / JOB_MANIFEST).exists():
            task = anisotropic or RandomVectorTask()
            run_sharded(task, args.rows, index, shard_size=100_000, show_progress=False)
    rng = np.random.default_rng(1)
    if anisotropic:
        queries = anisotropic.vectors(rng, max(args.batches))
    else:
        queries = rng.standard_normal((max(args.batches), 384)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    qids = [f"q{i}" for i in range(len(queries))]
    search(queries[:2], qids[:2], index, k=args.k, precision="float32")  # checks remembered, pages hot
    rows = []
    for batch in args.batches:
        seconds: dict[str, list[float]] = {"float32": [], "bfloat16": []}
        runs = {}
        for _ in range(args.repeats):
            for precision in ("float32", "bfloat16"):
                start = time.process_time()
                runs[precision] = search(queries[:batch], qids[:batch], index, k=args.k, precision=precision)
                seconds[precision].append(time.process_time() - start)
        fp32, bf16 = median(seconds["float32"]), median(seconds["bfloat16"])
        same_set = sum(set(runs["float32"][q]) == set(runs["bfloat16"][q]) for q in qids[:batch])
        same_order = sum(list(runs["float32"][q]) == list(runs["bfloat16"][q]) for q in qids[:batch])
        rows.append(
            [
                str(batch),
                fmt(fp32, 3),
                fmt(bf16, 3),
                f"{fp32 / bf16:.2f}x",
                f"{same_set}/{batch}",
                f"{same_order}/{batch}",
            ]
        )
        print(rows[-1], file=sys.stderr, flush=True)
    header = machine_header(
        "xqg search: float32 (FAISS) vs the bfloat16 shortlist, by batch size",
        args.threads,
        {
            "index": f"{index}"
            + (f" (anisotropic, mean cosine {args.mean_cosine:g})" if anisotropic else ""),
            "k": args.k,
            "repeats": f"{args.repeats}, alternating; median CPU seconds",
        },
    )
    table = markdown_table(
        [
            "queries",
            "float32 CPU s",
            "bfloat16 shortlist CPU s",
            "speed-up",
            "same documents",
            "same order",
        ],
        rows,
    )
    print(f"{header}\n\n{table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
