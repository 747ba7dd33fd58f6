"""Which real questions carry the fusion gain? The perfect-generator oracle by the language of the
questions it fuses, on cross-lingual XQuAD.

xQG fuses each passage with generated queries in several languages. Before asking a generator for
them, this measures what *real* questions of each kind would give, with the evaluated question
(in every language) always left out of its own paragraph: each English paragraph is fused
(mean mode) with the paragraph's other real questions

* in every language (the oracle of ``xqg run``),
* in English only (what a monolingual, copy-friendly question generator could write),
* in the 10 non-English languages only,
* in the evaluated question's own language only (one fused index per language).

Success@1 of the non-English questions of the test articles of one fold, per language, for a grid
of α; significance of the best α (chosen on the training articles' questions) against zero-shot
with the paired randomisation test.

    .venv/bin/python benchmarks/oracle_by_language.py --num-folds 4 --fold 0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--num-folds", type=int, default=4)
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--alphas", default="0.1,0.2,0.3,0.4,0.5")
    parser.add_argument("--permutations", type=int, default=2000)
    parser.add_argument("--output", default="runs/oracle-by-language", help="folder for results.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import machine_header, set_data_mirror
    from xqg.data.folds import fold_split, split_by_articles
    from xqg.data.xquad import load_xquad
    from xqg.encode import load_encoder
    from xqg.evaluate.significance import compare_per_query
    from xqg.fuse import oracle_scores

    set_data_mirror()
    alphas = [float(a) for a in args.alphas.split(",")]
    ds = load_xquad()  # every XQuAD language present (12, or 11 on a mirror without xquad.ro.json)
    all_langs = tuple(ds.languages)
    encoder = load_encoder(None, device="cpu")
    passages = encoder.encode_passages(
        [f"{p.title} {p.text}" for p in ds.corpus], batch_size=32, show_progress=True
    )
    doc_row = {p.id: i for i, p in enumerate(ds.corpus)}
    questions = list(ds.all_queries())
    qvecs = encoder.encode_queries([q.text for q in questions], batch_size=64, show_progress=True)
    row_of = {q.id: i for i, q in enumerate(questions)}
    train_articles, test_articles = fold_split(args.num_folds, args.fold)

    def split(articles: list[int]) -> list:
        part = split_by_articles(ds, [str(a) for a in articles])
        return [q for q in part.all_queries() if q.lang != "en"]

    sets = {"select": split(train_articles), "test": split(test_articles)}

    def success(queries: list, scores: np.ndarray) -> dict[str, float]:
        gold = [doc_row[next(iter(ds.qrels[q.id]))] for q in queries]
        best = np.argmax(scores, axis=1)
        return {q.id: float(best[i] == gold[i]) for i, q in enumerate(queries)}

    def fused_scores(queries: list, fused, own_language: bool, alpha: float) -> np.ndarray:  # noqa: ANN001
        """Scores against passages fused with the real questions ``fused(question)`` keeps (with
        ``own_language``: only those in the evaluated query's language, one fused index per language)."""
        vecs = qvecs[[row_of[q.id] for q in queries]]
        out = np.empty((len(queries), len(passages)), dtype=np.float32)
        groups = sorted({q.lang for q in queries}) if own_language else [None]
        for group in groups:
            rows = [i for i, q in enumerate(queries) if group is None or q.lang == group]
            sel = [c for c in questions if fused(c) and (group is None or c.lang == group)]
            out[rows] = oracle_scores(
                vecs[rows],
                passages,
                qvecs[[row_of[c.id] for c in sel]],
                [doc_row[next(iter(ds.qrels[c.id]))] for c in sel],
                [c.id.split("/")[0] for c in sel],
                [doc_row[next(iter(ds.qrels[queries[i].id]))] for i in rows],
                [queries[i].id.split("/")[0] for i in rows],
                alpha,
            )
        return out

    conditions = {
        "all languages": (lambda c: True, False),
        "English only": (lambda c: c.lang == "en", False),
        "non-English only": (lambda c: c.lang != "en", False),
        "own language only": (lambda c: True, True),
    }
    query_lang = {q.id: q.lang for q in questions}
    test = sets["test"]
    zero = success(test, qvecs[[row_of[q.id] for q in test]] @ passages.T)
    results: dict[str, dict] = {"zero-shot": {"alpha": 0.0, "values": zero}}
    for name, (fused, own_language) in conditions.items():
        curve_select, curve_test, values_at = [], [], []
        for alpha in alphas:
            values_select = success(sets["select"], fused_scores(sets["select"], fused, own_language, alpha))
            values_test = success(test, fused_scores(test, fused, own_language, alpha))
            curve_select.append(100 * float(np.mean(list(values_select.values()))))
            curve_test.append(100 * float(np.mean(list(values_test.values()))))
            values_at.append(values_test)
        best = int(np.argmax(curve_select))
        results[name] = {
            "alpha": alphas[best],
            "curve_select": curve_select,
            "curve_test": curve_test,
            "values": values_at[best],
        }
    langs = [lang for lang in all_langs if lang != "en"]
    print(machine_header("Oracle fusion by the language of the fused questions", threads=0))
    print(
        f"\nXQuAD fold {args.fold} of {args.num_folds}: {len(test)} non-English test questions; Success@1 x100;"
    )
    print(
        "α chosen on the training articles' questions; * p < 0.05 vs zero-shot (paired randomisation test)\n"
    )
    print("| fused with | α | " + " | ".join(langs) + " | avg |")
    print("|---|---:|" + "---:|" * (len(langs) + 1))
    for name, res in results.items():
        per_lang = {
            lang: 100 * float(np.mean([v for q, v in res["values"].items() if query_lang[q] == lang]))
            for lang in langs
        }
        mark = {}
        if name != "zero-shot":
            comparison = compare_per_query(
                res["values"],
                zero,
                query_lang,
                test="randomisation",
                num_permutations=args.permutations,
                seed=0,
            )
            mark = {col: "*" if r.pvalue < 0.05 else "" for col, r in comparison.items()}
        avg = float(np.mean(list(per_lang.values())))
        cells = [f"{per_lang[lang]:.1f}{mark.get(lang, '')}" for lang in langs]
        print(f"| {name} | {res['alpha']:g} | " + " | ".join(cells) + f" | {avg:.1f}{mark.get('avg', '')} |")
    print(
        "\nα curves (test articles): "
        + "; ".join(
            f"{name}: " + ", ".join(f"{a:g}→{v:.1f}" for a, v in zip(alphas, res["curve_test"], strict=True))
            for name, res in results.items()
            if name != "zero-shot"
        )
    )
    # how much of a question a copy mechanism could take from its English paragraph
    tokenizer = encoder.tokenizer
    pieces = {
        p.id: set(tokenizer(f"{p.title} {p.text}", add_special_tokens=False)["input_ids"]) for p in ds.corpus
    }
    share = {}
    for lang in all_langs:
        fractions = []
        for q in ds.queries[lang]:
            ids = tokenizer(q.text, add_special_tokens=False)["input_ids"]
            doc = next(iter(ds.qrels[q.id]))
            fractions.append(float(np.mean([i in pieces[doc] for i in ids])) if ids else 0.0)
        share[lang] = 100 * float(np.mean(fractions))
    print(
        "\nShare of a question's tokenizer pieces that occur in its English paragraph (all questions, %):\n"
    )
    print("| " + " | ".join(all_langs) + " |")
    print("|" + "---:|" * len(all_langs))
    print("| " + " | ".join(f"{share[lang]:.1f}" for lang in all_langs) + " |")
    results["copyable_piece_share"] = share
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
