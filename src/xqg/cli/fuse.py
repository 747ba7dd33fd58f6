"""``xqg fuse``: fuse generated (or predicted) query embeddings into passage vectors; tune α.

``xqg fuse-predictor``: train the text-free query-embedding predictor (fusion without generation).
"""

from __future__ import annotations

import argparse

from xqg.cli.precision_option import add_precision_argument
from xqg.cli.validators import (
    corpus_file,
    device,
    input_file,
    input_folder,
    input_path,
    language_list,
    metrics,
    model_path,
    non_negative_float,
    non_negative_int,
    output_folder,
    positive_int,
    unit_interval,
    unit_interval_list,
)
from xqg.fuse.fusion import DEFAULT_ALPHA


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fuse`` and ``fuse-predictor`` subcommands."""
    from xqg.cli.shard_options import add_shard_arguments

    parser = subparsers.add_parser(
        "fuse",
        help="fuse generated queries' embeddings into passage vectors (xQG); sweep alpha on a dev split",
        description="Step 1 (with --corpus): encode every passage and the sum of its generated queries' "
        "vectors, shard by shard, into --store (passage vectors, query sums, counts; resumable; query "
        "vectors are never written). Step 2 (optional, --alpha-sweep with --dev-queries/--dev-qrels): "
        "evaluate each alpha on a dev split and take the best. Step 3 (with --output): write fused "
        "vectors (1-alpha)*E(p) + alpha*sum E(q) for search. Steps 2-3 never re-encode passages.",
    )
    parser.add_argument("--store", required=True, help="folder of the fusion arrays (written by step 1)")
    parser.add_argument(
        "--corpus", type=corpus_file, help="corpus JSONL/TSV: build (or resume) the store from it"
    )
    src = parser.add_mutually_exclusive_group()
    src.add_argument(
        "--queries",
        type=input_path,
        help="generated queries JSONL (file or folder) keyed by docid, lang, slot",
    )
    src.add_argument(
        "--generator",
        type=model_path("generator", allow_default=True),
        help="generate in-process with this generator (name or path; 'default' for the embedded one)",
    )
    src.add_argument(
        "--predictor",
        type=input_folder,
        help="fusion without text: a predictor folder from `xqg fuse-predictor`",
    )
    parser.add_argument(
        "--languages", type=language_list, help="comma-separated languages of the generated/predicted queries"
    )
    parser.add_argument(
        "--n", type=positive_int, default=5, help="queries per passage per language (default 5)"
    )
    parser.add_argument("--seed", type=int, default=0, help="generation seed (default 0)")
    parser.add_argument(
        "--misspelled-copies",
        type=non_negative_int,
        default=0,
        help="also fuse this many seeded one-typo copies of each generated query (xqg typos rules), so "
        "that passages meet misspelled questions halfway; needs --queries or --generator (default 0)",
    )
    parser.add_argument("--typo-seed", type=int, default=0, help="seed of the misspelled copies (default 0)")
    parser.add_argument(
        "--top-k", type=positive_int, default=10, help="top-k sampling of the generator (default 10)"
    )
    parser.add_argument(
        "--device",
        type=device,
        default="auto",
        help="where --generator runs: auto (a CUDA GPU when there is one), cpu, cuda, cuda:N",
    )
    parser.add_argument(
        "--encoder",
        default=None,
        type=model_path("encoder", allow_default=True),
        help="encoder name or path (default: multilingual-e5-small)",
    )
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument(
        "--alpha",
        type=unit_interval,
        default=DEFAULT_ALPHA,
        help=f"weight of the query term (default {DEFAULT_ALPHA})",
    )
    add_precision_argument(parser, "the encoder (a resumed store keeps the precision it recorded)")
    parser.add_argument(
        "--mode",
        choices=("sum", "mean"),
        default="sum",
        help="sum of query vectors (the paper) or their mean (alpha ~30x larger)",
    )
    parser.add_argument(
        "--allow-unequal-counts",
        action="store_true",
        help="accept passages fused over different numbers of queries with --mode sum "
        "(usually wrong: passages then rank by how many queries they got)",
    )
    parser.add_argument(
        "--alpha-sweep", type=unit_interval_list, help="comma-separated alphas to evaluate on the dev split"
    )
    parser.add_argument("--dev-queries", type=corpus_file, help="dev queries (JSONL/TSV) for --alpha-sweep")
    parser.add_argument("--dev-qrels", type=input_file, help="dev qrels (TREC) for --alpha-sweep")
    parser.add_argument(
        "--metric", type=metrics, default="MRR@10", help="selection metric of the sweep (default MRR@10)"
    )
    parser.add_argument(
        "--output", type=output_folder, help="write fused vectors here (sharded like the store)"
    )
    parser.add_argument(
        "--per-language",
        action="store_true",
        help="one fused passage matrix per query language: the store keeps each language's query sums "
        "(with --corpus; needs --languages), the sweep searches each dev query in its language's matrix, "
        "and --output gets one folder per language (OUTPUT/<lang>; search a language's queries there)",
    )
    add_shard_arguments(parser, default_shard_size=100_000)
    parser.set_defaults(func=_fuse)

    pred = subparsers.add_parser(
        "fuse-predictor",
        help="train the text-free query-embedding predictor on (passage, real query) pairs",
        description="Fit a ridge map from E(p) to the embeddings of its real queries per language "
        "(fusion without text); saved as safetensors. Use it with `xqg fuse --predictor`.",
    )
    pred.add_argument("--corpus", required=True, type=corpus_file, help="training corpus (JSONL/TSV)")
    pred.add_argument(
        "--queries",
        required=True,
        nargs="+",
        type=corpus_file,
        help="training queries (JSONL/TSV, with lang)",
    )
    pred.add_argument(
        "--qrels",
        required=True,
        type=input_file,
        help="training qrels (TREC): which passage each query answers",
    )
    pred.add_argument(
        "--encoder",
        default=None,
        type=model_path("encoder", allow_default=True),
        help="encoder name or path (default: multilingual-e5-small)",
    )
    add_precision_argument(pred, "the encoder")
    pred.add_argument("--kind", choices=("shared", "per-language"), default="shared")
    pred.add_argument("--ridge", type=non_negative_float, default=1.0)
    pred.add_argument("--language-ridge", type=non_negative_float, default=10.0)
    pred.add_argument("--output", required=True, type=output_folder, help="folder for the predictor")
    pred.set_defaults(func=_fit_predictor)


def _check_fuse_arguments(args: argparse.Namespace) -> None:
    """Every combination of flags, the store and the output folder, checked before any work."""
    from pathlib import Path

    from xqg.data.output_paths import check_output_folder
    from xqg.errors import ConfigError

    if not (args.corpus or args.alpha_sweep or args.output):
        raise ConfigError("nothing to do: give --corpus (build the store), --alpha-sweep and/or --output")
    if args.corpus:
        if not (args.queries or args.generator or args.predictor):
            raise ConfigError("with --corpus, give one of --queries, --generator or --predictor")
        if args.generator and not args.languages:
            raise ConfigError("--generator needs --languages")
        if args.per_language and not args.languages:
            raise ConfigError("--per-language needs --languages: the languages that get a matrix each")
        if args.misspelled_copies and args.predictor:
            raise ConfigError("--misspelled-copies misspells query texts: it needs --queries or --generator")
        check_output_folder(args.store)
    elif args.queries or args.generator or args.predictor or args.misspelled_copies:
        raise ConfigError(
            "--queries, --generator, --predictor and --misspelled-copies build a store: they need --corpus"
        )
    else:
        from xqg.fuse.store import store_languages

        store_languages(args.store)  # an existing fusion output (the message says how to repair one)
    if args.alpha_sweep and not (args.dev_queries and args.dev_qrels):
        raise ConfigError("--alpha-sweep needs --dev-queries and --dev-qrels")
    if args.output and Path(args.output).resolve() == Path(args.store).resolve():
        raise ConfigError("--output must be another folder than --store")


def _fuse(args: argparse.Namespace) -> int:
    from pathlib import Path

    from xqg.errors import ConfigError

    _check_fuse_arguments(args)
    if args.corpus:
        from xqg.cli.shard_options import sharding_options
        from xqg.distributed import run_sharded
        from xqg.fuse.task import FuseShardTask

        sharding = sharding_options(args)
        langs = args.languages
        if args.queries:
            source = {"kind": "file", "path": str(Path(args.queries).resolve()), "languages": langs}
        elif args.generator:
            from xqg.precision import resolve_precision

            source = {
                "kind": "generator",
                "generator": None if args.generator == "default" else args.generator,
                "languages": langs,
                "n": args.n,
                "seed": args.seed,
                "top_k": args.top_k,
                "device": args.device,
                # the same --precision for generation, resolved here: part of the store's fingerprint
                "precision": resolve_precision(args.precision, args.device),
            }
        else:
            source = {
                "kind": "predicted",
                "path": str(Path(args.predictor).resolve()),
                "languages": langs,
                "n": args.n,
            }
        if args.misspelled_copies:
            source.update(misspelled_copies=args.misspelled_copies, typo_seed=args.typo_seed)
        from xqg.precision import resolve_job_precision

        precision = resolve_job_precision(args.precision, "auto", args.store, task=FuseShardTask.name)
        print(f"xqg fuse: encoder precision {precision}", flush=True)
        task = FuseShardTask(
            str(Path(args.corpus).resolve()),
            source,
            encoder=args.encoder or "default",
            batch_size=args.batch_size,
            languages=langs if args.per_language else None,
            precision=precision.precision,
            record_precision=precision.record,
        )
        task.check()
        from xqg.data.corpus import count_passages

        num_rows = count_passages(args.corpus)
        run_sharded(task, num_rows, args.store, **sharding)
        print(f"fusion store: {args.store} ({num_rows} passages)")

    alpha = args.alpha
    per_language: list[str] = []
    if args.per_language:
        from xqg.fuse.store import store_languages

        per_language = store_languages(args.store)
        if not per_language:
            raise ConfigError(
                f"{args.store} holds one mixed query sum per passage: rebuild it with --corpus "
                "--per-language --languages ... for per-language matrices"
            )
    if args.alpha_sweep:
        from xqg.data.corpus import read_queries
        from xqg.data.trec import read_qrels
        from xqg.encode import load_encoder
        from xqg.fuse.store import load_fusion_store
        from xqg.fuse.sweep import alpha_sweep

        # per-language matrices need each dev query's language; the mixed sum takes rows without one
        queries = read_queries(args.dev_queries, require_language=bool(per_language))
        qrels = read_qrels(args.dev_qrels)
        if not any(q.id in qrels for q in queries):
            from xqg.errors import InputError

            raise InputError(
                f"no query of {args.dev_queries} is judged here: the qrels and the dev queries do not "
                "overlap (another split or id scheme?)",
                path=args.dev_qrels,
            )
        store = (
            {lang: load_fusion_store(args.store, language=lang) for lang in per_language}
            if per_language
            else load_fusion_store(args.store)
        )
        encoder_name = None if args.encoder == "default" else args.encoder
        if encoder_name is None:  # the encoder the store was built with
            from xqg.distributed import read_job_plan

            recorded = read_job_plan(args.store).fingerprint.get("encoder")
            encoder_name = None if recorded in (None, "default") else recorded
        from xqg.precision import recorded_precision

        # the dev queries at the store's precision (a store built before precisions: float32)
        precision = args.precision if args.precision != "auto" else recorded_precision(args.store) or "auto"
        encoder = load_encoder(encoder_name, precision=precision)
        vectors = encoder.encode_queries([q.text for q in queries], batch_size=args.batch_size)
        sweep = alpha_sweep(
            store,
            vectors,
            [q.id for q in queries],
            qrels,
            args.alpha_sweep,
            mode=args.mode,
            metric=args.metric,
            query_lang={q.id: q.lang for q in queries},
            allow_unequal_counts=args.allow_unequal_counts,
        )
        print(sweep.to_markdown())
        alpha = sweep.best_alpha
        print(f"best alpha ({args.metric}, macro average over languages): {alpha:g}")

    if args.output:
        from xqg.fuse.store import refuse

        for lang in per_language or [None]:
            out = Path(args.output) / lang if lang else Path(args.output)
            refuse(
                args.store,
                out,
                alpha=alpha,
                mode=args.mode,
                allow_unequal_counts=args.allow_unequal_counts,
                show_progress=True,
                language=lang,
            )
            print(
                f"fused vectors (alpha={alpha:g}, {args.mode}{', ' + lang + ' queries' if lang else ''}): {out}"
            )
    return 0


def _fit_predictor(args: argparse.Namespace) -> int:
    import numpy as np

    from xqg.data.corpus import read_corpus, read_queries
    from xqg.data.trec import read_qrels
    from xqg.encode import load_encoder
    from xqg.errors import InputError
    from xqg.fuse.predictor import QueryEmbeddingPredictor

    corpus = read_corpus(args.corpus)
    qrels = read_qrels(args.qrels)
    queries = [q for path in args.queries for q in read_queries(path)]
    position = {p.id: i for i, p in enumerate(corpus)}
    pairs = []
    for q in queries:
        for docid, grade in qrels.get(q.id, {}).items():
            if grade > 0:
                if docid not in position:
                    raise InputError(
                        f"qrels name docid {docid!r} (query {q.id!r}) not in the corpus", path=args.qrels
                    )
                pairs.append((q, position[docid]))
    if not pairs:
        raise InputError(
            "no (query, relevant passage) pairs: do the qrels match the queries?", path=args.qrels
        )
    encoder = load_encoder(args.encoder, precision=args.precision)
    p_vec = np.asarray(encoder.encode_passages(corpus), dtype=np.float32)
    q_vec = np.asarray(encoder.encode_queries([q.text for q, _ in pairs]), dtype=np.float32)
    model = QueryEmbeddingPredictor.fit(
        p_vec[[i for _, i in pairs]],
        [q.lang for q, _ in pairs],
        q_vec,
        kind=args.kind,
        ridge=args.ridge,
        language_ridge=args.language_ridge,
        encoder=args.encoder or "default",
    )
    path = model.save(args.output)
    print(f"predictor ({args.kind}, {len(pairs)} pairs, languages {','.join(model.languages)}): {path}")
    return 0
