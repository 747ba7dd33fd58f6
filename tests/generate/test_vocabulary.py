from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.errors import InputError
from xqg.generate.bert2bert import build_vocabulary
from xqg.generate.testing import tiny_tokenizer
from xqg.generate.vocabulary import OutputVocabulary


def _vocab() -> OutputVocabulary:
    return OutputVocabulary.build(
        {"de": [[10, 11, 12], [12, 13]], "ru": [[20, 21], [21, 22, 10]]},
        special_ids=[1, 2, 3],
        pad_id=1,
        eos_id=2,
        unk_id=3,
        shared_ids=[30],
    )


def test_layout_specials_first_then_sorted_body_then_language_tokens():
    v = _vocab()
    assert v.full_ids == [1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 30]
    assert v.size == v.num_tokens + 2
    assert {v.start_id("de"), v.start_id("ru")} == {v.num_tokens, v.num_tokens + 1}
    with pytest.raises(InputError, match="no start token"):
        v.start_id("fr")


def test_language_subsets_hold_own_tokens_shared_and_eos_but_not_pad():
    v = _vocab()
    de = set(v.to_full(v.allowed("de")))
    ru = set(v.to_full(v.allowed("ru")))
    assert {10, 11, 12, 13, 30, 2} <= de and not de & {20, 21, 22}
    assert {20, 21, 22, 10, 30, 2} <= ru and not ru & {11, 12, 13}
    assert 1 not in de | ru


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=30))
@settings(max_examples=60, deadline=None)
def test_mapping_round_trips_known_ids_and_maps_unknown_to_unk(ids):
    v = _vocab()
    back = v.to_full(v.to_small(ids))
    assert back == [i if i in v.full_ids else 3 for i in ids]


def test_language_tokens_are_not_text():
    v = _vocab()
    with pytest.raises(ValueError):
        v.to_full([v.start_id("de")])


def test_save_load_round_trip(tmp_path):
    v = _vocab()
    v.save(tmp_path)
    w = OutputVocabulary.load(tmp_path)
    assert w.to_dict() == v.to_dict()
    (tmp_path / "output_vocabulary.json").write_text("{")
    with pytest.raises(InputError):
        OutputVocabulary.load(tmp_path)


def test_build_vocabulary_from_text_keeps_scripts_apart():
    tok = tiny_tokenizer()
    v = build_vocabulary(tok, {"de": ["Wer ist das?"], "ru": ["Кто это?"]})
    de_text = tok.decode(v.to_full(v.allowed("de")))
    ru_text = tok.decode(v.to_full(v.allowed("ru")))
    assert "К" not in de_text and "W" not in ru_text
    assert "?" in de_text and "?" in ru_text  # shared punctuation
    assert v.coverage(tok("Wer", add_special_tokens=False)["input_ids"]) == 1.0
