"""``xqg compare``: several runs in one per-language table, significance against a baseline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xqg.cli.evaluate import add_input_arguments
from xqg.cli.validators import non_negative_int, output_file, positive_int, unit_interval


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` subcommand."""
    parser = subparsers.add_parser(
        "compare",
        help="compare runs per language with significance tests against a baseline",
        description="Score several systems on the same queries and print, per metric, a table of systems x "
        "languages (+ macro average) with significant differences from the baseline marked (†) and their "
        "p-values. Systems are NAME=PATH (or PATH, named by its file stem); PATH is a TREC run, an XOR "
        "prediction JSON, or per-query JSON from `xqg evaluate --per-query`.",
    )
    parser.add_argument("systems", nargs="+", type=_system, help="NAME=PATH of each system")
    parser.add_argument("--baseline", help="name of the baseline (default: the first system)")
    add_input_arguments(parser)
    parser.add_argument(
        "--test", choices=("ttest", "randomisation"), default="ttest", help="paired test (default ttest)"
    )
    parser.add_argument(
        "--permutations", type=positive_int, default=10_000, help="randomisation test samples (default 10000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the randomisation test (default 0)")
    parser.add_argument("--alpha", type=unit_interval, default=0.05, help="significance level (default 0.05)")
    parser.add_argument(
        "--correction", choices=("holm", "none"), default="holm", help="multiple-comparison correction"
    )
    parser.add_argument(
        "--format", choices=("markdown", "latex", "json"), default="markdown", help="stdout format"
    )
    parser.add_argument(
        "--json", dest="json_out", type=output_file, help="also write the tables as JSON here"
    )
    parser.add_argument(
        "--latex", dest="latex_out", type=output_file, help="also write the tables as LaTeX here"
    )
    parser.add_argument(
        "--markdown", dest="markdown_out", type=output_file, help="also write the tables as Markdown here"
    )
    parser.add_argument("--digits", type=non_negative_int, default=1, help="decimals (default 1)")
    parser.set_defaults(func=_compare)


def _system(spec: str) -> str:
    """A ``NAME=PATH`` (or ``PATH``) whose file exists; returned as given."""
    from xqg.cli.validators import input_file

    input_file(parse_system(spec)[1])
    return spec


def parse_system(spec: str) -> tuple[str, str]:
    """``"name=path"`` -> ``(name, path)``; a bare path is named by its file stem.

    Example:
        >>> parse_system("xqg=runs/xqg.trec"), parse_system("runs/base.trec")
        (('xqg', 'runs/xqg.trec'), ('base', 'runs/base.trec'))
    """
    name, sep, path = spec.partition("=")
    if sep and name and path:
        return name, path
    stem = Path(spec).name
    for suffix in (".gz", ".json", ".trec", ".run", ".txt"):
        stem = stem.removesuffix(suffix)
    return stem, spec


def _compare(args: argparse.Namespace) -> int:
    import json

    from xqg.cli.evaluate import load_system, query_languages
    from xqg.data.atomic import atomic_write_json, atomic_write_text
    from xqg.errors import ConfigError
    from xqg.evaluate.comparison import compare_systems
    from xqg.evaluate.tables import comparison_json, comparison_latex, comparison_markdown

    systems = [parse_system(s) for s in args.systems]
    names = [n for n, _ in systems]
    if len(set(names)) != len(names):
        raise ConfigError(f"system names must be unique: {', '.join(names)}")
    baseline = args.baseline or names[0]
    per_query = {}
    file_langs: dict[str, str] = {}
    for name, path in systems:
        per_query[name], langs = load_system(path, args)
        file_langs.update(langs)
    qids = {q for sys_ in per_query.values() for values in sys_.values() for q in values}
    langs = query_languages(args, file_langs, qids)
    tables = compare_systems(
        per_query,
        langs,
        baseline=baseline,
        test=args.test,
        correction=args.correction,
        alpha=args.alpha,
        num_permutations=args.permutations,
        seed=args.seed,
    )
    markdown = comparison_markdown(tables, digits=args.digits)
    latex = comparison_latex(tables, digits=args.digits)
    data = comparison_json(tables)
    print(
        {"markdown": markdown, "latex": latex, "json": json.dumps(data, indent=2, ensure_ascii=False)}[
            args.format
        ]
    )
    if args.json_out:
        atomic_write_json(args.json_out, data)
    if args.latex_out:
        atomic_write_text(args.latex_out, latex + "\n")
    if args.markdown_out:
        atomic_write_text(args.markdown_out, markdown + "\n")
    for out in (args.json_out, args.latex_out, args.markdown_out):
        if out:
            print(f"wrote {out}", file=sys.stderr)
    return 0
