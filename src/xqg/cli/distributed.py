"""``xqg shards status OUT_DIR``: what a sharded job has finished, what is left, what is corrupt.

Useful under a batch scheduler, to see which array tasks still have work and to check an output
folder before searching it. The sharded commands themselves (encode, generate, fuse) share their
flags through :func:`xqg.cli.shard_options.add_shard_arguments`.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``shards`` command."""
    parser = subparsers.add_parser(
        "shards",
        help="inspect sharded output folders (finished / missing / corrupt shards)",
        description="Inspect a folder written by a sharded command (encode, generate, fuse).",
    )
    sub = parser.add_subparsers(dest="shards_command", metavar="ACTION")
    status = sub.add_parser(
        "status", help="count finished, unfinished and corrupt shards; exit 1 unless complete"
    )
    from xqg.cli.validators import input_folder, positive_int

    status.add_argument("out_dir", type=input_folder, help="the sharded output folder")
    status.add_argument(
        "--verify",
        choices=("sha256", "size", "none"),
        default="sha256",
        help="how to check finished shards (default sha256)",
    )
    status.add_argument(
        "--num-shards",
        type=positive_int,
        default=None,
        help="also list which array task (--shard-index) owns each unfinished shard",
    )
    status.set_defaults(func=_status)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _status(args: argparse.Namespace) -> int:
    from xqg.distributed.manifest import ShardError, ShardState, read_job_plan, shard_state

    plan = read_job_plan(args.out_dir)
    done, todo, bad = 0, [], []
    for shard in plan.shards:
        try:
            state, _ = shard_state(
                Path(args.out_dir) / shard.dirname, shard, plan.task, plan.fingerprint, args.verify
            )
        except ShardError as exc:
            bad.append(str(exc))
            continue
        if state is ShardState.DONE:
            done += 1
        else:
            todo.append(shard)
    total = len(plan.shards)
    print(f"{args.out_dir}: task {plan.task}, {plan.num_rows} rows, {total} shards of {plan.shard_size}")
    print(f"  done {done}, unfinished {len(todo)}, corrupt {len(bad)}")
    for shard in todo[:20]:
        owner = f" (--shard-index {shard.index % args.num_shards})" if args.num_shards else ""
        print(f"  unfinished: {shard.dirname} rows {shard.start}-{shard.stop}{owner}")
    if len(todo) > 20:
        print(f"  ... and {len(todo) - 20} more")
    for message in bad:
        print(f"  corrupt: {message}")
    return 0 if done == total else 1
