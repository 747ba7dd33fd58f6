"""Quality and cost of a generator on held-out XQuAD articles, per language.

Trains the default generator (Gemma 3 270M, ``--recipe full``/``fast``; or the BERT-to-BERT generator,
``--recipe bert2bert-fast``/``bert2bert-long``, with its levers) on the training articles of one XQuAD
fold, or scores a trained one (``--model``), generates for the held-out articles' paragraphs in every
language, and prints per language:
right script, right language (character-profile language ID fitted on the training questions), chrF
against the real questions of the same paragraph and language (best reference), distinct-2 and the
share of repetitive outputs; plus two calibration rows computed from real held-out questions (a real
question against the paragraph's other real questions, and against another paragraph's questions).

Usage (results in docs/generator.md):
    python benchmarks/generator_quality.py --out runs/gen-default --num-folds 4
    # score an already trained generator (e.g. the one `xqg run` cached for a fold: 4 folds, fold 0)
    python benchmarks/generator_quality.py --out runs/gen-fold0 --model DIR --num-folds 4
    # the BERT-to-BERT generator and its levers
    python benchmarks/generator_quality.py --out runs/gen-b2b --recipe bert2bert-fast
    python benchmarks/generator_quality.py --out runs/gen-union --recipe bert2bert-fast --no-language-vocabulary
    python benchmarks/generator_quality.py --out runs/gen-translate --recipe bert2bert-long --translation-pairs
    # score the queries `xqg run` generated for a fold (its generate stage), on held-out and training paragraphs
    python benchmarks/generator_quality.py --out runs/gq-run --num-folds 4 --model GEN_DIR \
        --generated STAGES/generate-<key>/generated.jsonl [--score-split train]
    # the held-out loss along training (when the second epoch starts to memorise the training articles)
    python benchmarks/generator_quality.py --out runs/gen-curve --num-folds 4 --recipe full --eval-every 45
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch

from xqg.data.atomic import atomic_write_json
from xqg.data.folds import split_by_articles, xquad_folds
from xqg.data.xquad import load_xquad, load_xquad_contexts
from xqg.generate.examples import examples_from_dataset
from xqg.generate.prompt import PAPER_PROMPT, PASSAGE_ONLY_PROMPT
from xqg.generate.quality import LanguageIdentifier, distinct_n, repetition_rate, script_share, sentence_chrf
from xqg.generate.recipes import (
    DEFAULT_RECIPE,
    is_bert2bert_recipe,
    texts_by_language,
    train_default_generator,
)
from xqg.generate.settings import GeneratorSettings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True)
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--num-folds", type=int, default=5)
    parser.add_argument("--recipe", default=DEFAULT_RECIPE)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--precision")
    parser.add_argument("--decoder-layers", type=int)
    parser.add_argument("--no-language-tokens", action="store_true")
    parser.add_argument("--no-language-vocabulary", action="store_true")
    parser.add_argument("--no-repeat-ngram", type=int, default=3)
    parser.add_argument(
        "--translation-pairs",
        action="store_true",
        help="also train on (English sentence -> sentence in L) pairs from the training paragraphs' "
        "XQuAD translations (xqg.generate.parallel)",
    )
    parser.add_argument("--n", type=int, default=2, help="outputs per paragraph and language")
    parser.add_argument(
        "--passages", type=int, default=0, help="evaluate on the first N held-out paragraphs (0: all)"
    )
    parser.add_argument("--encoder-dir")
    parser.add_argument(
        "--model",
        help="evaluate this trained generator folder instead of training one "
        "(it must have been trained on the same fold's training articles)",
    )
    parser.add_argument(
        "--generated",
        help="score these already generated queries (a generated.jsonl file, or an `xqg generate` output "
        "folder) instead of generating; needs --model (the generator that wrote them)",
    )
    parser.add_argument(
        "--score-split",
        choices=("heldout", "train"),
        default="heldout",
        help="whose paragraphs are scored: the held-out articles' (default) or the training articles' "
        "(with --generated: how much of its own training questions the generator reproduces)",
    )
    parser.add_argument(
        "--question-pairs",
        action="store_true",
        help="also train on (English question -> the same question in L) pairs of the training articles",
    )
    parser.add_argument(
        "--eval-every",
        type=int,
        default=0,
        help="log the loss on held-out triples (the held-out articles' questions) every N steps "
        "(train_log.jsonl: eval_loss); 0: none",
    )
    parser.add_argument(
        "--eval-examples", type=int, default=300, help="held-out triples for --eval-every (a seeded sample)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--int8",
        action="store_true",
        help="score the generator after dynamic int8 quantisation (xqg generate --int8)",
    )
    parser.add_argument(
        "--generate-precision",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="precision of generation (auto: bfloat16 on a CPU with avx512_bf16/AMX, as xqg generate)",
    )
    parser.add_argument(
        "--languages",
        nargs="+",
        default=["ar", "de", "el", "es", "hi", "ru", "th", "tr", "vi", "zh"],
        help="languages trained and scored (default: the 10 non-English XQuAD languages of the demo)",
    )
    args = parser.parse_args()
    if args.generated and not args.model:
        parser.error("--generated needs --model (the generator that wrote the queries)")
    torch.set_num_threads(args.threads)

    dataset = load_xquad(sorted({*args.languages, "en"}))
    train_articles, test_articles = xquad_folds(args.num_folds, seed=0)[args.fold]
    train_ds, test_ds = split_by_articles(dataset, train_articles), split_by_articles(dataset, test_articles)
    train = examples_from_dataset(train_ds, args.languages)
    bert2bert = is_bert2bert_recipe(args.recipe)
    settings = (
        GeneratorSettings(
            kind="bert2bert",
            prompt=PAPER_PROMPT if args.no_language_tokens else PASSAGE_ONLY_PROMPT,
            language_tokens=not args.no_language_tokens,
            language_vocabulary=not args.no_language_vocabulary,
            no_repeat_ngram_size=args.no_repeat_ngram,
        )
        if bert2bert
        else None
    )
    extra: list[str] = []
    if not bert2bert:  # the training paragraphs' translations widen the output vocabulary, as in xqg run
        contexts = load_xquad_contexts(args.languages)
        extra = [text for p in train_ds.corpus for text in contexts.get(p.id, {}).values()]
    overrides = {
        k: v
        for k, v in {
            "steps": args.steps,
            "lr": args.lr,
            "precision": args.precision,
            "eval_every": args.eval_every,
        }.items()
        if v
    }
    eval_examples: list = []
    if args.eval_every and not args.model:  # the held-out triples only where a training logs their loss
        heldout = examples_from_dataset(test_ds, args.languages)
        eval_examples = random.Random(0).sample(heldout, min(args.eval_examples, len(heldout)))
    started = time.monotonic()
    if args.model:
        from xqg.generate.loading import load_generator

        Path(args.out).mkdir(parents=True, exist_ok=True)
        generator = load_generator(args.model, device="cpu")
    else:
        training: object = train
        if args.translation_pairs:
            from xqg.generate.parallel import xquad_translation_examples

            pairs = xquad_translation_examples(train_ds, sorted(train_ds.queries))
            print(f"{len(train)} question triples + {len(pairs)} translation pairs")
            training = train + pairs
        if args.question_pairs:
            from xqg.generate.parallel import question_translation_examples

            pairs = question_translation_examples(train_ds, sorted(train_ds.queries))
            print(f"+ {len(pairs)} question translation pairs (English question -> the same question in L)")
            training = list(training if isinstance(training, list) else train) + pairs
        generator = train_default_generator(
            training,
            args.out,
            recipe=args.recipe,
            base=args.encoder_dir,
            settings=settings,
            decoder_layers=args.decoder_layers,
            vocabulary_extra=extra,
            eval_examples=eval_examples,
            **overrides,
        )
    train_seconds = time.monotonic() - started
    generator.settings.no_repeat_ngram_size = args.no_repeat_ngram
    if args.int8:
        generator.quantize_int8()

    scored_ds = test_ds if args.score_split == "heldout" else train_ds
    passages = scored_ds.corpus[: args.passages] if args.passages else scored_ds.corpus
    vocabulary = getattr(generator, "vocabulary", None)
    known = vocabulary.languages if vocabulary is not None else generator.languages or None
    languages = [
        lang
        for lang in sorted(scored_ds.queries)
        if lang in args.languages and (known is None or lang in known)
    ]
    refs: dict[tuple[str, str], list[str]] = {}
    for lang, queries in scored_ds.queries.items():
        for q in queries:
            for docid in scored_ds.qrels[q.id]:
                refs.setdefault((docid, lang), []).append(q.text)
    started = time.monotonic()
    if args.generated:
        outputs = _read_generated(args.generated, {p.id for p in passages}, set(languages))
        args.n = max((slot for *_, slot, _ in outputs), default=-1) + 1
    else:
        if not args.int8:
            generator.set_precision(args.generate_precision)
        outputs = list(
            generator.generate(passages, languages, n=args.n, seed=0, batch_size=4, show_progress=True)
        )
    gen_seconds = time.monotonic() - started
    with open(Path(args.out) / "heldout_generations.jsonl", "w", encoding="utf-8") as f:
        for docid, lang, slot, text in outputs:
            f.write(
                json.dumps({"docid": docid, "lang": lang, "slot": slot, "query": text}, ensure_ascii=False)
                + "\n"
            )

    lid = LanguageIdentifier(texts_by_language(train))
    rng = random.Random(0)
    docids = [p.id for p in passages]
    rows = {}
    for lang in languages:
        texts = [(d, t) for d, lg, _, t in outputs if lg == lang]
        real = [(d, r) for d in docids for r in refs.get((d, lang), [])]
        others = {d: [r for r in refs.get((d, lang), [])] for d in docids}
        real_vs_rest = [
            sentence_chrf(r, [x for x in others[d] if x != r]) for d, r in real if len(others[d]) > 1
        ]
        real_vs_random = []
        for d, r in real:
            other = rng.choice([x for x in docids if x != d])
            if others[other]:
                real_vs_random.append(sentence_chrf(r, others[other]))
        rows[lang] = {
            "right_script": sum(script_share(t, lang) >= 0.9 for _, t in texts) / len(texts),
            "right_language": sum(lid.predict(t) == lang for _, t in texts) / len(texts),
            "chrf": sum(sentence_chrf(t, refs.get((d, lang), [""])) for d, t in texts) / len(texts),
            "distinct2": distinct_n([t for _, t in texts], lang, 2),
            "repetitive": repetition_rate([t for _, t in texts], lang),
            "empty": sum(not t for _, t in texts) / len(texts),
            "real_lid": sum(lid.predict(r) == lang for _, r in real) / max(1, len(real)),
            "real_chrf_same_paragraph": sum(real_vs_rest) / max(1, len(real_vs_rest)),
            "real_chrf_other_paragraph": sum(real_vs_random) / max(1, len(real_vs_random)),
            "vocabulary_coverage": _coverage(generator, [r for _, r in real]),
        }
    keys = list(next(iter(rows.values())))
    avg = {k: sum(r[k] for r in rows.values()) / len(rows) for k in keys}
    print(
        f"\n{args.out}: train {train_seconds:.0f} s, generate {gen_seconds:.1f} s for {len(passages)} paragraphs "
        f"x {len(languages)} languages x {args.n} = {gen_seconds / max(1, len(outputs)) * 1000:.0f} ms per query"
    )
    print("lang  " + " ".join(f"{k[:12]:>12}" for k in keys))
    for lang, r in [*rows.items(), ("avg", avg)]:
        print(f"{lang:5} " + " ".join(f"{r[k] * (1 if 'chrf' in k else 100):12.1f}" for k in keys))
    for lang in languages[:11]:
        sample = [t for d, lg, s, t in outputs if lg == lang][:2]
        print(lang, "|", " | ".join(sample))
    atomic_write_json(
        Path(args.out) / "heldout_quality.json",
        {
            "args": vars(args),
            "train_seconds": train_seconds,
            "generate_seconds": gen_seconds,
            "queries": len(outputs),
            "per_language": rows,
            "average": avg,
        },
    )


def _read_generated(path: str, docids: set[str], languages: set[str]) -> list[tuple[str, str, int, str]]:
    """The rows of a generated.jsonl file or an ``xqg generate`` folder for these passages and languages."""
    from xqg.generate.task import read_generated

    source = Path(path)
    if source.is_dir():
        rows = list(read_generated(source))
    else:
        with open(source, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
    return [
        (r["docid"], r["lang"], int(r["slot"]), r["query"])
        for r in rows
        if r["docid"] in docids and r["lang"] in languages
    ]


def _coverage(generator: object, texts: list[str]) -> float:
    """Share of the real questions' tokens the generator can write (its output vocabulary)."""
    ids = [i for t in texts for i in generator.tokenizer(" " + t, add_special_tokens=False)["input_ids"]]
    vocabulary = getattr(generator, "vocabulary", None)
    if vocabulary is not None:
        return vocabulary.coverage(ids)
    subset = getattr(generator, "token_subset", None)
    if subset is None or not generator.settings.trim_vocabulary:
        return 1.0
    return sum(i in subset for i in ids) / max(1, len(ids))


if __name__ == "__main__":
    main()
