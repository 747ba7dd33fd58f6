"""The ``xqg`` command.

Each stage contributes a module in :mod:`xqg.cli` with a ``register(subparsers)`` function that adds
its subcommands and sets ``func`` (called with the parsed arguments, returning an exit code). The
modules must import lightly (no torch at import time) so that ``xqg --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
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
