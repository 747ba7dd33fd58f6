"""``xqg train-retriever`` and ``xqg mine-negatives``: fine-tune the dual encoder, mine hard negatives.

Training data is either an XQuAD fold (``--xquad-fold K``: the train-fold articles' questions in
every language -> English paragraphs; the test-fold articles are the dev set) or files
(``--corpus``, ``--queries``, ``--qrels`` and optionally ``--dev-queries``/``--dev-qrels``).
Under ``torchrun --nproc_per_node N xqg train-retriever ...`` the processes share negatives.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import fields

from xqg.cli import validators as v
from xqg.cli.precision_option import add_precision_argument
from xqg.train.config import DISTILL_LOSSES, DISTILL_SOURCES, TUNING_MODES

# RetrieverTrainingConfig fields settable from the command line, each checked when parsed (0 = off where the
# field allows it: max_steps, grad_cache_chunk, max_grad_norm, save_steps, eval_steps)
_CONFIG_FLAGS = {
    "epochs": v.non_negative_float,
    "max_steps": v.non_negative_int,
    "batch_size": v.positive_int,
    "num_negatives": v.non_negative_int,
    "learning_rate": v.positive_float,
    "weight_decay": v.non_negative_float,
    "warmup_ratio": v.unit_interval,
    "temperature": v.positive_float,
    "grad_accumulation": v.positive_int,
    "grad_cache_chunk": v.non_negative_int,
    "max_grad_norm": v.non_negative_float,
    "typo_probability": v.unit_interval,
    "typo_variants": v.positive_int,
    "adversarial_candidates": v.positive_int,
    "kl_weight": v.non_negative_float,
    "kl_temperature": v.positive_float,
    "typo_protocol": str,
    "distill_loss": v.one_of(DISTILL_LOSSES),
    "distill_views": v.positive_int,
    "distill_clean_weight": v.non_negative_float,
    "distill_passages": v.positive_int,
    "tuning": v.one_of(TUNING_MODES),
    "lora_rank": v.positive_int,
    "lora_alpha": v.positive_float,
    "seed": int,
    "save_steps": v.non_negative_int,
    "keep_checkpoints": v.positive_int,
    "eval_steps": v.non_negative_int,
    "eval_metric": str,
    "eval_batch_size": v.positive_int,
}


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data (an XQuAD fold, or files)")
    group.add_argument(
        "--xquad-fold", type=v.non_negative_int, default=None, help="train on the train articles of this fold"
    )
    group.add_argument("--num-folds", type=v.positive_int, default=5, help="XQuAD folds (default 5)")
    group.add_argument("--fold-seed", type=int, default=0, help="seed of the article folds (default 0)")
    group.add_argument(
        "--languages",
        type=v.language_list,
        default=None,
        help="comma-separated query languages (default all)",
    )
    group.add_argument(
        "--xquad-root",
        type=v.input_folder,
        default=None,
        help="folder with xquad.{lang}.json (default: the data mirror)",
    )
    group.add_argument(
        "--corpus", type=v.corpus_file, default=None, help="corpus JSONL/TSV (with --queries and --qrels)"
    )
    group.add_argument("--queries", type=v.corpus_file, default=None, help="training queries JSONL/TSV")
    group.add_argument("--qrels", type=v.input_file, default=None, help="training qrels (TREC)")
    group.add_argument(
        "--answers",
        type=v.input_file,
        default=None,
        help="answers JSONL (mine-negatives: skip answer-bearing passages)",
    )
    group.add_argument(
        "--lang", type=v.language_code, default=None, help="language of query rows that name none"
    )


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        type=v.model_path("encoder"),
        help="encoder folder or cached model id (default: multilingual-e5-small)",
    )
    parser.add_argument(
        "--query-max-length", type=v.positive_int, default=None, help="query tokens (default: the model's)"
    )
    parser.add_argument(
        "--passage-max-length",
        type=v.positive_int,
        default=None,
        help="passage tokens (default: the model's)",
    )
    parser.add_argument(
        "--device",
        type=v.device,
        default="auto",
        help="auto (a CUDA GPU when there is one, else the CPU), cpu, cuda, cuda:N",
    )
    add_precision_argument(
        parser, "encoding (inference: ranking, mining, dev evaluation; training: --train-precision)"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-retriever`` and ``mine-negatives``."""
    from xqg.train.config import ROBUSTNESS_METHODS

    train = subparsers.add_parser(
        "train-retriever",
        help="fine-tune the dual encoder contrastively (in-batch + hard negatives; robustness to typos)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_model_arguments(train)
    _add_data_arguments(train)
    train.add_argument(
        "--dev-queries", type=v.corpus_file, default=None, help="dev queries file (with --dev-qrels)"
    )
    train.add_argument("--dev-qrels", type=v.input_file, default=None, help="dev qrels (TREC)")
    train.add_argument(
        "--negatives", type=v.input_file, default=None, help="hard negatives JSONL from `xqg mine-negatives`"
    )
    train.add_argument(
        "--output", required=True, type=v.output_folder, help="run folder: checkpoints, history.json, model/"
    )
    train.add_argument("--preset", choices=("default", "paper"), default="default", help="starting settings")
    train.add_argument(
        "--robustness", choices=ROBUSTNESS_METHODS, default=None, help="misspelling robustness method"
    )
    for name, kind in _CONFIG_FLAGS.items():
        train.add_argument(
            "--" + name.replace("_", "-"), type=kind, default=None, help=f"RetrieverTrainingConfig.{name}"
        )
    train.add_argument(
        "--train-precision",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="compute precision of training's forward/backward passes (weights, optimizer and loss stay "
        "float32); auto: bfloat16 autocast where the device has native bf16 (AMX/avx512_bf16 CPUs, GPUs of "
        "capability >= 8), else float32",
    )
    train.add_argument(
        "--towers",
        choices=("both", "query"),
        default="both",
        help="both: the shared encoder on queries and passages; query: the query side only, against the "
        "fixed passage vectors of the starting model for the training corpus (a softmax over all of them)",
    )
    train.add_argument(
        "--distill-sources",
        type=v.choice_list(DISTILL_SOURCES),
        default=["questions", "pieces"],
        help="--robustness distill: label-free texts, comma-separated: questions (the training questions' "
        "text), pieces (question-length pieces of the training passages; XQuAD: its paragraphs in every "
        "training language), files (--distill-files) (default questions,pieces)",
    )
    train.add_argument(
        "--distill-pieces-per-passage",
        type=v.non_negative_int,
        default=4,
        help="pieces kept per passage and language (0 = all)",
    )
    train.add_argument(
        "--distill-files",
        nargs="*",
        type=v.corpus_file,
        default=(),
        help="queries files (JSONL/TSV) to distil on",
    )
    train.add_argument("--no-resume", action="store_true", help="ignore checkpoints in --output")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)

    mine = subparsers.add_parser(
        "mine-negatives",
        help="mine hard negatives with a model (skipping positives and answer-bearing passages)",
        description="Rank the corpus for each training query and write the best non-relevant passages "
        "as JSONL {query_id, negatives: [docid, ...]}.",
    )
    _add_model_arguments(mine)
    _add_data_arguments(mine)
    mine.add_argument("--output", required=True, type=v.output_file, help="hard negatives JSONL to write")
    mine.add_argument(
        "--num-negatives", type=v.positive_int, default=30, help="negatives kept per query (default 30)"
    )
    mine.add_argument(
        "--depth", type=v.positive_int, default=100, help="top passages inspected per query (default 100)"
    )
    mine.add_argument(
        "--skip-top", type=v.non_negative_int, default=0, help="skip the first N non-relevant passages"
    )
    mine.add_argument("--batch-size", type=v.positive_int, default=64, help="encoding batch size")
    mine.set_defaults(func=_mine)

    positives = subparsers.add_parser(
        "mine-positives",
        help="training pairs for answer-only QA data (XOR-TyDi train): answer-bearing positives, hard negatives",
        description="Distant supervision as in DPR: rank a sharded corpus index for each question, take the "
        "highest-ranked passage containing an answer as the positive and the best answer-free passages as "
        "hard negatives; questions without an answer in the top --depth are left out and listed. Writes "
        "OUTPUT/{corpus.jsonl, queries.jsonl, train.qrels, negatives.jsonl, generator_triples.jsonl, "
        "mining.json}: the files `xqg train-retriever --corpus/--queries/--qrels --negatives`, `xqg run` "
        "([training]) and `xqg train-generator --train` read.",
    )
    _add_model_arguments(positives)
    source = positives.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--questions",
        type=v.input_file,
        help="questions with answers, XOR-Retrieve JSONL {id, question, answers, lang}",
    )
    source.add_argument("--queries", type=v.corpus_file, help="queries file (JSONL/TSV); needs --answers")
    positives.add_argument(
        "--answers", type=v.input_file, default=None, help="answers JSONL (with --queries)"
    )
    positives.add_argument(
        "--lang", type=v.language_code, default=None, help="language of query rows that name none"
    )
    positives.add_argument(
        "--index", required=True, nargs="+", type=v.input_folder, help="`xqg encode` folder(s) of the corpus"
    )
    positives.add_argument(
        "--corpus", required=True, type=v.corpus_file, help="the corpus file the index was encoded from"
    )
    positives.add_argument(
        "--output", "-o", required=True, type=v.output_folder, help="folder for the training files"
    )
    positives.add_argument(
        "--depth", type=v.positive_int, default=100, help="ranked passages per question (default 100)"
    )
    positives.add_argument(
        "--num-negatives", type=v.positive_int, default=7, help="hard negatives kept (default 7)"
    )
    positives.add_argument(
        "--skip-top", type=v.non_negative_int, default=0, help="skip the first N answer-free passages"
    )
    positives.add_argument("--batch-size", type=v.positive_int, default=64, help="query encoding batch size")
    positives.set_defaults(func=_mine_positives)


def _languages(args: argparse.Namespace) -> list[str] | None:
    return args.languages  # a checked list (xqg.cli.validators.language_list) or None


def load_training_data(args: argparse.Namespace):
    """``(train dataset, dev dataset or None)`` from the data arguments."""
    from xqg.data.records import RetrievalDataset
    from xqg.errors import ConfigError

    if args.xquad_fold is not None:
        from xqg.data.folds import fold_split, split_by_articles
        from xqg.data.xquad import load_xquad

        data = load_xquad(_languages(args), root=args.xquad_root)
        train_articles, test_articles = fold_split(args.num_folds, args.xquad_fold, args.fold_seed)
        train = split_by_articles(data, train_articles)  # negatives from train paragraphs only
        dev = split_by_articles(data, test_articles)
        dev.corpus = data.corpus  # test questions are searched over all paragraphs
        return train, dev
    if not (args.corpus and args.queries and args.qrels):
        raise ConfigError("give --xquad-fold K, or --corpus, --queries and --qrels")
    from xqg.data.answers import read_answers
    from xqg.data.corpus import read_corpus, read_queries
    from xqg.data.trec import read_qrels

    corpus = read_corpus(args.corpus)
    queries = read_queries(args.queries, lang=args.lang)
    by_lang: dict[str, list] = {}
    wanted = _languages(args)
    for q in queries:
        if wanted is None or q.lang in wanted:
            by_lang.setdefault(q.lang, []).append(q)
    answers = read_answers(args.answers) if args.answers else {}
    train = RetrievalDataset("files", corpus, by_lang, read_qrels(args.qrels), answers)
    dev = None
    if getattr(args, "dev_queries", None):
        if not args.dev_qrels:
            raise ConfigError("--dev-queries needs --dev-qrels")
        dev_by_lang: dict[str, list] = {}
        for q in read_queries(args.dev_queries, lang=args.lang):
            dev_by_lang.setdefault(q.lang, []).append(q)
        dev = RetrievalDataset("files-dev", corpus, dev_by_lang, read_qrels(args.dev_qrels))
    return train, dev


def _load_model(args: argparse.Namespace):
    from xqg.encode import load_encoder

    options = {}
    if args.query_max_length:
        options["query_max_length"] = args.query_max_length
    if args.passage_max_length:
        options["passage_max_length"] = args.passage_max_length
    return load_encoder(args.model, device=args.device, precision=args.precision, **options)


def _train(args: argparse.Namespace) -> int:
    from xqg.train import DevSet, build_training_examples, read_negatives, train_retriever
    from xqg.train.config import PRESETS, RetrieverTrainingConfig
    from xqg.train.trainer import init_distributed_from_env

    info = init_distributed_from_env()
    changes = {
        f.name: getattr(args, f.name)
        for f in fields(RetrieverTrainingConfig)
        if getattr(args, f.name, None) is not None
    }
    from xqg.train.config import training_precision

    changes["precision"] = training_precision(args.train_precision, args.device)
    config = PRESETS[args.preset].replace(**changes)
    train_data, dev_data = load_training_data(args)
    model = _load_model(args)
    query_only = args.towers == "query"
    teacher = None
    if config.robustness == "distill":
        from xqg.train.distill import DistillTeacher, label_free_examples, label_free_texts

        config = config.replace(num_negatives=0)
        sources = args.distill_sources
        texts = label_free_texts(
            train_data,
            sources,
            _languages(args),
            args.distill_pieces_per_passage,
            config.seed,
            args.lang or "en",
            args.distill_files,
            xquad_root=args.xquad_root,
        )
        examples = label_free_examples(texts)
        if not query_only:
            teacher = DistillTeacher.from_model(
                model,
                [q.text for q in texts],
                train_data.corpus[:2048],
                config.eval_batch_size,
                config.precision,
            )
    else:
        if query_only:
            config = config.replace(num_negatives=0)
        negatives = read_negatives(args.negatives) if args.negatives else None
        examples = build_training_examples(train_data, negatives, config.num_negatives, seed=config.seed)
    bank = dev_bank = None
    if query_only:
        bank = _passage_bank(model, train_data.corpus, config.eval_batch_size)
        if dev_data is not None:
            dev_bank = _passage_bank(model, dev_data.corpus, config.eval_batch_size)
    result = train_retriever(
        model,
        examples,
        config,
        args.output,
        dev=DevSet.from_dataset(dev_data) if dev_data is not None else None,
        resume=not args.no_resume,
        show_progress=not args.no_progress,
        passage_bank=bank,
        teacher=teacher,
        dev_bank=dev_bank,
    )
    if info.is_main:
        last_dev = next((h["dev"] for h in reversed(result.history) if "dev" in h), None)
        print(json.dumps({"steps": result.steps, "model": str(result.model_dir), "dev": last_dev}, indent=2))
    return 0


def _passage_bank(model, passages, batch_size: int):
    """The starting model's vectors of ``passages`` as a fixed :class:`~xqg.train.step.PassageBank`."""
    import torch

    from xqg.data.records import passage_text
    from xqg.train.dev import embed_texts
    from xqg.train.step import PassageBank

    vectors = embed_texts(model, [passage_text(p) for p in passages], "passage", batch_size)
    return PassageBank([p.id for p in passages], torch.from_numpy(vectors))


def _mine(args: argparse.Namespace) -> int:
    from xqg.train import mine_hard_negatives, write_negatives

    train_data, _ = load_training_data(args)
    model = _load_model(args)
    mined = mine_hard_negatives(
        model,
        list(train_data.all_queries()),
        train_data.corpus,
        train_data.qrels,
        train_data.answers,
        num_negatives=args.num_negatives,
        depth=args.depth,
        skip_top=args.skip_top,
        batch_size=args.batch_size,
    )
    count = write_negatives(args.output, mined)
    short = sum(1 for docs in mined.values() if len(docs) < args.num_negatives)
    print(f"{args.output}: {count} queries, {short} with fewer than {args.num_negatives} negatives")
    return 0


def _mine_positives(args: argparse.Namespace) -> int:
    from xqg.cli.encode import encoder_options
    from xqg.encode import load_encoder
    from xqg.errors import ConfigError
    from xqg.train.positives import mine_answer_positives

    if args.questions:
        from xqg.data.xor_tydi import read_xor_questions

        by_lang, answers = read_xor_questions(args.questions)
        queries = [q for lang in sorted(by_lang) for q in by_lang[lang]]
    else:
        if not args.answers:
            raise ConfigError("--queries needs --answers")
        from xqg.data.answers import read_answers
        from xqg.data.corpus import read_queries

        queries = read_queries(args.queries, lang=args.lang)
        answers = read_answers(args.answers)
    encoder = load_encoder(args.model, device=args.device, precision=args.precision, **encoder_options(args))
    vectors = encoder.encode_queries(
        [q.text for q in queries], batch_size=args.batch_size, show_progress=True
    )
    mined = mine_answer_positives(
        vectors,
        queries,
        answers,
        args.index,
        args.corpus,
        output=args.output,
        depth=args.depth,
        num_negatives=args.num_negatives,
        skip_top=args.skip_top,
    )
    print(
        f"{args.output}: {mined.kept} of {len(queries)} questions have an answer-bearing passage in the top "
        f"{args.depth} ({len(mined.dropped)} left out, listed in mining.json)"
    )
    return 0
