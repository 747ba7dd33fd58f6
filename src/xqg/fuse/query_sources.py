"""Where a fusion worker gets the generated queries of a shard's passages.

A source turns a batch of passages (and their passage vectors) into per-passage query-vector sums and
counts. Text sources (a generated-queries JSONL, an in-process generator, a fixed mapping) hand texts
to :func:`encode_and_accumulate`, which encodes them through the *query* path and adds them to a
running sum; the query vectors are dropped right away, never written to disk. The text-free source
(:class:`PredictedQuerySource`) predicts the vectors directly from the passage vectors.

Sources that know each query's language (the generated-queries file, the in-process generator, the
predictor) also give the sums per language (:meth:`query_sums_by_language`), for one fused passage
matrix per query language (``xqg fuse --per-language``; each query is searched in its own language's
matrix). A query is encoded once whichever way it is summed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from xqg.data.jsonl import iter_jsonl
from xqg.data.records import Passage
from xqg.distributed.fingerprint import file_identity, folder_identity
from xqg.errors import InputError
from xqg.fuse.fusion import accumulate


@runtime_checkable
class QueryEncoder(Protocol):
    """The part of :class:`xqg.encode.DualEncoder` fusion uses."""

    def encode_queries(
        self, texts: list[str], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Encode query texts through the query path."""
        ...


@runtime_checkable
class QuerySource(Protocol):
    """Produces Σ E(q) and the number of queries for each passage of a batch.

    A source may also define ``prepare(passages)``, called once per shard before its batches (e.g. to
    read a shard's generated queries in one pass over a file).
    """

    def fingerprint(self) -> dict[str, Any]:
        """JSON-able description of what determines the queries (file checksum, model, seed, n)."""
        ...

    def query_sums(
        self, passages: Sequence[Passage], passage_vectors: np.ndarray, encoder: QueryEncoder, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(sums (n, d) float32, counts (n,) int64)`` for ``passages``."""
        ...


LanguageSums = dict[str, tuple[np.ndarray, np.ndarray]]
"""``{lang: (sums (n, d) float32, counts (n,) int64)}``: the sums of each language's queries."""

QueryKey = tuple[str, int] | tuple[str, int, int]
"""``(language, slot)`` of a query; ``(language, slot, copy)`` of its misspelled copy ``copy``."""

KeyedQueries = list[dict[QueryKey, str]]
"""For each passage, its query texts keyed by ``(language, slot)`` (and misspelled copies by
``(language, slot, copy)``)."""


def encode_and_accumulate_by_language(
    keyed: KeyedQueries, languages: Sequence[str], dim: int, encoder: QueryEncoder, batch_size: int = 64
) -> LanguageSums:
    """Encode each passage's queries once and sum them per passage and language.

    Args:
        keyed: for passage ``i``, its texts keyed by ``(language, slot)``.
        languages: the languages to sum; a query in another language is an error (it would be
            silently dropped from every per-language sum).
        dim: vector dimension.
        encoder: anything with ``encode_queries(texts, batch_size=...)``.
        batch_size: texts per encoder call.

    Example:
        >>> import numpy as np
        >>> class Enc:
        ...     def encode_queries(self, texts, batch_size=64, show_progress=False):
        ...         return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
        >>> sums = encode_and_accumulate_by_language([{("de", 0): "ab", ("ru", 0): "c"}], ["de", "ru"], 2, Enc())
        >>> {lang: (s.tolist(), c.tolist()) for lang, (s, c) in sums.items()}
        {'de': ([[2.0, 1.0]], [1]), 'ru': ([[1.0, 1.0]], [1])}
    """
    position = {lang: i for i, lang in enumerate(languages)}
    sums = np.zeros((len(languages), len(keyed), dim), dtype=np.float32)
    counts = np.zeros((len(languages), len(keyed)), dtype=np.int64)
    flat: list[tuple[int, int, str]] = []  # (language position, passage row, text)
    for row, queries in enumerate(keyed):
        for key, text in sorted(queries.items()):
            lang = key[0]
            if lang not in position:
                raise InputError(
                    f"a query in {lang!r}, not one of the fused languages {', '.join(languages)}: "
                    "list it, or filter the queries by language"
                )
            flat.append((position[lang], row, text))
    for start in range(0, len(flat), batch_size):
        chunk = flat[start : start + batch_size]
        vectors = np.asarray(
            encoder.encode_queries([t for _, _, t in chunk], batch_size=batch_size), np.float32
        )
        lang_rows = np.array([li for li, _, _ in chunk], dtype=np.int64)
        passage_rows = np.array([r for _, r, _ in chunk], dtype=np.int64)
        np.add.at(sums, (lang_rows, passage_rows), vectors)
        np.add.at(counts, (lang_rows, passage_rows), 1)
    return {lang: (sums[i], counts[i]) for i, lang in enumerate(languages)}


def encode_and_accumulate(
    texts_per_passage: Sequence[Sequence[str]], dim: int, encoder: QueryEncoder, batch_size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Encode each passage's query texts and sum them per passage, one encoder batch at a time.

    Args:
        texts_per_passage: for passage ``i``, its query texts.
        dim: vector dimension.
        encoder: anything with ``encode_queries(texts, batch_size=...)``.
        batch_size: texts per encoder call.

    Returns:
        ``(sums, counts)``; memory holds one batch of query vectors at a time.

    Example:
        >>> import numpy as np
        >>> class Enc:
        ...     def encode_queries(self, texts, batch_size=64, show_progress=False):
        ...         return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
        >>> sums, counts = encode_and_accumulate([["ab", "c"], []], 2, Enc(), batch_size=1)
        >>> sums.tolist(), counts.tolist()
        ([[3.0, 2.0], [0.0, 0.0]], [2, 0])
    """
    sums = np.zeros((len(texts_per_passage), dim), dtype=np.float32)
    counts = np.zeros(len(texts_per_passage), dtype=np.int64)
    flat_rows = [i for i, texts in enumerate(texts_per_passage) for _ in texts]
    flat_texts = [t for texts in texts_per_passage for t in texts]
    for start in range(0, len(flat_texts), batch_size):
        chunk = flat_texts[start : start + batch_size]
        vectors = np.asarray(encoder.encode_queries(chunk, batch_size=batch_size), dtype=np.float32)
        accumulate(sums, counts, np.asarray(flat_rows[start : start + batch_size]), vectors)
    return sums, counts


class FixedQuerySource:
    """Query texts given in memory, ``{docid: [text, ...]}`` (real questions for an oracle, tests).

    Args:
        queries: texts per docid; a docid without an entry gets no queries.
        name: label stored in the fingerprint.

    Example:
        >>> FixedQuerySource({"d1": ["who?"]}).texts_for([Passage("d1", "x"), Passage("d2", "y")])
        [['who?'], []]
    """

    def __init__(self, queries: Mapping[str, Sequence[str]], name: str = "fixed") -> None:
        self.queries = {str(k): list(v) for k, v in queries.items()}
        self.name = name

    def fingerprint(self) -> dict[str, Any]:
        import hashlib
        import json

        digest = hashlib.sha256(
            json.dumps(self.queries, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        return {"source": self.name, "sha256": digest[:16]}

    def texts_for(self, passages: Sequence[Passage]) -> list[list[str]]:
        """The query texts of each passage."""
        return [self.queries.get(p.id, []) for p in passages]

    def query_sums(
        self, passages: Sequence[Passage], passage_vectors: np.ndarray, encoder: QueryEncoder, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return encode_and_accumulate(self.texts_for(passages), passage_vectors.shape[1], encoder, batch_size)


def _field(row: dict[str, Any], names: tuple[str, ...], path: Path, line: int) -> Any:
    for name in names:
        if name in row:
            return row[name]
    raise InputError(f"missing field {names[0]!r} (or {', '.join(names[1:])})", path=path, line=line)


def ordered_texts(keyed: KeyedQueries) -> list[list[str]]:
    """Each passage's texts in (language, slot) order.

    Example:
        >>> ordered_texts([{("ru", 0): "b", ("de", 1): "c", ("de", 0): "a"}])
        [['a', 'c', 'b']]
    """
    return [[slots[key] for key in sorted(slots)] for slots in keyed]


class KeyedTextSource:
    """A text source that knows each query's language and slot: a subclass gives :meth:`_keyed`
    (the queries of a batch of passages), and the texts, the sums and the per-language sums all
    come from it (each query encoded once)."""

    def _keyed(self, passages: Sequence[Passage]) -> KeyedQueries:
        raise NotImplementedError

    def texts_for(self, passages: Sequence[Passage]) -> list[list[str]]:
        """Each passage's query texts, ordered by (language, slot)."""
        return ordered_texts(self._keyed(passages))

    def query_sums(
        self, passages: Sequence[Passage], passage_vectors: np.ndarray, encoder: QueryEncoder, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return encode_and_accumulate(self.texts_for(passages), passage_vectors.shape[1], encoder, batch_size)

    def query_sums_by_language(
        self,
        passages: Sequence[Passage],
        passage_vectors: np.ndarray,
        encoder: QueryEncoder,
        batch_size: int,
        languages: Sequence[str],
    ) -> LanguageSums:
        """The sums of each language's queries (see :func:`encode_and_accumulate_by_language`)."""
        keyed = self._keyed(passages)
        return encode_and_accumulate_by_language(
            keyed, languages, passage_vectors.shape[1], encoder, batch_size
        )


class FixedKeyedSource(KeyedTextSource):
    """Keyed query texts given in memory, ``{docid: {(lang, slot): text}}`` (tests, examples)."""

    def __init__(self, queries: Mapping[str, Mapping[tuple[str, int], str]]) -> None:
        self.queries = {str(k): dict(v) for k, v in queries.items()}

    def fingerprint(self) -> dict[str, Any]:
        return FixedQuerySource(
            {
                d: [f"{lang}|{slot}|{t}" for (lang, slot), t in sorted(q.items())]
                for d, q in self.queries.items()
            },
            name="fixed-keyed",
        ).fingerprint()

    def _keyed(self, passages: Sequence[Passage]) -> KeyedQueries:
        return [dict(self.queries.get(p.id, {})) for p in passages]


class GeneratedQueriesFile(KeyedTextSource):
    """Generated queries from JSONL rows ``{"docid", "lang", "slot", "query"}`` (output of ``xqg generate``).

    ``id``/``doc_id`` are accepted for ``docid`` and ``text`` for ``query``. A folder is read as all its
    ``*.jsonl``/``*.jsonl.gz`` files (recursively, sorted). Only rows of the docids asked for are kept,
    so memory is bounded by a shard. A repeated ``(docid, lang, slot)`` is an error naming the line.

    Args:
        path: a JSONL file or a folder of them.
        languages: keep only these languages (``None``: all).
        per_language: if set, every (passage, language) must have exactly this many queries.

    Example:
        >>> import tempfile, pathlib, json
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "gen.jsonl"
        >>> _ = p.write_text(json.dumps({"docid": "d1", "lang": "de", "slot": 0, "query": "Wer?"}) + "\\n")
        >>> GeneratedQueriesFile(p).texts_for([Passage("d1", "x")])
        [['Wer?']]
    """

    def __init__(
        self, path: str | Path, languages: Sequence[str] | None = None, per_language: int | None = None
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError("generated-queries file not found", path=self.path)
        self.languages = None if languages is None else sorted(languages)
        self.per_language = per_language
        self._prepared: dict[str, dict[tuple[str, int], str]] = {}

    def files(self) -> list[Path]:
        """The JSONL files read, in order."""
        if self.path.is_dir():
            found = sorted(
                p for p in self.path.rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz")) and p.is_file()
            )
            if not found:
                raise InputError("no *.jsonl files in the generated-queries folder", path=self.path)
            return found
        return [self.path]

    def fingerprint(self) -> dict[str, Any]:
        content = (
            folder_identity(self.path, (".jsonl", ".jsonl.gz"))
            if self.path.is_dir()
            else file_identity(self.path)
        )
        self.files()  # a folder without query files is an error here already
        return {
            "source": "generated-file",
            "content": content,
            "languages": self.languages,
            "per_language": self.per_language,
        }

    def keyed_queries(self, passages: Sequence[Passage]) -> KeyedQueries:
        """Each passage's query texts keyed by ``(language, slot)``, read from the file(s)."""

        wanted = {p.id: i for i, p in enumerate(passages)}
        found: list[dict[tuple[str, int], str]] = [{} for _ in passages]
        for path in self.files():
            for line, row in iter_jsonl(path):
                docid = str(_field(row, ("docid", "doc_id", "id"), path, line))
                if docid not in wanted:
                    continue
                lang = str(_field(row, ("lang", "language"), path, line))
                if self.languages is not None and lang not in self.languages:
                    continue
                slot = _field(row, ("slot",), path, line)
                text = _field(row, ("query", "text"), path, line)
                if not isinstance(text, str) or not isinstance(slot, int):
                    raise InputError("'query' must be a string and 'slot' an integer", path=path, line=line)
                slots = found[wanted[docid]]
                if (lang, slot) in slots:
                    raise InputError(
                        f"duplicate query for docid {docid!r}, lang {lang!r}, slot {slot}",
                        path=path,
                        line=line,
                    )
                slots[(lang, slot)] = text
        if self.per_language is not None:
            langs = self.languages
            for p, slots in zip(passages, found, strict=True):
                per_lang: dict[str, int] = {}
                for lang, _ in slots:
                    per_lang[lang] = per_lang.get(lang, 0) + 1
                for lang in langs or sorted(per_lang):
                    if per_lang.get(lang, 0) != self.per_language:
                        raise InputError(
                            f"docid {p.id!r} has {per_lang.get(lang, 0)} generated queries in {lang!r}, "
                            f"expected {self.per_language}",
                            path=self.path,
                        )
        return found

    def prepare(self, passages: Sequence[Passage]) -> None:
        """Read the queries of a whole shard in one pass over the file(s) (called by the worker per shard)."""
        self._prepared = dict(zip((p.id for p in passages), self.keyed_queries(passages), strict=True))

    def _keyed(self, passages: Sequence[Passage]) -> KeyedQueries:
        # the shard's queries when prepare() read them, else a pass over the file(s)
        if all(p.id in self._prepared for p in passages):
            return [self._prepared[p.id] for p in passages]
        return self.keyed_queries(passages)


class GeneratorQuerySource(KeyedTextSource):
    """Generate queries in-process (``generator.generate(passages, languages, n, seed, top_k)``).

    The generator's output is accepted as ``{docid: {lang: [text, ...]}}`` or as an iterable of records
    with ``docid``/``lang``/``slot``/``query`` (attributes or keys).

    Args:
        generator: an object from :func:`xqg.generate.load_generator`.
        languages: target languages.
        n: queries per passage per language (the paper: 5).
        seed: base seed (the generator derives per-passage seeds from it).
        top_k: top-k sampling.
        generator_id: name of the generator for the fingerprint.
    """

    def __init__(
        self,
        generator: Any,
        languages: Sequence[str],
        n: int = 5,
        seed: int = 0,
        top_k: int = 10,
        generator_id: str = "generator",
    ) -> None:
        self.generator = generator
        self.languages = list(languages)
        self.n = n
        self.seed = seed
        self.top_k = top_k
        self.generator_id = generator_id

    def fingerprint(self) -> dict[str, Any]:
        return {
            "source": "generator",
            "generator": self.generator_id,
            "languages": self.languages,
            "n": self.n,
            "seed": self.seed,
            "top_k": self.top_k,
            # a store never mixes queries generated at two precisions (float32 left out: older stores)
            **({"precision": self.generator.precision} if self.generator.precision != "float32" else {}),
        }

    def keyed_queries(self, passages: Sequence[Passage]) -> KeyedQueries:
        """Generate each passage's query texts, keyed by ``(language, slot)``."""
        out = self.generator.generate(
            list(passages), languages=self.languages, n=self.n, seed=self.seed, top_k=self.top_k
        )
        return keyed_queries_from_generator_output(out, passages)

    def _keyed(self, passages: Sequence[Passage]) -> KeyedQueries:
        return self.keyed_queries(passages)  # generated afresh for every batch


def _get(record: Any, *names: str) -> Any:
    for name in names:
        if isinstance(record, Mapping) and name in record:
            return record[name]
        if hasattr(record, name):
            return getattr(record, name)
    raise InputError(f"generator output record has no {names[0]!r}: {record!r}")


def texts_from_generator_output(output: Any, passages: Sequence[Passage]) -> list[list[str]]:
    """Normalise a generator's output into each passage's texts, ordered by (language, slot).

    Accepts ``{docid: {lang: [text, ...]}}``, ``(docid, lang, slot, text)`` tuples (what
    :meth:`xqg.generate.QueryGenerator.generate` yields) or records with those fields.

    Example:
        >>> texts_from_generator_output([("d", "de", 1, "b"), ("d", "de", 0, "a")], [Passage("d", "x")])
        [['a', 'b']]
        >>> texts_from_generator_output({"d": {"fr": ["b", "c"], "de": ["a"]}}, [Passage("d", "x")])
        [['a', 'b', 'c']]
    """
    return ordered_texts(keyed_queries_from_generator_output(output, passages))


def keyed_queries_from_generator_output(output: Any, passages: Sequence[Passage]) -> KeyedQueries:
    """A generator's output as each passage's texts keyed by ``(language, slot)`` (formats as in
    :func:`texts_from_generator_output`).

    Example:
        >>> keyed_queries_from_generator_output([("d", "de", 0, "a")], [Passage("d", "x")])
        [{('de', 0): 'a'}]
    """
    by_doc: dict[str, dict[tuple[str, int], str]] = {p.id: {} for p in passages}
    if isinstance(output, Mapping):
        for docid, langs in output.items():
            for lang, texts in langs.items():
                for slot, text in enumerate(texts):
                    by_doc.setdefault(str(docid), {})[(str(lang), slot)] = str(text)
    else:
        records: Iterable[Any] = output
        for rec in records:
            if isinstance(rec, tuple) and len(rec) == 4 and not hasattr(rec, "_fields"):
                docid, lang, slot, text = rec  # QueryGenerator.generate yields (docid, lang, slot, text)
                by_doc.setdefault(str(docid), {})[(str(lang), int(slot))] = str(text)
                continue
            docid = str(_get(rec, "docid", "doc_id", "passage_id", "id"))
            key = (str(_get(rec, "lang", "language")), int(_get(rec, "slot")))
            by_doc.setdefault(docid, {})[key] = str(_get(rec, "query", "text"))
    unknown = set(by_doc) - {p.id for p in passages}
    if unknown:
        raise InputError(
            f"generator returned queries for docids it was not given, e.g. {sorted(unknown)[0]!r}"
        )
    return [by_doc[p.id] for p in passages]


class PredictedQuerySource:
    """Fusion without text: predict each language's query embedding from the passage vector.

    The sum for a passage is ``n · Σ_l f_l(E(p))`` and its count ``n · len(languages)``: exactly what a
    generator whose ``n`` queries per language all embed to the predicted point would give, so α has
    the same meaning as with generated text.

    Args:
        predictor: a :class:`xqg.fuse.predictor.QueryEmbeddingPredictor`.
        languages: languages to predict (default: all the predictor knows).
        n: queries each prediction stands for.
    """

    def __init__(self, predictor: Any, languages: Sequence[str] | None = None, n: int = 5) -> None:
        self.predictor = predictor
        self.languages = list(languages) if languages is not None else list(predictor.languages)
        self.n = n

    def fingerprint(self) -> dict[str, Any]:
        return {
            "source": "predicted",
            "predictor": self.predictor.fingerprint(),
            "languages": self.languages,
            "n": self.n,
        }

    def query_sums(
        self, passages: Sequence[Passage], passage_vectors: np.ndarray, encoder: QueryEncoder, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        total = np.zeros_like(passage_vectors, dtype=np.float32)
        for lang in self.languages:
            total += self.predictor.predict(passage_vectors, lang)
        counts = np.full(len(passages), self.n * len(self.languages), dtype=np.int64)
        return (self.n * total).astype(np.float32), counts

    def query_sums_by_language(
        self,
        passages: Sequence[Passage],
        passage_vectors: np.ndarray,
        encoder: QueryEncoder,
        batch_size: int,
        languages: Sequence[str],
    ) -> LanguageSums:
        """Per language ``n · f_l(E(p))`` with count ``n``."""
        unknown = sorted(set(languages) - set(self.predictor.languages))
        if unknown:
            raise InputError(
                f"the predictor knows no {', '.join(unknown)} (it has {self.predictor.languages})"
            )
        counts = np.full(len(passages), self.n, dtype=np.int64)
        return {
            lang: ((self.n * self.predictor.predict(passage_vectors, lang)).astype(np.float32), counts.copy())
            for lang in languages
        }
