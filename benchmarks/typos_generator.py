"""Typo generator on XQuAD questions: speed, unchanged queries and operation mix per language.

Usage:
    .venv/bin/python benchmarks/typos_generator.py [--per-language 300] [--root ../shared/data/xquad]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from xqg.data.xquad import load_xquad
from xqg.typos import misspell_with_edits
from xqg.typos.generator import OPERATIONS


def main() -> None:
    """Print one Markdown table row per (language, protocol)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-language", type=int, default=300)
    parser.add_argument("--root", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
