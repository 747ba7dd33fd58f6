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
    from xqg.cli.validators import (
        device,
        input_folder,
        input_path,
        language_code,
        output_file,
        positive_int,
        run_tag,
    )

    parser = subparsers.add_parser(
        "search",
        help="exact top-k search of queries over sharded passage vectors; writes a TREC run",
        description="Exact inner-product top-k of every query over the --index folder(s), by the fastest path "
        "that fits --max-memory: shard by shard, float32 shards memory-mapped and scanned in place (FAISS), or "
        "a GPU matrix product with --search-device cuda; --search-path memory holds the whole index in memory. "
        "The run is the same either way (ties by doc id). Each shard's checksums are verified once and "
        "remembered while its files are unchanged (--verify hashes them again). --queries is either an "
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
    parser.add_argument("--tag", type=run_tag, default="xqg", help="run tag (last TREC column)")
    parser.add_argument("--lang", type=language_code, default=None, help="language of query rows without one")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="query encoding batch size")
    parser.add_argument(
        "--search-device", type=device, default="cpu", help="cpu (FAISS) or a torch device such as cuda"
    )
    parser.add_argument(
        "--search-precision",
        choices=("auto", "float32", "float16", "bfloat16"),
        default="auto",
        help="the product: bfloat16/float16 shortlist the documents whose rounded score, widened by a "
        "proven bound of its error, could reach the k-th, and re-score them in float32 (the float32 run). "
        "auto (default): bfloat16 on a CPU with avx512_bf16/AMX for 16 queries or "
        "more, float32 otherwise",
    )
    parser.add_argument(
        "--max-memory",
        type=memory_budget,
        default=None,
        help="memory the search may use: a size (8G, 512M) or a share of the available memory (60%%); "
        "default 50%% of the memory available at start. The fastest path that fits it is taken",
    )
    parser.add_argument(
        "--search-path",
        choices=("auto", "memory", "streaming"),
        default="auto",
        help="auto (default): the fastest path that fits --max-memory (docs/performance.md); memory: the "
        "whole index loaded once (LoadedIndex); streaming: shard by shard",
    )
    parser.add_argument(
        "--in-memory", action="store_true", help="same as --search-path memory (kept for old scripts)"
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="hash every shard file against its manifest now (default: files verified before and "
        "unchanged since, by size, times and inode, are not hashed again)",
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
        help="in-memory path: memory-map a single float32 shard instead of reading it",
    )
    add_encoder_arguments(parser)
    parser.set_defaults(func=_search)


def memory_budget(text: str) -> str:
    """``--max-memory``, checked when parsed (:func:`xqg.index.search_plan.parse_memory`); kept as written.

    Example:
        >>> memory_budget("8G")
        '8G'
    """
    from xqg.errors import ConfigError
    from xqg.index.search_plan import parse_memory

    try:
        parse_memory(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


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

    queries = Path(args.queries)
    verify = "sha256" if args.verify else "remembered"
    if args.in_memory and args.search_path == "streaming":
        raise ConfigError("--in-memory and --search-path streaming contradict each other")
    path = "memory" if args.in_memory else args.search_path
    query_langs: list[str] = []
    if args.per_language and queries.is_dir():
        raise ConfigError("--per-language needs a queries file (each query's language), not encoded vectors")
    if args.mmap and path == "streaming":
        raise ConfigError("--mmap applies to the in-memory path only")
    if path == "memory" and args.search_device != "cpu":
        raise ConfigError("the in-memory path runs on the CPU; use --search-device alone for a GPU")
    if path == "memory" and args.search_precision not in ("auto", "float32"):
        raise ConfigError(
            f"the in-memory path is float32; a {args.search_precision} product streams the shards"
        )
    if args.per_language:
        if len(args.index) != 1 or path == "memory":
            raise ConfigError(
                "--per-language takes one --index folder (of per-language indexes) and streams each "
                "language's index (without --in-memory / --search-path memory)"
            )
    else:
        for folder in args.index:
            check_index(folder)
    if queries.is_dir():
        from xqg.distributed import load_vectors

        query_ids, vectors = load_vectors(queries, verify=verify)
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
    from xqg.data.trec import write_run
    from xqg.index.search_plan import search_index

    run, plan = search_index(
        np.asarray(vectors, dtype=np.float32),
        query_ids,
        args.index,
        k=args.k,
        max_memory=args.max_memory,
        verify=verify,
        device=args.search_device,
        precision=args.search_precision,
        path=path,
        mmap=args.mmap,
    )
    write_run(args.output, run, tag=args.tag)
    print(f"xqg search: path {plan}", flush=True)
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
        verify="sha256" if args.verify else "remembered",
    )
    write_run(args.output, run, tag=args.tag)
    print(f"{args.output}: {len(run)} queries in {len(set(langs))} languages, top {args.k}")
    return 0
