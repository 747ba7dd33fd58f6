"""``xqg data``: list, download, export and validate data sets."""

from __future__ import annotations

import argparse
import json

EXPORTABLE = ("xquad", "xor_tydi-dev", "xor_tydi-train", "mkqa", "locomo")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data list|download|export|validate``."""
    from xqg.cli.validators import (
        corpus_file,
        input_folder,
        language_code,
        language_list,
        non_negative_int,
        output_folder,
        positive_int,
    )

    parser = subparsers.add_parser(
        "data",
        help="list, download (with SHA-256 checks), export and validate data sets",
        description="Public data sets are fetched from their official sources into the cache "
        "($XQG_CACHE or ~/.cache/xqg), or copied from a local mirror ($XQG_DATA_MIRROR); nothing is "
        "downloaded when the files are present.",
    )
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="the known data sets and whether their files are present")
    p.set_defaults(func=_list)

    p = sub.add_parser("download", help="fetch a data set into the cache and verify its checksums")
    p.add_argument("name", help="data set name (see `xqg data list`)")
    p.add_argument(
        "--all-files", action="store_true", help="also fetch optional large files (XOR-TyDi corpus, 13 GB)"
    )
    p.set_defaults(func=_download)

    p = sub.add_parser(
        "export",
        help="write a benchmark as a BEIR-style folder (corpus.jsonl, queries.jsonl, qrels, answers)",
    )
    p.add_argument("name", help=f"one of {', '.join(EXPORTABLE)}, or a BEIR-style folder")
    p.add_argument("--out", required=True, type=output_folder, help="output folder")
    p.add_argument("--root", type=input_folder, help="folder with the set's files (default: mirror or cache)")
    p.add_argument("--languages", type=language_list, help="comma-separated query languages (default: all)")
    p.add_argument(
        "--level", choices=("paragraph", "sentence"), default="paragraph", help="XQuAD corpus unit"
    )
    p.add_argument(
        "--fold", type=non_negative_int, help="XQuAD article fold index (0-based); needs --num-folds"
    )
    p.add_argument("--num-folds", type=positive_int, help="number of article folds")
    p.add_argument("--split", choices=("train", "test"), default="test", help="side of the fold to export")
    p.add_argument("--seed", type=int, default=0, help="fold seed")
    p.add_argument(
        "--corpus", type=corpus_file, help="corpus file to include (MKQA has none; overrides the set's own)"
    )
    p.add_argument("--lang", type=language_code, help="language of queries without one (BEIR folders)")
    p.set_defaults(func=_export)

    p = sub.add_parser("validate", help="check a dataset folder: ids, languages, qrels against corpus")
    p.add_argument("folder", type=input_folder)
    p.add_argument("--lang", type=language_code, help="language of queries without one")
    p.set_defaults(func=_validate)


def _list(args: argparse.Namespace) -> int:
    from xqg.data.download import REGISTRY, status

    for name, source in REGISTRY.items():
        print(f"{name}: {source.description} [licence: {source.licence}]")
        for file_name, state in status(name).items():
            remote = source.file(file_name)
            pin = "pinned sha256" if remote.sha256 else "sha256 recorded on first download"
            optional = ", optional" if file_name in source.optional else ""
            print(f"  {file_name} ({remote.size_hint}{optional}, {pin}): {state}")
    return 0


def _download(args: argparse.Namespace) -> int:
    from xqg.data.download import download, unavailable_files

    folder = download(args.name, include_optional=args.all_files)
    print(folder)
    missing = unavailable_files(args.name)
    if missing:  # separable files (e.g. one XQuAD language) that could not be had; the rest is usable
        print(f"note: not available (see the warning above): {', '.join(missing)}; the other files are ready")
    return 0


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from xqg.data.beir import load_beir
    from xqg.data.export import export_dataset
    from xqg.data.folds import fold_split, split_by_articles
    from xqg.errors import ConfigError

    languages = args.languages  # a checked list (xqg.cli.validators.language_list) or None
    if (args.fold is None) != (args.num_folds is None):
        raise ConfigError("--fold and --num-folds go together")
    if args.fold is not None and args.name != "xquad":
        raise ConfigError("article folds exist for xquad only")
    if args.name == "xquad":
        from xqg.data.xquad import load_xquad

        dataset = load_xquad(languages, level=args.level, root=args.root)
        if args.fold is not None:
            train, test = fold_split(args.num_folds, args.fold, seed=args.seed)
            dataset = split_by_articles(dataset, train if args.split == "train" else test)
            dataset.meta.update(
                fold=args.fold, num_folds=args.num_folds, fold_side=args.split, fold_seed=args.seed
            )
    elif args.name.startswith("xor_tydi-"):
        from xqg.data.xor_tydi import load_xor_retrieve

        dataset = load_xor_retrieve(args.name.split("-", 1)[1], root=args.root)
        if languages:
            dataset.queries = {lang: qs for lang, qs in dataset.queries.items() if lang in languages}
    elif args.name == "mkqa":
        from xqg.data.mkqa import load_mkqa

        dataset = load_mkqa(languages, root=args.root, corpus_path=args.corpus)
    elif args.name == "locomo":
        from xqg.data.locomo import load_locomo

        dataset = load_locomo(args.root)
    elif Path(args.name).is_dir():
        dataset = load_beir(args.name, lang=args.lang)
    else:
        raise ConfigError(
            f"unknown data set {args.name!r}: expected one of {', '.join(EXPORTABLE)} or a folder"
        )
    counts = export_dataset(dataset, args.out, corpus=args.corpus)
    print(json.dumps({"out": args.out, **counts}))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from xqg.data.validate import validate_folder

    counts = validate_folder(args.folder, lang=args.lang)
    print(f"{args.folder}: valid " + json.dumps(counts))
    return 0
