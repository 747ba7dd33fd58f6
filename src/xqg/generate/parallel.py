"""Translation pairs for the default generator, from parallel paragraphs of the training split.

A cross-lingual query generator has to *translate*: a question in Greek about an English paragraph
shares almost no pieces with it (2-17 % for XQuAD's non-English questions, docs/generator.md), and
the embedded default generator (a decoder warm-started from an encoder, no translation data
offline) learns question form and language but not the paragraph's content in another language.
Where the training paragraphs exist in the target languages too (XQuAD's are professional
translations), their sentences are parallel text: :func:`translation_examples` turns them into
extra ``(English sentence -> sentence in L)`` training triples that the generator trains on beside
the ``(English paragraph -> question in L)`` ones.

Sentences are paired by position inside a paragraph only when both sides split into the same number
of sentences (so a pair is a translation, not a neighbour); paragraphs that do not line up are
skipped, and so are languages whose script does not mark sentence ends (Thai).

Example:
    >>> contexts = {"0-0": {"en": "Paris is a big city. It is very old.", "de": "Paris ist groß. Es ist alt."}}
    >>> [(ex.passage.text, ex.lang, ex.query) for ex in translation_examples(contexts, ["0-0"], ["de"])]
    [('Paris is a big city.', 'de', 'Paris ist groß.'), ('It is very old.', 'de', 'Es ist alt.')]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from xqg.data.records import Passage, RetrievalDataset
from xqg.data.xquad import load_xquad_contexts
from xqg.generate.examples import GeneratorExample

#: A sentence ends at . ! ? followed by white space, or at a CJK/Devanagari/Arabic end mark.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+|(?<=[。！？।؟۔])\s*")
#: Languages whose text does not mark sentence ends with punctuation.
UNSEGMENTED = frozenset({"th"})


def split_parallel_sentences(text: str) -> list[str]:
    """Split a paragraph of any XQuAD language into sentences (for positional pairing only).

    Example:
        >>> split_parallel_sentences("北京很大。上海也很大！ Yes.")
        ['北京很大。', '上海也很大！', 'Yes.']
    """
    return [part.strip() for part in _BOUNDARY.split(text) if part.strip()]


def translation_examples(
    contexts: Mapping[str, Mapping[str, str]],
    paragraph_ids: Iterable[str],
    languages: Sequence[str],
    source_language: str = "en",
    min_chars: int = 12,
) -> list[GeneratorExample]:
    """``(source sentence, lang, sentence in lang)`` triples from parallel paragraphs.

    Args:
        contexts: ``{paragraph id: {lang: text}}`` (e.g. :func:`xqg.data.xquad.load_xquad_contexts`).
        paragraph_ids: the paragraphs to use: the generator's *training* paragraphs only, never the
            evaluated ones.
        languages: target languages (the source language and unsegmented scripts are skipped).
        source_language: the language of the passages the generator reads.
        min_chars: drop pairs whose source sentence is shorter (headings, list debris).

    Returns:
        Triples in paragraph, language, sentence order; the passage id is
        ``"{paragraph id}#s{sentence}"``.
    """
    out: list[GeneratorExample] = []
    targets = [lang for lang in languages if lang != source_language and lang not in UNSEGMENTED]
    for pid in paragraph_ids:
        texts = contexts.get(pid, {})
        if source_language not in texts:
            continue
        source = split_parallel_sentences(texts[source_language])
        for lang in targets:
            if lang not in texts:
                continue
            target = split_parallel_sentences(texts[lang])
            if len(target) != len(source):
                continue
            for i, (src, tgt) in enumerate(zip(source, target, strict=True)):
                if len(src) >= min_chars:
                    out.append(GeneratorExample(Passage(f"{pid}#s{i}", src), lang, tgt))
    return out


def xquad_translation_examples(train: RetrievalDataset, languages: Sequence[str]) -> list[GeneratorExample]:
    """:func:`translation_examples` of an XQuAD training split: its own paragraphs only (``train.corpus``:
    a split by articles holds only its articles' paragraphs), from the XQuAD files' translations.

    Example:
        >>> from xqg.data import load_xquad, split_by_articles  # doctest: +SKIP
        >>> train = split_by_articles(load_xquad(["de"]), ["0", "1"])  # doctest: +SKIP
        >>> len(xquad_translation_examples(train, ["de"])) > 0  # doctest: +SKIP
        True
    """
    contexts = load_xquad_contexts([lang for lang in languages if lang != "en"])
    return translation_examples(contexts, [p.id for p in train.corpus], languages)


def question_translation_examples(
    train: RetrievalDataset, languages: Sequence[str], source_language: str = "en"
) -> list[GeneratorExample]:
    """``(question in the source language -> the same question in L)`` triples of a training split.

    Where a dataset's questions are translations of each other (XQuAD: ids ``{question}/{lang}``),
    each training question gives parallel text in exactly the generator's output form: the source
    language's question as input, its translation as the target. Only ``train``'s own questions are
    used (a split by articles holds only its articles' questions).

    Example:
        >>> from xqg.data.records import Query
        >>> qs = {"en": [Query("q1/en", "Who?", "en")], "de": [Query("q1/de", "Wer?", "de")]}
        >>> ds = RetrievalDataset("xquad", [Passage("p", "x")], qs, {"q1/en": {"p": 1}, "q1/de": {"p": 1}})
        >>> [(ex.passage.text, ex.lang, ex.query) for ex in question_translation_examples(ds, ["de"])]
        [('Who?', 'de', 'Wer?')]
    """
    source = {q.id.split("/")[0]: q for q in train.queries.get(source_language, [])}
    out: list[GeneratorExample] = []
    for lang in languages:
        if lang == source_language:
            continue
        for query in train.queries.get(lang, []):
            group = query.id.split("/")[0]
            if group in source:
                out.append(GeneratorExample(Passage(f"{group}#q", source[group].text), lang, query.text))
    return out
