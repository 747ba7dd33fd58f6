"""The report of ``xqg run``: per-query values of every fold (or corpus benchmark) into tables and plots.

:func:`build_report` merges the folds' per-query values, averages them per language, tests every
system against the baseline (paired randomisation test, Holm-corrected over the systems), tabulates
the typo conditions (mean of the seeded variants, the drop from clean and its test, the relative
drop per language and per resource group), draws the α and number-of-queries curves, and writes the
report folder (:func:`xqg.experiment.report.write_report`) and the per-query values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xqg.data.atomic import atomic_write_text
from xqg.data.records import RetrievalDataset
from xqg.evaluate.aggregate import aggregate
from xqg.evaluate.comparison import compare_systems
from xqg.evaluate.significance import compare_per_query
from xqg.evaluate.typo_drops import group_means, mean_over_variants, relative_drops, resource_groups
from xqg.experiment.config_schema import ExperimentConfig
from xqg.experiment.report import Plot, ResultTable, markdown_table, write_report
from xqg.experiment.stages import CLEAN, SystemResults


@dataclass
class RunSummary:
    """What ``xqg run`` produced."""

    markdown: str
    report_html: Path
    results_json: Path
    seconds: float


def fold_unit(dataset: RetrievalDataset) -> str:
    """What a fold is made of: LoCoMo's conversations, XQuAD's articles."""
    return "conversation" if dataset.name == "locomo" else "article"


def _versus_baseline(
    per_system: dict[str, dict[str, float]],
    query_lang: dict[str, str],
    baseline: str,
    cfg: ExperimentConfig,
) -> dict[str, dict[str, float]]:
    """``{system: {language | "avg": p}}``: each system against the baseline on the same questions,
    paired randomisation test, Holm-corrected over the systems (:func:`xqg.evaluate.compare_systems`)."""
    table = compare_systems(
        {s: {"value": values} for s, values in per_system.items()},
        query_lang,
        baseline,
        ["value"],
        test="randomisation",
        num_permutations=cfg.metrics.permutations,
        seed=cfg.experiment.seed,
        alpha=cfg.metrics.significance_level,
    )[0]
    return table.pvalues


def _summary_table(
    condition_values: dict[str, dict[str, dict[str, float]]],
    systems: Sequence[str],
    baseline: str,
    languages: Sequence[str],
    query_lang: dict[str, str],
    cfg: ExperimentConfig,
    by_lang,
    primary: str,
    level: float,
) -> ResultTable:
    """One row per system: the macro average over all languages and over each resource group,
    clean and under each typo protocol (per-question mean over its variants), each tested against
    the baseline on the same questions (randomisation test of that macro average, Holm over the
    systems in the column)."""
    groups = {"all": list(languages)}
    groups.update(
        {g: members for g, members in resource_groups(languages).items() if len(members) < len(languages)}
    )
    columns: list[str] = []
    values: dict[str, dict[str, float]] = {s: {} for s in systems}
    pvalues: dict[str, dict[str, float]] = {s: {} for s in systems if s != baseline}
    for condition, per_system in condition_values.items():
        for group, members in groups.items():
            column = condition if group == "all" else f"{condition} {group}"
            columns.append(column)
            keep = set(members)
            for s in systems:
                values[s][column] = group_means(by_lang(per_system[s]), {group: members})[group]
            # the test of the group's macro average: the "avg" column over the group's questions
            within = {s: {q: v for q, v in per_system[s].items() if query_lang[q] in keep} for s in systems}
            for s, by_column in _versus_baseline(within, query_lang, baseline, cfg).items():
                pvalues[s][column] = by_column["avg"]
    return ResultTable(
        title=f"Summary, {primary}: macro average over the languages and over each resource group "
        "(Joshi et al. 2020 classes 0-3 low, 4-5 high), clean and under each typo protocol",
        metric=primary,
        columns=columns,
        values=values,
        baseline=baseline,
        pvalues=pvalues,
        significance_level=level,
        average=False,
    )


def build_report(
    config: ExperimentConfig,
    languages: Sequence[str],
    dataset: RetrievalDataset,
    folds: dict[int, SystemResults],
    timings: dict[str, float],
    seconds: float,
    protocol: str | None = None,
) -> RunSummary:
    cfg = config
    out = cfg.output_dir
    out.mkdir(parents=True, exist_ok=True)
    query_lang = dataset.query_language()
    systems = list(cfg.system_specs)
    baseline = cfg.systems.baseline
    primary = cfg.metrics.primary
    level = cfg.metrics.significance_level

    # merge folds: per-query values keyed by qid are disjoint across folds
    merged: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for fold in folds.values():
        for system, conds in fold.values.items():
            for cond, per_metric in conds.items():
                for metric, values in per_metric.items():
                    merged.setdefault(system, {}).setdefault(cond, {}).setdefault(metric, {}).update(values)

    def by_lang(values: dict[str, float]) -> dict[str, float]:
        """Per-language means of per-query values (``nan`` for a language without a scored question)."""
        means = aggregate({"value": values}, query_lang)["value"]
        return {lang: means.get(lang, float("nan")) for lang in languages}

    tables: list[ResultTable] = []
    for metric in cfg.metrics.names:
        clean = {s: merged[s][CLEAN][metric] for s in systems}
        tables.append(
            ResultTable(
                title=f"Clean questions, {metric}",
                metric=metric,
                columns=list(languages),
                values={s: by_lang(clean[s]) for s in systems},
                baseline=baseline,
                pvalues=_versus_baseline(clean, query_lang, baseline, cfg),
                significance_level=level,
            )
        )

    typo_conditions = [c for c in next(iter(merged.values())) if c != CLEAN]
    plots: list[Plot] = [
        Plot(
            "per_language",
            f"{primary} per language (clean questions)",
            "bars",
            list(languages),
            {
                s: [
                    100 * tables[0].values[s][lang]
                    if cfg.metrics.names[0] == primary
                    else 100 * by_lang(merged[s][CLEAN][primary])[lang]
                    for lang in languages
                ]
                for s in systems
            },
            ylabel=primary,
        )
    ]
    results: dict[str, Any] = {
        "systems": systems,
        "languages": list(languages),
        "timings_seconds": timings,
        "wall_seconds": seconds,
    }
    condition_values: dict[str, dict[str, dict[str, float]]] = {
        CLEAN: {s: merged[s][CLEAN][primary] for s in systems}
    }
    if typo_conditions:
        protocols = sorted({c.split("#")[0] for c in typo_conditions})
        drops: dict[str, dict[str, float]] = {}
        for typo_protocol in protocols:
            conds = [c for c in typo_conditions if c.startswith(typo_protocol + "#")]
            rows: dict[str, dict[str, float]] = {}
            pvals: dict[str, dict[str, float]] = {}
            spread: dict[str, dict[str, float]] = {}
            for s in systems:
                clean = merged[s][CLEAN][primary]
                typo_mean = mean_over_variants([merged[s][c][primary] for c in conds])
                condition_values.setdefault(typo_protocol, {})[s] = typo_mean
                rows[f"{s} · clean"] = by_lang(clean)
                rows[f"{s} · {typo_protocol}"] = by_lang(typo_mean)
                per_variant = [by_lang(merged[s][c][primary]) for c in conds]
                spread[s] = {
                    lang: float(np.std([v[lang] for v in per_variant], ddof=1)) if len(conds) > 1 else 0.0
                    for lang in languages
                }
                tests = compare_per_query(
                    typo_mean,
                    clean,
                    query_lang,
                    test="randomisation",
                    num_permutations=cfg.metrics.permutations,
                    seed=cfg.experiment.seed,
                )
                pvals[f"{s} · {typo_protocol}"] = {col: r.pvalue for col, r in tests.items()}
                drops[s] = relative_drops(rows[f"{s} · clean"], rows[f"{s} · {typo_protocol}"])
            table = ResultTable(
                title=f"Misspelled questions ({typo_protocol}, mean of {len(conds)} seeded variants), {primary}; "
                "* = the drop from clean is significant",
                metric=primary,
                columns=list(languages),
                values=rows,
                baseline=None,
                pvalues=pvals,
                significance_level=level,
            )
            tables.append(table)
            if len(systems) > 1:
                means = condition_values[typo_protocol]
                tables.append(
                    ResultTable(
                        title=f"Misspelled questions ({typo_protocol}, per-question mean over the variants), "
                        f"{primary}, against the baseline",
                        metric=primary,
                        columns=list(languages),
                        values={s: by_lang(means[s]) for s in systems},
                        baseline=baseline,
                        pvalues=_versus_baseline(means, query_lang, baseline, cfg),
                        significance_level=level,
                    )
                )
            tables.append(
                ResultTable(
                    title=f"Relative drop under {typo_protocol} (% of the clean score)",
                    metric=f"drop of {primary}",
                    columns=list(languages),
                    values=drops,
                    baseline=None,
                )
            )
            groups = resource_groups(languages)
            tables.append(
                ResultTable(
                    title=f"Relative drop under {typo_protocol} by resource group (Joshi et al. 2020 classes 0-3 vs 4-5)",
                    metric=f"drop of {primary}",
                    columns=list(groups),
                    values={s: group_means(drops[s], groups) for s in systems},
                )
            )
            plots.append(
                Plot(
                    f"typo_drop_{typo_protocol}",
                    f"Relative drop of {primary} under {typo_protocol} (%)",
                    "bars",
                    list(languages),
                    {s: [100 * drops[s][lang] for lang in languages] for s in systems},
                    ylabel="drop (%)",
                )
            )
            results[f"typo_sd_{typo_protocol}"] = spread
    if len(systems) > 1:
        tables.append(
            _summary_table(
                condition_values, systems, baseline, languages, query_lang, cfg, by_lang, primary, level
            )
        )
    for fold_id, fold in folds.items():
        for name, curves in fold.alpha_curves.items():
            plots.append(
                Plot(
                    f"alpha_{name.replace('+', '_').replace('/', '_')}_fold{fold_id}",
                    f"{name}: {primary} vs α (fold {fold_id})",
                    "lines",
                    list(cfg.fusion.alpha_sweep),
                    {k: [100 * v for v in vs] for k, vs in curves.items()},
                    xlabel="α",
                    ylabel=primary,
                )
            )
        for name, curve in fold.n_curve.items():
            plots.append(
                Plot(
                    f"nqueries_{name.replace('+', '_').replace('/', '_')}_fold{fold_id}",
                    f"{name}: {primary} vs generated queries per language (fold {fold_id})",
                    "lines",
                    list(range(1, len(curve) + 1)),
                    {name: [100 * v for v in curve]},
                    xlabel="queries per passage per language",
                    ylabel=primary,
                )
            )
        results[f"fold{fold_id}"] = {
            "alpha": fold.alpha_chosen,
            "alpha_curves": fold.alpha_curves,
            "n_curve": fold.n_curve,
            "generated_samples": fold.generated_samples,
            "articles": fold.articles,
        }
    results["per_query"] = merged
    notes = [
        cfg.experiment.description or f"Experiment {cfg.experiment.name}.",
        (
            protocol
            or f"Dataset {cfg.data.dataset} ({cfg.data.level} corpus of {len(dataset.corpus)} passages), folds "
            f"{list(cfg.data.eval_folds)} of {cfg.data.num_folds} {fold_unit(dataset)}-level folds "
            f"(seed {cfg.data.fold_seed}); questions of the evaluated {fold_unit(dataset)}s only."
        )
        + " Significance: paired randomisation test "
        f"({cfg.metrics.permutations} sign flips, seed {cfg.experiment.seed}), Holm-corrected over the systems, "
        f"level {level}"
        + _chosen_alphas(folds)
        + (
            ". Fusion per query language: each question is searched in passages fused with its own "
            "language's queries only"
            if cfg.fusion.per_language
            else ""
        )
        + f". Wall time {seconds / 60:.1f} min.",
    ]
    if dataset.meta.get("languages_left_out"):
        notes.append(
            f"Languages of [data] left out because their file is absent: {', '.join(dataset.meta['languages_left_out'])}."
        )
        results["languages_left_out"] = list(dataset.meta["languages_left_out"])
    paths = write_report(
        out,
        f"xqg: {cfg.experiment.name}",
        tables,
        plots,
        notes=notes,
        results=results,
        config_text=cfg.source_text,
    )
    runs_dir = out / "per_query"
    runs_dir.mkdir(exist_ok=True)
    for s in systems:
        for cond, per_metric in merged[s].items():
            atomic_write_text(
                runs_dir / f"{s.replace('/', '_')}.{cond.replace('#', '_')}.json",
                json.dumps(per_metric, indent=1, sort_keys=True),
            )
    return RunSummary(
        "\n\n".join(
            markdown_table(t)
            for t in tables[: max(1, len(cfg.metrics.names))]
            + tables[len(cfg.metrics.names) : len(cfg.metrics.names) + 2]
        ),
        paths["html"],
        paths["json"],
        seconds,
    )


def _chosen_alphas(folds: dict[int, Any]) -> str:
    """``. α per system: …`` for the fused systems (a ``+`` in the name), per fold when there are several."""
    per_fold = {
        fold_id: ", ".join(f"{k} = {v:g}" for k, v in fold.alpha_chosen.items() if "+" in k)
        for fold_id, fold in folds.items()
    }
    per_fold = {fold_id: text for fold_id, text in per_fold.items() if text}
    if not per_fold:
        return ""
    if len(per_fold) == 1:
        return ". α per system: " + next(iter(per_fold.values()))
    return ". α per system: " + "; ".join(f"fold {k}: {v}" for k, v in per_fold.items())
