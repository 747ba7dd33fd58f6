"""Evaluation: how often the answer-string metrics can match at all, and how fast the metrics run.

1. **Matching ceiling on XQuAD.** Each question's own (gold) paragraph is put first, so every answer
   is a span of the retrieved text: a perfect metric says 100. Printed per language (the paragraph and
   answer in that language) for R@2kt (NLTK tokens, case-sensitive substring), AnswerRecall@1 in DPR
   token mode and in substring mode. The gap to 100 is what the metric's own matching rules lose.
2. **Speed.** R@2kt on synthetic XOR predictions built from XQuAD paragraphs (cold tokenizer cache),
   and the qrel metrics on a random run.

Usage (results in docs/evaluation.md):
    python benchmarks/evaluation_checks.py [--xquad ../shared/data/xquad] [--questions 1190]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

from xqg.data.download import XQUAD_LANGUAGES
from xqg.evaluate import answer_recall, evaluate_run, rkt
from xqg.evaluate.rkt import _cached_word_tokenize


def load(path: Path) -> tuple[dict[str, list[str]], dict[str, list[str]], list[str]]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    texts, answers, paragraphs = {}, {}, []
    for article in data:
        for para in article["paragraphs"]:
            paragraphs.append(para["context"])
            for qa in para["qas"]:
                texts[qa["id"]] = [para["context"]]
                answers[qa["id"]] = [a["text"] for a in qa["answers"]]
    return texts, answers, paragraphs


def main() -> None:
    default = (
        Path(os.environ.get("XQG_DATA_MIRROR", Path(__file__).resolve().parents[2] / "shared" / "data"))
        / "xquad"
    )
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--xquad", type=Path, default=default)
    parser.add_argument("--questions", type=int, default=300, help="questions in the speed test")
    parser.add_argument("--depth", type=int, default=100, help="passages per question in the speed test")
    args = parser.parse_args()
    # every XQuAD language whose file is there (12, or 11 on a mirror without xquad.ro.json)
    all_langs = [lang for lang in XQUAD_LANGUAGES if (args.xquad / f"xquad.{lang}.json").is_file()]

    print("| lang | questions | R@2kt | AnswerRecall@1 (dpr) | AnswerRecall@1 (substring) |")
    print("|---|---|---|---|---|")
    for lang in all_langs:
        texts, answers, _ = load(args.xquad / f"xquad.{lang}.json")
        r = rkt(texts, answers, k=2)
        d = answer_recall(texts, answers, k=1)
        s = answer_recall(texts, answers, k=1, mode="substring")
        row = [100 * sum(v.values()) / len(v) for v in (r, d, s)]
        print(f"| {lang} | {len(answers)} | " + " | ".join(f"{x:.1f}" for x in row) + " |")

    _, _, paragraphs = load(args.xquad / "xquad.en.json")
    rng = random.Random(0)
    run_texts = {f"q{i}": rng.choices(paragraphs, k=args.depth) for i in range(args.questions)}
    gold = {f"q{i}": [rng.choice(paragraphs).split()[3]] for i in range(args.questions)}
    _cached_word_tokenize.cache_clear()
    start = time.perf_counter()
    rkt(run_texts, gold, k=2)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    rkt(run_texts, gold, k=5)
    warm = time.perf_counter() - start
    tokens = sum(len(_cached_word_tokenize(p)) for p in set(paragraphs))
    print()
    print("| what | seconds | per question |")
    print("|---|---|---|")
    print(
        f"| R@2kt, {args.questions} questions x {args.depth} passages, cold cache | {cold:.2f} | {1000 * cold / args.questions:.1f} ms |"
    )
    print(f"| R@5kt, same run, warm cache | {warm:.2f} | {1000 * warm / args.questions:.1f} ms |")
    print(
        f"(XQuAD en paragraphs: {len(paragraphs)}, {tokens / len(paragraphs):.0f} NLTK tokens each on average)"
    )
    distinct = [p for lang in all_langs for p in load(args.xquad / f"xquad.{lang}.json")[2]]
    _cached_word_tokenize.cache_clear()
    start = time.perf_counter()
    count = sum(len(_cached_word_tokenize(p)) for p in distinct)
    took = time.perf_counter() - start
    print(
        f"| NLTK word_tokenize, {len(distinct)} distinct XQuAD paragraphs (11 languages), {count} tokens "
        f"| {took:.2f} | {1000 * took / len(distinct):.2f} ms a passage, {count / took:,.0f} tokens/s |"
    )

    nq, nd = 10_000, 100
    run = {f"q{i}": {f"d{rng.randrange(100_000)}": rng.random() for _ in range(nd)} for i in range(nq)}
    qrels = {f"q{i}": {f"d{rng.randrange(100_000)}": 1, next(iter(run[f"q{i}"])): 2} for i in range(nq)}
    start = time.perf_counter()
    evaluate_run(run, qrels, ["Success@1", "Recall@100", "MRR@10", "nDCG@10"])
    took = time.perf_counter() - start
    print(f"| qrel metrics (4), {nq} queries x {nd} docs | {took:.2f} | {1e6 * took / nq:.0f} µs |")


if __name__ == "__main__":
    main()
