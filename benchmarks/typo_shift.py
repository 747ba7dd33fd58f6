"""Where does a typo move a question's vector? Shift directions of misspelled XQuAD questions.

For each question ``q`` with a one-typo misspelling ``q'`` (seeded variants 0 and 1 of
:func:`xqg.typos.misspell_queries`) the shift is ``E(q') - E(q)`` through the query path. The table
says, per language and overall:

* ``cos other q``: mean cosine between the shifts of two different questions (a shared "typo
  direction" would make it large);
* ``cos same q``: mean cosine between the shifts of two misspellings (variants 0 and 1) of the same
  question (how much one misspelling tells about another);
* ``mean-shift share``: the share of the shifts' energy along their mean;
* ``shift spread / clean spread``: the standard deviation over the 240 passages of ``shift · E(p)``
  relative to that of ``E(q) · E(p)`` (how much the shift reorders passages).

Why it matters: fusing passages with misspelled copies of their generated queries
(``+xqg-typos``, ``xqg fuse --misspelled-copies``) can only anticipate a question's misspelling if
misspellings move vectors alike; docs/experiments.md measures that it does not help.

    .venv/bin/python benchmarks/typo_shift.py --per-language 60
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def mean_pairwise_cosine(vectors: np.ndarray) -> float:
    """Mean cosine over all pairs of distinct rows.

    Example:
        >>> round(mean_pairwise_cosine(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])), 4)
        0.4714
    """
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    n = len(unit)
    total = unit.sum(0)
    return float((total @ total - n) / (n * (n - 1)))


def shift_statistics(
    clean: np.ndarray, typo0: np.ndarray, typo1: np.ndarray, passages: np.ndarray
) -> dict[str, float]:
    """The table's four numbers for aligned rows of clean and misspelled query vectors.

    Args:
        clean: ``(n, d)`` vectors of the clean questions.
        typo0: ``(n, d)`` vectors of their misspelled variant 0.
        typo1: ``(n, d)`` vectors of their misspelled variant 1.
        passages: ``(N, d)`` passage vectors.
    """
    shift0, shift1 = typo0 - clean, typo1 - clean
    unit0 = shift0 / np.linalg.norm(shift0, axis=1, keepdims=True)
    unit1 = shift1 / np.linalg.norm(shift1, axis=1, keepdims=True)
    mean = shift0.mean(0)
    along = (shift0 @ (mean / np.linalg.norm(mean))) ** 2
    return {
        "n": float(len(clean)),
        "cos other q": mean_pairwise_cosine(shift0),
        "cos same q": float(np.mean(np.sum(unit0 * unit1, axis=1))),
        "mean-shift share": float(along.sum() / (shift0**2).sum()),
        "shift spread / clean spread": float(
            (shift0 @ passages.T).std(1).mean() / (clean @ passages.T).std(1).mean()
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-language", type=int, default=60, help="questions per language (default 60)")
    parser.add_argument(
        "--languages", default="", help="comma-separated (default: every XQuAD language here)"
    )
    parser.add_argument(
        "--encoder", default=None, help="encoder name or folder (default: multilingual-e5-small)"
    )
    parser.add_argument("--seed", type=int, default=13, help="seed of the misspellings (default 13)")
    args = parser.parse_args(argv)

    from xqg.data.records import passage_text
    from xqg.data.xquad import XQUAD_LANGUAGES, available_xquad_languages, load_xquad
    from xqg.encode import load_encoder
    from xqg.typos import misspell_queries

    present = available_xquad_languages()
    wanted = [lang for lang in (args.languages.split(",") if args.languages else XQUAD_LANGUAGES) if lang]
    languages = [lang for lang in wanted if lang in present and lang != "en"]
    if not languages:
        print(f"none of {wanted} is in the XQuAD data here ({', '.join(present)})", file=sys.stderr)
        return 2
    dataset = load_xquad(languages)
    encoder = load_encoder(args.encoder)
    passages = encoder.encode_passages([passage_text(p) for p in dataset.corpus])
    rows: dict[str, dict[str, float]] = {}
    pooled: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for lang in languages:
        questions = sorted(dataset.queries[lang], key=lambda q: q.id)[: args.per_language]
        typo0 = misspell_queries(questions, seed=args.seed, variant=0)
        typo1 = misspell_queries(questions, seed=args.seed, variant=1)
        kept = [
            i
            for i, (q, a, b) in enumerate(zip(questions, typo0, typo1, strict=True))
            if q.text not in (a.text, b.text)
        ]
        if len(kept) < 2:
            continue
        vectors = [
            encoder.encode_queries([group[i].text for i in kept]) for group in (questions, typo0, typo1)
        ]
        rows[lang] = shift_statistics(*vectors, passages)
        pooled.append(tuple(vectors))  # type: ignore[arg-type]
    rows["all"] = shift_statistics(*(np.concatenate(parts) for parts in zip(*pooled, strict=True)), passages)
    columns = ["n", "cos other q", "cos same q", "mean-shift share", "shift spread / clean spread"]
    print("| language | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for lang, values in rows.items():
        cells = [f"{values['n']:.0f}"] + [f"{values[c]:.3f}" for c in columns[1:]]
        print(f"| {lang} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
