"""Soak the Ray engine: SIGKILL its workers at random while a job runs; compare with the in-process run.

For each task (the deterministic ``NumpyVectorTask`` and ``EncodeTask`` with a tiny random encoder)
this runs the job in-process, then on a local Ray cluster while :class:`xqg.distributed.testing.WorkerKiller`
kills workers at random moments (bounded count and time), re-running (resuming) the job whenever an
actor died more often than Ray restarts it, and prints one row per task: kills (mid-shard / starting),
runs needed, wall time, and whether every output file (hidden ones included) is byte-identical.

    .venv/bin/python benchmarks/ray_soak.py --kills 12 --seconds 120

Needs ``pip install 'xqg[ray]'``. The slow test ``tests/distributed/test_ray_soak.py`` runs the same
soak with smaller bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_header, markdown_table  # noqa: E402


def snapshot(out_dir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out_dir).as_posix(): (p.read_bytes() if p.is_file() else b"<dir>")
        for p in sorted(out_dir.rglob("*"))
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=12, help="kills per task at most (default 12)")
    parser.add_argument("--seconds", type=float, default=120.0, help="no kill after this (default 120)")
    parser.add_argument("--rows", type=int, default=2000, help="rows per job (default 2000)")
    parser.add_argument("--shard-size", type=int, default=20)
    parser.add_argument("--max-restarts", type=int, default=2, help="restarts of an actor before a re-run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")  # the raylet reports every kill otherwise
    import ray

    from xqg.distributed import run_sharded
    from xqg.distributed.testing import NumpyVectorTask, soak_on_ray
    from xqg.encode.task import EncodeTask
    from xqg.encode.testing import tiny_encoder

    root = Path(tempfile.mkdtemp(prefix="xqg-soak-"))
    tiny_encoder(seed=5).save(root / "encoder")
    rows = [{"_id": f"d{i}", "text": f"passage {i} about river {i % 7} " * 8} for i in range(args.rows)]
    (root / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    # (name, task factory, kill only workers in the middle of a shard)
    tasks = [
        (
            "NumpyVectorTask (dim 64, 20 ms a batch), killed at any moment",
            lambda: NumpyVectorTask(dim=64, seed=3, batch_size=4, delay=0.02),
            False,
        ),
        (
            "EncodeTask (tiny encoder, float32), killed mid-shard",
            lambda: EncodeTask(
                str(root / "corpus.jsonl"), model=str(root / "encoder"), precision="float32", batch_size=8
            ),
            True,
        ),
    ]
    print(machine_header("Ray soak: workers killed at random", 1, {
        "rows": args.rows, "shard size": args.shard_size, "kills at most": args.kills,
        "kill window (s)": args.seconds, "actor restarts before a re-run": args.max_restarts,
        "Ray actors": 2, "ray": ray.__version__,
    }))  # fmt: skip
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    table = []
    try:
        for i, (name, make, only_running) in enumerate(tasks):
            local, remote = root / f"local-{i}", root / f"ray-{i}"
            start = time.monotonic()
            run_sharded(make(), args.rows, local, args.shard_size, show_progress=False)
            local_s = time.monotonic() - start
            report = soak_on_ray(
                make(), args.rows, args.shard_size, remote, max_kills=args.kills, max_seconds=args.seconds,
                min_interval=0.5, max_interval=3.0, seed=args.seed + i, only_running=only_running,
                max_restarts=args.max_restarts, max_attempts=20,
            )  # fmt: skip
            mid = sum(1 for k in report.kills if k.name.endswith(".run"))
            same = snapshot(remote) == snapshot(local)
            table.append([
                name, f"{len(report.kills)} ({mid} mid-shard, {len(report.kills) - mid} starting)",
                report.attempts, f"{local_s:.1f}", f"{report.seconds:.1f}", len(list(local.glob("shard-*"))),
                "yes" if same else "NO",
            ])  # fmt: skip
    finally:
        ray.shutdown()
    print()
    print(markdown_table(
        ["task", "workers killed", "runs", "in-process s", "Ray soak s", "shards", "byte-identical"], table
    ))  # fmt: skip
    return 0 if all(row[-1] == "yes" for row in table) else 1


if __name__ == "__main__":
    sys.exit(main())
