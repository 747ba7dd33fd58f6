"""Measure retriever fine-tuning and misspelling-robustness training on XQuAD folds.

Protocol (docs/training.md): train on the questions of the train-fold articles in all XQuAD
languages -> their English paragraphs; evaluate the test-fold articles' questions (a seeded sample
of question ids, the same ids in every language) against all 240 English paragraphs, clean and with
one typo (``xqg.typos`` one-typo protocol, ``--typo-variants`` seeded variants). Systems: zero-shot,
fine-tuned (``robustness=none``) and each robustness method. Metrics Success@1 and MRR@10 per
language; paired randomisation tests against zero-shot and against fine-tuned, Holm-corrected over
the systems compared in each column.

To fit a shared CPU, training is query-tower-only against a fixed passage bank (the zero-shot
passage vectors, :class:`xqg.train.step.PassageBank`): every corpus paragraph is a candidate in
each query's softmax, passages are encoded once, and the index stays valid after training.

A driver of public functions (encoding cache, training, dev evaluation, typo means, Holm-corrected
comparison tables); every stage writes its result atomically and is skipped when re-run (resume):
the passage bank, each system's per-query scores (``results/<system>.json``), then ``summary.json`` / ``summary.md``.

Example:
    python configs/robust_training_xquad.py --out runs/robust-xquad --steps 30 --batch-size 16
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from pathlib import Path

import numpy as np

from xqg.data.atomic import atomic_write_json, atomic_write_text
from xqg.seeding import derive_seed

SYSTEMS = ("zero-shot", "fine-tuned", "typos-aware", "self-teaching", "multi-positive", "adversarial")
METHOD_OF = {
    "fine-tuned": "none",
    "typos-aware": "typos-aware",
    "self-teaching": "self-teaching",
    "multi-positive": "multi-positive",
    "adversarial": "adversarial",
}
METRICS = ("Success@1", "MRR@10")
log = logging.getLogger("robust_training_xquad")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder (resumable)")
    p.add_argument("--model", default=None, help="encoder (default multilingual-e5-small)")
    p.add_argument("--fold", type=int, default=0)
    p.add_argument("--num-folds", type=int, default=5)
    p.add_argument(
        "--languages", default=None, help="comma-separated (default: every XQuAD language present, up to 12)"
    )
    p.add_argument("--eval-per-language", type=int, default=40, help="test question ids sampled (0 = all)")
    p.add_argument(
        "--typo-variants", type=int, default=2, help="seeded one-typo variants of the eval queries"
    )
    p.add_argument("--systems", default=",".join(SYSTEMS))
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--learning-rate", type=float, default=2e-5)
    p.add_argument("--temperature", type=float, default=0.05)
    p.add_argument("--query-max-length", type=int, default=32)
    p.add_argument("--passage-max-length", type=int, default=192)
    p.add_argument("--typo-probability", type=float, default=0.5)
    p.add_argument("--adversarial-candidates", type=int, default=4)
    p.add_argument("--train-typo-variants", type=int, default=2, help="multi-positive variants")
    p.add_argument("--permutations", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    from xqg.data.folds import fold_split, split_by_articles
    from xqg.data.records import passage_text
    from xqg.data.xquad import load_xquad
    from xqg.encode import load_encoder
    from xqg.encode.cache import EncodingCache
    from xqg.train import (
        DevSet,
        RetrieverTrainingConfig,
        build_training_examples,
        evaluate_encoder,
        train_retriever,
    )
    from xqg.train.dev import embed_texts
    from xqg.train.step import PassageBank

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    (out / "results").mkdir(parents=True, exist_ok=True)
    languages = args.languages.split(",") if args.languages else None
    data = load_xquad(languages)
    train_articles, test_articles = fold_split(args.num_folds, args.fold, seed=0)
    train = split_by_articles(data, train_articles)
    test = split_by_articles(data, test_articles)
    # the same sampled question ids in every language (paired across languages)
    base_ids = sorted({q.id.rsplit("/", 1)[0] for q in test.all_queries()})
    if args.eval_per_language:
        base_ids = sorted(
            random.Random(derive_seed(args.seed, "eval-sample")).sample(
                base_ids, min(args.eval_per_language, len(base_ids))
            )
        )
    keep = set(base_ids)
    eval_queries = [q for q in test.all_queries() if q.id.rsplit("/", 1)[0] in keep]
    dev = DevSet(eval_queries, data.corpus, {q.id: test.qrels[q.id] for q in eval_queries})
    query_lang = {q.id: q.lang for q in eval_queries}
    conditions = {"clean": {q.id: q.text for q in eval_queries}}
    from xqg.typos import misspell_queries

    for v in range(args.typo_variants):
        typod = misspell_queries(eval_queries, seed=args.seed, variant=v, protocol="one-typo")
        conditions[f"typo-{v}"] = {q.id: q.text for q in typod}
    changed = (
        np.mean([conditions["typo-0"][q.id] != q.text for q in eval_queries]) if args.typo_variants else 0
    )
    examples = build_training_examples(train, None, num_negatives=0, seed=args.seed)
    setup = {
        "args": vars(args),
        "train_articles": train_articles,
        "test_articles": test_articles,
        "train_examples": len(examples),
        "eval_queries": len(eval_queries),
        "corpus": len(data.corpus),
        "typo_changed_fraction": float(changed),
    }
    atomic_write_json(out / "setup.json", setup)
    log.info("setup: %s", json.dumps({k: v for k, v in setup.items() if k != "args"}))

    def fresh_model():
        return load_encoder(
            args.model,
            device="cpu",
            query_max_length=args.query_max_length,
            passage_max_length=args.passage_max_length,
        )

    # the zero-shot passage vectors, encoded once (resume: the encoding cache in the output folder)
    start = time.time()
    texts = [passage_text(p) for p in data.corpus]
    bank_cache = EncodingCache(out / "encodings", f"bank:{args.model or 'default'}", {"batch_size": 16})
    vectors = bank_cache.encode(texts, "passage", lambda t: embed_texts(fresh_model(), t, "passage", 16))
    log.info("passage bank: %d x %d in %.0f s", *vectors.shape, time.time() - start)
    bank = PassageBank([p.id for p in data.corpus], torch.from_numpy(vectors))

    for system in args.systems.split(","):
        target = out / "results" / f"{system}.json"
        if target.exists():
            continue
        model = fresh_model()
        record: dict = {"system": system}
        start = time.time()
        if system != "zero-shot":
            config = RetrieverTrainingConfig(
                max_steps=args.steps,
                batch_size=args.batch_size,
                num_negatives=0,
                learning_rate=args.learning_rate,
                warmup_ratio=0.1,
                temperature=args.temperature,
                robustness=METHOD_OF[system],
                typo_probability=args.typo_probability,
                typo_variants=args.train_typo_variants,
                adversarial_candidates=args.adversarial_candidates,
                seed=args.seed,
            )
            result = train_retriever(
                model,
                examples,
                config,
                out / "train" / system,
                passage_bank=bank,
                save_model=False,
                show_progress=True,
            )
            record["train_seconds"] = time.time() - start
            record["history"] = [h for h in result.history if "loss" in h]
            record["config"] = config.to_dict()
        per_condition = {}
        for name, texts in conditions.items():
            table, per_query = evaluate_encoder(model, dev, METRICS, 64, query_texts=texts, passage_bank=bank)
            per_condition[name] = {"aggregate": table, "per_query": per_query}
            log.info("%s %s Success@1 avg %.3f", system, name, table["Success@1"]["avg"])
        record["conditions"] = per_condition
        record["seconds"] = time.time() - start
        atomic_write_json(target, record)
    summarise(out, args, query_lang)
    return 0


def _typo_mean(record: dict, metric: str) -> dict[str, float]:
    from xqg.evaluate import mean_over_variants

    names = [c for c in record["conditions"] if c.startswith("typo-")]
    return mean_over_variants([record["conditions"][c]["per_query"][metric] for c in names])


def summarise(out: Path, args: argparse.Namespace, query_lang: dict[str, str]) -> None:
    """Write summary.json and summary.md: per-language tables with significance marks."""
    from xqg.evaluate import aggregate, compare_systems

    records = {}
    for system in SYSTEMS:
        path = out / "results" / f"{system}.json"
        if path.exists():
            records[system] = json.loads(path.read_text(encoding="utf-8"))
    langs = sorted(set(query_lang.values()))
    summary: dict = {"setup": json.loads((out / "setup.json").read_text(encoding="utf-8")), "tables": {}}
    lines = [f"Setup: {json.dumps(summary['setup']['args'])}", ""]
    for metric in METRICS:
        for condition in ("clean", "typo"):
            if condition == "typo" and not args.typo_variants:
                continue
            scores = {
                s: (
                    r["conditions"]["clean"]["per_query"][metric]
                    if condition == "clean"
                    else _typo_mean(r, metric)
                )
                for s, r in records.items()
            }
            table = {s: aggregate({metric: v}, query_lang)[metric] for s, v in scores.items()}
            marks: dict[str, dict[str, str]] = {s: {} for s in scores}
            pvalues: dict[str, dict[str, dict[str, float]]] = {}
            for baseline, symbol in (("zero-shot", "*"), ("fine-tuned", "†")):
                if baseline not in scores:
                    continue
                others = [
                    s for s in scores if s != baseline and not (baseline == "fine-tuned" and s == "zero-shot")
                ]
                if not others:
                    continue
                # paired randomisation tests against the baseline, Holm-corrected over the systems
                comparison = compare_systems(
                    {s: {metric: scores[s]} for s in [baseline, *others]},
                    query_lang,
                    baseline,
                    [metric],
                    test="randomisation",
                    num_permutations=args.permutations,
                    seed=args.seed,
                )[0]
                for s in others:
                    for col in [*langs, "avg"]:
                        p = comparison.pvalues[s][col]
                        pvalues.setdefault(s, {}).setdefault(baseline, {})[col] = p
                        if p < 0.05:
                            marks[s][col] = marks[s].get(col, "") + symbol
            key = f"{metric} {condition}"
            summary["tables"][key] = {"mean": table, "holm_p": pvalues}
            lines.append(
                f"### {metric}, {'clean queries' if condition == 'clean' else f'one typo (mean of {args.typo_variants} variants)'}"
            )
            lines.append("")
            lines.append("| system | " + " | ".join([*langs, "avg"]) + " |")
            lines.append("|---" * (len(langs) + 2) + "|")
            for s in scores:
                cells = [f"{100 * table[s][c]:.1f}{marks[s].get(c, '')}" for c in [*langs, "avg"]]
                lines.append(f"| {s} | " + " | ".join(cells) + " |")
            lines.append("")
    lines.append(
        "`*`: differs from zero-shot, `†`: differs from fine-tuned (paired randomisation test, "
        "Holm-corrected over the systems in the column, p < 0.05)."
    )
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
