"""Ablation of self-distillation against misspellings (``fine-tuned:distill``) on one experiment file.

Each variant is the experiment file with some ``[training]`` settings changed; every variant runs
through ``xqg run``'s stage cache (the zero-shot encodings, the teacher's vectors and the passage
bank are computed once), and one table compares them: clean and misspelled Success@1 (macro
average, low- and high-resource groups) against the zero-shot baseline on the same questions
(paired randomisation test of the macro average, Holm over the variants), the trained
parameters and the training time.

    python configs/distill_ablation.py configs/distill_ablation.toml --out runs/distill-ablation
    python configs/distill_ablation.py configs/distill_ablation.toml --variants default,lora
    python configs/distill_ablation.py configs/distill_ablation.toml --variants default,extra-texts \
        --distill-files texts.jsonl   # more label-free texts (queries files with a language per row)

Writes ``OUT/<variant>/`` (each variant's report folder) and ``OUT/ablation.md`` / ``ablation.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "no-embeddings": {"tuning": "no-embeddings"},
    "full": {"tuning": "full"},
    "lora": {"tuning": "lora"},
    "both-towers": {"towers": "both"},
    "2-epochs": {"epochs": 2.0},
    "cosine": {"distill_loss": "cosine"},
    "kl": {"distill_loss": "kl"},
    "questions-only": {"distill_sources": ["questions"]},
    "pieces-only": {"distill_sources": ["pieces"]},
    "4-pieces": {"distill_pieces_per_passage": 4},
    "extra-texts": {"distill_sources": ["questions", "pieces", "files"]},
}
"""Variant name → ``[training]`` settings changed from the experiment file (``extra-texts``: the
experiment's texts plus the queries files of ``--distill-files``)."""

NEEDS_FILES = ("extra-texts",)

SYSTEM = "fine-tuned:distill"


def variant_config(config, name: str, overrides: dict[str, Any], out: Path):
    """The experiment with ``[training]`` overrides, its report in ``out / name``."""
    training = dataclasses.replace(
        config.training, **{k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    )
    experiment = dataclasses.replace(
        config.experiment, name=f"{config.experiment.name}-{name}", output=str(out / name)
    )
    return dataclasses.replace(config, training=training, experiment=experiment)


def training_cost(config, cache: str | None) -> dict[str, Any]:
    """The ``cost.json`` of every evaluated fold's distilled model (from the stage cache)."""
    from xqg.experiment.config import parse_system
    from xqg.experiment.fold_benchmark import FoldBenchmark
    from xqg.experiment.stages import ExperimentStages

    stages = ExperimentStages(config, cache)
    bench = FoldBenchmark(stages)
    dataset, languages = bench.load_dataset()
    costs = []
    for fold in config.data.eval_folds:
        ctx = bench.fold_context(fold, dataset, languages)
        _, path = stages.encoder_model(parse_system(SYSTEM), fold, ctx.train, ctx.corpus)
        costs.append(json.loads((Path(path).parent / "training" / "cost.json").read_text(encoding="utf-8")))
    return {
        "minutes": sum(c["seconds"] for c in costs) / 60 / len(costs),
        "examples": sum(c["examples"] for c in costs) / len(costs),
        "trainable_parameters": costs[0].get("trainable_parameters", 0),
        "threads": costs[0].get("threads", 0),
    }


def summarise(
    results: dict[str, dict[str, Any]],
    baseline: str,
    query_lang: dict[str, str],
    permutations: int,
    seed: int,
    reference: str | None = None,
):
    """Rows of the ablation table: per variant the distilled system's macro averages per condition
    (all languages, low, high), the Holm-corrected p-values against the baseline (zero-shot) and,
    with a ``reference`` variant, those of every other variant against it (Holm over the variants)."""
    from xqg.data.languages import get_language
    from xqg.evaluate.significance import compare_per_query, holm

    first = next(iter(results.values()))
    languages = first["languages"]
    groups = {"all": languages}
    for group in ("low", "high"):
        members = [lang for lang in languages if get_language(lang).resource_group == group]
        if members and len(members) < len(languages):
            groups[group] = members
    per_query = first["per_query"]
    conditions = sorted({c.split("#")[0] for c in per_query[baseline]}, key=lambda c: (c != "clean", c))

    def condition_means(system_values: dict[str, Any], condition: str) -> dict[str, float]:
        conds = [c for c in system_values if c.split("#")[0] == condition]
        qids = system_values[conds[0]]["Success@1"]
        return {q: sum(system_values[c]["Success@1"][q] for c in conds) / len(conds) for q in qids}

    # per row and column: the per-query Success@1 (mean over a condition's variants) of its languages
    means: dict[str, dict[str, dict[str, float]]] = {}
    rows: dict[str, dict[str, float]] = {}
    for name, res in [("zero-shot", first), *results.items()]:
        values = res["per_query"][baseline if name == "zero-shot" else SYSTEM]
        means[name], rows[name] = {}, {}
        for condition in conditions:
            by_query = condition_means(values, condition)
            for group, members in groups.items():
                column = condition if group == "all" else f"{condition} {group}"
                keep = {q: v for q, v in by_query.items() if query_lang[q] in members}
                by_lang = {
                    lang: sum(v for q, v in keep.items() if query_lang[q] == lang)
                    / max(1, sum(1 for q in keep if query_lang[q] == lang))
                    for lang in members
                }
                means[name][column] = keep
                rows[name][column] = 100 * sum(by_lang.values()) / len(by_lang)

    def pvalues_against(against: str) -> dict[str, dict[str, float]]:
        raw: dict[str, dict[str, float]] = {}
        for name in results:
            if name == against:
                continue
            for column, keep in means[name].items():
                raw.setdefault(column, {})[name] = compare_per_query(
                    keep,
                    means[against][column],
                    query_lang,
                    test="randomisation",
                    num_permutations=permutations,
                    seed=seed,
                )["avg"].pvalue
        return {column: holm(ps) for column, ps in raw.items()}

    return rows, pvalues_against("zero-shot"), pvalues_against(reference) if reference else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "experiment", help="experiment TOML with the systems zero-shot and fine-tuned:distill"
    )
    parser.add_argument("--out", default="runs/distill-ablation", help="folder of the variants' reports")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of VARIANTS")
    parser.add_argument("--cache", default=None, help="stage cache (default $XQG_CACHE/stages)")
    parser.add_argument(
        "--reference",
        default=None,
        help="the variant every other is also tested against (a second table; default: default, when run)",
    )
    parser.add_argument(
        "--distill-files",
        nargs="+",
        default=[],
        help="queries files (JSONL/TSV, a language per row) of the extra-texts variant",
    )
    args = parser.parse_args(argv)

    from xqg.data.atomic import atomic_write_json, atomic_write_text
    from xqg.experiment.config import load_config
    from xqg.experiment.pipeline import run_experiment

    config = load_config(args.experiment)
    if SYSTEM not in config.systems.names:
        print(f"{args.experiment}: the systems must include {SYSTEM}", file=sys.stderr)
        return 2
    out = Path(args.out)
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        print(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}", file=sys.stderr)
        return 2
    if args.reference is not None and args.reference not in names:
        print(
            f"--reference {args.reference} is not one of the variants run ({', '.join(names)})",
            file=sys.stderr,
        )
        return 2
    if any(n in NEEDS_FILES for n in names) and not args.distill_files:
        print(f"the variants {', '.join(NEEDS_FILES)} need --distill-files", file=sys.stderr)
        return 2
    variants = {
        n: {**VARIANTS[n], "distill_files": list(args.distill_files)} if n in NEEDS_FILES else VARIANTS[n]
        for n in names
    }
    results: dict[str, dict[str, Any]] = {}
    costs: dict[str, dict[str, Any]] = {}
    for name in names:
        cfg = variant_config(config, name, variants[name], out)
        print(f"[ablation] {name}: {variants[name] or 'the file as it is'}", flush=True)
        summary = run_experiment(cfg, cache_dir=args.cache)
        results[name] = json.loads(summary.results_json.read_text(encoding="utf-8"))
        costs[name] = training_cost(cfg, args.cache)
    from xqg.experiment.fold_benchmark import FoldBenchmark
    from xqg.experiment.stages import ExperimentStages

    dataset, _ = FoldBenchmark(ExperimentStages(config, args.cache)).load_dataset()
    reference = args.reference or ("default" if "default" in names else None)
    reference = reference if len(names) > 1 else None
    rows, pvalues, versus = summarise(
        results,
        config.systems.baseline,
        dataset.query_language(),
        config.metrics.permutations,
        config.experiment.seed,
        reference,
    )
    columns = list(next(iter(rows.values())))
    lines = [
        f"Distillation ablation on {args.experiment} (folds {list(config.data.eval_folds)}), Success@1 x100; "
        "* = differs from zero-shot (paired randomisation test of the macro average, Holm over the variants)",
        "",
        "| variant | settings | trained parameters | training min/fold | texts/fold | "
        + " | ".join(columns)
        + " |",
        "|---|---|---:|---:|---:|" + "---:|" * len(columns),
    ]
    for name, row in rows.items():
        cost = costs.get(name, {})
        cells = [
            f"{row[c]:.1f}" + ("*" if name in pvalues.get(c, {}) and pvalues[c][name] < 0.05 else "")
            for c in columns
        ]
        settings = json.dumps(variants.get(name, {})) if name != "zero-shot" else "(baseline)"
        lines.append(
            f"| {name} | {settings} | {cost.get('trainable_parameters', 0):,} | "
            f"{cost.get('minutes', 0):.1f} | {cost.get('examples', 0):,.0f} | " + " | ".join(cells) + " |"
        )
    if reference:
        lines += [
            "",
            f"Against {reference}: difference in Success@1 points (p, paired randomisation test of the macro "
            "average, Holm over the variants)",
            "",
            "| variant | " + " | ".join(columns) + " |",
            "|---|" + "---:|" * len(columns),
        ]
        for name in names:
            if name == reference:
                continue
            cells = [
                f"{rows[name][c] - rows[reference][c]:+.1f} (p = {versus[c][name]:.3f})" for c in columns
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "ablation.md", "\n".join(lines) + "\n")
    atomic_write_json(
        out / "ablation.json",
        {
            "rows": rows,
            "pvalues": pvalues,
            "reference": reference,
            "versus_reference": versus,
            "costs": costs,
        },
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
