"""Fusion that meets misspelled questions halfway: generated queries plus seeded one-typo copies.

Each generated query is fused together with ``copies`` misspelled versions of itself (the rules of
:mod:`xqg.typos`), in the same passage and language, so that the passage's vector moves toward how its
questions look when a user misspells them. Offline like all fusion: the index and the query latency do
not change. ``xqg fuse --misspelled-copies`` (:class:`MisspelledCopiesSource`) and the ``+xqg-typos``
passages of ``xqg run`` use the same copies (:func:`misspelled_copies`). Measured on XQuAD (docs/experiments.md,
issue 19): it does not add robustness beyond plain xQG fusion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xqg.data.records import Passage
from xqg.errors import ConfigError
from xqg.fuse.query_sources import KeyedQueries, KeyedTextSource, QueryKey
from xqg.seeding import derive_seed


def misspelled_copies(docid: str, lang: str, slot: int, text: str, copies: int, seed: int) -> list[str]:
    """The ``copies`` seeded one-typo copies of one generated query (fusion with misspellings).

    Copy ``c`` is :func:`xqg.typos.misspell` with seed ``derive_seed(seed, "docid|lang|slot", c)``, so
    it depends on the query's key, the seed and ``c`` only (the same in any shard or process).

    Args:
        docid: the query's passage.
        lang: its language (picks the keyboard and script rules).
        slot: its slot among the passage's queries in ``lang``.
        text: the generated query.
        copies: how many copies.
        seed: base seed.

    Example:
        >>> out = misspelled_copies("d1", "de", 0, "Wer schrieb den Faust?", 2, seed=0)
        >>> len(out), out[0] != "Wer schrieb den Faust?"
        (2, True)
    """
    from xqg.typos import misspell  # imported when used: the typo rules load their resources

    key = f"{docid}|{lang}|{slot}"
    return [misspell(text, lang, derive_seed(seed, key, c)) for c in range(copies)]


class MisspelledCopiesSource(KeyedTextSource):
    """Another text source's queries plus ``copies`` seeded one-typo copies of each
    (:func:`misspelled_copies`), fused into the same passage and language (``xqg fuse
    --misspelled-copies``; the ``+xqg-typos`` passages of ``xqg run``).

    Args:
        inner: the source of the clean queries (a generated-queries file, an in-process generator).
        copies: misspelled copies per query (>= 1).
        seed: base seed of the misspellings.

    Example:
        >>> from xqg.fuse.query_sources import FixedKeyedSource
        >>> clean = FixedKeyedSource({"d1": {("de", 0): "Wer schrieb den Faust?"}})
        >>> texts = MisspelledCopiesSource(clean, copies=1, seed=0).texts_for([Passage("d1", "x")])
        >>> len(texts[0]), texts[0][0]
        (2, 'Wer schrieb den Faust?')
    """

    def __init__(self, inner: KeyedTextSource, copies: int, seed: int = 0) -> None:
        if copies < 1:
            raise ConfigError(f"misspelled copies must be >= 1, got {copies}")
        self.inner = inner
        self.copies = copies
        self.seed = seed

    def fingerprint(self) -> dict[str, Any]:
        return {**self.inner.fingerprint(), "misspelled_copies": self.copies, "typo_seed": self.seed}  # type: ignore[attr-defined]

    def prepare(self, passages: Sequence[Passage]) -> None:
        """Let the inner source read a whole shard at once, where it can."""
        prepare = getattr(self.inner, "prepare", None)
        if prepare is not None:
            prepare(passages)

    def _keyed(self, passages: Sequence[Passage]) -> KeyedQueries:
        out: KeyedQueries = []
        for passage, queries in zip(passages, self.inner._keyed(passages), strict=True):
            row: dict[QueryKey, str] = dict(queries)
            for (lang, slot, *_), text in queries.items():
                for c, typo in enumerate(
                    misspelled_copies(passage.id, lang, slot, text, self.copies, self.seed)
                ):
                    row[(lang, slot, c)] = typo
            out.append(row)
        return out
