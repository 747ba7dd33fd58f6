"""xQG fusion: add the embeddings of a passage's generated queries to its vector.

``ê_p = (1 − α) E(p) + α Σ_j E(q_j)`` (design.md §1). The sharded worker
(:class:`FuseShardTask`) stores passage vectors, per-passage query sums and counts, never the query
vectors; :class:`FusionStore` / :func:`refuse` re-fuse for any α without re-encoding;
:func:`alpha_sweep` tunes α on a dev split; :class:`QueryEmbeddingPredictor` is fusion without text
(predict the query embeddings from E(p), no generation).

Example:
    >>> import numpy as np
    >>> store = FusionStore(["d1"], np.array([[1.0, 0.0]]), np.array([[0.0, 2.0]]), np.array([2]))
    >>> store.fuse(alpha=0.5, mode="mean").tolist()
    [[0.5, 0.5]]
"""

from __future__ import annotations

from xqg.fuse.fusion import (
    DEFAULT_ALPHA,
    DEFAULT_MEAN_ALPHA,
    FUSION_MODES,
    FusionStore,
    accumulate,
    check_equal_counts,
    fuse_vectors,
)
from xqg.fuse.oracle import oracle_scores, oracle_scores_by_language
from xqg.fuse.predictor import QueryEmbeddingPredictor
from xqg.fuse.query_sources import (
    FixedQuerySource,
    GeneratedQueriesFile,
    GeneratorQuerySource,
    PredictedQuerySource,
    QuerySource,
    encode_and_accumulate,
)
from xqg.fuse.representation import (
    Representation,
    fuse_predictions,
    fuse_slot_sums,
    score_representation,
    slot_sums,
)
from xqg.fuse.store import RefuseShardTask, load_fusion_store, refuse, store_languages
from xqg.fuse.sweep import AlphaSweep, alpha_sweep, choose_alpha
from xqg.fuse.task import FuseShardTask, build_source

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_MEAN_ALPHA",
    "FUSION_MODES",
    "AlphaSweep",
    "FixedQuerySource",
    "FuseShardTask",
    "FusionStore",
    "GeneratedQueriesFile",
    "GeneratorQuerySource",
    "PredictedQuerySource",
    "QueryEmbeddingPredictor",
    "QuerySource",
    "RefuseShardTask",
    "Representation",
    "accumulate",
    "alpha_sweep",
    "build_source",
    "choose_alpha",
    "check_equal_counts",
    "encode_and_accumulate",
    "fuse_predictions",
    "fuse_slot_sums",
    "fuse_vectors",
    "load_fusion_store",
    "oracle_scores",
    "oracle_scores_by_language",
    "refuse",
    "score_representation",
    "slot_sums",
    "store_languages",
]
