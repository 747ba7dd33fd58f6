from __future__ import annotations

import json

import pytest

from xqg.cli.main import main
from xqg.data.records import Passage
from xqg.distributed import run_sharded
from xqg.errors import ConfigError
from xqg.generate.task import GenerateTask, read_generated

from .conftest import cached_tiny_generator

PASSAGES = [Passage(f"d{i}", f"Text number {i}", "T") for i in range(5)]


def _run(tmp_path, name, shard_size, batch_size):
    task = GenerateTask(PASSAGES, ["de", "ru"], n=2, seed=3, batch_size=batch_size, max_new_tokens=6)
    task.use(cached_tiny_generator("bert2bert"))
    run_sharded(task, len(PASSAGES), tmp_path / name, shard_size=shard_size, show_progress=False)
    return list(read_generated(tmp_path / name))


def test_output_keyed_and_independent_of_sharding_and_batching(tmp_path):
    a = _run(tmp_path, "a", shard_size=5, batch_size=5)
    b = _run(tmp_path, "b", shard_size=2, batch_size=1)
    assert a == b
    assert [(r["docid"], r["lang"], r["slot"]) for r in a] == [
        (p.id, lang, s) for p in PASSAGES for lang in ("de", "ru") for s in range(2)
    ]
    assert all(isinstance(r["query"], str) for r in a)


def test_rerun_skips_finished_shards(tmp_path):
    _run(tmp_path, "a", shard_size=2, batch_size=2)
    stamp = (tmp_path / "a" / "shard-00000" / "queries.jsonl").stat().st_mtime_ns
    _run(tmp_path, "a", shard_size=2, batch_size=2)
    assert (tmp_path / "a" / "shard-00000" / "queries.jsonl").stat().st_mtime_ns == stamp


def test_in_memory_task_cannot_go_remote():
    task = GenerateTask(PASSAGES, ["de"])
    task.use(cached_tiny_generator("bert2bert"))
    with pytest.raises(ConfigError):
        task.to_spec()
    with pytest.raises(ConfigError):
        GenerateTask(PASSAGES, [])


def test_cli_train_generator_and_generate(tmp_path, capsys):
    model_dir = tmp_path / "base"
    cached_tiny_generator("seq2seq").save(model_dir)
    train = tmp_path / "train.jsonl"
    train.write_text(
        "".join(
            json.dumps({"passage": f"Berlin {i}", "lang": "de", "query": f"Wo {i}?"}) + "\n" for i in range(4)
        )
    )
    assert (
        main(
            [
                "train-generator",
                "--model",
                str(model_dir),
                "--train",
                str(train),
                "--output",
                str(tmp_path / "gen"),
                "--steps",
                "2",
                "--batch-size",
                "2",
            ]
        )
        == 0
    )
    corpus = _corpus_file(tmp_path / "corpus.jsonl")
    args = [
        "generate",
        str(corpus),
        "--output",
        str(tmp_path / "out"),
        "--generator",
        str(tmp_path / "gen"),
        "--languages",
        "de,ru",
        "--n",
        "2",
        "--max-new-tokens",
        "5",
        "--shard-size",
        "2",
    ]
    assert main(args) == 0
    rows = list(read_generated(tmp_path / "out"))
    assert len(rows) == len(PASSAGES) * 2 * 2
    assert main(args) == 0  # resume: nothing to do, same output
    assert list(read_generated(tmp_path / "out")) == rows
    with pytest.raises(SystemExit):  # fp16 is not offered
        main(
            [
                "train-generator",
                "--model",
                str(model_dir),
                "--train",
                str(train),
                "--output",
                str(tmp_path / "gen2"),
                "--precision",
                "fp16",
            ]
        )


def _corpus_file(path):
    path.write_text(
        "".join(json.dumps({"_id": p.id, "title": p.title, "text": p.text}) + "\n" for p in PASSAGES)
    )
    return path


def _folder_runner(tmp_path):
    """A corpus file and ``run(name, **options)``: a sharded GenerateTask (ru, zh; tiny generator saved
    to a folder, so it is loaded as a real job would) into ``tmp_path/name``, returning its rows."""
    from xqg.generate.testing import tiny_generator

    folder = tiny_generator(seed=4).save(tmp_path / "gen")
    corpus = _corpus_file(tmp_path / "c.jsonl")

    def run(name, **options):
        task = GenerateTask(
            str(corpus), ["ru", "zh"], generator=str(folder), n=2, seed=1, max_new_tokens=6, **options
        )
        run_sharded(task, len(PASSAGES), tmp_path / name, shard_size=2, show_progress=False)
        return list(read_generated(tmp_path / name))

    return corpus, run


def _assert_same_rows_in_the_right_script(a, b):
    from xqg.generate.quality import script_share

    assert a == b and len(a) == len(PASSAGES) * 2 * 2
    for row in a:
        assert not row["query"] or script_share(row["query"], row["lang"]) == 1.0


def test_int8_generation_from_a_folder_is_deterministic_and_recorded(tmp_path):
    from xqg.distributed import FingerprintMismatchError

    _, run = _folder_runner(tmp_path)
    _assert_same_rows_in_the_right_script(run("a", int8=True), run("b", int8=True))
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert '"int8": true' in json.dumps(manifest)
    with pytest.raises(FingerprintMismatchError):  # a float32 run does not resume an int8 folder
        run("a", int8=False)


def test_cli_train_generator_with_translation_pairs(tmp_path, capsys):
    model_dir = tmp_path / "base"
    cached_tiny_generator("seq2seq").save(model_dir)
    args = ["train-generator", "--model", str(model_dir), "--xquad", "--num-folds", "4", "--languages", "de"]
    args += ["--translation-pairs", "--question-pairs", "--output", str(tmp_path / "gen"), "--steps", "1"]
    assert main([*args, "--batch-size", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    questions, pairs = (int(part.split()[0]) for part in out[0].split(" + "))
    assert questions > 500 and pairs > 200  # 3 of 4 folds' German questions and sentence pairs
    # English questions are the source side although --languages is de: one pair per German question
    assert out[1] == f"+ {questions} question translation pairs"
    assert (tmp_path / "gen" / "xqg_generator.json").exists()
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text(json.dumps({"passage": "p", "lang": "de", "query": "q?"}) + "\n")
    bad = ["train-generator", "--model", str(model_dir), "--train", str(jsonl), "--translation-pairs"]
    assert main([*bad, "--output", str(tmp_path / "g2")]) != 0
    assert "--translation-pairs and --question-pairs need --xquad" in capsys.readouterr().err


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_generation_precision_is_deterministic_recorded_and_checked(tmp_path, precision):
    from xqg.distributed import FingerprintMismatchError

    corpus, run = _folder_runner(tmp_path)
    _assert_same_rows_in_the_right_script(run("a", precision=precision), run("b", precision=precision))
    manifest = json.dumps(json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8")))
    assert ('"precision": "bfloat16"' in manifest) == (precision == "bfloat16")
    other = "float32" if precision == "bfloat16" else "bfloat16"
    with pytest.raises(FingerprintMismatchError):  # another precision does not resume this folder
        run("a", precision=other)
    with pytest.raises(ConfigError, match="choose one"):
        GenerateTask(str(corpus), ["ru"], int8=True, precision="bfloat16")
    with pytest.raises(ConfigError, match="float16 compute is a GPU setting"):
        GenerateTask(str(corpus), ["ru"], precision="float16", device="cpu")
    # auto is resolved where the task is built, for its device
    from xqg.precision import resolve_precision

    assert GenerateTask(str(corpus), ["ru"], device="cpu").precision == resolve_precision("auto", "cpu")
    assert GenerateTask(str(corpus), ["ru"], device="cpu", int8=True).precision == "float32"


def test_int8_generator_is_not_saved():
    from xqg.generate.testing import tiny_generator

    gen = tiny_generator(seed=4).quantize_int8()
    with pytest.raises(ConfigError, match="int8"):
        gen.save("/tmp/never-written")
