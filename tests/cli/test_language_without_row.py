"""Every command of the pipeline on queries in a language the project's table has no row for.

Armenian (``hy``) has neither a row in ``xqg/data/resources/languages.tsv`` nor a keyboard layout:
``encode``, ``search``, ``fuse`` (per language), ``evaluate``, ``typos`` and ``run`` all take it,
and the stages that do not use the language also take query files without any language. Tiny random
models; the data are small files in the official formats.
"""

from __future__ import annotations

import json

import pytest

from xqg.cli.main import main
from xqg.data.languages import get_language
from xqg.data.scripts import scripts_of
from xqg.data.trec import read_run
from xqg.distributed import load_vectors
from xqg.typos.resources_loader import has_layout

LANG = "hy"
CITIES = ["Երևան", "Գյումրի", "Վանաձոր", "Էջմիածին", "Աբովյան", "Կապան"]
QUESTION = "Որտեղ է գտնվում {c} քաղաքը և քանի բնակիչ ունի"


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from xqg.encode.testing import tiny_encoder

    assert not get_language(LANG).has_row and not has_layout(LANG)
    root = tmp_path_factory.mktemp("hy")
    tiny_encoder(seed=5).save(root / "encoder")
    _jsonl(
        root / "corpus.jsonl",
        [
            {"_id": f"d{i}", "title": c, "text": f"{c} is a city in Armenia, answer A{i}."}
            for i, c in enumerate(CITIES)
        ],
    )
    _jsonl(
        root / "queries.jsonl",
        [{"_id": f"q{i}", "text": QUESTION.format(c=c), "lang": LANG} for i, c in enumerate(CITIES)],
    )
    _jsonl(
        root / "nolang.jsonl", [{"_id": f"q{i}", "text": QUESTION.format(c=c)} for i, c in enumerate(CITIES)]
    )
    (root / "qrels.tsv").write_text(
        "".join(f"q{i}\t0\td{i}\t1\n" for i in range(len(CITIES))), encoding="utf-8"
    )
    _jsonl(
        root / "generated.jsonl",
        [
            {"docid": f"d{i}", "lang": LANG, "slot": j, "query": f"Ինչ է {c} {j}"}
            for i, c in enumerate(CITIES)
            for j in range(2)
        ],
    )
    return root


def test_encode_search_fuse_evaluate(files, capsys) -> None:
    enc = ["--model", str(files / "encoder")]
    assert main(["encode", str(files / "corpus.jsonl"), "--output", str(files / "idx"), *enc]) == 0
    for name in ("queries", "nolang"):  # with the language, and without any
        out = files / f"qv-{name}"
        assert (
            main(["encode", str(files / f"{name}.jsonl"), "--kind", "query", "--output", str(out), *enc]) == 0
        )
        assert load_vectors(out)[0] == [f"q{i}" for i in range(len(CITIES))]
    for name in ("queries", "nolang"):
        run = files / f"{name}.trec"
        assert (
            main(
                [
                    "search",
                    "--queries",
                    str(files / f"{name}.jsonl"),
                    "--index",
                    str(files / "idx"),
                    "-o",
                    str(run),
                    *enc,
                ]
            )
            == 0
        )
        assert set(read_run(run)) == {f"q{i}" for i in range(len(CITIES))}
    assert read_run(files / "queries.trec") == read_run(files / "nolang.trec")

    # fusion with the generated Armenian queries: one store, one matrix for hy, alpha chosen on dev
    code = main(
        [
            "fuse", "--store", str(files / "store"), "--corpus", str(files / "corpus.jsonl"),
            "--queries", str(files / "generated.jsonl"), "--encoder", str(files / "encoder"),
            "--languages", LANG, "--per-language", "--mode", "mean", "--shard-size", "4",
            "--alpha-sweep", "0,0.5", "--dev-queries", str(files / "queries.jsonl"),
            "--dev-qrels", str(files / "qrels.tsv"), "--output", str(files / "fused"),
        ]
    )  # fmt: skip
    assert code == 0 and "best alpha" in capsys.readouterr().out
    assert load_vectors(files / "fused" / LANG)[0] == [f"d{i}" for i in range(len(CITIES))]
    fused_run = files / "fused.trec"
    search = ["search", "--queries", str(files / "queries.jsonl"), "--index", str(files / "fused")]
    assert main([*search, "--per-language", "-o", str(fused_run), *enc]) == 0
    assert set(read_run(fused_run)) == {f"q{i}" for i in range(len(CITIES))}

    # evaluation groups by the queries' code, and by "und" for queries without one
    for name, group in (("queries", LANG), ("nolang", "und")):
        out = files / f"eval-{name}.json"
        args = ["evaluate", str(files / f"{name}.trec"), "--qrels", str(files / "qrels.tsv")]
        assert main([*args, "--queries", str(files / f"{name}.jsonl"), "--output", str(out)]) == 0
        table = json.loads(out.read_text(encoding="utf-8"))
        assert group in json.dumps(table), table
        assert f"| {group}" in capsys.readouterr().out


def test_typos_in_a_language_without_row_or_layout(files) -> None:
    out = files / "typos.jsonl"
    assert (
        main(["typos", "--queries", str(files / "queries.jsonl"), "--output", str(out), "--variants", "3"])
        == 0
    )
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 3 * len(CITIES)
    changed = [r for r in rows if r["text"] != r["original"]]
    assert len(changed) == len(rows)  # every question has content words to misspell
    for row in rows:
        assert row["lang"] == LANG and scripts_of(row["text"]) <= scripts_of(row["original"])
    # the same command again gives the same files (seeded)
    again = files / "typos-again.jsonl"
    main(["typos", "--queries", str(files / "queries.jsonl"), "--output", str(again), "--variants", "3"])
    assert again.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
    # a command that uses the language refuses what is not a language code, naming file and line
    bad = _jsonl(files / "bad.jsonl", [{"_id": "q1", "text": "Ով", "lang": "Armenian"}])
    assert main(["typos", "--queries", str(bad), "--output", str(files / "x.jsonl")]) != 0


def test_run_on_a_language_without_row(files, tmp_path, capsys) -> None:
    """``xqg run`` (XOR-Retrieve layout): Armenian questions, one typo variant, + xQG generating
    Armenian queries with a tiny prompt-conditioned generator ("Generate a Armenian question ...")."""
    from xqg.experiment.config import parse_config
    from xqg.experiment.pipeline import run_experiment
    from xqg.generate.testing import tiny_generator

    xor = tmp_path / "xor"
    xor.mkdir()
    rows = ["id\ttext\ttitle"] + [
        f"{i + 1}\t{c} has the answer token A{i}.\t{c}" for i, c in enumerate(CITIES)
    ]
    (xor / "enwiki_20190201_w100.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    _jsonl(
        xor / "xor_dev_retrieve_eng_span_v1_1.jsonl",
        [
            {"id": f"hy-{i}", "question": QUESTION.format(c=c), "answers": [f"A{i}"], "lang": LANG}
            for i, c in enumerate(CITIES)
        ],
    )
    generator = tiny_generator("seq2seq", seed=3).save(tmp_path / "generator")
    config = parse_config(
        {
            "experiment": {"name": "hy", "seed": 1, "output": str(tmp_path / "report")},
            "data": {"dataset": "xor-tydi", "path": str(xor), "languages": [LANG]},
            "encoder": {"model": str(files / "encoder"), "batch_size": 8, "shard_size": 4},
            "generator": {"model": str(generator), "queries_per_language": 1, "languages": [LANG]},
            "fusion": {"alpha": 0.5, "mode": "mean"},
            "typos": {"protocols": ["one-typo"], "variants": 1},
            "systems": {"names": ["zero-shot", "zero-shot+xqg"], "baseline": "zero-shot"},
            "metrics": {"names": ["AnswerRecall@5"], "primary": "AnswerRecall@5"},
        },
        where="hy.toml",
    )
    summary = run_experiment(config, cache_dir=tmp_path / "cache")
    results = json.loads(summary.results_json.read_text(encoding="utf-8"))
    assert results["languages"] == [LANG]
    per_query = json.loads((tmp_path / "report" / "per_query" / "zero-shot+xqg.one-typo_0.json").read_text())
    assert set(per_query["AnswerRecall@5"]) == {f"hy-{i}" for i in range(len(CITIES))}
    assert LANG in summary.markdown
