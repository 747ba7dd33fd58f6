from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from xqg.data.mkqa import MKQA_LANGUAGES, load_mkqa
from xqg.errors import InputError


def test_standard_filtering_on_fixture(fixtures: Path) -> None:
    ds = load_mkqa(["en", "ja", "zh_cn"], path=fixtures / "mkqa" / "mkqa.jsonl")
    # 101 (entity) and 105 (date) are kept; 102 unanswerable, 103 binary, 104 long_answer are dropped.
    assert ds.meta["num_examples"] == 2 and ds.meta["num_dropped"] == 3
    assert [q.id for q in ds.queries["ja"]] == ["101/ja", "105/ja"]
    assert ds.queries["zh_cn"][0].text == "谁写了芬兰颂" and ds.queries["zh_cn"][0].lang == "zh_cn"
    # Answers are per language, aliases included.
    assert ds.answers["101/en"] == ["Jean Sibelius", "Sibelius", "Johan Julius Christian Sibelius"]
    assert ds.answers["101/ja"] == ["ジャン・シベリウス"]
    assert ds.answers["105/en"] == ["1899", "1899-11-04"]
    assert ds.qrels == {}


def test_unfiltered_and_gzip_and_mirror(
    fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "mkqa"
    folder.mkdir()
    (folder / "mkqa.jsonl.gz").write_bytes(gzip.compress((fixtures / "mkqa" / "mkqa.jsonl").read_bytes()))
    monkeypatch.setenv("XQG_DATA_MIRROR", str(tmp_path))
    ds = load_mkqa(["de"], filtered=False)
    assert len(ds.queries["de"]) == 5 and ds.meta["num_dropped"] == 0
    assert ds.answers["102/de"] == []


def test_all_26_languages_are_known() -> None:
    from xqg.data.languages import get_language

    assert len(MKQA_LANGUAGES) == 26
    assert all(get_language(code).code == code for code in MKQA_LANGUAGES)


def test_bad_lines(fixtures: Path, tmp_path: Path) -> None:
    rows = [
        json.loads(line)
        for line in (fixtures / "mkqa" / "mkqa.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    path = tmp_path / "mkqa.jsonl"

    def write(items: list[dict]) -> None:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items), encoding="utf-8")

    write([rows[0], rows[0]])
    with pytest.raises(InputError, match="duplicate example_id") as info:
        load_mkqa(["en"], path=path)
    assert info.value.line == 2
    broken = json.loads(json.dumps(rows[4]))
    del broken["queries"]["ja"]
    write([rows[0], broken])
    with pytest.raises(InputError, match="no query text for language 'ja'") as info:
        load_mkqa(["ja"], path=path)
    assert info.value.line == 2
    broken = json.loads(json.dumps(rows[0]))
    broken["queries"]["xx"] = "?"
    write([broken])
    with pytest.raises(InputError, match="'xx' is not a language code"):
        load_mkqa(["en"], path=path)
    write([{"example_id": 1, "queries": {}}])
    with pytest.raises(InputError, match="missing field 'answers'"):
        load_mkqa(["en"], path=path)
    with pytest.raises(InputError, match="MKQA has no language 'bn'"):
        load_mkqa(["bn"], path=path)
