"""``xqg robustness``: a retriever on clean and misspelled queries, per language (Markdown + JSON)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``xqg robustness``."""
    from xqg.cli.precision_option import add_precision_argument
    from xqg.cli.validators import (
        input_folder,
        language_list,
        metrics,
        model_path,
        output_file,
        output_folder,
        positive_int,
        unit_interval,
    )

    parser = subparsers.add_parser(
        "robustness",
        help="score a retriever on clean queries and K seeded misspelled variants (XQuAD)",
        description="Runs the encoder on the clean queries and on K misspelled variants of every query "
        "language, and prints per language the clean score, the mean ± sd under typos, the relative "
        "drop, the character error rate, the change in subword tokens and the significance of the drop, "
        "with low- and high-resource groups. See docs/typos.md.",
    )
    parser.add_argument("--dataset", default="xquad", choices=["xquad"], help="benchmark (default: xquad)")
    parser.add_argument(
        "--data-root", type=input_folder, help="folder with xquad.{lang}.json (default: the data mirror)"
    )
    parser.add_argument(
        "--languages", type=language_list, help="comma-separated query languages (default: all)"
    )
    parser.add_argument(
        "--model", type=model_path("encoder"), help="encoder name or path (default: multilingual-e5-small)"
    )
    add_precision_argument(parser, "the encoder")
    parser.add_argument(
        "--variants", type=positive_int, default=10, help="K misspelled variants (default 10)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--protocol",
        default="one-typo",
        choices=["one-typo", "rate", "idf", "script"],
        help="typo protocol (default one-typo); 'idf' takes the IDF of words over all the "
        "dataset's queries of the same language (the corpus is in another language)",
    )
    parser.add_argument(
        "--num-typos", type=positive_int, default=1, help="typos per query (one-typo, script)"
    )
    parser.add_argument(
        "--rate", type=unit_interval, default=0.2, help="per-word typo rate (protocol 'rate')"
    )
    parser.add_argument("--metric", type=metrics, default="Success@1", help="qrel metric (default Success@1)")
    parser.add_argument("--test", default="ttest", choices=["ttest", "randomisation"])
    parser.add_argument("--max-queries", type=positive_int, help="seeded subset of queries per language")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument(
        "--cache-dir", type=output_folder, help="encoding cache (default: $XQG_CACHE/robustness)"
    )
    parser.add_argument("--output", type=output_file, help="write the report as JSON here")
    parser.add_argument("--markdown", type=output_file, help="write the Markdown table here")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the harness and print the table."""
    import os
    from pathlib import Path

    from xqg.data.xquad import load_xquad
    from xqg.encode import load_encoder
    from xqg.evaluate.robustness import evaluate_robustness, write_report

    languages = args.languages  # a checked list (xqg.cli.validators.language_list) or None
    dataset = load_xquad(languages, root=args.data_root)
    cache_dir = (
        args.cache_dir or Path(os.environ.get("XQG_CACHE", Path.home() / ".cache" / "xqg")) / "robustness"
    )
    typo_options: dict[str, object] = {"num_typos": args.num_typos}
    if args.protocol == "rate":
        typo_options["rate"] = args.rate
    if args.protocol == "idf":
        from xqg.typos import IdfTable

        typo_options["idf"] = {
            lang: IdfTable([q.text for q in qs], lang) for lang, qs in dataset.queries.items()
        }
    encoder = load_encoder(args.model, precision=args.precision)
    report = evaluate_robustness(
        dataset,
        encoder,
        languages=languages,
        num_variants=args.variants,
        seed=args.seed,
        protocol=args.protocol,
        metric=args.metric,
        test=args.test,
        max_queries=args.max_queries,
        cache_dir=cache_dir,
        batch_size=args.batch_size,
        show_progress=not args.no_progress,
        typo_options=typo_options,
    )
    write_report(report, args.output, args.markdown)
    sys.stdout.write(report.to_markdown())
    return 0
