from __future__ import annotations

import numpy

from xqg.data.packages import installed_version


def test_installed_version_of_an_installed_distribution() -> None:
    assert installed_version("numpy") == numpy.__version__


def test_installed_version_of_a_missing_distribution_is_unknown() -> None:
    assert installed_version("no-such-distribution-for-xqg") == "unknown"
