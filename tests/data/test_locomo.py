from __future__ import annotations

import json
from pathlib import Path

import pytest

from xqg.data.locomo import load_locomo
from xqg.errors import InputError


@pytest.mark.parametrize("layout", ["nested", "flat"])
def test_both_layouts_give_the_same_dataset(fixtures: Path, layout: str) -> None:
    ds = load_locomo(path=fixtures / "locomo" / f"locomo10_{layout}.json")
    assert [p.id for p in ds.corpus] == [
        "conv-1/D1:1",
        "conv-1/D1:2",
        "conv-1/D1:3",
        "conv-1/D2:1",
        "conv-1/D2:2",
    ]
    cat = ds.corpus[2]
    assert cat.text == "Her name is Miso."
    assert cat.meta == {
        "conversation": "conv-1",
        "session": "1",
        "date": "1:56 pm on 8 May, 2023",
        "speaker": "Ana",
        "dia_id": "D1:3",
        "image_caption": "a photo of a grey cat",
    }
    assert ds.corpus[3].meta["date"] == "10:00 am on 20 May, 2023"
    # Category 5 (adversarial) excluded; "D1:1; D2:2" read as two evidence turns; D7:4 names no turn.
    assert ds.queries["en"][0].id == "conv-1/q0"
    assert ds.qrels == {
        "conv-1/q0": {"conv-1/D1:3": 1},
        "conv-1/q1": {"conv-1/D2:1": 1},
        "conv-1/q2": {"conv-1/D1:1": 1, "conv-1/D2:2": 1},
    }
    assert ds.answers["conv-1/q0"] == ["Miso"]
    assert ds.meta["num_excluded"] == 1
    assert ds.meta["unresolved_evidence"] == ["conv-1/q4:D7:4"]
    assert ds.meta["questions_without_evidence"] == ["conv-1/q4"]


def test_adversarial_can_be_included(fixtures: Path) -> None:
    ds = load_locomo(path=fixtures / "locomo" / "locomo10_nested.json", exclude_categories=())
    assert ds.qrels["conv-1/q3"] == {"conv-1/D1:2": 1}
    assert ds.answers["conv-1/q3"] == ["Rex"]


def test_strict_mode_and_bad_files(fixtures: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="evidence 'D7:4' names no turn"):
        load_locomo(path=fixtures / "locomo" / "locomo10_nested.json", strict=True)
    data = json.loads((fixtures / "locomo" / "locomo10_nested.json").read_text())
    path = tmp_path / "locomo10.json"
    data[0]["conversation"]["session_2"].append({"speaker": "Ben", "dia_id": "D2:1", "text": "again"})
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="duplicate dia_id 'D2:1'"):
        load_locomo(path=path)
    data[0]["conversation"]["session_2"][-1] = {"speaker": "Ben", "dia_id": "D2:3"}
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"session_2\[2\] missing field 'text'") as info:
        load_locomo(path=path)
    assert info.value.path == str(path)
    path.write_text("[{")
    with pytest.raises(InputError, match="malformed JSON"):
        load_locomo(path=path)
    path.write_text('[{"sample_id": "x", "qa": []}]')
    with pytest.raises(InputError, match="no session_<n> lists"):
        load_locomo(path=path)
