"""Content-addressed stage cache: a stage is redone only when its inputs or settings change.

Each stage result lives in ``<root>/<stage>-<key>/`` where ``key`` hashes the stage name, its
settings and the keys of the stages it consumes. A result folder is complete only once its
``DONE`` file exists (it is built in a temporary folder and renamed), so an interrupted run never
leaves a result that looks finished.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xqg import __version__


def content_key(stage: str, settings: Mapping[str, Any], inputs: Mapping[str, str] | None = None) -> str:
    """Hash a stage's identity: its name, its settings and the keys of its inputs.

    Args:
        stage: stage name, e.g. ``"encode-passages"``.
        settings: JSON-serialisable settings that change the stage's output.
        inputs: ``{name: key}`` of upstream stage results.

    Example:
        >>> content_key("a", {"x": 1}) == content_key("a", {"x": 1})
        True
        >>> content_key("a", {"x": 1}) == content_key("a", {"x": 2})
        False
    """
    payload = json.dumps(
        {"stage": stage, "settings": settings, "inputs": dict(inputs or {}), "xqg": __version__},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class StageResult:
    """A finished stage: its key and its folder."""

    stage: str
    key: str
    path: Path
    cached: bool


class StageCache:
    """Runs stages at most once per content key.

    Args:
        root: folder holding one sub-folder per stage result.

    Example:
        >>> import tempfile
        >>> cache = StageCache(tempfile.mkdtemp())
        >>> calls = []
        >>> def build(out):
        ...     calls.append(1)
        ...     (out / "x.txt").write_text("done")
        >>> a = cache.run("demo", {"n": 1}, build)
        >>> b = cache.run("demo", {"n": 1}, build)
        >>> (a.cached, b.cached, len(calls))
        (False, True, 1)
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, stage: str, key: str) -> Path:
        """Folder of a stage result."""
        return self.root / f"{stage}-{key}"

    def run(
        self,
        stage: str,
        settings: Mapping[str, Any],
        build: Callable[[Path], None],
        inputs: Mapping[str, str] | None = None,
        resumable: bool = False,
    ) -> StageResult:
        """Return the cached result of ``stage`` or build it with ``build(tmp_folder)``.

        Args:
            stage: stage name.
            settings: settings that determine the output.
            build: function writing the result into the folder it is given.
            inputs: ``{name: key}`` of upstream results.
            resumable: build in ``.<stage>-<key>.partial``, kept when the build fails or is
                killed, so a build that resumes by itself (sharded encoding, generation, fusion)
                continues there on the next run; otherwise a fresh temporary folder, removed on failure.
        """
        key = content_key(stage, settings, inputs)
        final = self.path_for(stage, key)
        if (final / "DONE").exists():
            return StageResult(stage, key, final, cached=True)
        if final.exists():
            shutil.rmtree(final)
        if resumable:
            tmp = self.root / f".{stage}-{key}.partial"
            tmp.mkdir(exist_ok=True)
        else:
            tmp = Path(tempfile.mkdtemp(prefix=f".{stage}-", dir=self.root))
        try:
            build(tmp)
            (tmp / "stage.json").write_text(
                json.dumps(
                    {"stage": stage, "key": key, "settings": settings, "inputs": dict(inputs or {})},
                    indent=2,
                    default=str,
                    ensure_ascii=False,
                ),
                encoding="utf-8",
            )
            (tmp / "DONE").write_text("ok\n", encoding="utf-8")
            tmp.rename(final)
        except BaseException:
            if not resumable:
                shutil.rmtree(tmp, ignore_errors=True)
            raise
        return StageResult(stage, key, final, cached=False)
