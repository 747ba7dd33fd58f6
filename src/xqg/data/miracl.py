"""MIRACL: monolingual retrieval in 18 languages, in the official file layout.

MIRACL (Zhang et al., 2023) is released on the Hugging Face hub as two repositories, whose files are
read here as they are (nothing is downloaded: point ``root`` at a copy)::

    <root>/miracl/miracl-v1.0-<lang>/topics/topics.miracl-v1.0-<lang>-<split>.tsv   qid<TAB>query
    <root>/miracl/miracl-v1.0-<lang>/qrels/qrels.miracl-v1.0-<lang>-<split>.tsv     qid Q0 docid rel
    <root>/miracl-corpus/miracl-corpus-v1.0-<lang>/docs-<n>.jsonl.gz                {"docid", "title", "text"}

Each language is its own benchmark (questions and Wikipedia passages in that language; document
ids such as ``"101#0"`` repeat across languages), so :func:`load_miracl` loads one language.
Queries get ids as in the topics file and the language code of the folder; the split's queries
are those judged in its qrels file (as in :func:`xqg.data.beir.load_beir`). Every language code is
an ordinary code (:mod:`xqg.data.languages`): all 18 have rows in the project's table and keyboard
layouts for the typo generator.
"""

from __future__ import annotations

from pathlib import Path

from xqg.data.beir import read_checked_qrels
from xqg.data.corpus import iter_corpus, read_queries
from xqg.data.download import locate
from xqg.data.records import Passage, RetrievalDataset
from xqg.errors import InputError

MIRACL_LANGUAGES: tuple[str, ...] = (
    "ar", "bn", "de", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko", "ru", "sw", "te", "th", "yo", "zh",
)  # fmt: skip
"""The 18 languages of MIRACL (the 16 of its training data and the surprise languages de, yo)."""


def miracl_paths(root: str | Path, lang: str, split: str = "dev") -> dict[str, Path | list[Path]]:
    """The official files of one language: ``{"topics", "qrels", "corpus": [docs-*.jsonl.gz ...]}``.

    Args:
        root: the folder holding ``miracl/`` and ``miracl-corpus/``.
        lang: a MIRACL language code.
        split: ``"train"``, ``"dev"``, ``"testA"`` or ``"testB"`` (test splits have no qrels).

    Example:
        >>> str(miracl_paths("data", "sw")["topics"])
        'data/miracl/miracl-v1.0-sw/topics/topics.miracl-v1.0-sw-dev.tsv'
    """
    base = Path(root)
    folder = base / "miracl" / f"miracl-v1.0-{lang}"
    corpus_dir = base / "miracl-corpus" / f"miracl-corpus-v1.0-{lang}"
    shards = sorted(
        [*corpus_dir.glob("docs-*.jsonl.gz"), *corpus_dir.glob("docs-*.jsonl")],
        key=lambda p: int(p.name.split("-")[1].split(".")[0]),
    )
    return {
        "topics": folder / "topics" / f"topics.miracl-v1.0-{lang}-{split}.tsv",
        "qrels": folder / "qrels" / f"qrels.miracl-v1.0-{lang}-{split}.tsv",
        "corpus": shards,
    }


def load_miracl(lang: str, split: str = "dev", root: str | Path | None = None) -> RetrievalDataset:
    """Load one MIRACL language: its Wikipedia passages, the split's judged queries and qrels.

    Args:
        lang: one of :data:`MIRACL_LANGUAGES`.
        split: a split with qrels (``"train"`` or ``"dev"``).
        root: folder with ``miracl/`` and ``miracl-corpus/`` (default: ``$XQG_DATA_MIRROR/miracl``
            or the cache's ``data/miracl``).

    Returns:
        Dataset ``"miracl-<lang>"`` with queries ``{lang: [...]}`` and graded qrels (0 = judged
        not relevant, kept as in the file).

    Raises:
        InputError: a language MIRACL does not have, a missing file, a malformed line, a duplicate
            id, or a qrel for a query or passage that does not exist (file and line named).

    Example:
        >>> ds = load_miracl("sw", root="tests/data/fixtures/miracl18")  # doctest: +SKIP
    """
    if lang not in MIRACL_LANGUAGES:
        raise InputError(f"MIRACL has no language {lang!r} (languages: {', '.join(MIRACL_LANGUAGES)})")
    relative = f"miracl/miracl-v1.0-{lang}/topics/topics.miracl-v1.0-{lang}-{split}.tsv"
    folder = locate("miracl", [relative], root)
    paths = miracl_paths(folder, lang, split)
    if not paths["corpus"]:
        raise InputError(
            f"no corpus shard (docs-<n>.jsonl.gz) for {lang!r}",
            path=folder / "miracl-corpus" / f"miracl-corpus-v1.0-{lang}",
        )
    corpus: list[Passage] = []
    seen: set[str] = set()
    for shard in paths["corpus"]:  # type: ignore[union-attr]
        for passage in iter_corpus(shard, check_duplicates=False):
            if passage.id in seen:
                raise InputError(f"passage id {passage.id!r} appears in two corpus shards", path=shard)
            seen.add(passage.id)
            corpus.append(passage)
    queries = read_queries(paths["topics"], lang=lang)  # type: ignore[arg-type]
    qrels_file = paths["qrels"]
    if not Path(qrels_file).is_file():  # type: ignore[arg-type]
        raise InputError(f"no qrels for split {split!r} (test splits have none)", path=qrels_file)  # type: ignore[arg-type]
    qrels = read_checked_qrels(qrels_file, {q.id for q in queries}, seen)  # type: ignore[arg-type]
    judged = [q for q in queries if q.id in qrels]
    return RetrievalDataset(
        name=f"miracl-{lang}",
        corpus=corpus,
        queries={lang: judged},
        qrels=qrels,
        meta={"folder": str(folder), "split": split, "num_queries_in_file": len(queries)},
    )
