"""Typo robustness by self-distillation: the frozen encoder teaches its own query tower.

The teacher is the encoder as it is before training (its vectors are computed once, before the
first step, in eval mode). For every training text ``x`` (any text in the language: questions,
pieces of paragraphs, other data sets' queries; **no relevance labels**), the student is trained on
the clean text and on ``distill_views`` seeded misspelled copies ``x~``:

    L(x) = w_clean * d(S(x), T(x)) + mean_v d(S(x~_v), T(x))

    d(s, t) = [1 - cos(s, t)]                                    (``cosine``)
            + kl_weight * KL(P_T(. | t) || P_S(. | s))           (``kl``)

with ``P(. | v) = softmax(v . C / temperature / kl_temperature)`` over the candidate passages
``C``: with a :class:`~xqg.train.step.PassageBank` (query tower only), every bank passage, the
teacher's and the student's distributions both over the fixed bank vectors; with both towers
trained, ``distill_passages`` corpus passages sampled per step, the teacher's distribution over the
teacher's passage vectors and the student's over the student's, and each sampled passage anchored
to its teacher vector by ``1 - cos`` (in the ``cosine`` modes). The clean term keeps clean
behaviour at the teacher's by construction; the misspelled term moves misspelled inputs onto the
clean text's vector.

Training texts without labels: :func:`label_free_examples` wraps texts as
:class:`~xqg.train.examples.TrainingExample` with a placeholder passage per text (the batch sampler
then treats every text as distinct; the loss never reads it), and :func:`question_length_pieces`
cuts paragraphs into pieces of about a question's length.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import regex
import torch
import torch.nn.functional as F

from xqg.data.corpus import read_queries
from xqg.data.records import Passage, Query, RetrievalDataset, passage_text
from xqg.data.xquad import available_xquad_languages, load_xquad_contexts
from xqg.errors import ConfigError
from xqg.seeding import derive_seed
from xqg.train.config import DISTILL_SOURCES, RetrieverTrainingConfig
from xqg.train.distributed import ProcessGroupInfo, gather_with_local_grad
from xqg.train.examples import TrainingExample
from xqg.train.forward import embed_at
from xqg.train.loss import StepStats
from xqg.typos.text import find_words

PLACEHOLDER_PREFIX = "distill-text:"
"""Doc id prefix of the placeholder passage of a label-free example (never a real passage)."""

_SENTENCE_END = regex.compile(r"(?<=[.!?;。！？；।॥؟።])\s*")


def label_free_examples(texts: Iterable[Query]) -> list[TrainingExample]:
    """Training examples for self-distillation: one per text, no passage, no label.

    Args:
        texts: queries or any pieces of text with an id (unique) and a language.

    Raises:
        ConfigError: two texts share an id.

    Example:
        >>> [e.positive.id for e in label_free_examples([Query("a", "x y", "en")])]
        ['distill-text:a']
    """
    out: list[TrainingExample] = []
    seen: set[str] = set()
    for query in texts:
        if query.id in seen:
            raise ConfigError(f"distillation text id {query.id!r} appears twice")
        seen.add(query.id)
        out.append(TrainingExample(query, Passage(PLACEHOLDER_PREFIX + query.id, "")))
    return out


def question_length_pieces(text: str, lang: str, max_words: int = 12, min_words: int = 3) -> list[str]:
    """Cut a paragraph into pieces of at most ``max_words`` words, never across a sentence end.

    Sentences end at ``. ! ? ;`` and their CJK, Devanagari, Arabic and Ethiopic forms; words are
    :func:`xqg.typos.text.find_words` (BudouX phrases for ja/zh/th). A sentence of ``n`` words
    gives ``ceil(n / max_words)`` pieces of near-equal length; pieces shorter than ``min_words``
    are dropped. Each piece is the original text from its first word to its last.

    Example:
        >>> question_length_pieces("One two three four five. Six seven eight.", "en", max_words=3, min_words=2)
        ['One two three', 'four five', 'Six seven eight']
    """

    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        words = find_words(sentence, lang)
        if not words:
            continue
        count = -(-len(words) // max_words)
        size = -(-len(words) // count)
        for start in range(0, len(words), size):
            chunk = words[start : start + size]
            if len(chunk) >= min_words:
                pieces.append(sentence[chunk[0].start : chunk[-1].end])
    return pieces


def passage_pieces(
    passages: Iterable[tuple[str, str, str]], per_passage: int = 0, seed: int = 0, max_words: int = 12
) -> list[Query]:
    """Question-length pieces of passages as label-free texts.

    Args:
        passages: ``(passage id, text, language)``.
        per_passage: keep a seeded sample of this many pieces per passage (0 = all).
        seed: seed of the sample.
        max_words: words per piece (:func:`question_length_pieces`).

    Returns:
        Queries with ids ``"{passage id}/{lang}/piece{k}"``.

    Example:
        >>> [q.id for q in passage_pieces([("p1", "Alpha beta gamma. Delta epsilon zeta.", "en")])]
        ['p1/en/piece0', 'p1/en/piece1']
    """
    out: list[Query] = []
    for pid, text, lang in passages:
        pieces = list(enumerate(question_length_pieces(text, lang, max_words)))
        if per_passage and len(pieces) > per_passage:
            rng = random.Random(derive_seed(seed, "pieces", pid, lang))
            pieces = sorted(rng.sample(pieces, per_passage))
        out.extend(Query(f"{pid}/{lang}/piece{k}", piece, lang) for k, piece in pieces)
    return out


def label_free_texts(
    train: RetrievalDataset,
    sources: Sequence[str] = ("questions", "pieces"),
    languages: Iterable[str] | None = None,
    pieces_per_passage: int = 4,
    seed: int = 0,
    corpus_language: str = "en",
    files: Sequence[str] = (),
    xquad_root: str | None = None,
) -> list[Query]:
    """The texts self-distillation trains on, read from a training split without its labels.

    Args:
        train: the training split (only its question texts and its passages are read).
        sources: ``questions`` (the split's questions), ``pieces`` (question-length pieces of its
            passages: for XQuAD the paragraphs in every one of ``languages`` whose file is present,
            XQuAD's translations;
            elsewhere the corpus passages, taken to be in ``corpus_language``), ``files`` (the
            queries files ``files``, JSONL/TSV with a language per row: other data sets' queries).
        languages: keep texts in these languages (default all; for XQuAD pieces, all 11).
        pieces_per_passage: seeded sample of pieces per passage and language (0 = all).
        seed: seed of that sample.
        corpus_language: the language of non-XQuAD corpus passages.
        files: queries files for the ``files`` source.
        xquad_root: folder of the XQuAD files (default: the data mirror).

    Raises:
        ConfigError: an unknown source.

    Example:
        >>> ds = RetrievalDataset("toy", [Passage("p", "One two three four. Five six seven.")],
        ...     {"en": [Query("q", "What is one?", "en")]}, {"q": {"p": 1}})
        >>> [q.text for q in label_free_texts(ds)]
        ['What is one?', 'One two three four', 'Five six seven']
    """
    unknown = sorted(set(sources) - set(DISTILL_SOURCES))
    if unknown:
        raise ConfigError(f"unknown distillation text sources {unknown}; known: {', '.join(DISTILL_SOURCES)}")
    wanted = set(languages) if languages else None
    texts: list[Query] = []
    if "questions" in sources:
        texts += [q for q in train.all_queries() if wanted is None or q.lang in wanted]
    if "pieces" in sources:
        if train.name.startswith("xquad"):
            present = set(available_xquad_languages(xquad_root))  # an absent file (ro) is left out
            langs = sorted(present & wanted if wanted else present)
            contexts = load_xquad_contexts(langs, root=xquad_root)
            paragraphs = sorted({str(p.meta.get("paragraph", p.id)) for p in train.corpus} & set(contexts))
            items = [(pid, contexts[pid][lang], lang) for pid in paragraphs for lang in langs]
        else:
            items = [(p.id, passage_text(p), corpus_language) for p in train.corpus]
        texts += passage_pieces(items, pieces_per_passage, seed)
    if "files" in sources:
        for path in files:
            texts += [
                Query(f"file:{path}:{q.id}", q.text, q.lang)
                for q in read_queries(path)
                if wanted is None or q.lang in wanted
            ]
    return texts


@dataclass
class DistillTeacher:
    """The frozen teacher's vectors: of every training text (as a query) and of candidate passages.

    Args:
        texts: clean text → row of ``vectors``.
        vectors: (n, d) teacher query vectors.
        passages: candidate passages for the both-towers mode (``None`` with a passage bank).
        passage_vectors: (m, d) teacher passage vectors of ``passages``.
    """

    texts: dict[str, int]
    vectors: torch.Tensor
    passages: list[Passage] | None = None
    passage_vectors: torch.Tensor | None = None

    @classmethod
    def from_model(
        cls,
        model: torch.nn.Module,
        texts: Iterable[str],
        passages: Sequence[Passage] | None = None,
        batch_size: int = 64,
        precision: str = "float32",
    ) -> DistillTeacher:
        """Encode the texts (and passages) with ``model`` as it is now, in eval mode, without
        gradients, at the training's compute ``precision`` (so the clean term starts at zero).

        Example:
            >>> from xqg.train.testing import tiny_hash_encoder
            >>> DistillTeacher.from_model(tiny_hash_encoder(), ["a", "b", "a"]).vectors.shape
            torch.Size([2, 16])
        """
        unique = list(dict.fromkeys(texts))
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                vectors = _embed_in_batches(model, unique, "query", batch_size, precision)
                passage_vectors = (
                    _embed_in_batches(
                        model, [passage_text(p) for p in passages], "passage", batch_size, precision
                    )
                    if passages
                    else None
                )
        finally:
            model.train(was_training)
        return cls(
            {t: i for i, t in enumerate(unique)},
            vectors,
            list(passages) if passages else None,
            passage_vectors,
        )

    def of(self, texts: Sequence[str]) -> torch.Tensor:
        """Teacher vectors of clean training texts (each must have been given to :meth:`from_model`)."""
        try:
            return self.vectors[[self.texts[t] for t in texts]]
        except KeyError as exc:
            raise ConfigError(
                f"the distillation teacher has no vector for the text {exc.args[0]!r}"
            ) from None


def _embed_in_batches(
    model: torch.nn.Module, texts: list[str], kind: str, batch_size: int, precision: str = "float32"
) -> torch.Tensor:
    parts = [
        embed_at(model, texts[i : i + batch_size], kind, precision).float().cpu()
        for i in range(0, len(texts), batch_size)
    ]
    return torch.cat(parts) if parts else torch.zeros(0, 0)


def distillation_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    candidates_student: torch.Tensor | None = None,
    candidates_teacher: torch.Tensor | None = None,
    loss: str = "cosine+kl",
    temperature: float = 0.05,
    kl_temperature: float = 1.0,
    kl_weight: float = 1.0,
) -> torch.Tensor:
    """Per-row distillation loss of student vectors against teacher vectors, shape ``(n,)``.

    Args:
        student: (n, d) student vectors (gradients flow).
        teacher: (n, d) teacher vectors of the clean texts (detached here).
        candidates_student: (m, d) candidate passages the student scores against (``kl`` modes).
        candidates_teacher: (m, d) the same candidates as the teacher sees them (default: the
            student's, detached: a fixed bank).
        loss: ``cosine``, ``kl`` or ``cosine+kl``.
        temperature: logits = dot / temperature (the contrastive temperature).
        kl_temperature: both logit sets are further divided by it.
        kl_weight: weight of the KL term.

    Returns:
        The loss of each row; zero rows where the student equals the teacher.

    Example:
        >>> t = torch.nn.functional.normalize(torch.randn(3, 4), dim=-1)
        >>> c = torch.nn.functional.normalize(torch.randn(5, 4), dim=-1)
        >>> distillation_loss(t.clone(), t, c).abs().max().item() < 1e-6
        True
    """
    teacher = teacher.detach().to(student.dtype)
    terms = torch.zeros(student.shape[0], dtype=student.dtype, device=student.device)
    if "cosine" in loss:
        terms = terms + (1.0 - F.cosine_similarity(student, teacher, dim=-1))
    if "kl" in loss:
        if candidates_student is None:
            raise ValueError("the kl distillation term needs candidate passages")
        fixed = candidates_student.detach() if candidates_teacher is None else candidates_teacher.detach()
        scale = temperature * kl_temperature
        log_t = F.log_softmax(teacher @ fixed.to(student.dtype).T / scale, dim=-1)
        log_s = F.log_softmax(student @ candidates_student.T / scale, dim=-1)
        terms = terms + kl_weight * (log_t.exp() * (log_t - log_s)).sum(-1)
    return terms


def _sampled_passages(
    teacher: DistillTeacher, config: RetrieverTrainingConfig, epoch: int, key: str
) -> list[int]:
    assert teacher.passages is not None
    count = min(config.distill_passages, len(teacher.passages))
    rng = random.Random(derive_seed(config.seed, "distill-passages", epoch, key))
    return sorted(rng.sample(range(len(teacher.passages)), count))


def distill_batch_gradients(
    model,
    batch: Sequence[TrainingExample],
    config: RetrieverTrainingConfig,
    perturber,
    epoch: int,
    loss_scale: float,
    info: ProcessGroupInfo,
    passage_bank,
    teacher: DistillTeacher,
):
    """Accumulate into ``.grad`` the distillation loss of one global batch (this process's slice).

    Every process encodes its slice of the texts (and of the sampled passages), the vectors are
    gathered, and each computes the loss of the whole batch, as
    :func:`xqg.train.step.compute_batch_gradients` does for the contrastive loss.

    Returns:
        :class:`xqg.train.step.StepStats` with ``ce`` = the clean texts' term and ``kl`` = the
        misspelled copies' term (weighted as in the loss).
    """
    local = list(batch[info.local_slice(len(batch))])
    views = perturber.views(local, epoch)
    assert views.distilled is not None
    b = len(local)
    texts = [t for view in views.distilled for t in view]
    q_local = embed_at(model, texts, "query", config.precision)
    targets = teacher.of([e.query.text for e in batch]).to(q_local.device)

    cand_student = cand_teacher = None
    anchor = torch.zeros((), device=q_local.device)
    if passage_bank is not None:
        cand_student = passage_bank.vectors.to(q_local.device, q_local.dtype)
    else:
        if teacher.passages is None or teacher.passage_vectors is None:
            raise ConfigError("distill without a passage bank needs candidate passages in the teacher")
        rows = _sampled_passages(teacher, config, epoch, batch[0].query.id)
        p_local = embed_at(
            model,
            [passage_text(teacher.passages[r]) for r in rows[info.local_slice(len(rows))]],
            "passage",
            config.precision,
        )
        cand_student = gather_with_local_grad(p_local, info)
        cand_teacher = teacher.passage_vectors[rows].to(q_local.device)
        if "cosine" in config.distill_loss:
            anchor = (
                1.0 - F.cosine_similarity(cand_student, cand_teacher.to(cand_student.dtype), dim=-1)
            ).mean()

    per_view = []
    for v in range(len(views.distilled)):
        student = gather_with_local_grad(q_local[v * b : (v + 1) * b], info)
        per_view.append(
            distillation_loss(
                student,
                targets,
                cand_student,
                cand_teacher,
                config.distill_loss,
                config.temperature,
                config.kl_temperature,
                config.kl_weight,
            ).mean()
        )
    clean = config.distill_clean_weight * per_view[0]
    typo = torch.stack(per_view[1:]).mean()
    loss = clean + typo + config.distill_clean_weight * anchor
    (loss * loss_scale).backward()
    return StepStats(loss=float(loss.detach()), ce=float(clean.detach()), kl=float(typo.detach()))


__all__ = [
    "DISTILL_SOURCES",
    "PLACEHOLDER_PREFIX",
    "DistillTeacher",
    "distill_batch_gradients",
    "distillation_loss",
    "label_free_examples",
    "label_free_texts",
    "passage_pieces",
    "question_length_pieces",
]
