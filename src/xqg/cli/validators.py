"""Argument types for the ``xqg`` command line: every value is checked when it is parsed.

Each function here is an argparse ``type=``: it receives the text of one value and returns the
parsed value or raises :class:`argparse.ArgumentTypeError`, which argparse prints as
``xqg CMD: error: argument --alpha: must be in [0, 1], got 1.5`` with exit status 2, before the
command does anything. Files are checked for existence, models for being a folder or a cached
Hugging Face id, output folders and files for being writable (a probe file is created and removed
in the nearest existing folder, so nothing is left behind). Reading and validating a file's content
comes later, in the readers (``path:line: message``), but still before any output is written.

Example:
    >>> import argparse
    >>> p = argparse.ArgumentParser(exit_on_error=False)
    >>> _ = p.add_argument("--alpha", type=unit_interval)
    >>> p.parse_args(["--alpha", "0.3"]).alpha
    0.3
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be an integer >= 1, got '0'
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xqg.errors import XqgError


def _fail(message: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(message)


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise _fail(f"must be an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise _fail(f"must be an integer >= {minimum}, got {text!r}")
        return value

    parse.__name__ = f"integer>={minimum}"
    return parse


positive_int = _int_at_least(1)
"""An integer >= 1 (counts, sizes, ``k``)."""

non_negative_int = _int_at_least(0)
"""An integer >= 0 (seeds, indexes, thread counts where 0 means the default)."""


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _fail(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise _fail(f"must be a finite number, got {text!r}")
    return value


def unit_interval(text: str) -> float:
    """A number in [0, 1] (α, probabilities, rates).

    Example:
        >>> unit_interval("1.5")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must be in [0, 1], got 1.5
    """
    value = _finite(text)
    if not 0.0 <= value <= 1.0:
        raise _fail(f"must be in [0, 1], got {value:g}")
    return value


def unit_interval_list(text: str) -> list[float]:
    """Comma-separated numbers in [0, 1] (an α sweep), at least one.

    Example:
        >>> unit_interval_list("0, 0.01,0.3")
        [0.0, 0.01, 0.3]
    """
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise _fail("expected comma-separated numbers in [0, 1], got nothing")
    out = []
    for part in parts:
        try:
            out.append(unit_interval(part))
        except argparse.ArgumentTypeError as exc:
            raise _fail(f"{part!r}: {exc}") from None
    return out


def positive_float(text: str) -> float:
    """A finite number > 0 (learning rates, ridge penalties, memory sizes)."""
    value = _finite(text)
    if value <= 0:
        raise _fail(f"must be > 0, got {value:g}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (GPUs per worker, penalties that may be off)."""
    value = _finite(text)
    if value < 0:
        raise _fail(f"must be >= 0, got {value:g}")
    return value


def language_code(text: str) -> str:
    """One language code (any ISO 639 / BCP-47 code: :func:`xqg.data.languages.check_language_code`),
    returned stripped.

    Example:
        >>> language_code(" pt-BR ")
        'pt-BR'
    """
    from xqg.data.languages import check_language_code

    try:
        return check_language_code(text)
    except XqgError as exc:
        raise _fail(getattr(exc, "message", str(exc))) from None


def language_list(text: str) -> list[str]:
    """Comma-separated language codes (:func:`language_code`), at least one, no repeats (the order
    is kept).

    Example:
        >>> language_list("de, ru")
        ['de', 'ru']
        >>> language_list("de,zz")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: 'zz' is not a language code ...
    """
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise _fail("expected comma-separated language codes, got nothing")
    out: list[str] = []
    for part in parts:
        code = language_code(part)  # its message names the code
        if code in out:
            raise _fail(f"language {code!r} is given twice")
        out.append(code)
    return out


def metrics(text: str) -> str:
    """Comma-separated metric names that :func:`xqg.evaluate.measures.parse_measures` knows
    (``Success@1,MRR@10,R@2kt``); returned as given.

    Example:
        >>> metrics("Hit@1, nDCG@10")
        'Hit@1, nDCG@10'
    """
    from xqg.evaluate.measures import parse_measures

    try:
        if not parse_measures(text):
            raise _fail("expected comma-separated metric names, got nothing")
    except XqgError as exc:
        raise _fail(str(exc)) from None
    return text


def device(text: str) -> str:
    """A device name (``auto``, ``cpu``, ``cuda``, ``cuda:N``: :func:`xqg.devices.check_device_name`).
    Whether the machine has that GPU is checked where the work runs."""
    from xqg.devices import check_device_name

    try:
        return check_device_name(text)
    except XqgError as exc:
        raise _fail(str(exc)) from None


def run_tag(text: str) -> str:
    """A TREC run tag: non-empty, no whitespace (the file is whitespace separated)."""
    if not text or any(c.isspace() for c in text):
        raise _fail(f"a run tag must be non-empty and hold no whitespace, got {text!r}")
    return text


def input_file(text: str) -> str:
    """An existing file (not a folder); returned as given."""
    path = Path(text).expanduser()
    if not path.exists():
        raise _fail(f"no such file: {text}")
    if path.is_dir():
        raise _fail(f"{text} is a folder, expected a file")
    return text


def input_path(text: str) -> str:
    """An existing file or folder; returned as given."""
    if not Path(text).expanduser().exists():
        raise _fail(f"no such file or folder: {text}")
    return text


def input_folder(text: str) -> str:
    """An existing folder; returned as given."""
    path = Path(text).expanduser()
    if not path.exists():
        raise _fail(f"no such folder: {text}")
    if not path.is_dir():
        raise _fail(f"{text} is a file, expected a folder")
    return text


def corpus_file(text: str) -> str:
    """An existing corpus or queries file whose format the name tells (``.jsonl``/``.tsv``, ``.gz``)."""
    from xqg.data.corpus import file_format

    input_file(text)
    try:
        file_format(text)
    except XqgError as exc:
        raise _fail(str(exc)) from None
    return text


def model_path(what: str, allow_default: bool = False) -> Callable[[str], str]:
    """A type for a model flag: a model folder or a Hugging Face id in the local cache
    (:func:`xqg.model_paths.check_model_source`); with ``allow_default``, also ``"default"`` (the
    embedded default model; returned as given).

    Example:
        >>> model_path("encoder")("/no/such/model")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: encoder '/no/such/model': no such folder
    """

    def parse(text: str) -> str:
        from xqg.model_paths import check_model_source

        if allow_default and text == "default":
            return text
        try:
            return check_model_source(text, what)
        except XqgError as exc:
            raise _fail(str(exc)) from None

    parse.__name__ = f"{what} folder"
    return parse


def output_folder(text: str) -> str:
    """A folder that exists or can be created, and can be written (probed, nothing left behind)."""
    from xqg.data.output_paths import check_output_folder

    try:
        check_output_folder(text)
    except XqgError as exc:
        raise _fail(str(exc)) from None
    return text


def output_file(text: str) -> str:
    """A file that can be created or replaced (its folder probed, nothing left behind)."""
    from xqg.data.output_paths import check_output_file

    try:
        check_output_file(text)
    except XqgError as exc:
        raise _fail(str(exc)) from None
    return text


def one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    """One of ``choices`` (for options whose values come from a settings class).

    Example:
        >>> one_of(("a", "b"))("b")
        'b'
    """

    def parse(text: str) -> str:
        if text not in choices:
            raise _fail(f"expected one of {', '.join(choices)}, got {text!r}")
        return text

    return parse


def choice_list(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    """Comma-separated values, each one of ``choices``."""

    def parse(text: str) -> list[str]:
        parts = [part.strip() for part in text.split(",") if part.strip()]
        bad = [part for part in parts if part not in choices]
        if not parts or bad:
            raise _fail(f"expected comma-separated values of {', '.join(choices)}, got {text!r}")
        return parts

    return parse


def check_together(args: Any, *pairs: tuple[str, str]) -> None:
    """Raise :class:`~xqg.errors.ConfigError` unless each pair of flags is given together or not at all."""
    from xqg.errors import ConfigError

    for first, second in pairs:
        if (getattr(args, first, None) is None) != (getattr(args, second, None) is None):
            raise ConfigError(
                f"--{first.replace('_', '-')} and --{second.replace('_', '-')} must be given together"
            )
