"""``xqg train-generator`` and ``xqg generate``: the xQG query generator.

``xqg train-generator`` fine-tunes any Hugging Face seq2seq model (``--model``) or builds and trains the
embedded default generator (``--default``) on (passage, language, question) triples from XQuAD
training-fold articles (``--xquad``) or a JSONL file (``--train``). ``xqg generate`` samples ``--n``
queries per passage per language for a whole corpus, sharded and resumable.
"""

from __future__ import annotations

import argparse
import logging

logger = logging.getLogger(__name__)


def _languages(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train-generator`` and ``generate`` subcommands."""
    from xqg.distributed.cli_args import add_shard_arguments

    train = subparsers.add_parser(
        "train-generator",
        help="fine-tune a seq2seq query generator (or build and train the default one)",
        description="Fine-tune a seq2seq model on (passage, language, question) triples with the prompt "
        "'Generate a {Language} question for this passage: {title} {passage}' (teacher forcing, bf16 or fp32), "
        "or build the default BERT-to-BERT generator from multilingual-e5-small (--default). Checkpoints go "
        "to OUTPUT/checkpoint; re-running the same command resumes.",
    )
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model", help="HF seq2seq model folder or locally cached hub id (mT5, ByT5, mBART ...)"
    )
    source.add_argument(
        "--default", action="store_true", help="build the default generator from the default encoder"
    )
    data = train.add_mutually_exclusive_group(required=True)
    data.add_argument("--train", help="JSONL of triples {passage, lang, query[, title, docid]}")
    data.add_argument("--xquad", action="store_true", help="train on the training articles of an XQuAD fold")
    train.add_argument(
        "--translation-pairs",
        action="store_true",
        help="--xquad: also train on (English sentence -> sentence in L) pairs from the training "
        "paragraphs' XQuAD translations (docs/generator.md)",
    )
    train.add_argument(
        "--question-pairs",
        action="store_true",
        help="with --xquad: also train on (English question -> the same question in L) pairs of the training "
        "articles (XQuAD's questions are translations; measured in docs/generator.md)",
    )
    train.add_argument("--eval", help="JSONL of held-out triples for the evaluation loss")
    train.add_argument("--fold", type=int, default=0, help="XQuAD fold (0-based; default 0)")
    train.add_argument("--num-folds", type=int, default=5, help="XQuAD folds (default 5)")
    train.add_argument("--fold-seed", type=int, default=0, help="seed of the XQuAD fold split")
    train.add_argument("--languages", help="comma-separated target languages (default: all in the data)")
    train.add_argument(
        "--output", "-o", help="output folder (default for --default: the cache's default generator)"
    )
    train.add_argument(
        "--recipe",
        choices=("fast", "long"),
        default="fast",
        help="training recipe (default fast: ~5-8 min on 2 idle cores for an XQuAD fold)",
    )
    train.add_argument("--steps", type=int, help="optimizer steps (default: the recipe's)")
    train.add_argument("--batch-size", type=int, help="triples per step")
    train.add_argument("--lr", type=float, help="peak learning rate")
    train.add_argument(
        "--precision", choices=("fp32", "bf16"), help="fp32 or bf16 autocast (fp16 is not offered)"
    )
    train.add_argument("--max-input-length", type=int, help="encoder tokens in training (default 128)")
    train.add_argument(
        "--freeze-encoder",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train only the decoder (default: on for --default, off for --model)",
    )
    train.add_argument("--decoder-layers", type=int, help="--default: decoder depth (default 4)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    train.add_argument(
        "--device",
        default="auto",
        help="auto (a CUDA GPU when there is one, else the CPU), cpu, cuda, cuda:N",
    )
    train.set_defaults(func=_train)

    gen = subparsers.add_parser(
        "generate",
        help="generate n queries per passage per language for a corpus (sharded, resumable)",
        description="Top-k sampling of N queries per passage and language into OUTPUT/shard-*/queries.jsonl "
        "(rows {docid, lang, slot, query}). Deterministic for a seed whatever the batch size or sharding.",
    )
    # every value checked when parsed (xqg.cli.validators; docs/reliability.md)
    from xqg.cli import validators as v

    gen.add_argument(
        "corpus", type=v.corpus_file, help="corpus (JSONL {_id,title,text} or TSV id/text/title)"
    )
    gen.add_argument("--output", "-o", required=True, type=v.output_folder, help="output folder")
    gen.add_argument(
        "--generator",
        type=v.model_path("generator"),
        help="generator folder or HF seq2seq model (default: the default generator)",
    )
    gen.add_argument(
        "--languages",
        required=True,
        type=v.language_list,
        help="comma-separated target languages, e.g. ar,bn,fi,ja,ko,ru,te",
    )
    gen.add_argument(
        "--n", type=v.positive_int, default=5, help="queries per passage per language (default 5)"
    )
    gen.add_argument("--top-k", type=v.positive_int, default=10, help="top-k sampling (default 10)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--batch-size", type=v.positive_int, default=8, help="passages per batch (default 8)")
    gen.add_argument(
        "--max-new-tokens", type=v.positive_int, default=32, help="generated tokens at most (default 32)"
    )
    gen.add_argument(
        "--max-input-length", type=v.positive_int, default=256, help="encoder tokens (default 256)"
    )
    gen.add_argument(
        "--int8",
        action="store_true",
        help="CPU fast path: dynamic int8 quantisation of the generator's layers (~1.5x over float32; outputs differ "
        "slightly from float32, see docs/performance.md)",
    )
    gen.add_argument(
        "--precision",
        choices=("float32", "bfloat16"),
        default="float32",
        help="bfloat16: autocast, the fastest path on CPUs with avx512_bf16/AMX (outputs differ slightly "
        "from float32, see docs/performance.md)",
    )
    gen.add_argument(
        "--device",
        default="auto",
        help="auto (a CUDA GPU when there is one, else the CPU; always the CPU with --int8), cpu, cuda, cuda:N",
    )
    add_shard_arguments(gen, default_shard_size=10_000)
    gen.set_defaults(func=_generate)


def _train(args: argparse.Namespace) -> int:
    import torch

    from xqg.errors import ConfigError
    from xqg.generate import (
        QueryGenerator,
        TrainingConfig,
        default_generator_dir,
        examples_from_dataset,
        read_examples_jsonl,
        recipe_config,
        train_default_generator,
        train_generator,
    )

    if args.threads:
        torch.set_num_threads(args.threads)
    languages = _languages(args.languages)
    if args.xquad:
        from xqg.data import load_xquad, split_by_articles, xquad_folds

        # English questions are the source side of --question-pairs, whatever --languages says
        dataset = load_xquad(sorted(set(languages) | {"en"}) if languages else None)
        train_articles, _ = xquad_folds(args.num_folds, seed=args.fold_seed)[args.fold]
        train_split = split_by_articles(dataset, train_articles)
        examples = examples_from_dataset(train_split, languages)
        if args.translation_pairs:
            from xqg.generate.parallel import xquad_translation_examples

            pairs = xquad_translation_examples(train_split, dataset.languages)
            print(f"{len(examples)} question triples + {len(pairs)} translation pairs")
            examples += pairs
        if args.question_pairs:
            from xqg.generate.parallel import question_translation_examples

            pairs = question_translation_examples(train_split, languages or dataset.languages)
            print(f"+ {len(pairs)} question translation pairs")
            examples += pairs
    elif args.translation_pairs or args.question_pairs:
        raise ConfigError("--translation-pairs and --question-pairs need --xquad (parallel text)")
    else:
        examples = read_examples_jsonl(args.train)
        if languages:
            examples = [ex for ex in examples if ex.lang in set(languages)]
    eval_examples = read_examples_jsonl(args.eval) if args.eval else []
    overrides = {
        key: getattr(args, key)
        for key in (
            "steps",
            "batch_size",
            "lr",
            "precision",
            "max_input_length",
            "freeze_encoder",
            "threads",
            "device",
        )
        if getattr(args, key) is not None
    }
    overrides["seed"] = args.seed
    if args.default:
        output = args.output or str(default_generator_dir())
        train_default_generator(
            examples,
            output,
            recipe=args.recipe,
            eval_examples=eval_examples,
            decoder_layers=args.decoder_layers,
            **overrides,
        )
    else:
        if not args.output:
            raise ConfigError("--output is required with --model")
        if args.decoder_layers:
            raise ConfigError("--decoder-layers only applies to --default")
        overrides.setdefault("freeze_encoder", False)
        base = recipe_config(args.recipe)
        config = TrainingConfig(**{**base.__dict__, "lr": 1e-4, **overrides})
        generator = QueryGenerator.load(args.model)
        generator.settings.languages = sorted({ex.lang for ex in examples})
        generator.settings.source = {"model": args.model}
        train_generator(generator, examples, args.output, config, eval_examples=eval_examples)
        output = args.output
    print(f"generator written to {output}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from xqg.data.corpus import count_passages
    from xqg.distributed import run_sharded
    from xqg.distributed.cli_args import sharding_options
    from xqg.generate import GenerateTask

    languages = args.languages  # a checked list (xqg.cli.validators.language_list)
    sharding = sharding_options(args)
    num_rows = count_passages(args.corpus)  # validates every line before any manifest is written
    task = GenerateTask(
        args.corpus,
        languages,
        generator=args.generator,
        n=args.n,
        top_k=args.top_k,
        seed=args.seed,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        max_input_length=args.max_input_length,
        int8=args.int8,
        precision=args.precision,
        device=args.device,
    )
    shards = run_sharded(task, num_rows, args.output, **sharding)
    print(f"{len(shards)} shard(s) of generated queries in {args.output}")
    return 0
