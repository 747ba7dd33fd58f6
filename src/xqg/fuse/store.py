"""Read a fusion output back and write fused vectors for search.

:func:`load_fusion_store` reads the shards written by :class:`~xqg.fuse.task.FuseShardTask`
(verifying each against its manifest) and aligns passage vectors, sums and counts by the ids of each
shard. :class:`RefuseShardTask` turns it, shard by shard, into fused vectors in the ordinary vector
layout (``vectors.npy`` + ``ids.txt``) that :func:`xqg.index.search` and
:func:`xqg.distributed.load_vectors` read, so trying another α costs one pass over the stored arrays.

A store written with per-language sums (``FuseShardTask(languages=...)``, ``xqg fuse --per-language``)
gives, for each of its languages, a store of that language's queries only (``language=``): fused into
one passage matrix per query language, each query searched in its own language's matrix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from xqg.distributed import run_sharded
from xqg.distributed.manifest import output_identity, read_job_plan
from xqg.distributed.plan import ShardSpec
from xqg.distributed.reader import iter_finished_shards
from xqg.distributed.task import TaskSpec
from xqg.distributed.vectors import IDS_FILE, VectorPartWriter, read_ids
from xqg.errors import ConfigError, InputError
from xqg.fuse.fusion import (
    DEFAULT_ALPHA,
    FusionStore,
    check_equal_counts,
    check_fusion_settings,
    fuse_vectors,
)
from xqg.fuse.task import QCOUNT_FILE, QSUM_NAME, language_count_file, language_sum_name


def store_languages(out_dir: str | Path) -> list[str]:
    """The languages a fusion output holds separate sums for (empty: one mixed sum only)."""
    plan = read_job_plan(out_dir)
    if plan.task != "fuse":
        raise InputError(f"not a fusion output (task {plan.task!r})", path=out_dir)
    return list(plan.fingerprint.get("languages") or [])


def _check_language(out_dir: str | Path, language: str | None) -> None:
    if language is None:
        return
    held = store_languages(out_dir)
    if language not in held:
        raise ConfigError(
            f"the fusion output holds no per-language sums for {language!r} "
            + (f"(it has {', '.join(held)})" if held else "(it was built without --per-language)"),
        )


def _shard_arrays(
    shard_path: Path, manifest_files: dict[str, Any], language: str | None = None
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    ids = read_ids(shard_path / IDS_FILE)
    vectors = np.load(shard_path / "vectors.npy", allow_pickle=False)
    sum_name = QSUM_NAME if language is None else language_sum_name(language)
    count_file = QCOUNT_FILE if language is None else language_count_file(language)
    sums = np.load(shard_path / f"{sum_name}.npy", allow_pickle=False)
    counts = np.load(shard_path / count_file, allow_pickle=False)
    if not (len(ids) == vectors.shape[0] == sums.shape[0] == counts.shape[0]):
        raise InputError(
            f"misaligned fusion shard: {len(ids)} ids, {vectors.shape[0]} vectors, {sums.shape[0]} sums, "
            f"{counts.shape[0]} counts",
            path=shard_path,
        )
    return ids, vectors, sums, counts


def load_fusion_store(
    out_dir: str | Path, verify: str = "sha256", language: str | None = None
) -> FusionStore:
    """All shards of a fusion output as one :class:`FusionStore` (docid order).

    Args:
        out_dir: folder written by ``xqg fuse`` / ``run_sharded(FuseShardTask(...))``.
        verify: ``"sha256"``, ``"size"`` or ``"none"`` (see :func:`xqg.distributed.iter_finished_shards`).
        language: the sums of this language's queries only (a store built with per-language sums).

    Raises:
        InputError: the folder is not a fusion output, or a shard's arrays disagree in length.
        ConfigError: ``language`` has no sums of its own in this output.
    """
    plan = read_job_plan(out_dir)
    if plan.task != "fuse":
        raise InputError(f"not a fusion output (task {plan.task!r})", path=out_dir)
    _check_language(out_dir, language)
    ids: list[str] = []
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for shard in iter_finished_shards(out_dir, verify=verify):
        s_ids, vec, sums, counts = _shard_arrays(shard.path, shard.manifest["files"], language)
        ids.extend(s_ids)
        parts.append((vec, sums, counts))
    if not parts:
        raise InputError("fusion output has no shards", path=out_dir)
    return FusionStore(
        ids,
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def count_range(out_dir: str | Path, language: str | None = None) -> tuple[int, int]:
    """(min, max) number of queries per passage over a whole fusion output (reads only the counts),
    or of one language's queries."""
    _check_language(out_dir, language)
    count_file = QCOUNT_FILE if language is None else language_count_file(language)
    lo, hi = None, None
    for shard in iter_finished_shards(out_dir, verify="size"):
        counts = np.load(shard.path / count_file, allow_pickle=False)
        if counts.size:
            lo = int(counts.min()) if lo is None else min(lo, int(counts.min()))
            hi = int(counts.max()) if hi is None else max(hi, int(counts.max()))
    if lo is None or hi is None:
        raise InputError("fusion output has no passages", path=out_dir)
    return lo, hi


class RefuseShardTask:
    """Fused vectors ``(1 − α) E(p) + α Σ E(q)`` (or the mean) from a stored fusion output, per shard.

    Run it with the same ``num_rows`` and ``shard_size`` as the fusion output (see :func:`refuse`);
    shard ``i`` reads the fusion shard ``i`` only.

    Args:
        store_dir: the fusion output.
        alpha: weight of the query term.
        mode: ``"sum"`` or ``"mean"``.
        allow_unequal_counts: see :func:`xqg.fuse.fusion.fuse_vectors`.
        language: fuse this language's queries only (a store with per-language sums).
    """

    name = "fused-vectors"

    def __init__(
        self,
        store_dir: str | Path,
        alpha: float = DEFAULT_ALPHA,
        mode: str = "sum",
        allow_unequal_counts: bool = False,
        language: str | None = None,
    ) -> None:
        self.store_dir = Path(store_dir)
        self.alpha = float(alpha)
        self.mode = mode
        check_fusion_settings(self.alpha, mode)
        self.allow_unequal_counts = allow_unequal_counts
        plan = read_job_plan(self.store_dir)
        if plan.task != "fuse":
            raise InputError(f"not a fusion output (task {plan.task!r})", path=self.store_dir)
        _check_language(self.store_dir, language)
        self.language = language
        self._plan = plan
        self._store_content: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        if self._store_content is None:
            self._store_content = output_identity(self.store_dir)
        return {
            "task": self.name,
            # the store by content: its fingerprint and the checksums of its finished shards
            "store": {"sha256": self._store_content},
            "store_fingerprint": self._plan.fingerprint,
            "alpha": self.alpha,
            "mode": self.mode,
            **({"language": self.language} if self.language is not None else {}),
        }

    def to_spec(self) -> TaskSpec:
        return TaskSpec(
            f"{__name__}:RefuseShardTask",
            {
                "store_dir": str(self.store_dir),
                "alpha": self.alpha,
                "mode": self.mode,
                "allow_unequal_counts": self.allow_unequal_counts,
                "language": self.language,
            },
        )

    def run(self, shard: ShardSpec, workdir: Path) -> dict[str, Any]:
        source = self.store_dir / shard.dirname
        matching = [s for s in self._plan.shards if s.index == shard.index]
        if not matching or (matching[0].start, matching[0].stop) != (shard.start, shard.stop):
            raise ConfigError(
                f"shard {shard.index} (rows {shard.start}-{shard.stop}) does not match the fusion output's "
                "plan: re-fuse with the same shard size as the fusion run"
            )
        ids, vectors, sums, counts = _shard_arrays(source, {}, self.language)
        # The equal-count check is global and done by refuse(); per shard it would miss differences.
        fused = fuse_vectors(vectors, sums, counts, self.alpha, self.mode, allow_unequal_counts=True)
        with VectorPartWriter(workdir, len(ids), fused.shape[1]) as writer:
            writer.write(fused, ids=ids)
        extras = {"alpha": self.alpha, "mode": self.mode}
        if self.language is not None:
            extras["language"] = self.language
        return writer.close() | extras


def refuse(
    store_dir: str | Path,
    out_dir: str | Path,
    alpha: float = DEFAULT_ALPHA,
    mode: str = "sum",
    allow_unequal_counts: bool = False,
    show_progress: bool = False,
    language: str | None = None,
) -> list[Path]:
    """Write fused vectors for a whole fusion output into ``out_dir`` (sharded like the input).

    Checks first, over all shards, that every passage has the same number of queries when
    ``mode="sum"`` (see :func:`xqg.fuse.fusion.check_equal_counts`). With ``language``, the passages
    are fused with that language's queries only (the matrix that language's queries are searched in).

    Example:
        >>> import numpy as np, tempfile
        >>> from xqg.data.records import Passage
        >>> from xqg.distributed import run_sharded, load_vectors
        >>> from xqg.fuse.query_sources import FixedQuerySource
        >>> from xqg.fuse.task import FuseShardTask
        >>> class Enc:
        ...     def encode_passages(self, ps, batch_size=64, show_progress=False):
        ...         return np.ones((len(ps), 2), np.float32)
        ...     def encode_queries(self, ts, batch_size=64, show_progress=False):
        ...         return np.ones((len(ts), 2), np.float32)
        >>> ps = [Passage(f"d{i}", "x") for i in range(3)]
        >>> task = FuseShardTask(ps, FixedQuerySource({p.id: ["q"] for p in ps}), Enc(), "toy")
        >>> store, out = tempfile.mkdtemp(), tempfile.mkdtemp()
        >>> _ = run_sharded(task, 3, store, shard_size=2, show_progress=False)
        >>> _ = refuse(store, out, alpha=0.5)
        >>> load_vectors(out)[1].tolist()
        [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    """

    plan = read_job_plan(store_dir)
    if mode == "sum" and not allow_unequal_counts:
        lo, hi = count_range(store_dir, language)
        if lo != hi:
            check_equal_counts(np.array([lo, hi]))
    task = RefuseShardTask(store_dir, alpha, mode, allow_unequal_counts, language)
    return run_sharded(task, plan.num_rows, out_dir, shard_size=plan.shard_size, show_progress=show_progress)
