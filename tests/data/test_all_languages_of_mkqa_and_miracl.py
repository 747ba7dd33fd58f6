"""MKQA's 26 and MIRACL's 18 languages load and run end to end, on small files in the official formats.

MKQA: ``mkqa.jsonl.gz`` with every example in all 26 languages (two answerable examples, a binary
and an unanswerable one), loaded and run with ``xqg run`` (clean and misspelled questions in all 26
languages against a DPR-format corpus). MIRACL: the two hub repositories' layout for all 18
languages (topics TSV, TREC-style qrels TSV, corpus in two ``docs-<n>.jsonl.gz`` shards), loaded
with :func:`xqg.data.miracl.load_miracl` and run through ``xqg encode``, ``search``, ``evaluate``
and ``typos`` per language. Tiny random encoder: the point is that every language goes through.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from xqg.cli.main import main
from xqg.data.miracl import MIRACL_LANGUAGES, load_miracl, miracl_paths
from xqg.data.mkqa import MKQA_LANGUAGES, load_mkqa
from xqg.data.trec import read_run
from xqg.errors import InputError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
QUESTIONS = json.loads((FIXTURES / "questions_by_language.json").read_text(encoding="utf-8"))["benchmarks"]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    from xqg.encode.testing import tiny_encoder

    return tiny_encoder(seed=7).save(tmp_path_factory.mktemp("enc") / "encoder")


# ---------------------------------------------------------------- MKQA
@pytest.fixture(scope="module")
def mkqa_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mkqa")
    with gzip.open(root / "mkqa.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write((FIXTURES / "mkqa26" / "mkqa.jsonl").read_text(encoding="utf-8"))
    return root


def test_mkqa_loads_all_26_languages(mkqa_root: Path) -> None:
    ds = load_mkqa(root=mkqa_root)
    assert ds.languages == sorted(MKQA_LANGUAGES) and len(MKQA_LANGUAGES) == 26
    assert (ds.meta["num_examples"], ds.meta["num_dropped"]) == (2, 2)  # binary, unanswerable dropped
    assert all(len(ds.queries[lang]) == 2 for lang in MKQA_LANGUAGES)
    assert ds.answers["7001/ja"] == ["ジャン・シベリウス"] and ds.answers["7002/sv"] == [
        "Helsingfors",
        "Helsinki",
    ]
    assert ds.answers["7001/de"] == ["Jean Sibelius", "Sibelius"]
    with pytest.raises(InputError, match="MKQA has no language 'ro'"):
        load_mkqa(["ro"], root=mkqa_root)


def test_mkqa_runs_end_to_end_in_all_26_languages(mkqa_root: Path, encoder: Path, tmp_path: Path) -> None:
    from xqg.experiment.config import parse_config
    from xqg.experiment.pipeline import run_experiment

    rows = ["id\ttext\ttitle"]
    facts = [
        ("Finlandia", "Finlandia is a tone poem by Jean Sibelius (ジャン・シベリウス, 让·西贝柳斯)."),
        ("Helsinki", "Helsinki (Helsingfors, ヘルシンキ, 赫尔辛基, Хельсинки) is the capital of Finland."),
        ("Turku", "Turku is the oldest city of Finland."),
        ("Tampere", "Tampere lies between two lakes."),
    ]
    rows += [f"{i + 1}\t{text}\t{title}" for i, (title, text) in enumerate(facts)]
    corpus = tmp_path / "psgs_w100.tsv"
    corpus.write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = parse_config(
        {
            "experiment": {"name": "mkqa-26", "seed": 1, "output": str(tmp_path / "report")},
            "data": {"dataset": "mkqa", "path": str(mkqa_root), "corpus": str(corpus)},  # all 26 languages
            "encoder": {"model": str(encoder), "batch_size": 16, "shard_size": 2},
            "typos": {"protocols": ["one-typo"], "variants": 1},
            "systems": {"names": ["zero-shot"], "baseline": "zero-shot"},
            "metrics": {"names": ["AnswerRecall@1", "AnswerRecall@4"], "primary": "AnswerRecall@4"},
        },
        where="mkqa-26.toml",
    )
    summary = run_experiment(config, cache_dir=tmp_path / "cache")
    results = json.loads(summary.results_json.read_text(encoding="utf-8"))
    assert results["languages"] == sorted(MKQA_LANGUAGES)
    report = tmp_path / "report" / "per_query"
    clean = json.loads((report / "zero-shot.clean.json").read_text(encoding="utf-8"))["AnswerRecall@4"]
    typos = json.loads((report / "zero-shot.one-typo_0.json").read_text(encoding="utf-8"))["AnswerRecall@4"]
    expected = {f"{example}/{lang}" for example in (7001, 7002) for lang in MKQA_LANGUAGES}
    assert set(clean) == set(typos) == expected
    # the whole corpus is retrieved at depth 4, so every answer found in it counts (Sibelius, Helsinki)
    assert clean["7001/de"] == 1.0 and clean["7002/ja"] == 1.0 and clean["7001/ko"] == 0.0


# ---------------------------------------------------------------- MIRACL
def _write_miracl(root: Path, lang: str, split: str = "dev") -> None:
    """One language of MIRACL in the hub layout: 3 judged passages over two corpus shards, two
    judged questions (one with a non-relevant judgement too) and one unjudged."""
    question = QUESTIONS[lang]
    half = max(1, len(question) // 2)
    folder = root / "miracl" / f"miracl-v1.0-{lang}"
    (folder / "topics").mkdir(parents=True)
    (folder / "qrels").mkdir()
    topics = [("10", question), ("11", question[:half]), ("12", question[half:])]
    (folder / "topics" / f"topics.miracl-v1.0-{lang}-{split}.tsv").write_text(
        "".join(f"{qid}\t{text}\n" for qid, text in topics), encoding="utf-8"
    )
    (folder / "qrels" / f"qrels.miracl-v1.0-{lang}-{split}.tsv").write_text(
        "10\tQ0\t1#0\t1\n10\tQ0\t2#0\t0\n11\tQ0\t3#1\t1\n", encoding="utf-8"
    )
    corpus = root / "miracl-corpus" / f"miracl-corpus-v1.0-{lang}"
    corpus.mkdir(parents=True)
    docs = [
        [
            {"docid": "1#0", "title": lang, "text": question},
            {"docid": "2#0", "title": "x", "text": question[half:]},
        ],
        [{"docid": "3#1", "title": lang, "text": question[:half]}],
    ]
    for n, shard in enumerate(docs):
        with gzip.open(corpus / f"docs-{n}.jsonl.gz", "wt", encoding="utf-8") as out:
            out.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in shard)


@pytest.fixture(scope="module")
def miracl_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("miracl")
    for lang in MIRACL_LANGUAGES:
        _write_miracl(root, lang)
    return root


def test_miracl_loads_all_18_languages(miracl_root: Path) -> None:
    assert len(MIRACL_LANGUAGES) == 18
    for lang in MIRACL_LANGUAGES:
        ds = load_miracl(lang, root=miracl_root)
        assert ds.name == f"miracl-{lang}" and ds.languages == [lang]
        assert [p.id for p in ds.corpus] == ["1#0", "2#0", "3#1"]  # both shards, in order
        assert [q.id for q in ds.queries[lang]] == ["10", "11"]  # the unjudged question is not in the split
        assert ds.queries[lang][0].text == QUESTIONS[lang] and ds.meta["num_queries_in_file"] == 3
        assert ds.qrels == {"10": {"1#0": 1, "2#0": 0}, "11": {"3#1": 1}}


def test_miracl_errors_name_the_file(miracl_root: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="MIRACL has no language 'ro'"):
        load_miracl("ro", root=miracl_root)
    with pytest.raises(InputError, match="topics.miracl-v1.0-sw-testB.tsv not found"):
        load_miracl("sw", "testB", root=miracl_root)
    root = tmp_path / "m"
    shutil.copytree(miracl_root / "miracl" / "miracl-v1.0-sw", root / "miracl" / "miracl-v1.0-sw")
    shutil.copytree(
        miracl_root / "miracl-corpus" / "miracl-corpus-v1.0-sw",
        root / "miracl-corpus" / "miracl-corpus-v1.0-sw",
    )
    qrels = root / "miracl" / "miracl-v1.0-sw" / "qrels" / "qrels.miracl-v1.0-sw-dev.tsv"
    qrels.write_text(qrels.read_text() + "11\tQ0\t9#9\t1\n", encoding="utf-8")
    with pytest.raises(InputError, match="qrel for document '9#9'") as info:
        load_miracl("sw", root=root)
    assert info.value.line == 4


@pytest.mark.parametrize("lang", MIRACL_LANGUAGES)
def test_miracl_runs_end_to_end(lang: str, miracl_root: Path, encoder: Path, tmp_path: Path, capsys) -> None:
    """The official files straight into the commands: encode each corpus shard, search the topics,
    evaluate with the official qrels, misspell the topics."""
    paths = miracl_paths(miracl_root, lang)
    model = ["--model", str(encoder)]
    indexes = []
    for shard in paths["corpus"]:
        out = tmp_path / shard.name.split(".")[0]
        assert main(["encode", str(shard), "--output", str(out), *model]) == 0
        indexes.append(str(out))
    run = tmp_path / "run.trec"
    search = ["search", "--queries", str(paths["topics"]), "--lang", lang, "--index", *indexes]
    assert main([*search, "-o", str(run), "-k", "3", *model]) == 0
    assert set(read_run(run)) == {"10", "11", "12"}
    table = tmp_path / "table.json"
    evaluate = ["evaluate", str(run), "--qrels", str(paths["qrels"]), "--lang", lang]
    assert main([*evaluate, "--metrics", "nDCG@10,Recall@100", "--output", str(table)]) == 0
    assert f"| {lang}" in capsys.readouterr().out
    assert lang in json.dumps(json.loads(table.read_text(encoding="utf-8")))
    typos = tmp_path / "typos.jsonl"
    topics = ["--queries", str(paths["topics"]), "--lang", lang]
    assert main(["typos", *topics, "--output", str(typos), "--variants", "2"]) == 0
    rows = [json.loads(line) for line in typos.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 6 and all(r["lang"] == lang for r in rows)
    assert any(r["text"] != r["original"] for r in rows if r["id"] == "10")
