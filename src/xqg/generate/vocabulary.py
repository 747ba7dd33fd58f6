"""A reduced output vocabulary for the decoder, with per-language token subsets.

The default generator's decoder does not predict over all 250k XLM-R pieces: it predicts over the
pieces seen in the training text of the target languages (tens of thousands), and, when writing
language ``L``, only over the pieces seen in ``L``'s text (a few thousand) plus shared specials.
That is both the lever that makes the output softmax cheap and a hard constraint that keeps the
output in the right language and script. :class:`OutputVocabulary` keeps the mapping between the
*small* ids the decoder uses and the *full* ids of the tokenizer, so decoding goes back to text
through the original tokenizer.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xqg.data.atomic import atomic_write_json
from xqg.errors import InputError

#: File name of the vocabulary inside a generator folder.
VOCABULARY_FILE = "output_vocabulary.json"


@dataclass
class OutputVocabulary:
    """Small decoder vocabulary: kept tokenizer ids, one start token per language, per-language subsets.

    Small ids ``0 .. len(full_ids) - 1`` stand for the tokenizer ids ``full_ids``; the next
    ``len(languages)`` small ids are the language start tokens (``<2ar>``, ``<2de>`` ... as in mBART),
    which only ever start the decoder and are never predicted.

    Args:
        full_ids: the kept tokenizer ids, in small-id order (specials first).
        languages: language codes, in the order of their start tokens.
        language_ids: for each language, the small ids it may predict (sorted).
        pad_id, eos_id, unk_id: the tokenizer's special ids (kept in ``full_ids``).

    Example:
        >>> v = OutputVocabulary.build({"de": [[5, 9, 9]], "fr": [[7]]}, special_ids=[1, 2, 3],
        ...                            pad_id=1, eos_id=2, unk_id=3)
        >>> v.full_ids, v.start_id("fr")
        ([1, 2, 3, 5, 7, 9], 7)
        >>> v.to_full(v.to_small([9, 5, 42]))
        [9, 5, 3]
    """

    full_ids: list[int]
    languages: list[str]
    language_ids: dict[str, list[int]]
    pad_id: int
    eos_id: int
    unk_id: int

    def __post_init__(self) -> None:
        self._small_of = {full: small for small, full in enumerate(self.full_ids)}
        self._full = np.asarray(self.full_ids, dtype=np.int64)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        token_ids_by_lang: Mapping[str, Iterable[Sequence[int]]],
        special_ids: Sequence[int],
        pad_id: int,
        eos_id: int,
        unk_id: int,
        shared_ids: Iterable[int] = (),
        min_count: int = 1,
    ) -> OutputVocabulary:
        """Collect the ids that occur in each language's tokenised text.

        Args:
            token_ids_by_lang: ``{lang: token-id sequences}`` (questions and passages in that language).
            special_ids: ids kept for every language (pad, eos, unk ...; listed first).
            pad_id, eos_id, unk_id: the special ids the decoder uses.
            shared_ids: further ids every language may use (digits, punctuation).
            min_count: a piece must occur this often in a language to enter its subset.

        Example:
            >>> OutputVocabulary.build({"en": [[4, 4, 8]]}, [0, 2], 0, 2, 0, min_count=2).full_ids
            [0, 2, 4]
        """
        specials = list(dict.fromkeys(int(i) for i in special_ids))
        shared = sorted(set(int(i) for i in shared_ids) - set(specials))
        per_lang: dict[str, set[int]] = {}
        for lang, sequences in token_ids_by_lang.items():
            counts: Counter[int] = Counter()
            for seq in sequences:
                counts.update(int(i) for i in seq)
            per_lang[lang] = {i for i, c in counts.items() if c >= min_count} - set(specials)
        if not per_lang:
            raise InputError("an output vocabulary needs text in at least one language")
        body = sorted(set().union(*per_lang.values(), shared) - set(specials))
        full_ids = specials + body
        small_of = {full: small for small, full in enumerate(full_ids)}
        keep_special = [small_of[i] for i in specials if i != pad_id]
        languages = sorted(per_lang)
        language_ids = {
            lang: sorted(set(keep_special) | {small_of[i] for i in per_lang[lang] | set(shared)})
            for lang in languages
        }
        return cls(full_ids, languages, language_ids, int(pad_id), int(eos_id), int(unk_id))

    # -- sizes and ids ------------------------------------------------------------------------
    @property
    def num_tokens(self) -> int:
        """Predictable tokens (the kept tokenizer ids)."""
        return len(self.full_ids)

    @property
    def size(self) -> int:
        """Rows of the decoder's embedding: kept tokens + one start token per language."""
        return len(self.full_ids) + len(self.languages)

    def start_id(self, lang: str) -> int:
        """Small id of the start token of ``lang``."""
        try:
            return len(self.full_ids) + self.languages.index(lang)
        except ValueError:
            raise InputError(
                f"the generator has no start token for language {lang!r}; it knows {', '.join(self.languages)}"
            ) from None

    def allowed(self, lang: str) -> list[int]:
        """Small ids the decoder may predict when writing ``lang``."""
        self.start_id(lang)
        return self.language_ids[lang]

    @property
    def small_pad(self) -> int:
        return self._small_of[self.pad_id]

    @property
    def small_eos(self) -> int:
        return self._small_of[self.eos_id]

    @property
    def small_unk(self) -> int:
        return self._small_of[self.unk_id]

    # -- mapping ------------------------------------------------------------------------------
    def to_small(self, full_ids: Iterable[int]) -> list[int]:
        """Map tokenizer ids to small ids; ids outside the vocabulary become the unknown token."""
        unk = self.small_unk
        return [self._small_of.get(int(i), unk) for i in full_ids]

    def to_full(self, small_ids: Iterable[int]) -> list[int]:
        """Map small ids back to tokenizer ids (language start tokens are not text: an error)."""
        out = []
        for i in small_ids:
            i = int(i)
            if not 0 <= i < len(self.full_ids):
                raise ValueError(f"small id {i} is not a text token (vocabulary has {len(self.full_ids)})")
            out.append(self.full_ids[i])
        return out

    def coverage(self, full_ids: Iterable[int]) -> float:
        """Share of ``full_ids`` the vocabulary holds (1.0 for an empty input)."""
        ids = list(full_ids)
        return 1.0 if not ids else sum(int(i) in self._small_of for i in ids) / len(ids)

    # -- files --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "full_ids": self.full_ids,
            "languages": self.languages,
            "language_ids": self.language_ids,
            "pad_id": self.pad_id,
            "eos_id": self.eos_id,
            "unk_id": self.unk_id,
        }

    def save(self, folder: str | Path) -> None:
        """Write ``output_vocabulary.json`` into ``folder``."""
        atomic_write_json(Path(folder) / VOCABULARY_FILE, self.to_dict(), indent=None)

    @classmethod
    def load(cls, folder: str | Path) -> OutputVocabulary:
        """Read ``output_vocabulary.json`` from ``folder``."""
        path = Path(folder) / VOCABULARY_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                [int(i) for i in data["full_ids"]],
                list(data["languages"]),
                {k: [int(i) for i in v] for k, v in data["language_ids"].items()},
                int(data["pad_id"]),
                int(data["eos_id"]),
                int(data["unk_id"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"cannot read output vocabulary: {exc}", path=str(path)) from None
