"""``--precision auto`` retrieves like float32 on the real encoder: XQuAD Success@1 within 0.1 point.

auto is bfloat16 on CPUs with avx512_bf16/AMX and GPUs with native bf16, float32 elsewhere, so the
check compares bfloat16 (what auto chooses where it is not float32) with float32 on every machine:
every question of every XQuAD language (1,190 each) against the 240 English paragraphs (the
cross-lingual setting of design.md), both sides encoded at the precision under test.

Measured (2026-12-06, AMD EPYC with avx512_bf16), Success@1 float32 / bfloat16: ar 65.04 / 64.96,
de 83.87 / 83.78, el 72.02 / 71.93, en 93.11 / 93.11, es 87.39 / 87.39, hi 78.91 / 79.08, ru 80.00 /
79.92, th 73.45 / 73.78, tr 74.20 / 74.20, vi 70.59 / 70.50, zh 68.49 / 68.57: no language loses more
than one question (0.084), the mean over languages moves by +0.02, but bfloat16 *gains* 2 questions in
hi (+0.17) and 4 in th (+0.34), so "equal within 0.1 per language" read two-sided does not hold there.
The assertion is the one-sided reading (auto never costs more than 0.1 point in any language) plus
the mean within 0.1; the two-sided gaps are printed (docs/performance.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from xqg.data.xquad import load_xquad
from xqg.index.ranking import rank_scores
from xqg.precision import resolve_precision

TOLERANCE = 0.1  # Success@1 points (one question of 1,190 is 0.084)


@pytest.mark.slow
def test_bfloat16_success_at_1_loses_at_most_a_tenth_of_a_point_to_float32(xquad_dir) -> None:
    from xqg.encode import load_encoder

    assert resolve_precision("auto", "cpu") in ("float32", "bfloat16")
    dataset = load_xquad(root=xquad_dir)
    doc_ids = [p.id for p in dataset.corpus]
    encoder = load_encoder(device="cpu", precision="float32")
    scores: dict[str, dict[str, float]] = {}
    for precision in ("float32", "bfloat16"):
        encoder.precision = precision
        passages = encoder.encode_passages(dataset.corpus, batch_size=32)
        for lang, queries in sorted(dataset.queries.items()):
            vectors = encoder.encode_queries([q.text for q in queries], batch_size=64)
            run = rank_scores(vectors @ passages.T, [q.id for q in queries], doc_ids, k=1)
            hits = [next(iter(run[q.id])) in dataset.qrels[q.id] for q in queries]
            scores.setdefault(lang, {})[precision] = 100 * float(np.mean(hits))
    gaps = {lang: round(s["bfloat16"] - s["float32"], 2) for lang, s in scores.items()}
    print(
        "Success@1 float32 / bfloat16:",
        {lang: (round(s["float32"], 2), round(s["bfloat16"], 2)) for lang, s in scores.items()},
    )
    assert len(scores) >= 11
    assert min(s["float32"] for s in scores.values()) > 50  # the real encoder, not a broken one
    assert all(gap >= -TOLERANCE for gap in gaps.values()), (
        f"bfloat16 - float32 Success@1 per language: {gaps}"
    )
    assert abs(float(np.mean(list(gaps.values())))) <= TOLERANCE, f"mean gap over languages: {gaps}"
