"""The ``--precision`` option, the same in every command that runs a model (encoding, retriever
inference, generation): ``auto`` (default), ``float32``, ``bfloat16``, ``float16``; see :mod:`xqg.precision`.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_precision_argument(parser, "the encoder")
    >>> parser.parse_args(["--precision", "bfloat16"]).precision
    'bfloat16'
"""

from __future__ import annotations

import argparse


def precision_setting(value: str) -> str:
    """``argparse`` type of every ``--precision``: the one spelling (:func:`xqg.precision.normalise_precision`;
    the deprecated ``fp32``/``bf16``/``fp16`` are accepted with a warning).

    Example:
        >>> precision_setting("auto")
        'auto'
    """
    from xqg.errors import ConfigError
    from xqg.precision import normalise_precision

    try:
        return normalise_precision(value)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_precision_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup, what: str) -> None:
    """Add ``--precision {auto,float32,bfloat16,float16}`` (default ``auto``) for ``what``.

    Example:
        >>> p = argparse.ArgumentParser(); add_precision_argument(p, "encoding")
        >>> p.parse_args([]).precision
        'auto'
    """
    parser.add_argument(
        "--precision",
        type=precision_setting,
        default="auto",
        metavar="{auto,float32,bfloat16,float16}",
        help=f"compute precision of {what}: auto (default) = bfloat16 on a CPU with avx512_bf16/AMX or a "
        "GPU with native bf16, else float32; float16 is a GPU setting. The choice is printed "
        "(docs/performance.md)",
    )
