"""``xqg typos``: misspell a query file (JSONL/TSV in, misspelled JSONL out), K seeded variants."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``xqg typos``."""
    parser = subparsers.add_parser(
        "typos",
        help="write K seeded misspelled variants of a query file",
        description="Misspells every query in its own language (grapheme clusters, per-language keyboard "
        "layouts, script-specific errors). Each output is reproducible from (seed, query id, variant). "
        "Output rows: id, text, lang, variant, original, edits. See docs/typos.md.",
    )
    from xqg.cli.validators import corpus_file, language_code, positive_int, unit_interval

    parser.add_argument(
        "--queries", required=True, type=corpus_file, help="queries file (JSONL {id|_id, text, lang} or TSV)"
    )
    parser.add_argument(
        "--output",
        required=True,
        type=_output_pattern,
        help="output JSONL; with '{variant}' in the name, one file per variant, otherwise one "
        "file with a 'variant' field",
    )
    parser.add_argument("--lang", type=language_code, help="language of rows without one")
    parser.add_argument("--variants", type=positive_int, default=10, help="K variants (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--protocol", default="one-typo", choices=["one-typo", "rate", "idf", "script"])
    parser.add_argument(
        "--num-typos", type=positive_int, default=1, help="typos per query (one-typo, script)"
    )
    parser.add_argument("--rate", type=unit_interval, default=0.2, help="per-word typo probability (rate)")
    parser.add_argument(
        "--idf-corpus", type=corpus_file, help="corpus (JSONL/TSV) whose IDF picks the word (protocol idf)"
    )
    parser.add_argument(
        "--allow-other-scripts",
        action="store_true",
        help="misspell queries whose letters are not in their language's script (refused by default: "
        "usually a wrong lang field)",
    )
    parser.set_defaults(func=run)


def _output_pattern(text: str) -> str:
    """The output file name, or pattern with ``{variant}``: its folder must be writable."""
    import argparse as _argparse

    from xqg.cli.validators import output_file

    try:
        probe = text.format(variant=0)
    except (KeyError, IndexError, ValueError):
        raise _argparse.ArgumentTypeError(
            f"{text!r}: the only placeholder an output name may hold is {{variant}}"
        ) from None
    output_file(probe)
    return text


def _check_scripts(args: argparse.Namespace, queries: list[Any]) -> None:
    """Refuse (or with --allow-other-scripts, warn about) queries not written in their language's script."""
    import logging

    from xqg.data.corpus import iter_queries
    from xqg.errors import InputError
    from xqg.typos.script_check import in_language_script, language_script, text_script

    odd = [q for q in queries if not in_language_script(q.text, q.lang)]
    if not odd:
        return
    lines = {q.id: line for line, q in iter_queries(args.queries, lang=args.lang)}
    examples = "; ".join(
        f"line {lines.get(q.id)}: {q.id!r} is tagged {q.lang!r} ({language_script(q.lang)}) but written in "
        f"{text_script(q.text)}"
        for q in odd[:3]
    )
    message = (
        f"{len(odd)} of {len(queries)} queries are not written in their language's script ({examples}); "
        "check their lang field"
    )
    if not args.allow_other_scripts:
        raise InputError(
            f"{message} (--allow-other-scripts misspells them anyway)",
            path=args.queries,
            line=lines.get(odd[0].id),
        )
    logging.getLogger("xqg.typos").warning("%s: %s; misspelling them anyway", args.queries, message)


def run(args: argparse.Namespace) -> int:
    """Write the variants; prints how many queries could not be changed."""
    import sys

    from tqdm.auto import tqdm

    from xqg.data.corpus import iter_corpus, read_queries
    from xqg.data.jsonl import write_jsonl
    from xqg.errors import ConfigError
    from xqg.seeding import derive_seed
    from xqg.typos.generator import IdfTable, misspell_with_edits

    queries = read_queries(args.queries, lang=args.lang)
    _check_scripts(args, queries)
    options: dict[str, Any] = {"num_typos": args.num_typos, "rate": args.rate}
    tables: dict[str, IdfTable] = {}
    if args.protocol == "idf":
        if not args.idf_corpus:
            raise ConfigError("--protocol idf needs --idf-corpus")
        texts = [f"{p.title} {p.text}".strip() for p in iter_corpus(args.idf_corpus)]
        tables = {lang: IdfTable(texts, lang) for lang in sorted({q.lang for q in queries})}

    def rows(variant: int) -> list[dict[str, Any]]:
        out = []
        for q in queries:
            if tables:
                options["idf"] = tables[q.lang]
            result = misspell_with_edits(
                q.text, q.lang, derive_seed(args.seed, q.id, variant), protocol=args.protocol, **options
            )
            out.append(
                {
                    "id": q.id,
                    "text": result.text,
                    "lang": q.lang,
                    "variant": variant,
                    "original": q.text,
                    "edits": [
                        {"original": e.original, "replacement": e.replacement, "operation": e.operation}
                        for e in result.edits
                    ],
                }
            )
        return out

    unchanged = 0
    per_file = "{variant}" in args.output
    collected: list[dict[str, Any]] = []
    for variant in tqdm(range(args.variants), desc="variants"):
        batch = rows(variant)
        unchanged += sum(1 for r in batch if not r["edits"])
        if per_file:
            write_jsonl(args.output.format(variant=variant), batch)
        else:
            collected.extend(batch)
    if not per_file:
        write_jsonl(args.output, collected)
    total = len(queries) * args.variants
    print(
        f"xqg typos: {total} rows written ({len(queries)} queries x {args.variants} variants): "
        f"{total - unchanged} with a typo, {unchanged} left unchanged (no word allowed a typo under "
        "this protocol)",
        file=sys.stderr,
    )
    return 0
