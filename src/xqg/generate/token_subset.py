"""The tokens a causal-LM generator may write: its training text's tokens, plus byte fallbacks.

A multilingual LM's output layer is its largest: Gemma 3 270M scores 262,144 tokens for each
position, which costs more than its 18 transformer layers when it learns or writes a 25-token
question on a CPU (docs/generator.md). Vocabulary trimming (Ushio, Zhou, Camacho-Collados 2023:
keep only the tokens of the languages at hand) removes that cost: the generator scores only the
tokens seen in its training text (questions and passages, in every language it is trained for;
about 47k for an XQuAD fold in 11 languages), the end-of-sequence token, and the byte-fallback
tokens (``<0x00>`` ... ``<0xFF>``), so that any string can still be spelled. At generation the
tokens of the passage being read are allowed as well, for the names and numbers it carries.

The subset is stored in the generator folder (``output_tokens.json``), so training and generation
score the same tokens.

Example:
    >>> subset = TokenSubset.from_ids([9, 4, 4, 7])
    >>> subset.ids, 7 in subset
    ([4, 7, 9], True)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex

from xqg.data.atomic import atomic_write_json
from xqg.errors import InputError

#: File name of the subset inside a generator folder.
TOKEN_SUBSET_FILE = "output_tokens.json"
_BYTE_TOKEN = regex.compile(r"^<0x[0-9A-Fa-f]{2}>$")


@dataclass(frozen=True)
class TokenSubset:
    """A sorted set of tokenizer ids.

    Args:
        ids: the token ids (sorted, unique).
    """

    ids: list[int]

    @classmethod
    def from_ids(cls, ids: Iterable[int]) -> TokenSubset:
        return cls(sorted({int(i) for i in ids}))

    def __contains__(self, token_id: object) -> bool:
        return token_id in self._members

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def _members(self) -> frozenset[int]:
        cached = self.__dict__.get("_member_set")
        if cached is None:
            cached = frozenset(self.ids)
            object.__setattr__(self, "_member_set", cached)
        return cached

    def save(self, folder: str | Path) -> Path:
        """Write ``folder/output_tokens.json``."""
        path = Path(folder) / TOKEN_SUBSET_FILE
        atomic_write_json(path, {"ids": self.ids})
        return path

    @classmethod
    def load(cls, folder: str | Path) -> TokenSubset:
        """Read ``folder/output_tokens.json``.

        Raises:
            InputError: a missing or malformed file.
        """
        path = Path(folder) / TOKEN_SUBSET_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            ids = data["ids"]
            if not isinstance(ids, list) or not all(isinstance(i, int) and i >= 0 for i in ids):
                raise ValueError("'ids' must be a list of token ids")
        except FileNotFoundError:
            raise InputError("the generator folder has no output token subset", path=str(path)) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"bad output token subset: {exc}", path=str(path)) from None
        return cls.from_ids(ids)


def byte_fallback_ids(tokenizer: Any) -> list[int]:
    """The ids of the tokenizer's byte-fallback tokens (``<0x00>`` ... ``<0xFF>``), if it has them."""
    vocab = tokenizer.get_vocab()
    return sorted(i for piece, i in vocab.items() if _BYTE_TOKEN.match(piece))


def build_token_subset(
    tokenizer: Any, texts: Iterable[str], extra_ids: Sequence[int] = (), batch_size: int = 512
) -> TokenSubset:
    """The tokens of ``texts`` (as the generator tokenizes them, with and without a leading space),
    plus ``extra_ids``, the end-of-sequence token and the byte fallbacks.

    Args:
        tokenizer: the generator's tokenizer.
        texts: training questions and passages (any languages).
        extra_ids: more ids to keep.
        batch_size: texts tokenized at a time.

    Example:
        >>> from xqg.generate.testing import tiny_tokenizer
        >>> tok = tiny_tokenizer()
        >>> subset = build_token_subset(tok, ["ab"])
        >>> sorted(tok.convert_ids_to_tokens(subset.ids))
        ['</s>', 'a', 'b', '▁']
    """
    ids: set[int] = set(int(i) for i in extra_ids)
    chunk: list[str] = []

    def flush() -> None:
        if chunk:
            for row in tokenizer(chunk, add_special_tokens=False)["input_ids"]:
                ids.update(row)
            chunk.clear()

    for text in texts:
        if text:
            # a question follows its instruction after a space: keep both word-initial forms
            chunk.extend((text, " " + text))
            if len(chunk) >= batch_size:
                flush()
    flush()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    ids.update(byte_fallback_ids(tokenizer))
    return TokenSubset.from_ids(ids)
