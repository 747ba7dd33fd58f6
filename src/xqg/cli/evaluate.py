"""``xqg evaluate``: score one run per language and macro-averaged (Markdown table + JSON)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from xqg.cli.validators import corpus_file, input_file, language_code, non_negative_int, output_file
from xqg.cli.validators import metrics as metric_list


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``xqg evaluate`` and ``xqg compare``: judgements, answers, languages, metrics."""
    parser.add_argument(
        "--qrels", type=input_file, help="TREC qrels (qid 0 docid grade) for Success/Recall/P/MRR/nDCG"
    )
    parser.add_argument(
        "--answers",
        type=input_file,
        help="gold answers for R@kt and AnswerRecall: JSONL {id, answers[, lang]} (XOR-TyDi data files) "
        "or JSON {qid: [answers]}",
    )
    parser.add_argument(
        "--corpus",
        type=corpus_file,
        help="corpus (JSONL/TSV) giving passage texts of a TREC run, for answer metrics",
    )
    lang = parser.add_argument_group("query languages (per-language tables); later sources win")
    lang.add_argument(
        "--queries", type=corpus_file, help="queries file whose 'lang' field gives each query's language"
    )
    lang.add_argument(
        "--query-lang", type=input_file, help="qid -> lang map: JSON object or TSV 'qid<TAB>lang'"
    )
    lang.add_argument(
        "--lang-from-id", action="store_true", help="take the language from ids ending in '/lang'"
    )
    lang.add_argument("--lang", type=language_code, help="one language for every query")
    parser.add_argument(
        "--metrics",
        type=metric_list,
        help="comma-separated metrics, e.g. 'Success@1,Recall@10,MRR@10,nDCG@10,R@2kt,R@5kt,AnswerRecall@20'; "
        "default: the qrel metrics with --qrels, R@2kt,R@5kt for XOR predictions, AnswerRecall@20,100 for a run "
        "with --corpus and --answers",
    )
    parser.add_argument(
        "--score-missing",
        action="store_true",
        help="R@kt: count gold questions without a prediction as misses (the official script skips them)",
    )
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="score even when no query of the run is judged (every value 0: usually qrels of another split "
        "or id scheme; refused by default)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score a run per language (qrel metrics, R@kt, answer recall)",
        description="Score a TREC run, an XOR-Retrieve prediction file (JSON list of {id, lang, ctxs}) or "
        "per-query results (JSON from --per-query) and print a per-language table with the macro average. "
        "Values are percentages.",
    )
    parser.add_argument("run", type=input_file, help="TREC run, XOR prediction JSON, or per-query JSON")
    add_input_arguments(parser)
    parser.add_argument(
        "--output", type=output_file, help="write the table (means, counts, settings) as JSON here"
    )
    parser.add_argument(
        "--per-query", type=output_file, help="write per-query values {metric: {qid: value}} as JSON here"
    )
    parser.add_argument(
        "--digits", type=non_negative_int, default=2, help="decimals in the table (default 2)"
    )
    parser.set_defaults(func=_evaluate)


def load_system(path: str, args: argparse.Namespace) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Score one system file with the inputs named in ``args``.

    Returns:
        ``({metric: {qid: value}}, {qid: lang})`` where the languages are those the file itself gives.
    """
    from xqg.data.answers import read_answers_and_languages
    from xqg.errors import ConfigError, InputError
    from xqg.evaluate.evaluator import evaluate
    from xqg.evaluate.inputs import read_passage_texts, read_per_query
    from xqg.evaluate.measures import QREL_FAMILIES, metric_names, parse_measures
    from xqg.evaluate.qrel_metrics import DEFAULT_METRICS, rank_documents

    file = Path(path)
    if not file.exists():
        raise InputError("no such file", path=file)
    metrics = args.metrics
    langs: dict[str, str] = {}
    if file.suffix == ".json" and _first_char(file) == "{":
        per_query = read_per_query(file)
        if metrics:
            wanted = [str(m) for m in metric_names(metrics)]
            missing = [m for m in wanted if m not in per_query]
            if missing:
                raise InputError(f"per-query results lack {', '.join(missing)}", path=file)
            per_query = {m: per_query[m] for m in wanted}
        return per_query, langs

    answers = None
    if args.answers:
        answers, answer_langs = read_answers_and_languages(args.answers)
        langs.update(answer_langs)
    qrels = None
    if args.qrels:
        from xqg.data.trec import read_qrels

        qrels = read_qrels(args.qrels)

    run = None
    run_texts = None
    if file.suffix == ".json":
        from xqg.data.xor_tydi import predictions_to_texts, read_predictions

        run_texts, pred_langs = predictions_to_texts(read_predictions(file))
        langs.update(pred_langs)
        default = "R@2kt,R@5kt"
    else:
        from xqg.data.trec import read_run

        run = read_run(file)
        default = ",".join(DEFAULT_METRICS) if qrels is not None else ""
        if answers is not None and args.corpus:
            default = ",".join(filter(None, [default, "AnswerRecall@20,AnswerRecall@100"]))
    metrics = metrics or default
    if not metrics:
        raise ConfigError(
            "nothing to compute: give --qrels, or --answers (with --corpus for a TREC run), or --metrics"
        )
    measures = parse_measures(metrics)
    if run is not None and any(m.needs_answers for m in measures):
        if not args.corpus:
            raise ConfigError("answer metrics on a TREC run need --corpus for the passage texts")
        depth = None
        if all(m.family == "AnswerRecall" for m in measures if m.needs_answers):
            depth = max(m.cutoff or 0 for m in measures if m.needs_answers)
        ranked = {qid: rank_documents(scores)[:depth] for qid, scores in run.items()}
        texts = read_passage_texts(args.corpus, {d for docs in ranked.values() for d in docs})
        run_texts = {qid: [texts[d] for d in docs] for qid, docs in ranked.items()}
    if run is None and any(m.family in QREL_FAMILIES for m in measures):
        raise ConfigError("qrel metrics need a TREC run (prediction files hold texts, not document ids)")
    _check_overlap(file, run, run_texts, qrels, answers, measures, args)
    per_query = evaluate(
        metric_names(metrics),
        run=run,
        qrels=qrels,
        run_texts=run_texts,
        answers=answers,
        score_missing_rkt=args.score_missing,
    )
    return per_query, langs


def _check_overlap(
    file: Path,
    run: dict[str, dict[str, float]] | None,
    run_texts: dict[str, list[str]] | None,
    qrels: dict[str, dict[str, int]] | None,
    answers: dict[str, list[str]] | None,
    measures: list[Any],
    args: argparse.Namespace,
) -> None:
    """Refuse a run that no judgement or answer concerns (every value would be 0); warn about a partial
    overlap. ``--allow-empty`` turns the refusal into a warning."""
    import logging

    from xqg.errors import InputError
    from xqg.evaluate.measures import QREL_FAMILIES

    log = logging.getLogger("xqg.evaluate")
    results = run if run is not None else run_texts
    if not results:
        raise InputError("the run holds no results (an empty file?)", path=file)
    checks = []
    if qrels is not None and any(m.family in QREL_FAMILIES for m in measures):
        checks.append(("qrels", args.qrels, set(qrels)))
    if answers is not None and any(m.needs_answers for m in measures):
        checks.append(("answers", args.answers, set(answers)))
    ran = set(results)
    for what, path, judged in checks:
        if not judged:
            raise InputError(f"the {what} file holds no entries (an empty file?)", path=path)
        common = ran & judged
        if not common:
            message = (
                f"no query of the run ({len(ran)} queries, e.g. {sorted(ran)[0]!r}) is in the {what} "
                f"({len(judged)} queries, e.g. {sorted(judged)[0]!r}): every value would be 0. Another "
                "split or id scheme? (--allow-empty scores it anyway)"
            )
            if not args.allow_empty:
                raise InputError(message, path=file)
            log.warning("%s: %s", file, message)
            continue
        if len(common) < len(judged):
            log.warning(
                "%s: %d of %d queries in the %s have no results in the run; they score 0",
                file,
                len(judged) - len(common),
                len(judged),
                what,
            )
        if len(common) < len(ran):
            log.warning(
                "%s: %d of %d run queries are not in the %s; they are not scored",
                file,
                len(ran) - len(common),
                len(ran),
                what,
            )


def _first_char(path: Path) -> str:
    from xqg.data.text_input import open_text

    with open_text(path) as handle:
        while chunk := handle.read(4096):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[0]
    return ""


def query_languages(args: argparse.Namespace, file_langs: dict[str, str], qids: set[str]) -> dict[str, str]:
    """Merge the language sources: the files' own ``lang`` fields, then --lang-from-id, --lang,
    --query-lang and --queries (later wins)."""
    from xqg.evaluate.inputs import lang_from_ids, read_query_lang

    langs = dict(file_langs)
    if args.lang_from_id:
        langs.update(lang_from_ids(qids))
    if args.lang:
        langs.update(dict.fromkeys(qids, args.lang))
    if args.query_lang:
        langs.update(read_query_lang(args.query_lang))
    if args.queries:
        from xqg.data.corpus import iter_queries

        langs.update({q.id: q.lang for _, q in iter_queries(args.queries, require_language=False)})
    return langs


def _evaluate(args: argparse.Namespace) -> int:
    from xqg.data.atomic import atomic_write_json
    from xqg.evaluate.aggregate import aggregate, count_scored
    from xqg.evaluate.tables import evaluation_markdown

    per_query, file_langs = load_system(args.run, args)
    qids = {q for values in per_query.values() for q in values}
    langs = query_languages(args, file_langs, qids)
    table = aggregate(per_query, langs)
    counts = count_scored(per_query, langs)
    print(evaluation_markdown(table, counts, digits=args.digits))
    if args.output:
        report: dict[str, Any] = {
            "run": str(args.run),
            "metrics": table,
            "counts": counts,
            "scale": "fractions in [0, 1]; the printed table shows percentages",
            "inputs": {k: getattr(args, k) for k in ("qrels", "answers", "corpus", "queries", "query_lang")},
        }
        atomic_write_json(args.output, report)
        print(f"\nwrote {args.output}", file=sys.stderr)
    if args.per_query:
        atomic_write_json(args.per_query, per_query)
        print(f"wrote {args.per_query}", file=sys.stderr)
    return 0
