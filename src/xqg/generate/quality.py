"""Quality measures of generated questions: chrF, right script, right language, diversity, repetition.

* :func:`sentence_chrf`: character n-gram F-score (Popović 2015; n = 1..6, beta = 2, whitespace
  removed, as sacrebleu's default chrF), against the best of several references.
* :func:`script_share`: share of an output's letters that are in the language's script.
* :class:`LanguageIdentifier`: a character 1-3-gram profile classifier fitted on real questions
  (tells Spanish from German, which a script test cannot).
* :func:`distinct_n` and :func:`repetition_rate`: diversity across outputs and repeated n-grams
  within an output (the failure of the first probe: "¿Qué qué el la el los ...").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import regex

from xqg.data.languages import get_language

_SCRIPT_PATTERN = {
    "Japanese": r"[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]",
    "Hangul": r"\p{Script=Hangul}",
}


def _ngrams(text: str, n: int) -> Counter[str]:
    return Counter(text[i : i + n] for i in range(len(text) - n + 1))


def sentence_chrf(hypothesis: str, references: Sequence[str], order: int = 6, beta: float = 2.0) -> float:
    """chrF (0-100) of one hypothesis against the best-matching reference.

    Args:
        hypothesis: generated text.
        references: one or more real texts.
        order: maximum character n-gram order.
        beta: recall weight.

    Example:
        >>> sentence_chrf("Wer ist das?", ["Wer ist das?"])
        100.0
        >>> 0 < sentence_chrf("Wer war das?", ["Wer ist das?", "Wo?"]) < 100
        True
    """
    hyp = regex.sub(r"\s+", "", hypothesis)
    best = 0.0
    for ref in references:
        ref = regex.sub(r"\s+", "", ref)
        precisions, recalls = [], []
        for n in range(1, order + 1):
            h, r = _ngrams(hyp, n), _ngrams(ref, n)
            if not h or not r:
                continue
            match = sum((h & r).values())
            precisions.append(match / sum(h.values()))
            recalls.append(match / sum(r.values()))
        if not precisions:
            continue
        p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
        if p + r == 0:
            continue
        score = (1 + beta**2) * p * r / (beta**2 * p + r) * 100
        best = max(best, score)
    return round(best, 4)


def script_share(text: str, lang: str) -> float:
    """Share of the letters of ``text`` written in ``lang``'s script (1.0 when there are no letters).

    Example:
        >>> script_share("Кто это?", "ru"), script_share("Who?", "ru")
        (1.0, 0.0)
    """
    script = get_language(lang).script
    letters = regex.findall(r"\p{L}", text)
    if not letters:
        return 1.0
    pattern = regex.compile(_SCRIPT_PATTERN.get(script, rf"\p{{Script={script}}}"))
    return sum(bool(pattern.match(ch)) for ch in letters) / len(letters)


def _units(text: str, lang: str) -> list[str]:
    """Words for languages with spaces, characters (letters and digits) for the others."""
    if get_language(lang).spaces:
        return regex.findall(r"\w+", text.lower())
    return regex.findall(r"[\p{L}\p{N}]", text)


def distinct_n(texts: Iterable[str], lang: str, n: int = 2) -> float:
    """Unique n-grams / all n-grams over ``texts`` (words, or characters for ja/zh/th); 0 when none.

    Example:
        >>> distinct_n(["a b c", "a b d"], "en", 2)
        0.75
    """
    grams: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        units = _units(text, lang)
        grams.update(tuple(units[i : i + n]) for i in range(len(units) - n + 1))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


def repetition_rate(texts: Sequence[str], lang: str) -> float:
    """Share of outputs that repeat a unit in a row or repeat a unit bigram ("qué qué", "el la el la").

    Example:
        >>> repetition_rate(["¿Qué qué es?", "¿Quién es?"], "es")
        0.5
    """
    if not texts:
        return 0.0
    bad = 0
    for text in texts:
        units = _units(text, lang)
        if not get_language(lang).spaces:
            units = ["".join(units[i : i + 2]) for i in range(0, len(units) - 1)]
        bigrams = [tuple(units[i : i + 2]) for i in range(len(units) - 1)]
        consecutive = (
            any(a == b for a, b in zip(units, units[1:], strict=False))
            if get_language(lang).spaces
            else False
        )
        if consecutive or len(bigrams) != len(set(bigrams)):
            bad += 1
    return bad / len(texts)


class LanguageIdentifier:
    """Nearest-profile language identification over character 1-3-grams (cosine, tf-idf weighted).

    Args:
        texts_by_lang: ``{lang: example texts}`` (e.g. real training questions).

    Example:
        >>> lid = LanguageIdentifier({"de": ["Wer ist das?", "Wie alt ist er?"], "es": ["¿Quién es?", "¿Cuántos años tiene?"]})
        >>> lid.predict("Wer war er?"), lid.predict("¿Quién fue?")
        ('de', 'es')
    """

    def __init__(self, texts_by_lang: Mapping[str, Iterable[str]]) -> None:
        raw = {lang: self._features(" ".join(texts)) for lang, texts in texts_by_lang.items()}
        df: Counter[str] = Counter()
        for counts in raw.values():
            df.update(counts.keys())
        n = len(raw)
        self.idf = {g: math.log((1 + n) / (1 + d)) + 1 for g, d in df.items()}
        self.profiles = {lang: self._normalise(counts) for lang, counts in raw.items()}

    @staticmethod
    def _features(text: str) -> Counter[str]:
        text = " " + regex.sub(r"\s+", " ", text.lower()) + " "
        counts: Counter[str] = Counter()
        for n in (1, 2, 3):
            counts.update(_ngrams(text, n))
        return counts

    def _normalise(self, counts: Counter[str]) -> dict[str, float]:
        weights = {g: c * self.idf.get(g, 0.0) for g, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {g: w / norm for g, w in weights.items()}

    def predict(self, text: str) -> str:
        """The language whose profile is closest to ``text``."""
        vector = self._normalise(self._features(text))
        return max(
            self.profiles,
            key=lambda lang: sum(w * self.profiles[lang].get(g, 0.0) for g, w in vector.items()),
        )
