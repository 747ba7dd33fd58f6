"""Self-distillation against misspellings (xqg.train.distill) on a tiny encoder."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.data.records import Passage, Query
from xqg.errors import ConfigError
from xqg.train.config import RetrieverTrainingConfig
from xqg.train.distill import (
    DistillTeacher,
    distillation_loss,
    label_free_examples,
    passage_pieces,
    question_length_pieces,
)
from xqg.train.forward import embed_at
from xqg.train.robustness import QueryPerturber
from xqg.train.step import PassageBank, compute_batch_gradients
from xqg.train.testing import tiny_hash_encoder
from xqg.train.trainer import train_retriever

TOPICS = ["rivers", "music", "chess", "volcano", "bread", "comets", "tennis", "ocean", "glass", "paper"]
TEXTS = [Query(f"t{i}", f"what do you know about {t} and {t} history", "en") for i, t in enumerate(TOPICS)]
PASSAGES = [Passage(f"d{i}", f"{t} {t} facts about {t}") for i, t in enumerate(TOPICS)]


def _identity(text, lang, seed, num_typos=1, protocol="one-typo"):
    return text


def _drop_letter(text, lang, seed, num_typos=1, protocol="one-typo"):
    """A deterministic 'typo': one letter of a word of >= 4 letters left out (position from the seed)."""
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) >= 4]
    i = long[seed % len(long)]
    j = 1 + (seed // 7) % (len(words[i]) - 2)
    words[i] = words[i][:j] + words[i][j + 1 :]
    return " ".join(words)


def _bank(model) -> PassageBank:
    with torch.no_grad():
        model.eval()
        vectors = model.embed([p.text for p in PASSAGES], "passage")
    return PassageBank([p.id for p in PASSAGES], vectors)


CONFIG = RetrieverTrainingConfig(
    robustness="distill",
    batch_size=5,
    num_negatives=0,
    learning_rate=3e-3,
    temperature=0.1,
    max_steps=30,
    warmup_ratio=0.0,
)


@pytest.mark.parametrize("loss", ["cosine", "kl", "cosine+kl"])
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 6), m=st.integers(1, 6))
def test_the_loss_is_zero_when_student_equals_teacher_and_positive_otherwise(loss, seed, n, m):
    g = torch.Generator().manual_seed(seed)
    teacher = F.normalize(torch.randn(n, 8, generator=g), dim=-1)
    candidates = F.normalize(torch.randn(m, 8, generator=g), dim=-1)
    same = distillation_loss(teacher.clone(), teacher, candidates, loss=loss)
    assert same.shape == (n,) and same.abs().max().item() < 1e-5
    other = F.normalize(teacher + torch.randn(n, 8, generator=g), dim=-1)
    moved = distillation_loss(other, teacher, candidates, loss=loss)
    assert (moved >= -1e-6).all()
    if "cosine" in loss:
        assert (moved > 1e-6).all()


def test_a_batch_costs_nothing_when_the_student_is_the_teacher():
    """No dropout, no misspelling: every term is zero and so is every gradient."""
    model = tiny_hash_encoder(seed=1)
    bank = _bank(model)
    examples = label_free_examples(TEXTS[:4])
    teacher = DistillTeacher.from_model(model, [e.query.text for e in examples])
    model.train()
    stats = compute_batch_gradients(
        model, examples, CONFIG, QueryPerturber(CONFIG, _identity), passage_bank=bank, teacher=teacher
    )
    assert stats.loss == pytest.approx(0.0, abs=1e-6)
    assert max(p.grad.abs().max().item() for p in model.parameters() if p.grad is not None) < 1e-5


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_the_student_moves_toward_the_teachers_clean_vectors_on_misspelled_inputs(tmp_path, precision):
    model = tiny_hash_encoder(seed=2)
    bank = _bank(model)
    examples = label_free_examples(TEXTS)
    teacher = DistillTeacher.from_model(model, [e.query.text for e in examples], precision=precision)
    clean = [q.text for q in TEXTS]
    # misspellings the training never draws (other seeds than the training's)
    unseen = [_drop_letter(t, "en", 10_000 + k) for k, t in enumerate(clean)]

    def similarity(texts):
        with torch.no_grad():
            model.eval()
            vectors = embed_at(model, texts, "query", precision)
            return F.cosine_similarity(vectors, teacher.of(clean)).mean().item()

    typo_before, clean_before = similarity(unseen), similarity(clean)
    assert clean_before == pytest.approx(1.0, abs=1e-5) and typo_before < 1 - 1e-4
    result = train_retriever(
        model,
        examples,
        CONFIG.replace(distill_views=2, learning_rate=1e-3, max_steps=60, precision=precision),
        tmp_path,
        misspell=_drop_letter,
        show_progress=False,
        passage_bank=bank,
    )
    losses = [h["loss"] for h in result.history if "loss" in h]
    assert sum(losses[-5:]) < sum(losses[:5])
    typo_after, clean_after = similarity(unseen), similarity(clean)
    assert 1 - typo_after < 0.6 * (1 - typo_before)  # the misspelled inputs' gap to the teacher shrinks
    assert clean_after > typo_after and clean_after > 0.99  # clean texts stay at the teacher


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    def run(seed: int, folder: str) -> dict[str, torch.Tensor]:
        model = tiny_hash_encoder(seed=3, dropout=0.1)
        bank = _bank(model)
        train_retriever(
            model,
            label_free_examples(TEXTS),
            CONFIG.replace(max_steps=4, seed=seed),
            tmp_path / folder,
            misspell=_drop_letter,
            show_progress=False,
            passage_bank=bank,
        )
        return model.state_dict()

    a, b, c = run(0, "a"), run(0, "b"), run(1, "c")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_resume_rebuilds_the_teacher_from_the_starting_model(tmp_path):
    config = CONFIG.replace(max_steps=4, save_steps=2, keep_checkpoints=5)
    full = tiny_hash_encoder(seed=3, dropout=0.1)
    train_retriever(
        full,
        label_free_examples(TEXTS),
        config,
        tmp_path / "full",
        misspell=_drop_letter,
        show_progress=False,
        passage_bank=_bank(tiny_hash_encoder(seed=3)),
    )
    part = tiny_hash_encoder(seed=3, dropout=0.1)
    train_retriever(
        part,
        label_free_examples(TEXTS),
        config,
        tmp_path / "resumed",
        misspell=_drop_letter,
        show_progress=False,
        passage_bank=_bank(tiny_hash_encoder(seed=3)),
    )
    import shutil

    shutil.rmtree(tmp_path / "resumed" / "checkpoint-00000004")
    resumed = tiny_hash_encoder(seed=3, dropout=0.1)  # the base model: the teacher
    train_retriever(
        resumed,
        label_free_examples(TEXTS),
        config,
        tmp_path / "resumed",
        misspell=_drop_letter,
        show_progress=False,
        passage_bank=_bank(tiny_hash_encoder(seed=3)),
    )
    for (name, x), (_, y) in zip(full.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.allclose(x, y, atol=1e-6), name


def test_both_towers_sample_candidates_and_anchor_the_passages(tmp_path):
    model = tiny_hash_encoder(seed=4)
    examples = label_free_examples(TEXTS)
    with pytest.raises(ConfigError, match="candidate passages"):
        train_retriever(model, examples, CONFIG.replace(max_steps=1), tmp_path / "x", show_progress=False)
    teacher = DistillTeacher.from_model(model, [e.query.text for e in examples], PASSAGES)
    before = teacher.passage_vectors.clone()
    result = train_retriever(
        model,
        examples,
        CONFIG.replace(max_steps=10, distill_passages=4),
        tmp_path / "both",
        misspell=_drop_letter,
        show_progress=False,
        teacher=teacher,
    )
    assert result.steps == 10 and torch.equal(teacher.passage_vectors, before)
    with torch.no_grad():
        model.eval()
        after = model.embed([p.text for p in PASSAGES], "passage")
    assert F.cosine_similarity(after, before).min().item() > 0.9


@pytest.mark.parametrize("tuning", ["lora", "no-embeddings"])
def test_parameter_efficient_tuning_trains_and_saves_the_plain_architecture(tmp_path, tuning):
    model = tiny_hash_encoder(seed=5)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    train_retriever(
        model,
        label_free_examples(TEXTS),
        CONFIG.replace(max_steps=5, tuning=tuning, lora_rank=2),
        tmp_path,
        misspell=_drop_letter,
        show_progress=False,
        passage_bank=_bank(tiny_hash_encoder(seed=5)),
    )
    state = model.state_dict()
    assert state.keys() == start.keys()  # LoRA merged back: the original layers, nothing added
    assert all(p.requires_grad for p in model.parameters())
    embeddings = [k for k in state if "embeddings" in k]
    assert all(torch.equal(state[k], start[k]) for k in embeddings)  # both modes leave them alone
    assert any(not torch.equal(state[k], start[k]) for k in state if "attention" in k)


def test_lora_merge_keeps_the_function():
    from xqg.train.lora import add_lora, merge_lora

    model = tiny_hash_encoder(seed=6)
    add_lora(model, rank=2, alpha=4.0, seed=0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_b" in name:
                p.normal_()
        model.eval()
        adapted = model.embed(["a question about rivers"], "query")
        assert merge_lora(model) > 0
        assert torch.allclose(model.embed(["a question about rivers"], "query"), adapted, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("abc déf. Ωψ? 東京。 ")), max_size=120),
    max_words=st.integers(1, 8),
)
def test_pieces_are_short_spans_of_the_text(text, max_words):
    from xqg.typos.text import find_words

    for piece in question_length_pieces(text, "en", max_words=max_words, min_words=1):
        assert piece in text and piece == piece.strip()
        assert 1 <= len(find_words(piece, "en")) <= max_words


def test_pieces_of_real_paragraphs_in_scripts_without_spaces():
    zh = "超级碗50是一场美式橄榄球比赛，旨在确定国家橄榄球联盟2015赛季的冠军。美国橄榄球联合会冠军丹佛野马队击败了国家橄榄球联合会冠军卡罗莱纳黑豹队。"
    pieces = question_length_pieces(zh, "zh", max_words=6)
    assert len(pieces) >= 2 and all(p in zh for p in pieces)
    queries = passage_pieces([("0-0", zh, "zh"), ("0-1", zh, "zh")], per_passage=1, seed=0, max_words=6)
    assert [q.id.rsplit("/", 1)[0] for q in queries] == ["0-0/zh", "0-1/zh"]
    assert passage_pieces([("0-0", zh, "zh")], per_passage=1, seed=0, max_words=6) == queries[:1]


def test_label_free_examples_refuse_repeated_ids():
    with pytest.raises(ConfigError, match="twice"):
        label_free_examples([Query("a", "x", "en"), Query("a", "y", "en")])
