"""bfloat16 encodings retrieve like float32 on the real encoder (XQuAD Success@1).

Every question of every XQuAD language (1,190 each) against the 240 English paragraphs (the
cross-lingual setting of design.md), both sides encoded at the precision under test. Two claims:

* **What ``--precision auto`` costs** (the default): auto is bfloat16 on CPUs with avx512_bf16/AMX
  and float32 elsewhere. Where it is bfloat16, no language may lose more than 0.1 point (one
  question of 1,190 is 0.084). Where it is float32 it costs nothing by construction.
* **bfloat16 asked for explicitly, on any CPU** (emulated where the CPU has no bf16 instructions):
  no language loses significantly (the project's paired randomisation test over the questions,
  p < 0.05) and the mean over languages moves by at most 0.1 point.

Measured (2026-12-06), Success@1 float32 / bfloat16:

* AMD EPYC with avx512_bf16 (auto = bfloat16): ar 65.04 / 64.96, de 83.87 / 83.78, el 72.02 / 71.93,
  en 93.11 / 93.11, es 87.39 / 87.39, hi 78.91 / 79.08, ru 80.00 / 79.92, th 73.45 / 73.78,
  tr 74.20 / 74.20, vi 70.59 / 70.50, zh 68.49 / 68.57: no language loses more than one question.
* AMD EPYC with AVX2 only (auto = float32; bfloat16 emulated, ~26 min vs ~4 min in float32): ar 64.87,
  ru 79.83 (two questions lost each), de 83.95, el 72.10, th 73.61 (gains), the rest equal; mean
  -0.007. The 0.1-point bound per language does not hold for emulated bfloat16 (its kernels round
  differently), which is why auto does not choose it there.
"""

from __future__ import annotations

import numpy as np
import pytest

from xqg.data.xquad import load_xquad
from xqg.evaluate.significance import randomisation_test
from xqg.index.ranking import rank_scores
from xqg.precision import resolve_precision

TOLERANCE = 0.1  # Success@1 points (one question of 1,190 is 0.084)
LEVEL = 0.05


@pytest.mark.slow
def test_bfloat16_retrieves_like_float32_and_auto_costs_at_most_a_tenth_of_a_point(xquad_dir) -> None:
    from xqg.encode import load_encoder

    auto = resolve_precision("auto", "cpu")
    assert auto in ("float32", "bfloat16")
    dataset = load_xquad(root=xquad_dir)
    doc_ids = [p.id for p in dataset.corpus]
    encoder = load_encoder(device="cpu", precision="float32")
    hits: dict[str, dict[str, np.ndarray]] = {}
    for precision in ("float32", "bfloat16"):
        encoder.precision = precision
        passages = encoder.encode_passages(dataset.corpus, batch_size=32)
        for lang, queries in sorted(dataset.queries.items()):
            vectors = encoder.encode_queries([q.text for q in queries], batch_size=64)
            run = rank_scores(vectors @ passages.T, [q.id for q in queries], doc_ids, k=1)
            found = [next(iter(run[q.id])) in dataset.qrels[q.id] for q in queries]
            hits.setdefault(lang, {})[precision] = np.asarray(found, dtype=np.float64)
    scores = {lang: {p: 100 * float(h.mean()) for p, h in by.items()} for lang, by in hits.items()}
    gaps = {lang: round(s["bfloat16"] - s["float32"], 2) for lang, s in scores.items()}
    print(
        f"auto = {auto}; Success@1 float32 / bfloat16:",
        {lang: (round(s["float32"], 2), round(s["bfloat16"], 2)) for lang, s in scores.items()},
    )
    assert len(scores) >= 11
    assert min(s["float32"] for s in scores.values()) > 50  # the real encoder, not a broken one
    if auto == "bfloat16":
        assert all(gap >= -TOLERANCE for gap in gaps.values()), (
            f"auto (bfloat16) - float32 Success@1 per language: {gaps}"
        )
    significant_losses = {}
    for lang, by in hits.items():
        test = randomisation_test(by["bfloat16"], by["float32"])
        if test.mean_difference < 0 and test.pvalue < LEVEL:
            significant_losses[lang] = (gaps[lang], test.pvalue)
    assert not significant_losses, f"bfloat16 loses significantly in {significant_losses}"
    assert abs(float(np.mean(list(gaps.values())))) <= TOLERANCE, f"mean gap over languages: {gaps}"
