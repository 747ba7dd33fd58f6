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
    parser.add_argument("--queries", required=True, help="queries file (JSONL {id|_id, text, lang} or TSV)")
    parser.add_argument(
        "--output",
        required=True,
        help="output JSONL; with '{variant}' in the name, one file per variant, otherwise one "
        "file with a 'variant' field",
    )
    parser.add_argument("--lang", help="language of rows without one")
    parser.add_argument("--variants", type=int, default=10, help="K variants (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--protocol", default="one-typo", choices=["one-typo", "rate", "idf", "script"])
    parser.add_argument("--num-typos", type=int, default=1, help="typos per query (one-typo, script)")
    parser.add_argument("--rate", type=float, default=0.2, help="per-word typo probability (rate)")
    parser.add_argument("--idf-corpus", help="corpus (JSONL/TSV) whose IDF picks the word (protocol idf)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the variants; prints how many queries could not be changed."""
    import sys

    from tqdm.auto import tqdm

    from xqg.data.corpus import iter_corpus, read_queries
    from xqg.data.jsonl import write_jsonl
    from xqg.errors import ConfigError
    from xqg.seeding import derive_seed
    from xqg.typos.generator import IdfTable, misspell_with_edits

    if args.variants < 1:
        raise ConfigError(f"--variants must be >= 1 (got {args.variants})")
    queries = read_queries(args.queries, lang=args.lang)
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
        f"xqg typos: {total} misspelled queries written; {unchanged} left unchanged (no word allowed a "
        "typo under this protocol)",
        file=sys.stderr,
    )
    return 0
