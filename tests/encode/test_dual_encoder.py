"""DualEncoder options, batching, gradients, saving, and loading by sentence-transformers (tiny models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xqg.data.records import Passage, passage_text
from xqg.encode.dual_encoder import EncoderSettings, load_encoder
from xqg.encode.testing import tiny_encoder
from xqg.errors import ConfigError

TEXTS = [
    "where is the Prado?",
    "¿Dónde está el museo del Prado en Madrid?",
    "Кто написал роман?",
    "東京の人口",
    "a",
    "ما هي عاصمة مصر",
]


@pytest.fixture(scope="module")
def enc():
    return tiny_encoder(seed=0)


def test_mean_and_cls_pooling_differ_and_normalisation_holds() -> None:
    mean = tiny_encoder(0, pooling="mean").encode_queries(TEXTS)
    cls = tiny_encoder(0, pooling="cls").encode_queries(TEXTS)
    raw = tiny_encoder(0, pooling="cls", normalize=False).encode_queries(TEXTS)
    assert not np.allclose(mean, cls)
    assert np.allclose(np.linalg.norm(mean, axis=1), 1, atol=1e-5)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1, atol=1e-3)
    assert np.allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), cls, atol=1e-5)


def test_cls_pooling_is_the_first_token_vector(enc) -> None:
    e = tiny_encoder(0, pooling="cls", normalize=False)
    ids = e.tokenize(["where is Rome"], "query")
    hidden = e.query_model(input_ids=torch.tensor(ids)).last_hidden_state
    assert np.allclose(e.encode_queries(["where is Rome"])[0], hidden[0, 0].detach().numpy(), atol=1e-5)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=8),
    batch_size=st.integers(1, 5),
)
def test_batching_and_length_sorting_keep_input_order(enc, texts: list[str], batch_size: int) -> None:
    together = enc.encode_queries(texts, batch_size=batch_size)
    one_by_one = np.stack([enc.encode_queries([t])[0] for t in texts])
    assert np.allclose(together, one_by_one, atol=1e-5)


def test_prefixes_and_max_lengths() -> None:
    e = tiny_encoder(0, query_max_length=5, passage_max_length=7)
    long = "the of and to in is was for on that with as by at from"
    q, p = e.tokenize([long], "query")[0], e.tokenize([long], "passage")[0]
    assert len(q) == 5 and len(p) == 7
    assert e.tokenizer.convert_ids_to_tokens(q)[1:3] == ["▁que", "r"]  # "query: " is there
    none = tiny_encoder(0, query_prefix="")
    assert none.tokenizer.convert_ids_to_tokens(none.tokenize(["the"], "query")[0]) == ["<s>", "▁the", "</s>"]


def test_passages_use_title_then_text(enc) -> None:
    p = Passage("d1", "is a city.", title="Paris")
    assert passage_text(p) == "Paris is a city."
    assert np.allclose(enc.encode_passages([p]), enc.encode_passages(["Paris is a city."]))
    # queries and passages differ (prefix) even for the same text
    assert not np.allclose(enc.encode_passages(["x y"]), enc.encode_queries(["x y"]))


def test_embed_has_gradients_and_matches_encode(enc) -> None:
    vectors = enc.embed(TEXTS[:3], "passage")
    assert vectors.requires_grad
    vectors.sum().backward()
    grads = [p.grad for p in enc.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)
    enc.zero_grad()
    assert np.allclose(vectors.detach().numpy(), enc.encode_passages(TEXTS[:3]), atol=1e-5)


def test_untied_towers_are_separate_modules() -> None:
    untied = tiny_encoder(0, tied=False)
    assert untied.query_model is not untied.passage_model
    q_params = {id(p) for p in untied.query_model.parameters()}
    assert not q_params & {id(p) for p in untied.passage_model.parameters()}
    tied = tiny_encoder(0)
    assert tied.query_model is tied.passage_model
    n_tied = sum(p.numel() for p in tied.parameters())
    assert sum(p.numel() for p in untied.parameters()) == 2 * n_tied


@pytest.mark.parametrize("tied", [True, False])
def test_save_and_load_round_trip(tmp_path, tied: bool) -> None:
    enc = tiny_encoder(4, tied=tied, pooling="cls", query_max_length=9)
    path = enc.save(tmp_path / "model")
    back = load_encoder(path, device="cpu", precision="float32")
    assert back.settings == enc.settings
    assert np.allclose(back.encode_queries(TEXTS), enc.encode_queries(TEXTS), atol=1e-6)
    assert np.allclose(back.encode_passages(TEXTS), enc.encode_passages(TEXTS), atol=1e-6)
    # saving over an existing folder replaces it
    enc2 = tiny_encoder(5, tied=tied)
    enc2.save(path)
    assert np.allclose(
        load_encoder(path, device="cpu", precision="float32").encode_queries(TEXTS),
        enc2.encode_queries(TEXTS),
        atol=1e-6,
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folders left behind"


def test_sentence_transformers_loads_a_saved_encoder(tmp_path) -> None:
    from sentence_transformers import SentenceTransformer

    # sentence-transformers has one max length for both kinds: make them equal for the comparison
    enc = tiny_encoder(2, query_max_length=64, passage_max_length=64)
    path = enc.save(tmp_path / "st")
    st_model = SentenceTransformer(str(path), device="cpu")
    assert np.allclose(st_model.encode(TEXTS, prompt_name="query"), enc.encode_queries(TEXTS), atol=1e-5)
    assert np.allclose(st_model.encode(TEXTS, prompt_name="passage"), enc.encode_passages(TEXTS), atol=1e-5)


def test_options_override_stored_settings(tmp_path) -> None:
    path = tiny_encoder(1).save(tmp_path / "m")
    enc = load_encoder(path, device="cpu", precision="float32", pooling="cls", query_prefix="", tied=False)
    assert enc.settings.pooling == "cls" and enc.settings.query_prefix == "" and not enc.settings.tied
    assert enc.query_model is not enc.passage_model


def test_plain_hugging_face_folder_gets_paper_defaults(tmp_path) -> None:
    enc = tiny_encoder(1)
    enc.query_model.save_pretrained(tmp_path / "hf")
    enc.tokenizer.save_pretrained(tmp_path / "hf")
    loaded = load_encoder(tmp_path / "hf", device="cpu", precision="float32")
    assert loaded.settings == EncoderSettings()  # cls, dot product, no prefixes, 32 / 128 tokens


def test_bad_options_and_missing_models_are_config_errors(tmp_path) -> None:
    with pytest.raises(ConfigError, match="unknown encoder options"):
        load_encoder(tmp_path, poolin="mean")
    with pytest.raises(ConfigError, match="never downloads"):
        load_encoder("no-such-org/no-such-model-xqg")
    with pytest.raises(ConfigError):
        EncoderSettings(pooling="max")


def test_fingerprint_changes_with_weights_and_settings() -> None:
    assert tiny_encoder(1).fingerprint() == tiny_encoder(1).fingerprint()
    assert tiny_encoder(1).fingerprint() != tiny_encoder(2).fingerprint()
    assert tiny_encoder(1).fingerprint() != tiny_encoder(1, pooling="cls").fingerprint()


def test_encoding_creates_its_tensors_on_the_model_device():
    # inside torch.device("meta"), a tensor made without an explicit device is a meta tensor and
    # cannot meet the CPU model: equal vectors mean every input goes to the model's device (a GPU's)
    encoder = tiny_encoder(5)
    expected = encoder.encode_queries(["where is Rome?", "a longer question about Berlin"])
    with torch.device("meta"):
        placed = encoder.encode_queries(["where is Rome?", "a longer question about Berlin"])
    np.testing.assert_array_equal(placed, expected)


def test_encoder_precision_is_applied_recorded_and_validated(tmp_path, monkeypatch) -> None:
    import xqg.precision

    enc = tiny_encoder(3)
    assert enc.precision == "float32"  # built in memory: float32 unless set
    fp32 = enc.encode_queries(TEXTS)
    identity = enc.fingerprint()
    assert "precision" not in identity  # float32 encoders keep their identity (caches stay valid)
    enc.precision = "bfloat16"
    bf16 = enc.encode_queries(TEXTS)
    assert bf16.dtype == np.float32
    assert not np.array_equal(bf16, fp32), "bfloat16 autocast was not applied"
    assert (
        np.sum(bf16 * fp32, axis=1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(bf16, axis=1)
    ).min() > 0.99
    assert enc.fingerprint()["precision"] == "bfloat16"  # caches keyed by it never mix precisions
    assert {k: v for k, v in enc.fingerprint().items() if k != "precision"} == identity
    with pytest.raises(ConfigError, match="concrete"):
        enc.precision = "auto"
    # training passes are float32 whatever the inference precision
    assert enc.embed(TEXTS[:1], "query").dtype == torch.float32
    # load_encoder resolves auto for the device, from the CPU's instructions
    path = tiny_encoder(3).save(tmp_path / "m")
    monkeypatch.setattr(xqg.precision, "cpu_flags", lambda: {"avx512_bf16"})
    assert load_encoder(path, device="cpu").precision == "bfloat16"
    monkeypatch.setattr(xqg.precision, "cpu_flags", lambda: {"avx2"})
    assert load_encoder(path, device="cpu").precision == "float32"
    assert load_encoder(path, device="cpu", precision="bfloat16").precision == "bfloat16"
