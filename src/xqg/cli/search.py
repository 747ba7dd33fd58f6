"""``xqg search``: exact inner-product top-k over sharded vectors, written as a TREC run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``search`` subcommand."""
    from xqg.cli.encode import add_encoder_arguments
    from xqg.cli.validators import input_folder, input_path, language_code, output_file, positive_int

    parser = subparsers.add_parser(
        "search",
        help="exact top-k search of queries over sharded passage vectors; writes a TREC run",
        description="Search every shard of the --index folder(s) one at a time (FAISS IndexFlatIP, or a GPU "
        "matrix product with --search-device cuda) and merge each query's top-k. --queries is either an "
        "`xqg encode --kind query` output folder or a queries file (JSONL/TSV), encoded here with --model.",
    )
    parser.add_argument(
        "--queries", required=True, type=input_path, help="encoded queries folder, or queries JSONL/TSV"
    )
    parser.add_argument(
        "--index",
        required=True,
        nargs="+",
        type=input_folder,
        help="`xqg encode` output folder(s) of passages",
    )
    parser.add_argument("--output", "-o", required=True, type=output_file, help="TREC run file to write")
    parser.add_argument("-k", "--k", type=positive_int, default=100, help="documents per query (default 100)")
    parser.add_argument("--tag", default="xqg", help="run tag (last TREC column)")
    parser.add_argument("--lang", type=language_code, default=None, help="language of query rows without one")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="query encoding batch size")
    parser.add_argument("--search-device", default="cpu", help="cpu (FAISS) or a torch device such as cuda")
    parser.add_argument(
        "--search-precision",
        choices=("float32", "float16", "bfloat16"),
        default="float32",
        help="with --search-device cuda: hold and multiply the shards in float16/bfloat16 (half the memory "
        "and traffic), then re-score a shortlist in float32 (scores written are float32)",
    )
    parser.add_argument(
        "--in-memory",
        action="store_true",
        help="load every shard once (checksums verified) and search it in blocks: the fastest CPU path "
        "when the vectors fit in memory (docs/performance.md); same rankings as the per-shard search",
    )
    parser.add_argument(
        "--per-language",
        action="store_true",
        help="--index is an `xqg fuse --per-language --output` folder (one fused index per language, "
        "INDEX/<lang>): each query is searched in its own language's index; one run for all",
    )
    parser.add_argument(
        "--mmap",
        action="store_true",
        help="with --in-memory: memory-map float32 shards instead of reading them",
    )
    add_encoder_arguments(parser)
    parser.set_defaults(func=_search)


def check_index(folder: str | Path) -> int:
    """Check, before any query is encoded, that ``folder`` is a finished, non-empty vector output.

    Returns:
        Its number of rows.

    Raises:
        InputError: not a sharded output, an unfinished shard, or no vectors at all.
    """
    from xqg.distributed import iter_finished_shards, read_job_plan
    from xqg.errors import InputError

    plan = read_job_plan(folder)
    for _ in iter_finished_shards(folder, verify="none"):  # every shard finished (checksums come later)
        pass
    if plan.num_rows == 0:
        raise InputError("the index holds no vectors (it was built from an empty input)", path=folder)
    return plan.num_rows


def _check_query_ids(query_ids: list[str], folder: Path) -> None:
    from collections import Counter

    from xqg.errors import InputError

    if not query_ids:
        raise InputError("the encoded queries folder holds no queries", path=folder)
    repeated = [qid for qid, n in Counter(query_ids).items() if n > 1]
    if repeated:
        raise InputError(
            f"{len(repeated)} query id(s) occur more than once, e.g. {repeated[0]!r}: a run keeps one result "
            "list per id (re-encode the queries file; `xqg encode` now refuses duplicate ids)",
            path=folder,
        )


def _language_indexes(root: Path, langs: set[str]) -> dict[str, Path]:
    """The per-language indexes ``root/<lang>`` of the query languages, each checked (before encoding)."""
    from xqg.errors import InputError

    indexes = {lang: root / lang for lang in sorted(langs) if (root / lang).is_dir()}
    for lang in sorted(langs - set(indexes)):
        raise InputError(
            f"no fused index for {lang!r} queries (indexes for: {', '.join(sorted(indexes)) or 'none'}); "
            "is this an `xqg fuse --per-language --output` folder?",
            path=root,
        )
    for folder in indexes.values():
        check_index(folder)
    return indexes


def _search(args: argparse.Namespace) -> int:
    import numpy as np

    from xqg.errors import ConfigError
    from xqg.index.exact_search import search_to_trec

    queries = Path(args.queries)
    query_langs: list[str] = []
    if args.per_language and queries.is_dir():
        raise ConfigError("--per-language needs a queries file (each query's language), not encoded vectors")
    if args.mmap and not args.in_memory:
        raise ConfigError("--mmap applies to --in-memory search only")
    if args.in_memory and (args.search_device != "cpu" or args.search_precision != "float32"):
        raise ConfigError("--in-memory is the CPU path; use --search-device alone for a GPU")
    if args.per_language:
        if len(args.index) != 1 or args.in_memory:
            raise ConfigError(
                "--per-language takes one --index folder (of per-language indexes), without --in-memory"
            )
    else:
        for folder in args.index:
            check_index(folder)
    if queries.is_dir():
        from xqg.distributed import load_vectors

        query_ids, vectors = load_vectors(queries)
        _check_query_ids(query_ids, queries)
    else:
        from xqg.cli.encode import encoder_options
        from xqg.data.corpus import read_queries
        from xqg.encode.dual_encoder import load_encoder

        # only --per-language uses the queries' languages; a plain search takes rows without one
        records = read_queries(queries, lang=args.lang, require_language=args.per_language)
        if args.per_language:
            _language_indexes(Path(args.index[0]), {q.lang for q in records})  # before encoding
        encoder = load_encoder(
            args.model, device=args.device, precision=args.precision, **encoder_options(args)
        )
        vectors = encoder.encode_queries(
            [q.text for q in records], batch_size=args.batch_size, show_progress=True
        )
        query_ids = [q.id for q in records]
        query_langs = [q.lang for q in records]
    if args.per_language:
        return _search_per_language(args, np.asarray(vectors, dtype=np.float32), query_ids, query_langs)
    if args.in_memory:
        from xqg.data.trec import write_run
        from xqg.index.loaded_index import LoadedIndex

        run = LoadedIndex.open(args.index, mmap=args.mmap).search(
            np.asarray(vectors, dtype=np.float32), query_ids, k=args.k
        )
        write_run(args.output, run, tag=args.tag)
    else:
        run = search_to_trec(
            vectors,
            query_ids,
            args.index,
            args.output,
            k=args.k,
            tag=args.tag,
            device=args.search_device,
            precision=args.search_precision,
        )
    print(f"{args.output}: {len(run)} queries, top {args.k}")
    return 0


def _search_per_language(
    args: argparse.Namespace, vectors: np.ndarray, query_ids: list[str], langs: list[str]
) -> int:
    """Each language's queries against INDEX/<lang>; one TREC run for all."""
    from xqg.data.trec import write_run
    from xqg.index.exact_search import search_by_language

    indexes = _language_indexes(Path(args.index[0]), set(langs))
    run = search_by_language(
        vectors,
        query_ids,
        langs,
        indexes,
        k=args.k,
        device=args.search_device,
        precision=args.search_precision,
    )
    write_run(args.output, run, tag=args.tag)
    print(f"{args.output}: {len(run)} queries in {len(set(langs))} languages, top {args.k}")
    return 0
