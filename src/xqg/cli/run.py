"""``xqg run EXPERIMENT.toml``: a declarative experiment, cached stage by stage, ending in a report."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="run a declarative experiment (TOML) end to end and write a report",
        description="Run an experiment file: data, encoders, optional fine-tuning, generator, fusion, "
        "typo conditions, metrics and comparisons. Every stage is cached by the content of its inputs "
        "and settings, so a re-run redoes only what changed.",
    )
    from xqg.cli.validators import input_file, output_folder

    parser.add_argument(
        "experiment", type=input_file, help="experiment TOML file (see configs/ for the project's)"
    )
    parser.add_argument(
        "--output", type=output_folder, help="report folder (default: [experiment] output or runs/<name>)"
    )
    parser.add_argument("--cache", type=output_folder, help="stage cache folder (default: $XQG_CACHE/stages)")
    parser.add_argument(
        "--systems",
        help="comma-separated subset of the file's systems to run (the baseline is always kept)",
    )
    parser.add_argument(
        "--check", action="store_true", help="validate the file and print the plan, run nothing"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from xqg.experiment.config import load_config, select_systems

    config = load_config(args.experiment)
    if args.systems:
        config = select_systems(config, [n.strip() for n in args.systems.split(",") if n.strip()])
    if args.output:
        config = replace(config, experiment=replace(config.experiment, output=args.output))
    if args.check:
        print(f"{args.experiment}: valid")
        for name, spec in config.system_specs.items():
            print(f"  system {name}: {spec}")
        return 0
    from xqg.experiment.pipeline import run_experiment

    summary = run_experiment(config, cache_dir=args.cache)
    print(summary.markdown)
    print(f"\nReport: {summary.report_html}\nResults: {summary.results_json}")
    return 0
