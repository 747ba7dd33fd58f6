from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from xqg.data.download import XQUAD_LANGUAGES
from xqg.data.xquad import available_xquad_languages, load_xquad, load_xquad_contexts
from xqg.errors import InputError

# the languages of the local mirror: all 12 official ones, or 11 where it predates xquad.ro.json
XQUAD_LANGS = [lang for lang in XQUAD_LANGUAGES if lang != "ro"]


@pytest.fixture(scope="module")
def xquad(xquad_dir: Path):
    return load_xquad(root=xquad_dir)


def test_real_xquad_paragraph_level(xquad, xquad_dir: Path) -> None:
    present = available_xquad_languages(xquad_dir)
    assert xquad.languages == present and set(XQUAD_LANGS) <= set(present)
    assert xquad.meta["languages_unavailable"] == [lang for lang in XQUAD_LANGUAGES if lang not in present]
    assert len(xquad.corpus) == 240
    assert len({p.id for p in xquad.corpus}) == 240
    assert len({p.meta["article"] for p in xquad.corpus}) == 48
    for lang in XQUAD_LANGS:
        assert len(xquad.queries[lang]) == 1190
        assert all(q.lang == lang and q.id.endswith(f"/{lang}") for q in xquad.queries[lang])
    # Every query has exactly one relevant English paragraph; the same question in every language
    # points at the same paragraph and has the same English answers.
    english = json.loads((xquad_dir / "xquad.en.json").read_text(encoding="utf-8"))["data"]
    contexts = {
        f"{a}-{p}": para["context"]
        for a, art in enumerate(english)
        for p, para in enumerate(art["paragraphs"])
    }
    assert {p.id: p.text for p in xquad.corpus} == contexts
    for query in xquad.all_queries():
        (doc,) = xquad.qrels[query.id]
        squad_id = query.id.split("/")[0]
        assert xquad.qrels[f"{squad_id}/en"] == {doc: 1}
        assert xquad.answers[query.id] == xquad.answers[f"{squad_id}/en"]
        assert all(answer in contexts[doc] for answer in xquad.answers[query.id])
    assert xquad.meta["sha256"]["xquad.en.json"].startswith("e4c57d1c")


def test_question_text_comes_from_its_own_language_file(xquad, xquad_dir: Path) -> None:
    german = json.loads((xquad_dir / "xquad.de.json").read_text(encoding="utf-8"))["data"]
    first = german[0]["paragraphs"][0]["qas"][0]
    query = next(q for q in xquad.queries["de"] if q.id == f"{first['id']}/de")
    assert query.text == first["question"]
    assert xquad.qrels[query.id] == {"0-0": 1}


def test_real_xquad_sentence_level(xquad_dir: Path) -> None:
    ds = load_xquad(["en", "th"], level="sentence", root=xquad_dir)
    assert ds.name == "xquad-sentence"
    paragraphs = {p.meta["paragraph"] for p in ds.corpus}
    assert len(paragraphs) == 240
    assert 900 < len(ds.corpus) < 2000  # several sentences per paragraph
    by_id = {p.id: p for p in ds.corpus}
    sizes = Counter(len(docs) for docs in ds.qrels.values())
    assert sizes[1] > 0.99 * len(ds.qrels)  # an answer almost always lies in one sentence
    for query in ds.all_queries():
        relevant = " ".join(by_id[d].text for d in sorted(ds.qrels[query.id]))
        assert any(answer in relevant for answer in ds.answers[query.id]) or len(ds.qrels[query.id]) > 1
        assert all(d.startswith(by_id[d].meta["paragraph"] + "-") for d in ds.qrels[query.id])


def test_fixture_in_official_format(fixtures: Path) -> None:
    ds = load_xquad(["de"], root=fixtures / "xquad", verify=False, with_titles=True)
    assert [p.id for p in ds.corpus] == ["0-0", "0-1", "1-0"]
    assert ds.corpus[0].title == "Tiny River" and ds.corpus[2].meta == {"article": "1", "title": "Small Hill"}
    assert ds.qrels == {"t0/de": {"0-0": 1}, "t1/de": {"0-0": 1}, "t2/de": {"0-1": 1}, "t3/de": {"1-0": 1}}
    assert ds.answers["t1/de"] == ["May"]
    native = load_xquad(["de"], root=fixtures / "xquad", verify=False, answer_language="native")
    assert native.answers["t1/de"] == ["Mai"]


def test_fixture_sentence_level_uses_answer_offsets(fixtures: Path) -> None:
    ds = load_xquad(["en"], level="sentence", root=fixtures / "xquad", verify=False)
    texts = {p.id: p.text for p in ds.corpus}
    assert texts == {
        "0-0-0": "The Tiny River is 12 km long.",
        "0-0-1": "It flows past St. Anne's mill near Dr. Ewing's farm.",
        "0-0-2": "Salmon swim up it in May.",
        "0-1-0": "A bridge was built in 1901.",
        "0-1-1": "It was rebuilt after a flood.",
        "1-0-0": "Small Hill rises to 80 m.",
        "1-0-1": "Sheep graze on it.",
    }
    assert ds.qrels["t1/en"] == {"0-0-2": 1}
    assert ds.qrels["t3/en"] == {"1-0-1": 1}


def _copy(fixtures: Path, tmp_path: Path) -> Path:
    shutil.copytree(fixtures / "xquad", tmp_path / "xquad")
    return tmp_path / "xquad"


def test_checksum_mismatch_is_reported(fixtures: Path) -> None:
    with pytest.raises(InputError, match="SHA-256 mismatch") as info:
        load_xquad(["de"], root=fixtures / "xquad")
    assert info.value.path.endswith(".json")


def test_bad_inputs(fixtures: Path, tmp_path: Path) -> None:
    root = _copy(fixtures, tmp_path)
    with pytest.raises(InputError, match="'xx' is not a language code"):
        load_xquad(["xx"], root=root, verify=False)
    with pytest.raises(InputError, match="XQuAD has no 'fi' file"):
        load_xquad(["fi"], root=root, verify=False)
    with pytest.raises(InputError, match="level must be"):
        load_xquad(["de"], level="document", root=root, verify=False)
    with pytest.raises(InputError, match=r"xquad\.el\.json not found"):
        load_xquad(["el"], root=root, verify=False)
    (root / "xquad.de.json").write_text('{"data": [', encoding="utf-8")
    with pytest.raises(InputError, match="malformed JSON") as info:
        load_xquad(["de"], root=root, verify=False)
    assert info.value.path == str(root / "xquad.de.json") and info.value.line == 1


def test_misaligned_or_unknown_questions(fixtures: Path, tmp_path: Path) -> None:
    root = _copy(fixtures, tmp_path)
    german = json.loads((root / "xquad.de.json").read_text(encoding="utf-8"))
    german["data"][0]["paragraphs"][0]["qas"][0]["id"] = "not-in-english"
    (root / "xquad.de.json").write_text(json.dumps(german), encoding="utf-8")
    with pytest.raises(InputError, match="'not-in-english' is not in xquad.en.json"):
        load_xquad(["de"], root=root, verify=False)
    german["data"][0]["paragraphs"].pop()
    (root / "xquad.de.json").write_text(json.dumps(german), encoding="utf-8")
    with pytest.raises(InputError, match="do not line up"):
        load_xquad(["de"], root=root, verify=False)
    english = json.loads((root / "xquad.en.json").read_text(encoding="utf-8"))
    del english["data"][0]["paragraphs"][0]["qas"][0]["question"]
    (root / "xquad.en.json").write_text(json.dumps(english), encoding="utf-8")
    with pytest.raises(InputError, match="lacks field 'question'"):
        load_xquad(["en"], root=root, verify=False)


def test_wrong_answer_offset_in_sentence_mode(fixtures: Path, tmp_path: Path) -> None:
    root = _copy(fixtures, tmp_path)
    english = json.loads((root / "xquad.en.json").read_text(encoding="utf-8"))
    english["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 3
    (root / "xquad.en.json").write_text(json.dumps(english), encoding="utf-8")
    with pytest.raises(InputError, match="not at answer_start=3"):
        load_xquad(["en"], level="sentence", root=root, verify=False)


def test_found_through_the_mirror(fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _copy(fixtures, tmp_path)
    monkeypatch.setenv("XQG_DATA_MIRROR", str(tmp_path))
    assert len(load_xquad(["de"], verify=False).corpus) == 3


def test_real_xquad_contexts_are_parallel(xquad, xquad_dir: Path) -> None:
    contexts = load_xquad_contexts(["de", "zh"], root=xquad_dir)
    assert set(contexts) == {p.id for p in xquad.corpus}
    assert all(set(texts) == {"de", "en", "zh"} for texts in contexts.values())
    english = {p.id: p.text for p in xquad.corpus}
    assert all(contexts[pid]["en"] == text for pid, text in english.items())
    assert contexts["0-0"]["de"] != contexts["0-0"]["en"]
    # the translations keep the paragraph's numbers: a sign that the same paragraph is paired
    assert "308" in contexts["0-0"]["de"] and "308" in contexts["0-0"]["zh"]


def test_misaligned_contexts_name_the_file(fixtures: Path, tmp_path: Path) -> None:
    root = _copy(fixtures, tmp_path)
    german = json.loads((root / "xquad.de.json").read_text(encoding="utf-8"))
    german["data"][0]["paragraphs"].pop()
    (root / "xquad.de.json").write_text(json.dumps(german), encoding="utf-8")
    with pytest.raises(InputError, match="do not line up") as info:
        load_xquad_contexts(["de"], root=root, verify=False)
    assert info.value.path == str(root / "xquad.de.json")
    with pytest.raises(InputError, match="no 'fr' file"):
        load_xquad_contexts(["fr"], root=root, verify=False)


def test_romanian_is_the_twelfth_language(xquad_dir: Path, tmp_path: Path, caplog) -> None:
    """ro loads like the others where its file is present, is named where it is not, and the
    languages present keep working either way."""
    assert len(XQUAD_LANGUAGES) == 12 and "ro" in XQUAD_LANGUAGES
    if not (xquad_dir / "xquad.ro.json").exists():
        with pytest.raises(InputError, match=r"xquad\.ro\.json not found .*xqg data download xquad"):
            load_xquad(["ro"], root=xquad_dir)
        with caplog.at_level("WARNING"):
            default = load_xquad_contexts(root=xquad_dir)
        assert "xquad.ro.json not found" in caplog.text
        assert set(default["0-0"]) == set(XQUAD_LANGS)
    # a folder with a Romanian file in the official layout (here the English file under its name:
    # same articles, paragraphs and question ids; the real file's checksum is pinned)
    root = tmp_path / "xquad"
    root.mkdir()
    for lang in ("en", "de"):
        (root / f"xquad.{lang}.json").symlink_to(xquad_dir / f"xquad.{lang}.json")
    (root / "xquad.ro.json").symlink_to(xquad_dir / "xquad.en.json")
    ds = load_xquad(["ro", "de"], root=root, verify=False)
    assert len(ds.queries["ro"]) == 1190 and ds.qrels[ds.queries["ro"][0].id] == {"0-0": 1}
    assert available_xquad_languages(root) == ["de", "en", "ro"]
    assert set(load_xquad_contexts(["ro"], root=root, verify=False)["0-0"]) == {"en", "ro"}
    with pytest.raises(InputError, match="SHA-256 mismatch: expected 94f8d54e"):
        load_xquad(["ro"], root=root)
