"""Write any :class:`RetrievalDataset` as a BEIR-style folder that every CLI stage can read.

Layout (read back by :func:`xqg.data.beir.load_beir` and checked by :func:`xqg.data.validate.validate_folder`)::

    out/
      corpus.jsonl        {"_id", "title", "text"[, "meta"]}
      queries.jsonl       {"_id", "text", "lang"}
      qrels/<split>.tsv   BEIR TSV with header (only when the dataset has qrels)
      answers.jsonl       {"id", "answers", "lang"} (only when the dataset has answers)
      dataset.json        name, split, counts, and the dataset's meta

A dataset whose corpus is streamed from a file (XOR-TyDi: empty ``corpus`` list and
``meta["corpus_path"]``) is copied passage by passage, never loaded whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xqg.data.answers import write_answers
from xqg.data.atomic import atomic_write_json
from xqg.data.corpus import iter_corpus, write_corpus, write_queries
from xqg.data.records import Passage, RetrievalDataset
from xqg.data.trec import write_qrels


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def export_dataset(
    dataset: RetrievalDataset,
    out_dir: str | Path,
    split: str = "test",
    corpus: Iterable[Passage] | str | Path | None = None,
) -> dict[str, int]:
    """Write ``dataset`` as a BEIR-style folder; return the counts written.

    Args:
        dataset: the dataset.
        out_dir: output folder (created; files inside are replaced atomically).
        split: name of the qrels split file (``qrels/<split>.tsv``).
        corpus: passages or a corpus file to write instead of ``dataset.corpus`` (for sets whose
            corpus the user supplies, e.g. MKQA); by default ``dataset.corpus``, or the file in
            ``dataset.meta["corpus_path"]`` when the list is empty.

    Returns:
        ``{"passages", "queries", "qrels", "answers"}`` counts.

    Example:
        >>> import tempfile
        >>> from xqg.data.records import Query
        >>> ds = RetrievalDataset("toy", [Passage("d1", "Paris is in France.")],
        ...     {"de": [Query("q1", "Wo liegt Paris?", "de")]}, {"q1": {"d1": 1}}, {"q1": ["France"]})
        >>> export_dataset(ds, tempfile.mkdtemp())
        {'passages': 1, 'queries': 1, 'qrels': 1, 'answers': 1}
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if corpus is None:
        corpus_path = dataset.meta.get("corpus_path")
        corpus = dataset.corpus if dataset.corpus or not corpus_path else str(corpus_path)
    # A corpus file is copied in constant memory (no id set); `xqg data validate` checks ids afterwards.
    passages = iter_corpus(corpus, check_duplicates=False) if isinstance(corpus, str | Path) else corpus
    counts = {"passages": write_corpus(out / "corpus.jsonl", passages)}
    counts["queries"] = write_queries(out / "queries.jsonl", dataset.all_queries())
    counts["qrels"] = (
        write_qrels(out / "qrels" / f"{split}.tsv", dataset.qrels, format="tsv") if dataset.qrels else 0
    )
    counts["answers"] = (
        write_answers(out / "answers.jsonl", dataset.answers, dataset.query_language())
        if dataset.answers
        else 0
    )
    atomic_write_json(
        out / "dataset.json",
        {
            "name": dataset.name,
            "split": split,
            "languages": dataset.languages,
            "counts": counts,
            "meta": _json_safe(dataset.meta),
        },
    )
    return counts
