"""Typo generator on XQuAD questions: speed, unchanged queries and operation mix per language.

Usage:
    .venv/bin/python benchmarks/typos_generator.py [--per-language 300] [--root ../shared/data/xquad]
    .venv/bin/python benchmarks/typos_generator.py --any-language [--seeds 200]

``--any-language``: one question in each language of XQuAD, MKQA, XOR-TyDi and MIRACL and in ten
languages with neither a keyboard layout nor a row in the project's table
(``tests/data/fixtures/questions_by_language.json``), each misspelled with ``--seeds`` seeds.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from xqg.data.xquad import load_xquad
from xqg.typos import misspell_with_edits
from xqg.typos.generator import OPERATIONS


def main() -> None:
    """Print one Markdown table row per (language, protocol)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-language", type=int, default=300)
    parser.add_argument("--root", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--any-language", action="store_true", help="the questions of every language")
    parser.add_argument("--seeds", type=int, default=200, help="seeds per question (--any-language)")
    args = parser.parse_args()
    if args.any_language:
        any_language(args.seeds)
        return
    dataset = load_xquad(root=args.root)
    print("| lang | protocol | queries | unchanged | ms/query | " + " | ".join(OPERATIONS) + " |")
    print("|---|---|---|---|---|" + "---|" * len(OPERATIONS))
    for lang in sorted(dataset.queries):
        queries = dataset.queries[lang][: args.per_language]
        for protocol in ("one-typo", "script"):
            ops: Counter[str] = Counter()
            unchanged = 0
            start = time.perf_counter()
            for i, q in enumerate(queries):
                result = misspell_with_edits(q.text, lang, args.seed + i, protocol=protocol)
                unchanged += not result.edits
                ops.update(e.operation for e in result.edits)
            ms = 1000 * (time.perf_counter() - start) / len(queries)
            total = max(1, sum(ops.values()))
            mix = " | ".join(f"{100 * ops[o] / total:.0f}%" for o in OPERATIONS)
            print(
                f"| {lang} | {protocol} | {len(queries)} | {100 * unchanged / len(queries):.1f}% | {ms:.1f} | {mix} |"
            )


def any_language(seeds: int) -> None:
    """One row per language: the one-typo protocol on its question with ``seeds`` seeds."""
    from xqg.typos.resources_loader import has_layout

    path = Path(__file__).resolve().parents[1] / "tests" / "data" / "fixtures" / "questions_by_language.json"
    questions = json.loads(path.read_text(encoding="utf-8"))
    print("| lang | layout | row | unchanged | ms/query | " + " | ".join(OPERATIONS) + " |")
    print("|---|---|---|---|---|" + "---|" * len(OPERATIONS))
    for group in ("benchmarks", "without_row"):
        for lang, text in questions[group].items():
            ops: Counter[str] = Counter()
            unchanged = 0
            start = time.perf_counter()
            for seed in range(seeds):
                result = misspell_with_edits(text, lang, seed)
                unchanged += result.text == text
                ops.update(e.operation for e in result.edits)
            ms = 1000 * (time.perf_counter() - start) / seeds
            total = max(1, sum(ops.values()))
            mix = " | ".join(f"{100 * ops[o] / total:.0f}%" for o in OPERATIONS)
            layout = "yes" if has_layout(lang) else "no"
            row = "yes" if group == "benchmarks" else "no"
            print(f"| {lang} | {layout} | {row} | {100 * unchanged / seeds:.0f}% | {ms:.1f} | {mix} |")


if __name__ == "__main__":
    main()
