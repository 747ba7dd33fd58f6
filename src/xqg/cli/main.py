"""The ``xqg`` command.

Each stage contributes a module in :mod:`xqg.cli` with a ``register(subparsers)`` function that adds
its subcommands and sets ``func`` (called with the parsed arguments, returning an exit code). The
modules must import lightly (no torch at import time) so that ``xqg --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import MutableMapping, Sequence
from typing import NoReturn

from xqg import __version__
from xqg.errors import XqgError

# Order is the order in ``xqg --help``: the pipeline's order.
COMMAND_MODULES: tuple[str, ...] = (
    "data",
    "encode",
    "search",
    "evaluate",
    "compare",
    "generate",
    "fuse",
    "train",
    "typos",
    "robustness",
    "distributed",
    "run",
)


class XqgArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit status 2), not the whole usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n(see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser with every stage's subcommands."""
    parser = XqgArgumentParser(
        prog="xqg",
        description="Cross-lingual dense retrieval with query generation (xQG): data, encoding, "
        "generation, fusion, search, evaluation, misspelling robustness.",
    )
    parser.add_argument("--version", action="version", version=f"xqg {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"xqg.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"xqg.cli.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def sleep_waiting_threads(
    environ: MutableMapping[str, str] = os.environ, load: float | None = None, cores: int | None = None
) -> bool:
    """On a machine with more runnable jobs than cores, make OpenMP's waiting threads sleep, not spin.

    PyTorch's OpenMP threads spin while they wait for each other (GNU OpenMP's default). When the
    machine is oversubscribed a spinning thread burns the core its partner needs: measured on the
    shared 2-core machine at load 13, encoding 600 questions with 2 threads took 21.7 CPU-s and 97 s
    against 2.6 CPU-s and 7.6 s with ``OMP_WAIT_POLICY=PASSIVE`` (1 thread: 2.6 CPU-s, 21 s). So when
    the 1-minute load average is at least the number of cores, and the user set neither
    ``OMP_WAIT_POLICY`` nor ``GOMP_SPINCOUNT``, this sets ``OMP_WAIT_POLICY=PASSIVE`` (read by OpenMP
    when torch is first imported, so it is called before any command runs; worker processes inherit
    it). An idle machine keeps OpenMP's default.

    Args:
        environ: the environment to set (default ``os.environ``).
        load: the 1-minute load average (default :func:`os.getloadavg`).
        cores: usable cores (default :func:`os.sched_getaffinity` or :func:`os.cpu_count`).

    Returns:
        Whether the policy was set.

    Example:
        >>> env = {}
        >>> sleep_waiting_threads(env, load=13.0, cores=2), env
        (True, {'OMP_WAIT_POLICY': 'PASSIVE'})
        >>> sleep_waiting_threads({}, load=0.5, cores=2)
        False
    """
    if "OMP_WAIT_POLICY" in environ or "GOMP_SPINCOUNT" in environ:
        return False
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:  # not available on this platform
            return False
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if load < cores:
        return False
    environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xqg`` console script.

    Exit codes (docs/reliability.md): 0 done; 2 a bad argument, input or output (argparse's usage
    errors, :class:`~xqg.errors.XqgError`: ``path:line: message``, nothing written); 1 the file system
    failed during the work (an ``OSError``: message without a traceback, re-run to resume);
    130 interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # which SIMD build it tried, at INFO
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if "torch" not in sys.modules and sleep_waiting_threads():  # before OpenMP starts (with torch)
        logging.getLogger(__name__).info(
            "this machine is busy (load %.1f): OpenMP threads sleep while they wait (OMP_WAIT_POLICY=PASSIVE; "
            "set OMP_WAIT_POLICY to choose)",
            os.getloadavg()[0],
        )
    try:
        return int(args.func(args) or 0)
    except XqgError as exc:
        print(f"xqg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the file system failed during the work (disk full, a file removed meanwhile)
        if args.verbose:
            raise
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(
            f"xqg {args.command}: error: {where}{exc.strerror or exc}; re-run the same command to resume "
            "(-v shows the traceback)",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print(f"xqg {args.command}: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
