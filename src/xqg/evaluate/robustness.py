"""Robustness of a dense retriever to misspelled queries (``xqg robustness``).

For each query language: the clean score, the score under each of K seeded misspelled variants of
the query set (:func:`xqg.typos.misspell_queries`), and

- ``mean``/``sd``: mean and sample standard deviation over the K variant scores;
- ``drop``: relative drop ``(clean - mean) / clean`` (:func:`xqg.evaluate.typo_drops.relative_drop`);
- ``cer``: character error rate, grapheme edit distance / graphemes of the clean query, averaged
  over queries and variants (clusters, so a Devanagari vowel sign or a Hangul syllable is one);
- ``d_tokens``: change in subword tokens per query (typo minus clean, mean);
- ``pvalue``: paired test (t-test or randomisation) of each query's clean value against the mean of
  its K variant values, Holm-corrected over the languages (``pvalue_holm``); groups and the macro
  average use :func:`xqg.evaluate.compare_per_query` on the queries of the group.

Languages are grouped into low and high resource (:attr:`xqg.data.languages.Language.resource_group`).
Scoring is exact inner product over an in-memory corpus (benchmark sized: XQuAD's 240 paragraphs)
ranked by :func:`xqg.index.rank_scores`; the corpus, each language's clean queries and each variant
are cached in ``cache_dir`` (:class:`xqg.encode.cache.EncodingCache`), so a re-run encodes nothing
and more variants encode only the new ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xqg.data.atomic import atomic_write_json, atomic_write_text
from xqg.data.languages import get_language
from xqg.data.records import Query, RetrievalDataset, passage_text
from xqg.encode.cache import EncodingCache, encoder_function, encoder_key
from xqg.errors import ConfigError
from xqg.evaluate.qrel_metrics import evaluate_run
from xqg.evaluate.significance import compare_per_query, holm, paired_test
from xqg.evaluate.typo_drops import mean_over_variants, relative_drop
from xqg.index.ranking import rank_scores
from xqg.seeding import derive_seed
from xqg.typos.generator import misspell_queries
from xqg.typos.text import grapheme_distance, graphemes

if TYPE_CHECKING:
    from xqg.encode.dual_encoder import DualEncoder


@dataclass
class LanguageRobustness:
    """One row of the robustness table (values are fractions; tables print percentages)."""

    lang: str
    group: str
    queries: int
    clean: float
    mean: float
    sd: float
    drop: float
    cer: float
    d_tokens: float
    pvalue: float
    pvalue_holm: float = math.nan
    variant_scores: list[float] = field(default_factory=list)


@dataclass
class RobustnessReport:
    """The result of :func:`evaluate_robustness`: rows per language, groups and settings."""

    metric: str
    protocol: str
    num_variants: int
    seed: int
    test: str
    languages: list[LanguageRobustness]
    groups: list[LanguageRobustness]
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "metric": self.metric,
            "protocol": self.protocol,
            "num_variants": self.num_variants,
            "seed": self.seed,
            "test": self.test,
            "settings": self.settings,
            "languages": [asdict(r) for r in self.languages],
            "groups": [asdict(r) for r in self.groups],
        }

    def to_markdown(self, alpha: float = 0.05) -> str:
        """The table: per language, then the groups and the macro average.

        ``*`` marks a drop significant at ``alpha`` (Holm-corrected over languages for the rows of
        languages; groups are single tests).
        """
        k = self.num_variants
        head = (
            f"| lang | group | n | clean {self.metric} | typo mean ± sd (K={k}) | rel. drop | CER | "
            "Δ tokens/query | p |\n|---|---|---|---|---|---|---|---|---|"
        )
        lines = [head]
        for r in self.languages + self.groups:
            p = r.pvalue_holm if not math.isnan(r.pvalue_holm) else r.pvalue
            star = "*" if p < alpha else ""
            lines.append(
                f"| {r.lang} | {r.group} | {r.queries} | {100 * r.clean:.1f} | {100 * r.mean:.1f} ± "
                f"{100 * r.sd:.1f} | {100 * r.drop:.1f}%{star} | {100 * r.cer:.1f}% | {r.d_tokens:+.2f} | "
                f"{p:.2g} |"
            )
        return "\n".join(lines) + "\n"


def sample_queries(queries: Sequence[Query], max_queries: int | None, seed: int) -> list[Query]:
    """A seeded subset of at most ``max_queries`` queries, in their original order.

    Queries are ranked by ``derive_seed(seed, base id)``, where the base id is the part before
    ``/`` (XQuAD's ``{squad_id}/{lang}``), so the same questions are chosen in every language.

    Example:
        >>> qs = [Query(f"q{i}/de", "x", "de") for i in range(5)]
        >>> [q.id for q in sample_queries(qs, 2, 0)] == [q.id for q in sample_queries(qs, 2, 0)]
        True
    """
    if max_queries is None or max_queries >= len(queries):
        return list(queries)
    ranked = sorted(
        range(len(queries)), key=lambda i: derive_seed(seed, "sample", queries[i].id.split("/")[0])
    )
    keep = set(ranked[:max_queries])
    return [q for i, q in enumerate(queries) if i in keep]


def _scores(
    query_vectors: np.ndarray,
    passage_vectors: np.ndarray,
    qids: list[str],
    doc_ids: list[str],
    qrels: Mapping[str, Mapping[str, int]],
    metric: str,
    depth: int,
) -> dict[str, float]:
    run = rank_scores(query_vectors @ passage_vectors.T, qids, doc_ids, k=min(depth, len(doc_ids)))
    return evaluate_run(run, {q: dict(qrels[q]) for q in qids}, [metric])[metric]


def evaluate_robustness(
    dataset: RetrievalDataset,
    encoder: DualEncoder,
    *,
    languages: Sequence[str] | None = None,
    num_variants: int = 10,
    seed: int = 0,
    protocol: str = "one-typo",
    metric: str = "Success@1",
    test: str = "ttest",
    max_queries: int | None = None,
    cache_dir: str | Path | None = None,
    batch_size: int = 64,
    depth: int = 100,
    show_progress: bool = False,
    typo_options: Mapping[str, Any] | None = None,
) -> RobustnessReport:
    """Score a retriever on clean queries and K misspelled variants, per language.

    Args:
        dataset: queries per language, corpus and qrels (e.g. :func:`xqg.data.load_xquad`).
        encoder: the retriever (:func:`xqg.encode.load_encoder`).
        languages: query languages to use (default: all of the dataset's).
        num_variants: K, the number of seeded misspelled variants of each query set.
        seed: base seed of the typos (and of the query sample and randomisation test).
        protocol: typo protocol (:data:`xqg.typos.PROTOCOLS`).
        metric: one qrel metric (``Success@1``, ``MRR@10``, ``nDCG@10`` ...).
        test: ``"ttest"`` or ``"randomisation"``.
        max_queries: use a seeded subset of this many queries per language (same questions in
            every language for parallel sets); ``None`` = all.
        cache_dir: folder of the encoding cache (``None``: memory only).
        batch_size: encoding batch size.
        depth: ranking depth.
        show_progress: tqdm bars.
        typo_options: more options for :func:`xqg.typos.misspell` (``num_typos``, ``rate``, ``idf``).

    Returns:
        A :class:`RobustnessReport`.

    Example:
        >>> from xqg.encode.testing import tiny_encoder  # doctest: +SKIP
        >>> report = evaluate_robustness(dataset, tiny_encoder(), num_variants=2)  # doctest: +SKIP
        >>> print(report.to_markdown())  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    if num_variants < 1:
        raise ConfigError(f"num_variants must be >= 1 (got {num_variants})")
    langs = list(languages) if languages else sorted(dataset.queries)
    missing = [lang for lang in langs if lang not in dataset.queries]
    if missing:
        raise ConfigError(
            f"languages {missing} not in dataset {dataset.name!r} (has {sorted(dataset.queries)})"
        )
    cache = EncodingCache(cache_dir, encoder_key(encoder), {"batch_size": batch_size})

    def encode(texts: list[str], kind: str = "query") -> np.ndarray:
        return cache.encode(texts, kind, encoder_function(encoder, kind, batch_size, show_progress))

    doc_ids = [p.id for p in dataset.corpus]
    passage_vectors = encode([passage_text(p) for p in dataset.corpus], "passage")

    clean_by_q: dict[str, float] = {}
    typo_by_q: dict[str, float] = {}
    query_lang: dict[str, str] = {}
    rows: list[LanguageRobustness] = []
    for lang in tqdm(langs, desc="languages", disable=not show_progress):
        queries = [
            q for q in sample_queries(dataset.queries[lang], max_queries, seed) if dataset.qrels.get(q.id)
        ]
        qids = [q.id for q in queries]
        clean_texts = [q.text for q in queries]
        clean = _scores(encode(clean_texts), passage_vectors, qids, doc_ids, dataset.qrels, metric, depth)
        clean_tokens = [len(ids) for ids in encoder.tokenize(clean_texts, "query")]
        per_variant: list[dict[str, float]] = []
        cer: list[float] = []
        d_tokens: list[float] = []
        for variant in range(num_variants):
            typo = misspell_queries(queries, seed, variant, protocol, **dict(typo_options or {}))
            texts = [q.text for q in typo]
            per_variant.append(
                _scores(encode(texts), passage_vectors, qids, doc_ids, dataset.qrels, metric, depth)
            )
            for a, b in zip(clean_texts, texts, strict=True):
                cer.append(grapheme_distance(a, b) / max(1, len(graphemes(a))))
            typo_tokens = [len(ids) for ids in encoder.tokenize(texts, "query")]
            d_tokens.extend(t - c for t, c in zip(typo_tokens, clean_tokens, strict=True))
        typo_mean = mean_over_variants(per_variant)
        variant_scores = [float(np.mean([v[q] for q in qids])) for v in per_variant]
        clean_score = float(np.mean([clean[q] for q in qids]))
        mean = float(np.mean(variant_scores))
        result = paired_test(
            [typo_mean[q] for q in qids],
            [clean[q] for q in qids],
            test=test,
            seed=derive_seed(seed, "test", lang),
        )
        rows.append(
            LanguageRobustness(
                lang=lang,
                group=get_language(lang).resource_group,
                queries=len(qids),
                clean=clean_score,
                mean=mean,
                sd=float(np.std(variant_scores, ddof=1)) if num_variants > 1 else 0.0,
                drop=relative_drop(clean_score, mean),
                cer=float(np.mean(cer)),
                d_tokens=float(np.mean(d_tokens)),
                pvalue=result.pvalue,
                variant_scores=variant_scores,
            )
        )
        for q in qids:
            clean_by_q[q], typo_by_q[q], query_lang[q] = clean[q], typo_mean[q], lang
    corrected = holm({r.lang: (1.0 if math.isnan(r.pvalue) else r.pvalue) for r in rows})
    for r in rows:
        r.pvalue_holm = corrected[r.lang]
    groups = [
        _group_row(
            name,
            [r for r in rows if name == "avg" or r.group == name],
            clean_by_q,
            typo_by_q,
            query_lang,
            test,
            seed,
        )
        for name in ("low", "high", "avg")
    ]
    return RobustnessReport(
        metric=metric,
        protocol=protocol,
        num_variants=num_variants,
        seed=seed,
        test=test,
        languages=rows,
        groups=[g for g in groups if g is not None],
        settings={
            "dataset": dataset.name,
            "max_queries": max_queries,
            "encoder": getattr(encoder, "name", None),
            "typo_options": {k: v for k, v in dict(typo_options or {}).items() if k != "idf"},
        },
    )


def _group_row(
    name: str,
    rows: list[LanguageRobustness],
    clean_by_q: dict[str, float],
    typo_by_q: dict[str, float],
    query_lang: dict[str, str],
    test: str,
    seed: int,
) -> LanguageRobustness | None:
    if not rows:
        return None
    members = {r.lang for r in rows}
    qids = [q for q, lang in query_lang.items() if lang in members]
    result = compare_per_query(
        {q: typo_by_q[q] for q in qids},
        {q: clean_by_q[q] for q in qids},
        {q: query_lang[q] for q in qids},
        test=test,
        seed=seed,
    )["avg"]
    clean = float(np.mean([r.clean for r in rows]))
    variant_scores = [float(np.mean(v)) for v in zip(*(r.variant_scores for r in rows), strict=True)]
    mean = float(np.mean(variant_scores))
    return LanguageRobustness(
        lang="avg" if name == "avg" else f"{name}-resource",
        group=name if name != "avg" else "all",
        queries=len(qids),
        clean=clean,
        mean=mean,
        sd=float(np.std(variant_scores, ddof=1)) if len(variant_scores) > 1 else 0.0,
        drop=relative_drop(clean, mean),
        cer=float(np.mean([r.cer for r in rows])),
        d_tokens=float(np.mean([r.d_tokens for r in rows])),
        pvalue=result.pvalue,
        variant_scores=variant_scores,
    )


def write_report(
    report: RobustnessReport, json_path: str | Path | None = None, markdown_path: str | Path | None = None
) -> None:
    """Write the report as JSON and/or Markdown (atomically)."""
    if json_path:
        atomic_write_json(json_path, report.to_json())
    if markdown_path:
        atomic_write_text(markdown_path, report.to_markdown())
