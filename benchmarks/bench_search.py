"""Exact search throughput over 100k and 1M random 384-d vectors, against the memory-bandwidth bound.

Engines, all exact inner product, top-``k``, same threads:

* **xqg search** — :func:`xqg.index.search` on a sharded folder (100k rows a shard, as ``xqg encode``
  writes them), the path ``xqg search`` takes: every call maps the float32 shards (page cache here)
  and scans them in place with FAISS's ``knn`` (no copy), checksums verified once and remembered;
  and the same with ``verify="sha256"`` (every file hashed on every call, as before issue 21);
* **xqg search, verify=size** — the same with the checksum check off (``iter_shards(verify="size")``),
  measured through :class:`~xqg.index.loaded_index.LoadedIndex.open` + search, i.e. load + search;
* **xqg LoadedIndex** — :class:`xqg.index.loaded_index.LoadedIndex`: shards loaded once, then each
  call is a blocked ``sgemm`` + ``argpartition`` over the in-memory vectors;
* **numpy matmul + argpartition** — what a user would write: ``scores = Q @ V.T``,
  ``np.argpartition`` then ``argsort`` of the top ``k``;
* **FAISS IndexFlatIP** (in memory), for reference.

The **memory-bandwidth bound**: a large streaming read (``np.add.reduce`` over a float32 array far
larger than the caches) gives bytes/s; one query batch must read every document vector once, so the
bound is ``batch / (bytes of vectors / bandwidth)`` queries/s. For large batches the matrix product is
compute-bound instead, so the **compute bound** (``batch × docs × dim × 2`` FLOPs at the
single-precision ``sgemm`` rate measured here) is printed too; the roofline bound is the smaller of
the two rates.

Run (1M vectors need ~1.6 GB of disk in a temporary folder and ~3.5 GB of memory):

    .venv/bin/python benchmarks/bench_search.py --threads 1 --sizes 100000 1000000 --batches 1 64 --repeats 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    fmt,
    machine_header,
    markdown_table,
    median,
    pin_threads,
    time_repeats,
)

DIM = 384


class RandomVectorTask:
    """Shard task: unit-norm Gaussian vectors, one random stream per shard (fast to write at 1M rows)."""

    name = "bench-random-vectors"

    def __init__(self, dim: int = DIM, seed: int = 0) -> None:
        self.dim = dim
        self.seed = seed

    def fingerprint(self) -> dict[str, Any]:
        return {"task": self.name, "dim": self.dim, "seed": self.seed}

    def vectors(self, rng: Any, n: int) -> Any:
        """``n`` vectors drawn from ``rng`` (a subclass draws another distribution)."""
        import numpy as np

        batch = rng.standard_normal((n, self.dim), dtype=np.float32)
        return batch / np.linalg.norm(batch, axis=1, keepdims=True)

    def run(self, shard: Any, workdir: Path) -> dict[str, Any]:
        import numpy as np

        from xqg.distributed.vectors import VectorPartWriter
        from xqg.seeding import derive_seed

        rng = np.random.default_rng(derive_seed(self.seed, "shard", shard.index))
        writer = VectorPartWriter(workdir, len(shard), self.dim)
        for start in range(shard.start, shard.stop, 50_000):
            stop = min(start + 50_000, shard.stop)
            writer.write(self.vectors(rng, stop - start), ids=[f"doc-{r}" for r in range(start, stop)])
        return writer.close()


def bandwidth_bytes_per_s(array_bytes: int = 1 << 30, repeats: int = 5) -> float:
    """Streaming-read bandwidth: median bytes/s of ``np.add.reduce`` over a ``array_bytes`` float32 array."""
    import numpy as np

    data = np.ones(array_bytes // 4, dtype=np.float32)
    seconds, _ = time_repeats(lambda: np.add.reduce(data), repeats=repeats, warmup=1, cpu=True)
    return array_bytes / median(seconds)


def sgemm_flops_per_s(repeats: int = 3) -> float:
    """Single-precision matrix-product rate (FLOP/s) of this BLAS at the pinned thread count."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, DIM), dtype=np.float32)
    b = rng.standard_normal((DIM, 65536), dtype=np.float32)
    seconds, _ = time_repeats(lambda: a @ b, repeats=repeats, warmup=1, cpu=True)
    return 2 * a.shape[0] * a.shape[1] * b.shape[1] / median(seconds)


def numpy_topk(queries, vectors, k: int):  # noqa: ANN001, ANN201
    """Plain numpy: full score matrix, argpartition, argsort of the top ``k``."""
    import numpy as np

    scores = queries @ vectors.T
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-top, axis=1)
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(part, order, axis=1)


def make_engines(folder, index, flat, q, qids, k: int) -> dict[str, Any]:  # noqa: ANN001
    """The timed calls for one index size and one query batch."""
    from xqg.index import search
    from xqg.index.loaded_index import LoadedIndex

    return {
        "xqg search (streaming, mmap, checksums remembered)": lambda: search(q, qids, folder, k=k),
        "xqg search (streaming, sha256 every call)": lambda: search(q, qids, folder, k=k, verify="sha256"),
        "xqg LoadedIndex.open(verify=size) + search": lambda: LoadedIndex.open(folder, verify="size").search(
            q, qids, k=k
        ),
        "xqg LoadedIndex (in memory)": lambda: index.search(q, qids, k=k),
        "numpy matmul + argpartition": lambda: numpy_topk(q, index.vectors, k),
        "FAISS IndexFlatIP (in memory)": lambda: flat.search(q, k),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64], help="queries per call")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", default=None, help="where to write the shards (default: a temp folder)")
    args = parser.parse_args(argv)

    pin_threads(args.threads)
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(args.threads)
    from xqg.distributed import run_sharded
    from xqg.index.loaded_index import LoadedIndex

    bandwidth = bandwidth_bytes_per_s()
    flops = sgemm_flops_per_s()
    print(
        machine_header(
            "Exact search (384-d float32, inner product)",
            args.threads,
            {
                "streaming-read bandwidth (np.add.reduce, 1 GiB)": f"{bandwidth / 1e9:.1f} GB/s",
                "sgemm rate (256 x 384 x 65536)": f"{flops / 1e9:.1f} GFLOP/s",
                "k": args.k,
                "repeats": f"{args.repeats} timed after 1 warm-up; medians",
                "timing": "CPU seconds of this process (time.process_time: the work, robust to the other jobs "
                "sharing the cores; bandwidth and sgemm rate measured the same way); one wall-clock call for comparison",
            },
        )
    )
    print()
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for size in args.sizes:
            folder = Path(tmp) / f"vectors-{size}"
            run_sharded(RandomVectorTask(), size, folder, shard_size=100_000, show_progress=False)
            index = LoadedIndex.open(folder, verify="size")
            vectors = index.vectors
            flat = faiss.IndexFlatIP(DIM)
            flat.add(vectors)
            nbytes = vectors.nbytes
            rows = []
            for batch in args.batches:
                q = rng.standard_normal((batch, DIM), dtype=np.float32)
                q /= np.linalg.norm(q, axis=1, keepdims=True)
                qids = [f"q{i}" for i in range(batch)]
                bound_bw = batch * bandwidth / nbytes
                bound_compute = flops / (2 * size * DIM)
                bound = min(bound_bw, bound_compute)
                engines = make_engines(folder, index, flat, q, qids, args.k)
                for name, fn in engines.items():
                    seconds, _ = time_repeats(fn, repeats=args.repeats, warmup=1, cpu=True)
                    walls, _ = time_repeats(fn, repeats=1, warmup=0)
                    qps = batch / median(seconds)
                    rows.append(
                        [
                            name,
                            batch,
                            fmt(qps),
                            f"{median(seconds) * 1000:.1f}",
                            fmt(batch / walls[0]),
                            fmt(bound_bw),
                            f"{bound_bw / qps:.2f}x",
                            fmt(bound),
                            f"{bound / qps:.2f}x",
                        ]
                    )
            print(f"#### {size:,} vectors ({nbytes / 2**20:.0f} MiB)\n")
            print(
                markdown_table(
                    [
                        "engine",
                        "queries/call",
                        "queries/CPU-s",
                        "CPU ms/call",
                        "queries/wall-s",
                        "bandwidth bound q/s",
                        "bound / measured",
                        "roofline bound q/s",
                        "roofline / measured",
                    ],
                    rows,
                )
            )
            print()
            del index, vectors, flat
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
