"""The sharding and engine flags, identical in every sharded command (encode, generate, fuse).

A CLI module calls :func:`add_shard_arguments` on its parser and passes :func:`sharding_options` of
the parsed arguments to :func:`~xqg.distributed.run_sharded`::

    add_shard_arguments(parser)
    ...
    run_sharded(task, num_rows, args.output, **sharding_options(args))

This module imports neither torch nor Ray. It lives in the CLI (it was ``xqg.distributed.cli_args``):
its options take the CLI's value types (:mod:`xqg.cli.validators`).
"""

from __future__ import annotations

import argparse
from typing import Any

from xqg.cli.validators import non_negative_float, non_negative_int, positive_int
from xqg.errors import ConfigError

DEFAULT_SHARD_SIZE = 100_000


def add_shard_arguments(
    parser: argparse.ArgumentParser, default_shard_size: int = DEFAULT_SHARD_SIZE
) -> None:
    """Add ``--shard-size --engine --address --num-workers --gpus-per-worker --num-shards --shard-index
    --redo-corrupt --verify`` to ``parser``.

    Args:
        parser: the subcommand's parser.
        default_shard_size: rows per shard if ``--shard-size`` is not given.

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_shard_arguments(p)
        >>> args = p.parse_args(["--num-shards", "4", "--shard-index", "1"])
        >>> sharding_options(args)["shard_index"], engine_from_args(args)
        (1, 'inprocess')
    """
    group = parser.add_argument_group(
        "sharding and execution",
        "Output is written shard by shard (a folder per --shard-size rows, with manifest and DONE marker); "
        "re-running the same command resumes, skipping finished shards.",
    )
    group.add_argument(
        "--shard-size",
        type=positive_int,
        default=default_shard_size,
        help=f"input rows per shard (default {default_shard_size})",
    )
    group.add_argument(
        "--engine",
        choices=("inprocess", "ray"),
        default="inprocess",
        help="run shards in this process (default) or on a Ray actor pool",
    )
    group.add_argument(
        "--address",
        default=None,
        help="Ray cluster address (default: $RAY_ADDRESS, else a local cluster); --engine ray only",
    )
    group.add_argument(
        "--num-workers",
        type=positive_int,
        default=None,
        help="Ray actors, one model each (default: cluster CPUs, or GPUs with --gpus-per-worker)",
    )
    group.add_argument(
        "--gpus-per-worker",
        type=non_negative_float,
        default=0.0,
        help="GPUs per Ray actor (1 = one model per GPU); --engine ray only",
    )
    group.add_argument(
        "--num-shards",
        type=positive_int,
        default=None,
        help="batch scheduler: number of array tasks; this process runs plan shards i with "
        "i %% NUM_SHARDS == SHARD_INDEX",
    )
    group.add_argument(
        "--shard-index",
        type=non_negative_int,
        default=None,
        help="batch scheduler: this array task's 0-based index (e.g. $SLURM_ARRAY_TASK_ID)",
    )
    group.add_argument(
        "--redo-corrupt",
        action="store_true",
        help="recompute finished shards whose checksums do not match (default: stop with an error)",
    )
    group.add_argument(
        "--verify",
        choices=("sha256", "remembered", "size", "none"),
        default="sha256",
        help="how finished shards are checked before being skipped (default sha256: hash every part "
        "file; remembered: only files not verified before or changed since)",
    )


def engine_from_args(args: argparse.Namespace) -> Any:
    """``"inprocess"`` or a configured ``RayExecutor`` from the parsed flags.

    Example:
        >>> p = argparse.ArgumentParser(); add_shard_arguments(p)
        >>> type(engine_from_args(p.parse_args(["--engine", "ray", "--num-workers", "2"]))).__name__
        'RayExecutor'
    """
    engine = getattr(args, "engine", "inprocess")
    if engine == "inprocess":
        for flag in ("address", "num_workers"):
            if getattr(args, flag, None) is not None:
                raise ConfigError(f"--{flag.replace('_', '-')} only applies to --engine ray")
        return "inprocess"
    if engine == "ray":
        from xqg.distributed.ray_executor import RayExecutor  # imports Ray only when it runs

        return RayExecutor(
            address=args.address,
            num_workers=args.num_workers,
            num_gpus_per_worker=getattr(args, "gpus_per_worker", 0.0) or 0.0,
        )
    raise ConfigError(f"unknown engine {engine!r}")


def sharding_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for :func:`~xqg.distributed.run_sharded` from the parsed flags.

    Example:
        >>> p = argparse.ArgumentParser(); add_shard_arguments(p, default_shard_size=10)
        >>> sorted(sharding_options(p.parse_args([])))
        ['engine', 'num_shards', 'redo_corrupt', 'shard_index', 'shard_size', 'verify']
    """
    if args.shard_size < 1:
        raise ConfigError(f"--shard-size must be >= 1, got {args.shard_size}")
    if (args.num_shards is None) != (args.shard_index is None):
        raise ConfigError("--num-shards and --shard-index must be given together")
    if args.num_shards is not None and args.shard_index >= args.num_shards:
        raise ConfigError(f"--shard-index must be < --num-shards ({args.num_shards}), got {args.shard_index}")
    return {
        "shard_size": args.shard_size,
        "engine": engine_from_args(args),
        "num_shards": args.num_shards,
        "shard_index": args.shard_index,
        "redo_corrupt": args.redo_corrupt,
        "verify": args.verify,
    }
