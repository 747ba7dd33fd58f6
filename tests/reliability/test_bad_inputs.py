"""The catalogue of bad inputs (docs/reliability.md): each one is refused with exit status 2, a message
that names the file (and line) or the flag, no traceback, and the file system left exactly as it was.

Run the catalogue alone with ``python -m pytest tests/reliability -q``. Each case builds its inputs in
a fresh folder, snapshots every file and folder under it (and the shared index), runs ``xqg`` in this
process, and compares the snapshot afterwards: no manifest, no partial output, no probe file remains.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from xqg.cli.main import main
from xqg.distributed import run_sharded
from xqg.distributed.plan import ShardSpec
from xqg.distributed.vectors import VectorPartWriter

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "reliability.md"


def _corpus_rows(n: int = 6) -> list[dict[str, str]]:
    return [
        {"_id": f"d{i}", "title": f"title {i}", "text": f"the city {i} lies on river {i % 3}"}
        for i in range(n)
    ]


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _latin1(path: Path, lines: list[str]) -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return path


@dataclass
class Env:
    """What a case can use: its own folder, a tiny encoder folder, a finished index, a run and qrels."""

    case: Path
    encoder: Path
    index: Path
    empty_index: Path

    def corpus(self, rows: list[dict[str, Any]] | None = None, name: str = "corpus.jsonl") -> Path:
        return _jsonl(self.case / name, _corpus_rows() if rows is None else rows)

    def queries(
        self, text: str = "q1\twhere is the city\tde\nq2\twhich river\tde\n", name: str = "q.tsv"
    ) -> Path:
        path = self.case / name
        path.write_text(text, encoding="utf-8")
        return path

    def run_file(self, text: str = "q1 Q0 d1 1 2.0 x\nq2 Q0 d2 1 1.0 x\n") -> Path:
        path = self.case / "run.trec"
        path.write_text(text, encoding="utf-8")
        return path

    def qrels(self, text: str = "q1 0 d1 1\nq2 0 d2 1\n") -> Path:
        path = self.case / "qrels.txt"
        path.write_text(text, encoding="utf-8")
        return path

    def encode_job(self, corpus: Path, out: Path) -> None:
        assert (
            main(["encode", str(corpus), "-o", str(out), "--model", str(self.encoder), "--shard-size", "2"])
            == 0
        )


def unwritable(env: Env) -> Path:
    """A folder this process cannot write in, even as root (sysfs refuses everyone)."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = env.case / "read-only"
    folder.mkdir(mode=0o555)
    return folder


@dataclass(frozen=True)
class Case:
    """One bad input: ``argv(env)`` builds the inputs and returns the command line."""

    id: str
    what: str
    argv: Callable[[Env], list[str]]
    message: str  # a regular expression searched in stderr
    code: int = 2


def _encode(env: Env, corpus: Path, *extra: str) -> list[str]:
    return ["encode", str(corpus), "-o", str(env.case / "out"), "--model", str(env.encoder), *extra]


def _search(env: Env, queries: Path | str, *extra: str, index: Path | None = None) -> list[str]:
    return [
        "search", "--queries", str(queries), "--index", str(index or env.index),
        "-o", str(env.case / "run.out"), "--model", str(env.encoder), "-k", "3", *extra,
    ]  # fmt: skip


def _evaluate(env: Env, run: Path, qrels: Path, *extra: str) -> list[str]:
    return ["evaluate", str(run), "--qrels", str(qrels), "--lang", "de", *extra]


def _fuse_store(env: Env, corpus: Path, *extra: str) -> list[str]:
    gen = _jsonl(
        env.case / "gen.jsonl",
        [
            {"docid": f"d{i}", "lang": "de", "slot": j, "query": f"q {i} {j}"}
            for i in range(6)
            for j in range(2)
        ],
    )
    return [
        "fuse", "--store", str(env.case / "store"), "--corpus", str(corpus), "--queries", str(gen),
        "--languages", "de", "--encoder", str(env.encoder), "--shard-size", "3", *extra,
    ]  # fmt: skip


def _dup_query_folder(env: Env) -> Path:
    class DuplicateIds:
        name = "query-vectors"

        def fingerprint(self) -> dict[str, Any]:
            return {"task": self.name}

        def run(self, shard: ShardSpec, workdir: Path) -> dict[str, Any]:
            with VectorPartWriter(workdir, 3, 32) as writer:
                writer.write(np.ones((3, 32), np.float32), ids=["q1", "q2", "q1"])
            return writer.close()

    folder = env.case / "encoded-queries"
    run_sharded(DuplicateIds(), 3, folder, 3, show_progress=False)
    return folder


def _changed_corpus_job(env: Env) -> list[str]:
    corpus = env.corpus()
    env.encode_job(corpus, env.case / "out")
    shutil.rmtree(env.case / "out" / "shard-00001")  # an interrupted job
    env.corpus([{**r, "text": r["text"].replace("city", "town")} for r in _corpus_rows()])
    return _encode(env, corpus, "--shard-size", "2")


def _other_settings_job(env: Env) -> list[str]:
    corpus = env.corpus()
    env.encode_job(corpus, env.case / "out")
    return _encode(env, corpus, "--shard-size", "2", "--dtype", "float16")


def _broken_manifest_job(env: Env) -> list[str]:
    corpus = env.corpus()
    env.encode_job(corpus, env.case / "out")
    (env.case / "out" / "manifest.json").write_text('{"format": "xqg-sharded-job/1", "task":')
    return _encode(env, corpus, "--shard-size", "2")


def _lost_manifest_other_input(env: Env) -> list[str]:
    corpus = env.corpus()
    env.encode_job(corpus, env.case / "out")
    (env.case / "out" / "manifest.json").unlink()
    other = env.corpus(_corpus_rows(8), name="other.jsonl")
    return _encode(env, other, "--shard-size", "2")


def _unfinished_index(env: Env) -> Path:
    env.encode_job(env.corpus(), env.case / "idx")
    shutil.rmtree(env.case / "idx" / "shard-00002")
    return env.case / "idx"


CATALOGUE: list[Case] = [
    # -- files that cannot be decoded ---------------------------------------------------------------
    Case("corpus-not-utf8", "a Latin-1 byte in a corpus (xqg encode)",
         lambda e: _encode(e, _latin1(e.case / "c.jsonl", ['{"_id": "d1", "text": "ok"}', '{"_id": "d2", "text": "caf\xe9"}'])),
         r"c\.jsonl:2: not valid UTF-8 \(byte 0xe9 .*iconv -f"),
    Case("queries-not-utf8", "a Latin-1 byte in a queries file (xqg search)",
         lambda e: _search(e, _latin1(e.case / "q.tsv", ["q1\tok\tde", "q2\tcaf\xe9\tde"])),
         r"q\.tsv:2: not valid UTF-8"),
    Case("qrels-not-utf8", "a Latin-1 byte in qrels (xqg evaluate)",
         lambda e: _evaluate(e, e.run_file(), _latin1(e.case / "qrels.txt", ["q1 0 d1 1", "q\xe9 0 d2 1"])),
         r"qrels\.txt:2: not valid UTF-8"),
    Case("run-not-utf8", "a Latin-1 byte in a run (xqg evaluate)",
         lambda e: _evaluate(e, _latin1(e.case / "run.trec", ["q1 Q0 d1 1 2.0 x", "q\xe9 Q0 d2 1 1.0 x"]), e.qrels()),
         r"run\.trec:2: not valid UTF-8"),
    Case("typos-queries-not-utf8", "a Latin-1 byte in queries to misspell (xqg typos)",
         lambda e: ["typos", "--queries", str(_latin1(e.case / "q.tsv", ["q1\tMünchen\tde"])), "--output", str(e.case / "t.jsonl")],
         r"q\.tsv:1: not valid UTF-8"),
    Case("fuse-corpus-not-utf8", "a Latin-1 byte in the corpus of a fusion store (xqg fuse)",
         lambda e: _fuse_store(e, _latin1(e.case / "c.jsonl", ['{"_id": "d1", "text": "caf\xe9"}'])),
         r"c\.jsonl:1: not valid UTF-8"),
    Case("utf16-file", "a UTF-16 corpus",
         lambda e: _encode(e, _write_bytes(e.case / "c.tsv", "d1\tHallo Welt\n".encode("utf-16"))),
         r"c\.tsv:1: not valid UTF-8 .*UTF-16"),
    Case("gz-not-gzip", "a .gz file that is not gzip data",
         lambda e: _encode(e, _write_bytes(e.case / "c.jsonl.gz", b'{"_id": "d1", "text": "x"}\n')),
         r"c\.jsonl\.gz: not a valid gzip file"),
    Case("gz-truncated", "a gzip file cut short",
         lambda e: _encode(e, _write_bytes(e.case / "c.jsonl.gz", gzip.compress(
             "".join(json.dumps(r) + "\n" for r in _corpus_rows(300)).encode())[:-30])),
         r"c\.jsonl\.gz: not a valid gzip file"),
    # -- file content ----------------------------------------------------------------------------------
    Case("corpus-malformed-json", "a line that is not JSON",
         lambda e: _encode(e, _write_text(e.case / "c.jsonl", '{"_id": "d1", "text": "ok"}\n{"_id": "d2", text}\n')),
         r"c\.jsonl:2: malformed JSON"),
    Case("corpus-missing-text", "a passage without text",
         lambda e: _encode(e, e.corpus([{"_id": "d1", "title": "t"}])), r"corpus\.jsonl:1: missing field 'text'"),
    Case("corpus-duplicate-id", "two passages with one id",
         lambda e: _encode(e, e.corpus([*_corpus_rows(3), _corpus_rows(3)[1]])),
         r"corpus\.jsonl:4: duplicate document id 'd1'"),
    Case("corpus-empty", "an empty corpus (was: '0 shard(s) done', exit 0)",
         lambda e: _encode(e, _write_text(e.case / "c.jsonl", "")), r"c\.jsonl: the corpus holds no passages"),
    Case("corpus-empty-fuse", "an empty corpus for a fusion store",
         lambda e: _fuse_store(e, _write_text(e.case / "c.jsonl", "\n")), r"c\.jsonl: the corpus holds no passages"),
    Case("queries-duplicate-id", "two queries with one id (was: 4 rows -> '3 queries')",
         lambda e: _encode(e, e.queries("q1\ta\tde\nq2\tb\tde\nq1\tc\tde\n"), "--kind", "query"),
         r"q\.tsv:3: duplicate query id 'q1'"),
    Case("queries-empty-text", "a query with an empty text",
         lambda e: _search(e, e.queries("q1\twhere\tde\nq2\t \tde\n")), r"q\.tsv:2: query 'q2' has an empty text"),
    Case("queries-unknown-language", "a query tagged with an unknown language code",
         lambda e: _search(e, e.queries("q1\twhere\tzz\n")), r"q\.tsv:1: 'zz' is not a language code"),
    Case("queries-bad-columns", "a queries TSV line with four columns",
         lambda e: _search(e, e.queries("q1\twhere\tde\tx\n")), r"q\.tsv:1: a queries TSV line needs id, text\[, lang\]"),
    Case("encoded-queries-duplicate-ids", "an encoded queries folder with a repeated id",
         lambda e: _search(e, _dup_query_folder(e)), r"encoded-queries: 1 query id\(s\) occur more than once"),
    Case("qrels-no-overlap", "qrels that judge no query of the run (was: every metric 0.00, exit 0)",
         lambda e: _evaluate(e, e.run_file(), e.qrels("zz 0 nope 1\n")), r"run\.trec: no query of the run .*\(--allow-empty scores it anyway\)"),
    Case("qrels-empty", "an empty qrels file",
         lambda e: _evaluate(e, e.run_file(), e.qrels("")), r"qrels\.txt: the qrels file holds no entries"),
    Case("run-empty", "an empty run", lambda e: _evaluate(e, e.run_file(""), e.qrels()), r"run\.trec: the run holds no results"),
    Case("run-malformed", "a run line with five columns",
         lambda e: _evaluate(e, e.run_file("q1 Q0 d1 1 2.0\n"), e.qrels()), r"run\.trec:1: a TREC run line needs 6 columns"),
    Case("run-nan-score", "a NaN score in a run",
         lambda e: _evaluate(e, e.run_file("q1 Q0 d1 1 nan x\n"), e.qrels()), r"run\.trec:1: score is NaN"),
    Case("index-empty", "an index built from no rows (was: a 0-byte run, '30 queries, top 3')",
         lambda e: _search(e, e.queries(), index=e.empty_index), r"the index holds no vectors"),
    Case("index-not-sharded", "an index folder that no sharded command wrote",
         lambda e: _search(e, e.queries(), index=_mkdir(e.case / "plain")), r"plain: not a sharded output folder"),
    Case("index-unfinished", "an index with an unfinished shard",
         lambda e: _search(e, e.queries(), index=_unfinished_index(e)), r"shard-00002: shard 2 .* is missing; finish the job"),
    Case("typos-other-script", "Tifinagh text tagged 'ar' (was: misspelled anyway, miscounted)",
         lambda e: ["typos", "--queries", str(e.queries("a\tⵜⴰⵎⴰⵣⵉⵖⵜ ⵜⴰⵎⴰⵣⵉⵖⵜ\tar\n")), "--output", str(e.case / "t.jsonl")],
         r"q\.tsv:1: 1 of 1 queries are not written in their language's script .* Tifinagh"),
    Case("corpus-not-found", "a corpus path that does not exist",
         lambda e: _encode(e, e.case / "nope.jsonl"), r"argument input: no such file: .*nope\.jsonl"),
    Case("corpus-unknown-format", "a corpus whose name tells no format",
         lambda e: _encode(e, _write_text(e.case / "c.csv", "d1,x\n")), r"cannot tell the format from the file name"),
    # -- values on the command line --------------------------------------------------------------------
    Case("fuse-alpha-out-of-range", "--alpha 1.5 (was: a manifest that locked the folder)",
         lambda e: ["fuse", "--store", str(e.case / "st"), "--alpha", "1.5", "--output", str(e.case / "F")],
         r"argument --alpha: must be in \[0, 1\], got 1.5"),
    Case("fuse-alpha-sweep-out-of-range", "--alpha-sweep 0,2",
         lambda e: ["fuse", "--store", str(e.case / "st"), "--alpha-sweep", "0,2"], r"argument --alpha-sweep: '2': must be in \[0, 1\]"),
    Case("generate-unknown-language", "--languages de,zz (was: a manifest that locked the folder)",
         lambda e: ["generate", str(e.corpus()), "-o", str(e.case / "G"), "--languages", "de,zz"],
         r"argument --languages: 'zz' is not a language code"),
    Case("generate-bad-generator", "--generator /bad/path",
         lambda e: ["generate", str(e.corpus()), "-o", str(e.case / "G"), "--languages", "de", "--generator", "/bad/path"],
         r"argument --generator: generator '/bad/path': no such folder"),
    Case("encode-bad-model", "--model /bad/path",
         lambda e: _encode(e, e.corpus())[:-2] + ["--model", "/bad/path"], r"argument --model: encoder '/bad/path': no such folder"),
    Case("encode-not-a-model", "--model names a folder without model files",
         lambda e: _encode(e, e.corpus())[:-2] + ["--model", str(_mkdir(e.case / "empty-model"))], r"not a model folder"),
    Case("shard-size-zero", "--shard-size 0", lambda e: _encode(e, e.corpus(), "--shard-size", "0"),
         r"argument --shard-size: must be an integer >= 1, got '0'"),
    Case("shard-index-out-of-range", "--num-shards 2 --shard-index 2",
         lambda e: _encode(e, e.corpus(), "--num-shards", "2", "--shard-index", "2"), r"--shard-index must be < --num-shards"),
    Case("search-k-zero", "-k 0", lambda e: _search(e, e.queries(), "-k", "0"), r"argument -k/--k: must be an integer >= 1"),
    Case("typos-rate-out-of-range", "--rate 1.5",
         lambda e: ["typos", "--queries", str(e.queries()), "--output", str(e.case / "t.jsonl"), "--rate", "1.5"],
         r"argument --rate: must be in \[0, 1\]"),
    Case("evaluate-unknown-language", "--lang zz",
         lambda e: ["evaluate", str(e.run_file()), "--qrels", str(e.qrels()), "--lang", "zz"], r"argument --lang: 'zz' is not a language code"),
    Case("fuse-nothing-to-do", "xqg fuse with a store only",
         lambda e: ["fuse", "--store", str(e.case / "st")], r"nothing to do"),
    # -- outputs ---------------------------------------------------------------------------------------
    Case("output-below-a-file", "--output below a file (was: NotADirectoryError)",
         lambda e: _encode(e, e.corpus())[:2] + ["-o", str(_write_text(e.case / "a-file", "x") / "out"), "--model", str(e.encoder)],
         r"a-file/out: cannot be written: .*a-file is a file, not a folder"),
    Case("output-unwritable", "--output in a folder that cannot be written (was: PermissionError)",
         lambda e: _encode(e, e.corpus())[:2] + ["-o", str(unwritable(e) / "out"), "--model", str(e.encoder)],
         r"cannot write in this folder .*Permission denied"),
    Case("search-output-unwritable", "a run file in an unwritable folder (was: found after the whole search)",
         lambda e: _search(e, e.queries())[:-6] + ["-o", str(unwritable(e) / "run.trec"), "--model", str(e.encoder)],
         r"argument --output/-o: .*cannot write in this folder"),
    Case("search-output-is-a-folder", "a run file name that is a folder",
         lambda e: _search(e, e.queries())[:-6] + ["-o", str(_mkdir(e.case / "runs")), "--model", str(e.encoder)],
         r"the output file is a folder"),
    Case("evaluate-output-unwritable", "evaluate --output unwritable (was: found after printing the table)",
         lambda e: _evaluate(e, e.run_file(), e.qrels(), "--output", str(unwritable(e) / "table.json")),
         r"argument --output: .*cannot write in this folder"),
    # -- output folders of earlier runs ----------------------------------------------------------------
    Case("resume-changed-corpus", "a corpus edited in place, then the job resumed (was: old and new mixed)",
         _changed_corpus_job, r"other inputs or settings than this run \(input: content changed \(sha256"),
    Case("resume-other-settings", "an output folder of another setting",
         _other_settings_job, r"other inputs or settings than this run \(dtype: 'float32' -> 'float16'\)"),
    Case("manifest-invalid", "a top-level manifest.json that is not JSON (was: no hint)",
         _broken_manifest_job, r"manifest\.json: cannot read manifest: .*to repair it, move manifest\.json aside"),
    Case("manifest-missing-other-input", "manifest.json lost, another input run into the folder",
         _lost_manifest_other_input, r"manifest\.json is missing and the finished shards here were written by another run"),
]  # fmt: skip


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def snapshot(*roots: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for root in roots:
        if root.exists():
            for p in sorted(root.rglob("*")):
                key = f"{root.name}/{p.relative_to(root).as_posix()}"
                out[key] = p.read_bytes() if p.is_file() else b"<dir>"
    return out


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> dict[str, Path]:
    from xqg.distributed.testing import NumpyVectorTask
    from xqg.encode.testing import tiny_encoder

    root = tmp_path_factory.mktemp("shared")
    tiny_encoder(seed=3).save(root / "encoder")
    corpus = _jsonl(root / "corpus.jsonl", _corpus_rows())
    assert main(["encode", str(corpus), "-o", str(root / "index"), "--model", str(root / "encoder")]) == 0
    run_sharded(NumpyVectorTask(dim=32), 0, root / "empty-index", 5, show_progress=False)
    return {"encoder": root / "encoder", "index": root / "index", "empty_index": root / "empty-index"}


def test_catalogue_has_at_least_thirty_kinds() -> None:
    assert len(CATALOGUE) >= 30
    assert len({case.id for case in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("case", CATALOGUE, ids=[case.id for case in CATALOGUE])
def test_bad_input_is_refused_cleanly(case: Case, shared, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = Env(tmp_path / "case", shared["encoder"], shared["index"], shared["empty_index"])
    env.case.mkdir()
    argv = case.argv(env)
    capsys.readouterr()
    before = snapshot(env.case, shared["index"], shared["empty_index"])
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    captured = capsys.readouterr()
    assert code == case.code, captured.err
    assert "Traceback" not in captured.err
    assert re.search(case.message, captured.err, re.S), captured.err
    assert snapshot(env.case, shared["index"], shared["empty_index"]) == before
    if case.id == "evaluate-output-unwritable":
        assert captured.out == ""  # refused before the table is printed


def test_every_case_is_in_the_reliability_doc() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [case.id for case in CATALOGUE if f"`{case.id}`" not in text]
    assert not missing, f"docs/reliability.md lacks catalogue entries: {missing}"
