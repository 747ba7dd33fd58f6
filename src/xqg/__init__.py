"""xqg: cross-lingual dense retrieval with query-generation-augmented passage representations.

Stages live in their own packages: :mod:`xqg.data`, :mod:`xqg.encode`, :mod:`xqg.generate`,
:mod:`xqg.fuse`, :mod:`xqg.index`, :mod:`xqg.evaluate`, :mod:`xqg.typos`, :mod:`xqg.train`,
:mod:`xqg.distributed` and :mod:`xqg.experiment`; :mod:`xqg.cli` is a thin command line over them.
"""

from __future__ import annotations

__version__ = "0.1.0"
