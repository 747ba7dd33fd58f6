"""Generation and generator training on a device other than the CPU.

No GPU is needed for the placement tests: inside ``with torch.device("meta")`` every tensor created
without an explicit device is a meta tensor, and mixing one with the model's CPU tensors fails. So a
decoding loop (or a loss) that gives the same result inside that context creates every tensor on the
device of its inputs — what running on a CUDA GPU requires. The ``cuda`` tests run where a GPU is.
"""

from __future__ import annotations

import pytest
import torch

from xqg.data.records import Passage
from xqg.devices import resolve_device
from xqg.errors import ConfigError
from xqg.generate import GenerateTask, GeneratorExample, GeneratorTrainingConfig, train_generator
from xqg.generate.testing import tiny_generator

PASSAGES = [Passage("a", "Paris is big."), Passage("b", "Berlin is old and large.")]
has_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _row_languages(generator, rows: int) -> list[str]:
    # bert2bert decodes several languages in one loop; the others take one language per call
    return (["de", "ru", "el"] * rows)[:rows] if generator.settings.kind == "bert2bert" else ["de"] * rows


@pytest.fixture(params=["bert2bert", "seq2seq", "t5"])
def encoder_decoder(request):
    from .conftest import cached_tiny_generator

    return cached_tiny_generator(request.param)


def test_decoding_loop_creates_its_tensors_on_the_batch_device(encoder_decoder):
    generator = encoder_decoder
    encoded = generator.encode(generator.prompts(PASSAGES, "de")).rows(torch.tensor([0, 0, 1, 1, 1]))
    langs = _row_languages(generator, 5)
    expected = generator.sample(encoded, langs, [1, 2, 3, 4, 5], top_k=4)
    with torch.device("meta"):
        placed = generator.sample(encoded, langs, [1, 2, 3, 4, 5], top_k=4)
    assert placed == expected
    assert any(text for text in expected)


def test_teacher_forced_loss_builds_its_targets_for_the_model_device(encoder_decoder):
    generator = encoder_decoder
    encoded = generator.encode(generator.prompts(PASSAGES, "de"))
    targets = ["Wer ist das?", "Wie alt ist die Stadt?"]
    with torch.no_grad():
        expected = float(generator.loss(encoded, targets, "de"))
        with torch.device("meta"):
            placed = float(generator.loss(encoded, targets, "de"))
    assert placed == pytest.approx(expected, abs=0)


def test_causal_generation_and_loss_create_their_tensors_on_the_model_device():
    from xqg.generate.causal import CausalLMGenerator
    from xqg.generate.testing import tiny_causal_lm

    tiny = tiny_generator("causal")
    model = tiny_causal_lm(tiny.tokenizer, sliding=False)  # see tiny_causal_lm
    generator = CausalLMGenerator(model, tiny.tokenizer, tiny.settings, tiny.token_subset)
    kwargs = {"n": 2, "seed": 3, "max_new_tokens": 6, "batch_size": 2}
    expected = list(generator.generate(PASSAGES, ["de", "ru"], **kwargs))
    with torch.device("meta"):
        placed = list(generator.generate(PASSAGES, ["de", "ru"], **kwargs))
    assert placed == expected
    blocks = [("de", "Wer ist das?"), ("ru", "Кто это?")]
    with torch.no_grad():
        loss = float(generator.unit_loss(PASSAGES[1], blocks)[0])
        with torch.device("meta"):
            assert float(generator.unit_loss(PASSAGES[1], blocks)[0]) == pytest.approx(loss, abs=0)


def test_resolve_device_names_what_is_wrong():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("gpu0")
    with pytest.raises(ConfigError, match="unsupported device"):
        resolve_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_int8_generation_stays_on_the_cpu():
    generator = tiny_generator().quantize_int8()
    with pytest.raises(ConfigError, match="CPU only"):
        generator.to("cuda")
    with pytest.raises(ConfigError, match="CPU path"):
        GenerateTask(PASSAGES, ["de"], int8=True, device="cuda")


def test_training_device_is_not_part_of_the_resume_identity(tmp_path):
    examples = [GeneratorExample(PASSAGES[0], "de", "Wer ist das?")] * 4
    config = GeneratorTrainingConfig(steps=2, batch_size=2, device="cpu")
    assert "device" not in config.identity()
    assert config.identity() == GeneratorTrainingConfig(steps=2, batch_size=2, device="auto").identity()
    result = train_generator(tiny_generator(), examples, tmp_path, config, show_progress=False)
    assert result.steps == 2


@has_cuda
@pytest.mark.parametrize("kind", ["bert2bert", "seq2seq", "t5"])
def test_cuda_generation_matches_the_cpu(kind):
    cpu = list(tiny_generator(kind).generate(PASSAGES, ["de"], n=4, seed=3, top_k=4))
    cuda = list(tiny_generator(kind).to("cuda").generate(PASSAGES, ["de"], n=4, seed=3, top_k=4))
    assert [row[:3] for row in cuda] == [row[:3] for row in cpu]
    same = sum(a[3] == b[3] for a, b in zip(cpu, cuda, strict=True))
    assert same >= 0.75 * len(cpu)  # the logits differ by float rounding only


@has_cuda
def test_cuda_training_resumes_like_an_uninterrupted_run(tmp_path):
    examples = [GeneratorExample(p, "de", q) for p in PASSAGES for q in ("Wer ist das?", "Wie alt?")]
    config = GeneratorTrainingConfig(steps=4, batch_size=2, device="cuda", save_every=1)
    whole = train_generator(tiny_generator(), examples, tmp_path / "whole", config, show_progress=False)
    train_generator(tiny_generator(), examples, tmp_path / "part", config, show_progress=False, stop_after=2)
    resumed = train_generator(tiny_generator(), examples, tmp_path / "part", config, show_progress=False)
    assert resumed.resumed_from == 2
    assert resumed.train_loss == pytest.approx(whole.train_loss, rel=1e-4)


def test_cli_refuses_an_unknown_device(tmp_path, capsys):
    from xqg.cli.main import main

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"_id": "a", "text": "Paris"}\n', encoding="utf-8")
    args = ["generate", str(corpus), "--languages", "de", "-o", str(tmp_path / "out"), "--device", "gpu0"]
    with pytest.raises(SystemExit) as info:  # refused when parsed, before any work
        main(args)
    assert info.value.code == 2
    assert "unknown device 'gpu0'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("shard-*"))


def test_device_helpers_docstrings():
    import doctest

    import xqg.devices

    assert doctest.testmod(xqg.devices).failed == 0
