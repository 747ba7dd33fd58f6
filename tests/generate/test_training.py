from __future__ import annotations

import json

import pytest
import torch

from xqg.data.records import Passage
from xqg.errors import ConfigError, InputError
from xqg.generate.base import QueryGenerator
from xqg.generate.examples import GeneratorExample, read_examples_jsonl
from xqg.generate.testing import tiny_generator
from xqg.generate.training import evaluation_loss, train_generator
from xqg.generate.training_config import GeneratorTrainingConfig

EXAMPLES = [GeneratorExample(Passage(f"d{i}", f"Berlin {i}"), "de", f"Wo ist {i}?") for i in range(6)] + [
    GeneratorExample(Passage(f"d{i}", f"Москва {i}"), "ru", f"Где это {i}?") for i in range(6)
]


@pytest.mark.parametrize("kind", ["bert2bert", "t5"])
def test_training_lowers_train_and_eval_loss(tmp_path, kind):
    gen = tiny_generator(kind)
    config = GeneratorTrainingConfig(steps=12, batch_size=6, lr=3e-3, warmup=0.1, save_every=0)
    before = evaluation_loss(gen, EXAMPLES, config)
    result = train_generator(gen, EXAMPLES, tmp_path, config, eval_examples=EXAMPLES, show_progress=False)
    assert result.eval_loss[-1][1] < before - 0.5
    assert sum(result.train_loss[-3:]) < sum(result.train_loss[:3])
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == list(range(1, 13))
    assert (tmp_path / "model.safetensors").exists() and (tmp_path / "xqg_generator.json").exists()


@pytest.mark.parametrize("kind", ["bert2bert", "seq2seq"])
def test_resume_equals_uninterrupted(tmp_path, kind):
    config = GeneratorTrainingConfig(steps=6, batch_size=4, lr=3e-3, save_every=0, precision="bfloat16")
    whole = tiny_generator(kind, dropout=0.1)  # dropout: the RNG state must be restored too
    train_generator(whole, EXAMPLES, tmp_path / "a", config, show_progress=False)
    first = tiny_generator(kind, dropout=0.1)
    train_generator(first, EXAMPLES, tmp_path / "b", config, show_progress=False, stop_after=3)
    assert not (tmp_path / "b" / "xqg_generator.json").exists()
    resumed = tiny_generator(kind, dropout=0.1)
    result = train_generator(resumed, EXAMPLES, tmp_path / "b", config, show_progress=False)
    assert result.resumed_from == 3
    for (name, a), (_, b) in zip(
        whole.model.named_parameters(), resumed.model.named_parameters(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=name, atol=0, rtol=0)
    # the saved checkpoint holds no pickle
    assert not list((tmp_path / "b").rglob("*.bin")) and not list((tmp_path / "b").rglob("*.pt"))


def test_a_crash_inside_the_checkpoint_swap_resumes_from_the_complete_checkpoint(tmp_path):
    """Killed after the old checkpoint moved aside and before the new one moved in (a half-written
    ``checkpoint.tmp``, no ``checkpoint``), and after a step's log line but before its checkpoint: the
    re-run resumes from the complete checkpoint, ends with the uninterrupted weights and logs each
    step once."""
    config = GeneratorTrainingConfig(steps=6, batch_size=4, lr=3e-3, save_every=0)
    whole = tiny_generator("seq2seq", dropout=0.1)
    train_generator(whole, EXAMPLES, tmp_path / "a", config, show_progress=False)
    run = tmp_path / "b"
    train_generator(
        tiny_generator("seq2seq", dropout=0.1), EXAMPLES, run, config, show_progress=False, stop_after=3
    )
    (run / "checkpoint").replace(run / "checkpoint.old")
    (run / "checkpoint.tmp").mkdir()
    (run / "checkpoint.tmp" / "trainable.safetensors").write_bytes(b"half a file")
    with open(run / "train_log.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps({"step": 4, "loss": 1.0}) + "\n" + '{"step": 5, "lo')  # the last line cut short
    resumed = tiny_generator("seq2seq", dropout=0.1)
    assert train_generator(resumed, EXAMPLES, run, config, show_progress=False).resumed_from == 3
    for (name, a), (_, b) in zip(
        whole.model.named_parameters(), resumed.model.named_parameters(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=name, atol=0, rtol=0)
    steps = [json.loads(line)["step"] for line in (run / "train_log.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 7))
    assert sorted(p.name for p in run.glob("checkpoint*")) == ["checkpoint"]


def test_a_checkpoint_from_before_the_shared_form_still_resumes(tmp_path):
    """Checkpoints written before ``xqg.train.checkpoint``'s form (optimizer scalars apart, param groups
    without their params, the CPU generator under ``torch``) resume to the uninterrupted weights."""
    from safetensors.torch import load_file, save_file

    config = GeneratorTrainingConfig(steps=6, batch_size=4, lr=3e-3, save_every=0)
    whole = tiny_generator("seq2seq", dropout=0.1)
    train_generator(whole, EXAMPLES, tmp_path / "a", config, show_progress=False)
    train_generator(
        tiny_generator("seq2seq", dropout=0.1),
        EXAMPLES,
        tmp_path / "b",
        config,
        show_progress=False,
        stop_after=3,
    )
    folder = tmp_path / "b" / "checkpoint"
    state = json.loads((folder / "trainer_state.json").read_text())
    meta = state.pop("optimizer")
    tensors = load_file(str(folder / "optimizer.safetensors"))
    scalars: dict[str, dict[str, float]] = {}
    for key in [k for k, v in tensors.items() if v.dim() == 0]:
        index, name = key.split(".", 1)
        scalars.setdefault(index, {})[name] = float(tensors.pop(key))
    assert scalars, "AdamW's step counters are 0-dim tensors"
    save_file(tensors, str(folder / "optimizer.safetensors"))
    state["optimizer_scalars"] = scalars
    state["param_groups"] = [{k: v for k, v in g.items() if k != "params"} for g in meta["param_groups"]]
    (folder / "trainer_state.json").write_text(json.dumps(state))
    save_file({"torch": load_file(str(folder / "rng.safetensors"))["cpu"]}, str(folder / "rng.safetensors"))
    resumed = tiny_generator("seq2seq", dropout=0.1)
    assert train_generator(resumed, EXAMPLES, tmp_path / "b", config, show_progress=False).resumed_from == 3
    for (name, a), (_, b) in zip(
        whole.model.named_parameters(), resumed.model.named_parameters(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=name, atol=0, rtol=0)


def test_resume_with_other_settings_is_refused(tmp_path):
    config = GeneratorTrainingConfig(steps=4, batch_size=4, save_every=0)
    train_generator(tiny_generator(), EXAMPLES, tmp_path, config, show_progress=False, stop_after=2)
    with pytest.raises(ConfigError, match="other training settings"):
        train_generator(
            tiny_generator(),
            EXAMPLES,
            tmp_path,
            GeneratorTrainingConfig(steps=4, batch_size=4, lr=5e-4),
            show_progress=False,
        )


def test_float16_is_refused_and_short_precision_names_are_read():
    for name in ("fp16", "float16"):
        with pytest.raises(ConfigError, match="float16"):
            GeneratorTrainingConfig(precision=name)
    assert GeneratorTrainingConfig(precision="bf16").precision == "bfloat16"


def test_frozen_encoder_is_unchanged_and_trained_model_reloads(tmp_path):
    gen = tiny_generator("bert2bert")
    encoder_before = {k: v.clone() for k, v in gen.model.encoder.state_dict().items()}
    train_generator(
        gen,
        EXAMPLES,
        tmp_path,
        GeneratorTrainingConfig(steps=3, batch_size=4, save_every=0),
        show_progress=False,
    )
    for k, v in gen.model.encoder.state_dict().items():
        assert torch.equal(v, encoder_before[k]), k
    loaded = QueryGenerator.load(tmp_path)
    kwargs = {"n": 2, "seed": 0, "max_new_tokens": 6}
    assert list(loaded.generate([EXAMPLES[0].passage], ["de"], **kwargs)) == list(
        gen.generate([EXAMPLES[0].passage], ["de"], **kwargs)
    )


def test_read_examples_jsonl_names_bad_lines(tmp_path):
    path = tmp_path / "t.jsonl"
    rows = [{"passage": "Berlin", "lang": "de", "query": "Wo?", "title": "B"}, {"passage": "x", "lang": "de"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(InputError) as info:
        read_examples_jsonl(path)
    assert info.value.line == 2
    path.write_text(json.dumps({"passage": "x", "lang": "xx", "query": "q"}) + "\n")
    with pytest.raises(InputError):
        read_examples_jsonl(path)
    path.write_text(json.dumps(rows[0]) + "\n")
    (ex,) = read_examples_jsonl(path)
    assert (ex.passage.title, ex.lang, ex.query) == ("B", "de", "Wo?")
