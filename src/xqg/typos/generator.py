"""The multilingual typo generator: :func:`misspell` and :func:`misspell_queries`.

A typo is one edit of one word, made on grapheme clusters, that changes the word by exactly 1 in
:func:`xqg.typos.text.grapheme_distance` and keeps the word's script. Operations (one is drawn
uniformly, then a position):

- ``insert``, ``delete``, ``substitute``, ``swap`` (neighbouring clusters), ``keyboard`` (a key
  replaced by a neighbour on the language's layout, :mod:`xqg.typos.resources_loader`); for Hangul
  these act on jamo (Dubeolsik), for kana through romaji, for Han characters through pinyin;
- ``script``: one of the language's script-specific errors (:mod:`xqg.typos.script_errors`).

Any language code works. A letter to insert or substitute comes from the language's keyboard
layout where one is shipped, and otherwise from the letters of the same script in the text itself
(script-aware character edits): no edit produces a character of a script the word does not have,
and a substituted cluster keeps its combining marks (vowel signs, tone marks), so marks stay
attached. Without a layout there is no ``keyboard`` typo; without a list of its own, a language
gets its script's errors (diacritics for Latin, Greek, Cyrillic; a dropped virama or mark for
Brahmic and other scripts).

Protocols (``protocol=``):

- ``"one-typo"`` (default, the literature's): ``num_typos`` words get one typo each, drawn among
  content words (not stopwords) of at least ``min_graphemes`` clusters (3; 2 for ja/zh, whose words
  are short); if there are too few, words of any kind with at least 2 clusters are used;
- ``"rate"``: each content word of at least ``min_graphemes`` clusters gets a typo with probability
  ``rate`` (0.2);
- ``"idf"``: one typo in the content word with the highest IDF in a corpus (``idf=``, see
  :class:`IdfTable`), ties broken by the seed;
- ``"script"``: one typo, script-specific errors only.

Every result depends only on ``seed`` (:func:`misspell`), and (seed, query id, variant) in
:func:`misspell_queries`, through :func:`xqg.seeding.derive_seed`.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from xqg.data.languages import get_language
from xqg.data.records import Query
from xqg.data.scripts import dominant_script
from xqg.errors import ConfigError
from xqg.seeding import derive_seed
from xqg.typos import script_errors as se
from xqg.typos.resources_loader import KeyboardLayout, has_layout, load_layout, load_stopwords, resource_key
from xqg.typos.text import Word, char_script, find_words, grapheme_distance, graphemes, scripts_of

PROTOCOLS = ("one-typo", "rate", "idf", "script")
OPERATIONS = ("insert", "delete", "substitute", "swap", "keyboard", "script")


@dataclass(frozen=True, slots=True)
class Edit:
    """One typo: ``original`` (a word at ``start`` in the input) became ``replacement``."""

    start: int
    original: str
    replacement: str
    operation: str


@dataclass(frozen=True)
class Misspelling:
    """The result of :func:`misspell_with_edits`: the new text and its edits (in text order)."""

    text: str
    edits: tuple[Edit, ...] = field(default_factory=tuple)


class IdfTable:
    """Inverse document frequencies of words, for the ``"idf"`` protocol.

    ``idf(w) = log((N + 1) / (df(w) + 1)) + 1`` over ``N`` documents, words case-folded and found
    with :func:`xqg.typos.text.find_words`; an unseen word gets the highest value (``df = 0``).

    Args:
        documents: texts of the corpus.
        lang: language of the documents (decides the segmentation).

    Example:
        >>> table = IdfTable(["the cat", "the dog"], "en")
        >>> table["cat"] > table["the"]
        True
    """

    def __init__(self, documents: Iterable[str], lang: str) -> None:
        self.lang = lang
        df: Counter[str] = Counter()
        self.num_documents = 0
        for text in documents:
            self.num_documents += 1
            df.update({w.text.casefold() for w in find_words(text, lang)})
        self.df = dict(df)

    def __getitem__(self, word: str) -> float:
        return math.log((self.num_documents + 1) / (self.df.get(word.casefold(), 0) + 1)) + 1


# ---------------------------------------------------------------- alphabets
@lru_cache(maxsize=256)
def _alphabet(layout: KeyboardLayout, script: str) -> list[str]:
    letters = [
        k
        for k in layout.keys() + list(layout.extra_letters)
        if char_script(k) == script and k.isalpha() and k.casefold() == k.lower()
    ]
    return sorted({k.lower() for k in letters if k.lower().isalpha()})


def text_letters(text: str) -> tuple[str, ...]:
    """The distinct letters of a text, lower-cased where they have case, in first-seen order: what
    script-aware edits draw from in a language without a keyboard layout.

    Example:
        >>> text_letters("Ո՞վ է գրել Ով")
        ('ո', 'վ', 'է', 'գ', 'ր', 'ե', 'լ')
    """
    seen: dict[str, None] = {}
    for char in text:
        if char.isalpha():
            low = char.lower()
            seen.setdefault(low if len(low) == 1 and low.isalpha() else char, None)
    return tuple(seen)


@dataclass(frozen=True)
class _Context:
    """What an operation needs besides the word: the language and the letters of its text."""

    lang: str
    letters: tuple[str, ...]

    @property
    def key(self) -> str:
        return resource_key(self.lang)


def _random_letter(script: str, ctx: _Context, like: str, rng: random.Random) -> str | None:
    if script == "Hangul":
        return se.random_hangul_syllable(rng)
    if script in ("Hiragana", "Katakana"):
        return se.random_kana(rng, like)
    if script == "Han" and ctx.key in ("zh", "ja"):
        return rng.choice(se.common_han())
    letters: list[str] = []
    if has_layout(ctx.lang):
        letters = _alphabet(load_layout(ctx.lang), script)
    if not letters:  # no layout, or none for this script: the text's own letters of that script
        letters = sorted({c for c in ctx.letters if char_script(c) == script})
    if not letters:
        return None
    letter = rng.choice(letters)
    return letter.upper() if like[:1].isupper() and len(letter.upper()) == 1 else letter


def _tail_marks(g: str) -> str:
    return g[1:] if len(g) > 1 else ""


# ---------------------------------------------------------------- generic operations
def _op_insert(gs: list[str], ctx: _Context, rng: random.Random) -> list[str] | None:
    pos = rng.randrange(len(gs) + 1)
    like = gs[min(pos, len(gs) - 1)]
    if char_script(like[0]) == "Hangul":
        return se.hangul_add_final(gs, rng)
    new = _random_letter(char_script(like[0]), ctx, like, rng)
    return None if new is None else gs[:pos] + [new] + gs[pos:]


def _op_delete(gs: list[str], ctx: _Context, rng: random.Random) -> list[str] | None:
    if len(gs) < 2:
        return None
    i = rng.randrange(len(gs))
    return gs[:i] + gs[i + 1 :]


def _op_substitute(gs: list[str], ctx: _Context, rng: random.Random) -> list[str] | None:
    i = rng.randrange(len(gs))
    g = gs[i]
    script = char_script(g[0])
    if script == "Hangul":
        return se.hangul_substitute(gs, rng)
    if script == "Han" and ctx.key == "zh":
        return se.pinyin_homophone(gs, rng)
    new = _random_letter(script, ctx, g, rng)
    if new is None:
        return None
    new += _tail_marks(g)  # the cluster's marks (vowel signs, tone marks) stay attached
    return gs[:i] + [new] + gs[i + 1 :]


def _op_swap(gs: list[str], ctx: _Context, rng: random.Random) -> list[str] | None:
    pairs = [i for i in range(len(gs) - 1) if gs[i] != gs[i + 1]]
    if not pairs:
        return None
    i = rng.choice(pairs)
    return gs[:i] + [gs[i + 1], gs[i]] + gs[i + 2 :]


def _op_keyboard(gs: list[str], ctx: _Context, rng: random.Random) -> list[str] | None:
    if not has_layout(ctx.lang):  # keyboard adjacency only where a layout is known
        return None
    layout = load_layout(ctx.lang)
    if layout.input == "jamo":
        return se.hangul_keyboard(gs, rng)
    if layout.input == "romaji":
        return se.romaji_slip(gs, rng)
    if layout.input == "pinyin":
        return se.pinyin_slip(gs, rng)
    options: list[tuple[int, str]] = []
    for i, g in enumerate(gs):
        base = g[0]
        for n in layout.neighbours(base.lower()):
            if char_script(n) == char_script(base) and n.isalpha():
                options.append((i, (n.upper() if base.isupper() else n) + _tail_marks(g)))
    if not options:
        return None
    i, new = rng.choice(options)
    return gs[:i] + [new] + gs[i + 1 :]


def _op_script(gs: list[str], ctx: _Context, rng: random.Random) -> list[str] | None:
    names = list(se.script_errors_for(ctx.lang, dominant_script("".join(gs))))
    rng.shuffle(names)
    for name in names:
        out = se.SCRIPT_ERRORS[name](gs, rng)
        if out is not None:
            return out
    return None


_GENERIC = {
    "insert": _op_insert,
    "delete": _op_delete,
    "substitute": _op_substitute,
    "swap": _op_swap,
    "keyboard": _op_keyboard,
    "script": _op_script,
}


def edit_word(
    word: str,
    lang: str,
    rng: random.Random,
    operations: Sequence[str] = OPERATIONS,
    attempts: int = 20,
    *,
    letters: Sequence[str] | None = None,
) -> tuple[str, str] | None:
    """Make one typo in one word.

    The result is accepted only if it is at grapheme distance exactly 1 from ``word``, keeps its
    scripts (no letter of a script the word did not have) and keeps the number of words (no new
    separator). Operations are drawn uniformly; up to ``attempts`` draws are made.

    Args:
        word: the word (letters and marks).
        lang: any language code (layout, alphabets, script-specific errors).
        rng: random source.
        operations: names from :data:`OPERATIONS` to draw from.
        attempts: how many draws before giving up.
        letters: letters an insertion or substitution may use where the language has no layout
            (default: the word's own; :func:`misspell` passes the whole text's).

    Returns:
        ``(new word, operation name)`` or ``None`` if no typo could be made.

    Example:
        >>> edit_word("किताब", "hi", random.Random(0)) is not None
        True
    """
    gs = graphemes(word)
    if not gs:
        return None
    ctx = _Context(lang, tuple(letters) if letters is not None else text_letters(word))
    spaces = get_language(lang, text=word).spaces
    allowed = scripts_of(word)
    ops = [op for op in operations if op in _GENERIC]
    if not ops:
        raise ConfigError(f"no known operation in {list(operations)}; use some of {', '.join(OPERATIONS)}")
    for _ in range(attempts):
        op = rng.choice(ops)
        out = _GENERIC[op](gs, ctx, rng)
        if out is None:
            continue
        new = "".join(out)
        if new == word or not scripts_of(new) <= allowed:
            continue
        if grapheme_distance(gs, graphemes(new)) != 1:
            continue
        if spaces and len(find_words(new, lang)) != 1:
            continue  # the edit must not split the word
        return new, op
    return None


# ---------------------------------------------------------------- protocols
def _min_graphemes(script: str) -> int:
    return 2 if script in ("Han", "Japanese") else 3  # Chinese and Japanese words are short


def _is_content(word: Word, lang: str, stopwords: frozenset[str], min_len: int) -> bool:
    return len(graphemes(word.text)) >= min_len and word.text.casefold() not in stopwords


def _boundaries_kept(text: str, word: Word, new: str) -> bool:
    # the clusters around the word must not change (e.g. a Thai mark joining the previous phrase)
    before = text[max(0, word.start - 2) : word.start]
    after = text[word.end : word.end + 2]
    return graphemes(before + new + after) == graphemes(before) + graphemes(new) + graphemes(after)


def misspell_with_edits(
    text: str,
    lang: str,
    seed: int,
    num_typos: int = 1,
    protocol: str = "one-typo",
    *,
    rate: float = 0.2,
    idf: IdfTable | Mapping[str, float] | None = None,
    min_graphemes: int | None = None,
    operations: Sequence[str] | None = None,
) -> Misspelling:
    """Like :func:`misspell`, and also return the edits made (for tests and reports).

    Example:
        >>> result = misspell_with_edits("Where is the capital of Finland?", "en", seed=1)
        >>> len(result.edits)
        1
    """
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown typo protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    if num_typos < 0 or not 0.0 <= rate <= 1.0:
        raise ConfigError(f"num_typos must be >= 0 and rate in [0, 1] (got {num_typos}, {rate})")
    language = get_language(lang, text=text)
    code = language.code
    rng = random.Random(derive_seed(seed, "misspell", code, protocol))
    ops: Sequence[str] = operations or (("script",) if protocol == "script" else OPERATIONS)
    min_len = min_graphemes or _min_graphemes(language.script)
    stopwords = load_stopwords(code)
    words = find_words(text, code)
    letters = text_letters(text)
    content = [w for w in words if _is_content(w, code, stopwords, min_len)]

    if protocol == "rate":
        candidates = [w for w in content if rng.random() < rate]
        wanted = len(candidates)
        fallback: list[Word] = []
    elif protocol == "idf":
        if idf is None:
            raise ConfigError("the 'idf' protocol needs an IDF table (idf=IdfTable(corpus_texts, lang))")
        keyed = [
            (
                idf[w.text.casefold()] if isinstance(idf, IdfTable) else idf.get(w.text.casefold(), math.inf),
                rng.random(),
                w,
            )
            for w in content
        ]
        candidates = [w for _, _, w in sorted(keyed, key=lambda t: (-t[0], t[1]))]
        wanted = min(num_typos, 1) if num_typos else 0
        fallback = [w for w in words if w not in content and len(graphemes(w.text)) >= 2]
    else:
        candidates = content[:]
        rng.shuffle(candidates)
        wanted = num_typos
        fallback = [w for w in words if w not in content and len(graphemes(w.text)) >= 2]
        rng.shuffle(fallback)

    edits: list[Edit] = []
    for word in candidates + fallback:
        if len(edits) >= wanted:
            break
        result = edit_word(word.text, code, rng, ops, letters=letters)
        if result is None or not _boundaries_kept(text, word, result[0]):
            continue
        edits.append(Edit(word.start, word.text, result[0], result[1]))
    edits.sort(key=lambda e: e.start)
    pieces, cursor = [], 0
    for edit in edits:
        pieces += [text[cursor : edit.start], edit.replacement]
        cursor = edit.start + len(edit.original)
    pieces.append(text[cursor:])
    return Misspelling("".join(pieces), tuple(edits))


def misspell(
    text: str,
    lang: str,
    seed: int,
    num_typos: int = 1,
    protocol: str = "one-typo",
    **options: object,
) -> str:
    """Misspell a text the way a user of that language would, reproducibly.

    Args:
        text: the query.
        lang: its language code (keyboard layout, stopwords, script-specific errors, segmentation).
        seed: the same seed gives the same output.
        num_typos: typos to make (distinct words; ``"one-typo"`` and ``"idf"``, at most 1 for idf).
        protocol: ``"one-typo"``, ``"rate"``, ``"idf"`` or ``"script"`` (see module docs).
        **options: ``rate`` (for ``"rate"``), ``idf`` (an :class:`IdfTable`, for ``"idf"``),
            ``min_graphemes``, ``operations`` (a subset of :data:`OPERATIONS`).

    Returns:
        The misspelled text; the input unchanged only if no word allowed a typo.

    Raises:
        ConfigError: unknown protocol or operation, or ``"idf"`` without a table.
        InputError: unknown language code.

    Example:
        >>> misspell("東京タワーは何メートルですか", "ja", seed=3) != "東京タワーは何メートルですか"
        True
    """
    return misspell_with_edits(text, lang, seed, num_typos, protocol, **options).text  # type: ignore[arg-type]


def misspell_queries(
    queries: Sequence[Query],
    seed: int,
    variant: int,
    protocol: str = "one-typo",
    **options: object,
) -> list[Query]:
    """Misspell a query set: variant ``variant`` of the seeded family of misspelled sets.

    Query ``q`` is misspelled with seed ``derive_seed(seed, q.id, variant)``, so each output is
    reproducible from (seed, query id, variant) alone, whatever else is in the set.

    Args:
        queries: the clean queries (their ``lang`` picks the language rules).
        seed: base seed.
        variant: variant number (0 .. K-1).
        protocol: see :func:`misspell`.
        **options: passed to :func:`misspell` (``num_typos``, ``rate``, ``idf``, ...); ``idf`` may
            also be a ``{lang: IdfTable}`` mapping (one table per query language).

    Returns:
        The misspelled queries: same ids, same languages, same order.

    Example:
        >>> from xqg.data.records import Query
        >>> out = misspell_queries([Query("q1", "Wer schrieb den Faust?", "de")], seed=0, variant=2)
        >>> out[0].id, out[0].lang
        ('q1', 'de')
    """
    idf = options.pop("idf", None)
    per_language = isinstance(idf, Mapping) and all(isinstance(v, IdfTable) for v in idf.values())
    out = []
    for query in queries:
        table = idf.get(query.lang) if per_language else idf  # type: ignore[union-attr]
        text = misspell(
            query.text,
            query.lang,
            derive_seed(seed, query.id, variant),
            protocol=protocol,
            idf=table,
            **options,
        )
        out.append(Query(query.id, text, query.lang))
    return out
