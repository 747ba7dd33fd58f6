"""Every value on the ``xqg`` command line is checked when it is parsed (``type=`` validators)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from xqg.cli import validators as v
from xqg.cli.main import build_parser

# Options whose value is free text by nature (prefixes, addresses, names checked against a file the
# command reads first).
FREE_TEXT = {
    ("encode", "--query-prefix"), ("encode", "--passage-prefix"), ("encode", "--address"),
    ("search", "--query-prefix"), ("search", "--passage-prefix"),
    ("generate", "--address"), ("fuse", "--address"),
    ("fuse", "--store"),  # an output with --corpus, an input without: checked first thing by the command
    ("compare", "--baseline"), ("run", "--systems"),  # names of the systems given / in the file
    ("data download", "name"), ("data export", "name"),  # data set names, checked first thing
}  # fmt: skip


def _options(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, (*prefix, name))
        elif action.nargs != 0 and not isinstance(action, argparse._HelpAction):
            yield (
                " ".join(prefix),
                (action.option_strings[0] if action.option_strings else action.dest),
                action,
            )


def test_every_option_has_a_validator() -> None:
    unchecked = [
        (command, name)
        for command, name, action in _options(build_parser())
        if action.type is None and action.choices is None and (command, name) not in FREE_TEXT
    ]
    assert unchecked == []


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (v.positive_int, "0", "integer >= 1"),
        (v.positive_int, "x", "integer >= 1"),
        (v.non_negative_int, "-1", "integer >= 0"),
        (v.unit_interval, "1.5", r"\[0, 1\]"),
        (v.unit_interval, "nan", "finite"),
        (v.unit_interval_list, "0.1,,x", "'x'"),
        (v.positive_float, "0", "> 0"),
        (v.language_code, "zz", "not a language code"),
        (v.language_list, "de,de", "given twice"),
        (v.language_list, ",", "nothing"),
        (v.device, "gpu", "unknown device"),
        (v.run_tag, "my run", "whitespace"),
        (v.metrics, "Foo@3", "unknown metric"),
        (v.input_file, "/no/such/file", "no such file"),
        (v.input_folder, "/no/such/folder", "no such folder"),
        (v.corpus_file, __file__, "cannot tell the format"),
        (v.model_path("encoder"), "/no/such/model", "no such folder"),
        (v.model_path("encoder"), "no-such-org/no-such-model", "local Hugging Face cache"),
    ],
)
def test_bad_values(parse, text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse(text)


def test_good_values(tmp_path: Path) -> None:
    assert v.unit_interval_list("0,0.5,1") == [0.0, 0.5, 1.0]
    assert v.language_list("pt-BR,zh_cn") == ["pt-BR", "zh_cn"]
    assert v.device("cuda:1") == "cuda:1"
    assert v.model_path("encoder", allow_default=True)("default") == "default"
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    assert v.model_path("encoder")(str(tmp_path / "m")) == str(tmp_path / "m")
    assert v.output_folder(str(tmp_path / "new" / "deeper")) and not (tmp_path / "new").exists()
    assert v.output_file(str(tmp_path / "run.trec")) and os.listdir(tmp_path) == ["m"]  # the probe is gone


@pytest.mark.parametrize(
    "name",
    [
        "xqg.cli.validators",
        "xqg.model_paths",
        "xqg.errors",
        "xqg.distributed.fingerprint",
        "xqg.distributed.manifest",
        "xqg.distributed.testing",
        "xqg.typos.script_check",
    ],
)
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
