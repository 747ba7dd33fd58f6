"""Script-specific misspellings, each changing exactly one grapheme cluster of a word.

Every function takes the word's grapheme clusters and a ``random.Random`` and returns the edited
clusters, or ``None`` when the error is not possible in that word. The generator checks the result
(grapheme distance 1, script kept) before using it.

- Hangul: jamo edits on the NFD decomposition, recomposed with NFC into a valid syllable
  (Dubeolsik keyboard neighbour, dropped final consonant, added final consonant, jamo substitution).
- Japanese: romaji-IME slips (a kana's romaji with one key replaced by a QWERTY neighbour, when the
  result is again one kana), dropped dakuten/handakuten, small kana typed large and the reverse.
- Chinese: pinyin homophones (another common character with the same toned reading) and pinyin
  IME slips (a neighbouring key in the toneless syllable, when the result is a syllable).
- Diacritic stripping (Latin, Greek, Cyrillic; Vietnamese loses the tone mark first), Russian ё→е.
- Arabic orthographic confusions: أ/إ/آ↔ا, ة↔ه (word-final), ى↔ي (word-final).
- Indic (Devanagari, Bengali, Telugu): vowel-sign length (ि↔ी, ु↔ू, Telugu ె↔ే, ొ↔ో, and the
  independent vowels) and a dropped virama (only where the cluster count is unchanged, e.g. a
  word-final halant; dropping the virama inside a conjunct splits it into two clusters).
- Thai: a dropped tone mark. Finnish: a doubled letter typed single, or a single one doubled.
- Hebrew: a final letter form typed as the ordinary one at the end of a word (ך→כ, ם→מ), or the
  ordinary form typed final there.
- Any other script: a dropped virama (any script's, by its canonical combining class 9: Tamil
  pulli, Khmer coeng, Myanmar asat, ...) and a dropped non-spacing mark (vowel sign, tone mark)
  where the cluster stays one cluster: :func:`script_errors_for` picks by language, then by script.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from xqg.typos.homophones import gb2312_characters, pinyin_table, toneless
from xqg.typos.resources_loader import load_layout, resource_key
from xqg.typos.text import char_script, graphemes

ScriptError = Callable[[list[str], random.Random], "list[str] | None"]

# ---------------------------------------------------------------- Hangul
CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNGSEONG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONGSEONG = ["", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"]


def hangul_decompose(syllable: str) -> tuple[int, int, int] | None:
    """(initial, vowel, final) indices of a precomposed Hangul syllable via NFD, else ``None``.

    Example:
        >>> hangul_decompose("한")
        (18, 0, 4)
    """
    if len(syllable) != 1 or not 0xAC00 <= ord(syllable) <= 0xD7A3:
        return None
    jamo = unicodedata.normalize("NFD", syllable)
    final = ord(jamo[2]) - 0x11A7 if len(jamo) == 3 else 0
    return ord(jamo[0]) - 0x1100, ord(jamo[1]) - 0x1161, final


def hangul_compose(initial: int, vowel: int, final: int = 0) -> str:
    """Recompose conjoining jamo with NFC into one syllable.

    Example:
        >>> hangul_compose(18, 0, 0)
        '하'
    """
    jamo = chr(0x1100 + initial) + chr(0x1161 + vowel) + (chr(0x11A7 + final) if final else "")
    return unicodedata.normalize("NFC", jamo)


def _hangul_positions(gs: list[str]) -> list[int]:
    return [i for i, g in enumerate(gs) if hangul_decompose(g)]


def hangul_keyboard(gs: list[str], rng: random.Random) -> list[str] | None:
    """Replace one jamo of a syllable by a Dubeolsik neighbour of the same slot."""
    layout = load_layout("ko")
    options: list[tuple[int, str]] = []
    for i in _hangul_positions(gs):
        l_, v, t = hangul_decompose(gs[i])  # type: ignore[misc]
        for slot, table, index in (("L", CHOSEONG, l_), ("V", JUNGSEONG, v), ("T", JONGSEONG, t)):
            if slot == "T" and t == 0:
                continue
            for n in layout.neighbours(table[index]):
                if n in table:
                    new = (
                        table.index(n) if slot == "L" else l_,
                        table.index(n) if slot == "V" else v,
                        table.index(n) if slot == "T" else t,
                    )
                    options.append((i, hangul_compose(*new)))
    return _apply_one(gs, options, rng)


def hangul_drop_final(gs: list[str], rng: random.Random) -> list[str] | None:
    """Drop the final consonant (batchim) of a syllable."""
    options = []
    for i in _hangul_positions(gs):
        l_, v, t = hangul_decompose(gs[i])  # type: ignore[misc]
        if t:
            options.append((i, hangul_compose(l_, v, 0)))
    return _apply_one(gs, options, rng)


def hangul_add_final(gs: list[str], rng: random.Random) -> list[str] | None:
    """An extra key: a final consonant added to an open syllable."""
    options = []
    for i in _hangul_positions(gs):
        l_, v, t = hangul_decompose(gs[i])  # type: ignore[misc]
        if not t:
            options.append((i, hangul_compose(l_, v, rng.randrange(1, len(JONGSEONG)))))
    return _apply_one(gs, options, rng)


def hangul_substitute(gs: list[str], rng: random.Random) -> list[str] | None:
    """A wrong jamo (any other jamo of the same slot)."""
    positions = _hangul_positions(gs)
    if not positions:
        return None
    i = rng.choice(positions)
    l_, v, t = hangul_decompose(gs[i])  # type: ignore[misc]
    slot = rng.choice(["L", "V"] + (["T"] if t else []))
    if slot == "L":
        l_ = rng.choice([x for x in range(len(CHOSEONG)) if x != l_])
    elif slot == "V":
        v = rng.choice([x for x in range(len(JUNGSEONG)) if x != v])
    else:
        t = rng.choice([x for x in range(1, len(JONGSEONG)) if x != t])
    return gs[:i] + [hangul_compose(l_, v, t)] + gs[i + 1 :]


def random_hangul_syllable(rng: random.Random) -> str:
    """A random precomposed syllable (for insertions)."""
    final = rng.randrange(len(JONGSEONG)) if rng.random() < 0.5 else 0
    return hangul_compose(rng.randrange(len(CHOSEONG)), rng.randrange(len(JUNGSEONG)), final)


# ---------------------------------------------------------------- Japanese kana
_ROMAJI = (
    "あa いi うu えe おo かka きki くku けke こko さsa しsi すsu せse そso たta ちti つtu てte とto "
    "なna にni ぬnu ねne のno はha ひhi ふhu へhe ほho まma みmi むmu めme もmo やya ゆyu よyo "
    "らra りri るru れre ろro わwa をwo んnn がga ぎgi ぐgu げge ごgo ざza じzi ずzu ぜze ぞzo "
    "だda ぢdi づdu でde どdo ばba びbi ぶbu べbe ぼbo ぱpa ぴpi ぷpu ぺpe ぽpo"
)
KANA_TO_ROMAJI: dict[str, str] = {item[0]: item[1:] for item in _ROMAJI.split()}
KANA_TO_ROMAJI.update({chr(ord(k) + 0x60): r for k, r in list(KANA_TO_ROMAJI.items())})  # katakana
_SMALL = "ぁあぃいぅうぇえぉおっつゃやゅゆょよゎわ"
SMALL_TO_LARGE: dict[str, str] = {_SMALL[i]: _SMALL[i + 1] for i in range(0, len(_SMALL), 2)}
SMALL_TO_LARGE.update({chr(ord(s) + 0x60): chr(ord(b) + 0x60) for s, b in list(SMALL_TO_LARGE.items())})
LARGE_TO_SMALL = {b: s for s, b in SMALL_TO_LARGE.items()}


def _same_kana_script(kana: str, like: str) -> str:
    hira = 0x3041 <= ord(kana) <= 0x3096
    like_kata = 0x30A1 <= ord(like) <= 0x30FA
    return chr(ord(kana) + 0x60) if hira and like_kata else kana


def romaji_slip(gs: list[str], rng: random.Random) -> list[str] | None:
    """Romaji-IME slip: one key of a kana's romaji replaced by a QWERTY neighbour."""
    layout = load_layout("ja")
    to_kana = {}
    for kana, romaji in KANA_TO_ROMAJI.items():
        if 0x3041 <= ord(kana) <= 0x3096:
            to_kana.setdefault(romaji, kana)
    options = []
    for i, g in enumerate(gs):
        romaji = KANA_TO_ROMAJI.get(g)
        if not romaji:
            continue
        for j, key in enumerate(romaji):
            for n in layout.neighbours(key):
                kana = to_kana.get(romaji[:j] + n + romaji[j + 1 :])
                if kana:
                    options.append((i, _same_kana_script(kana, g)))
    return _apply_one(gs, options, rng)


def drop_dakuten(gs: list[str], rng: random.Random) -> list[str] | None:
    """A dakuten or handakuten left off (が→か, パ→ハ)."""
    options = []
    for i, g in enumerate(gs):
        nfd = unicodedata.normalize("NFD", g)
        stripped = nfd.replace("\u3099", "").replace("\u309a", "")
        if stripped != nfd:
            options.append((i, unicodedata.normalize("NFC", stripped)))
    return _apply_one(gs, options, rng)


def small_kana(gs: list[str], rng: random.Random) -> list[str] | None:
    """A small kana typed large (っ→つ, ゃ→や) or a large one small."""
    options = [
        (i, SMALL_TO_LARGE.get(g) or LARGE_TO_SMALL[g])
        for i, g in enumerate(gs)
        if g in SMALL_TO_LARGE or g in LARGE_TO_SMALL
    ]
    return _apply_one(gs, options, rng)


def random_kana(rng: random.Random, like: str) -> str:
    """A random basic kana in the script (hiragana/katakana) of ``like``."""
    kana = rng.choice([k for k in KANA_TO_ROMAJI if 0x3041 <= ord(k) <= 0x3096])
    return _same_kana_script(kana, like)


# ---------------------------------------------------------------- Chinese
@lru_cache(maxsize=1)
def common_han() -> tuple[str, ...]:
    """The 3,755 level-1 (most frequent) characters of GB 2312."""
    return tuple(gb2312_characters()[:3755])


@lru_cache(maxsize=1)
def _common_set() -> frozenset[str]:
    return frozenset(common_han())


def _homophones(char: str, same_tone: bool) -> list[str]:
    by_reading, reading_of = pinyin_table()
    reading = reading_of.get(char)
    if reading is None:
        return []
    common = _common_set()
    if same_tone:
        return [c for c in by_reading[reading] if c != char and c in common]
    base = toneless(reading)
    return [
        c
        for key, chars in by_reading.items()
        if toneless(key) == base
        for c in chars
        if c != char and c in common
    ]


def pinyin_homophone(gs: list[str], rng: random.Random) -> list[str] | None:
    """Another common character with the same reading (same tone if one exists, else any tone)."""
    options = []
    for i, g in enumerate(gs):
        candidates = _homophones(g, True) or _homophones(g, False)
        options.extend((i, c) for c in candidates)
    return _apply_one(gs, options, rng)


def pinyin_slip(gs: list[str], rng: random.Random) -> list[str] | None:
    """Pinyin-IME slip: one key of the toneless syllable replaced by a QWERTY neighbour."""
    by_reading, reading_of = pinyin_table()
    syllables: dict[str, list[str]] = {}
    for key, chars in by_reading.items():
        syllables.setdefault(toneless(key), []).extend(c for c in chars if c in _common_set())
    layout = load_layout("zh")
    options = []
    for i, g in enumerate(gs):
        reading = reading_of.get(g)
        if reading is None:
            continue
        base = toneless(reading)
        for j, key in enumerate(base):
            for n in layout.neighbours(key):
                chars = syllables.get(base[:j] + n + base[j + 1 :])
                if chars:
                    options.append((i, rng.choice(chars)))
    return _apply_one(gs, options, rng)


# ---------------------------------------------------------------- diacritics, Cyrillic
_VI_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_SPECIAL_STRIP = {"đ": "d", "Đ": "D", "ı": "i", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L"}
_DIACRITIC_SCRIPTS = {"Latin", "Greek", "Cyrillic"}


def _strip_marks(g: str, tones_first: bool) -> str | None:
    if g in _SPECIAL_STRIP:
        return _SPECIAL_STRIP[g]
    if not g or char_script(g[0]) not in _DIACRITIC_SCRIPTS:
        return None
    nfd = unicodedata.normalize("NFD", g)
    marks = [c for c in nfd if unicodedata.category(c) == "Mn"]
    if not marks:
        return None
    if tones_first and any(c in _VI_TONES for c in marks):
        out = "".join(c for c in nfd if c not in _VI_TONES)
    else:
        out = "".join(c for c in nfd if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", out)


def diacritic_strip(gs: list[str], rng: random.Random) -> list[str] | None:
    """One letter typed without its diacritic (ä→a, ñ→n, ş→s, ı→i; vi: the tone mark first)."""
    options = [(i, s) for i, g in enumerate(gs) if (s := _strip_marks(g, False))]
    return _apply_one(gs, options, rng)


def vietnamese_tone_drop(gs: list[str], rng: random.Random) -> list[str] | None:
    """Vietnamese: a tone mark left off (ệ→ê), else another diacritic (ơ→o, đ→d)."""
    options = [(i, s) for i, g in enumerate(gs) if (s := _strip_marks(g, True))]
    return _apply_one(gs, options, rng)


def yo_to_ye(gs: list[str], rng: random.Random) -> list[str] | None:
    """Russian ё written е (the usual spelling in running text)."""
    options = [(i, {"ё": "е", "Ё": "Е"}[g]) for i, g in enumerate(gs) if g in ("ё", "Ё")]
    return _apply_one(gs, options, rng)


# ---------------------------------------------------------------- Arabic
_AR_ANY = {"أ": ["ا"], "إ": ["ا"], "آ": ["ا"], "ا": ["أ", "إ"]}
_AR_FINAL = {"ة": ["ه"], "ه": ["ة"], "ى": ["ي"], "ي": ["ى"]}


def arabic_confusion(gs: list[str], rng: random.Random) -> list[str] | None:
    """Hamza forms ↔ bare alef anywhere; ة↔ه and ى↔ي at the end of the word."""
    options = []
    for i, g in enumerate(gs):
        table = dict(_AR_ANY)
        if i == len(gs) - 1:
            table.update(_AR_FINAL)
        for new in table.get(g[:1], []):
            options.append((i, new + g[1:]))
    return _apply_one(gs, options, rng)


# ---------------------------------------------------------------- Indic
_LENGTH_PAIRS = {
    "Devanagari": ["िी", "ुू", "इई", "उऊ"],
    "Bengali": ["িী", "ুূ", "ইঈ", "উঊ"],
    "Telugu": ["ిీ", "ుూ", "ెే", "ొో", "ఇఈ", "ఉఊ", "ఎఏ", "ఒఓ"],
}
_LENGTH_SWAP: dict[str, str] = {}
for _pairs in _LENGTH_PAIRS.values():
    for _a, _b in _pairs:
        _LENGTH_SWAP[_a], _LENGTH_SWAP[_b] = _b, _a


def vowel_length(gs: list[str], rng: random.Random) -> list[str] | None:
    """Short and long vowel confused (ि↔ी, ু↔ূ, ె↔ే ...), as sign or independent vowel."""
    options = []
    for i, g in enumerate(gs):
        for j, c in enumerate(g):
            if c in _LENGTH_SWAP:
                options.append((i, g[:j] + _LENGTH_SWAP[c] + g[j + 1 :]))
    return _apply_one(gs, options, rng)


def virama_slip(gs: list[str], rng: random.Random) -> list[str] | None:
    """A virama (halant) left off where that keeps the clusters (word-final halant and the like)."""

    options = []
    for i, g in enumerate(gs):
        for j, c in enumerate(g):
            if j and unicodedata.combining(c) == 9:  # a virama of any script (combining class 9)
                new = g[:j] + g[j + 1 :]
                if new and len(graphemes("".join(gs[:i] + [new] + gs[i + 1 :]))) == len(gs):
                    options.append((i, new))
    return _apply_one(gs, options, rng)


# ---------------------------------------------------------------- Thai, Finnish
_THAI_TONES = {"\u0e48", "\u0e49", "\u0e4a", "\u0e4b"}


def thai_tone_drop(gs: list[str], rng: random.Random) -> list[str] | None:
    """A Thai tone mark (่ ้ ๊ ๋) left off."""
    options = [
        (i, "".join(c for c in g if c not in _THAI_TONES))
        for i, g in enumerate(gs)
        if any(c in _THAI_TONES for c in g) and any(c not in _THAI_TONES for c in g)
    ]
    return _apply_one(gs, options, rng)


def letter_doubling(gs: list[str], rng: random.Random) -> list[str] | None:
    """Finnish length slip: a double letter typed single (tulli→tuli) or a single one doubled."""
    options: list[tuple[int, list[str]]] = []
    for i, g in enumerate(gs):
        if not g.isalpha():
            continue
        if i + 1 < len(gs) and gs[i + 1] == g:
            options.append((i, gs[:i] + gs[i + 1 :]))
        elif (i == 0 or gs[i - 1] != g) and (i + 1 == len(gs) or gs[i + 1] != g):
            options.append((i, gs[:i] + [g, g] + gs[i + 1 :]))
    if not options:
        return None
    return rng.choice(options)[1]


_HEBREW_FINAL = {"ך": "כ", "ם": "מ", "ן": "נ", "ף": "פ", "ץ": "צ"}
_HEBREW_FINAL.update({v: k for k, v in list(_HEBREW_FINAL.items())})


def hebrew_final_form(gs: list[str], rng: random.Random) -> list[str] | None:
    """Hebrew: the last letter of a word typed in the other form (final ך ם ן ף ץ ↔ כ מ נ פ צ)."""
    if not gs or gs[-1][:1] not in _HEBREW_FINAL:
        return None
    return gs[:-1] + [_HEBREW_FINAL[gs[-1][0]] + gs[-1][1:]]


def mark_drop(gs: list[str], rng: random.Random) -> list[str] | None:
    """A non-spacing mark (a vowel sign, tone mark or diacritic written as a mark) left off a
    cluster that keeps its base letter: the generic script error of scripts without their own."""

    options = []
    for i, g in enumerate(gs):
        for j in range(1, len(g)):
            if unicodedata.category(g[j]) == "Mn":
                new = g[:j] + g[j + 1 :]
                if len(graphemes(new)) == 1:
                    options.append((i, new))
    return _apply_one(gs, options, rng)


def _apply_one(gs: list[str], options: list[tuple[int, str]], rng: random.Random) -> list[str] | None:
    options = [(i, new) for i, new in options if new and new != gs[i]]
    if not options:
        return None
    i, new = rng.choice(options)
    return gs[:i] + [new] + gs[i + 1 :]


SCRIPT_ERRORS: dict[str, ScriptError] = {
    "hangul_drop_final": hangul_drop_final,
    "drop_dakuten": drop_dakuten,
    "small_kana": small_kana,
    "pinyin_homophone": pinyin_homophone,
    "diacritic_strip": diacritic_strip,
    "vietnamese_tone_drop": vietnamese_tone_drop,
    "yo_to_ye": yo_to_ye,
    "arabic_confusion": arabic_confusion,
    "vowel_length": vowel_length,
    "virama_slip": virama_slip,
    "thai_tone_drop": thai_tone_drop,
    "letter_doubling": letter_doubling,
    "hebrew_final_form": hebrew_final_form,
    "mark_drop": mark_drop,
}
"""Every script-specific error by name."""

_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "ko": ("hangul_drop_final",),
    "ja": ("drop_dakuten", "small_kana"),
    "zh": ("pinyin_homophone",),
    "ar": ("arabic_confusion",),
    "fa": ("arabic_confusion",),
    "hi": ("vowel_length", "virama_slip"),
    "bn": ("vowel_length", "virama_slip"),
    "te": ("vowel_length", "virama_slip"),
    "ru": ("yo_to_ye", "diacritic_strip"),
    "vi": ("vietnamese_tone_drop",),
    "fi": ("diacritic_strip", "letter_doubling"),
    "th": ("thai_tone_drop",),
    "he": ("hebrew_final_form", "mark_drop"),
    "km": ("virama_slip", "mark_drop"),
    "en": (),
}

_BY_SCRIPT: dict[str, tuple[str, ...]] = {
    "Latin": ("diacritic_strip",),
    "Greek": ("diacritic_strip",),
    "Cyrillic": ("diacritic_strip",),
    "Arabic": ("arabic_confusion", "mark_drop"),
    "Devanagari": ("vowel_length", "virama_slip"),
    "Bengali": ("vowel_length", "virama_slip"),
    "Telugu": ("vowel_length", "virama_slip"),
    "Thai": ("thai_tone_drop",),
    "Hangul": ("hangul_drop_final",),
    "Japanese": ("drop_dakuten", "small_kana"),
    "Han": (),  # homophones need a reading table: Mandarin's (pinyin) is shipped, used for zh only
}
_ANY_SCRIPT = ("virama_slip", "mark_drop")


def script_errors_for(lang: str, script: str | None = None) -> tuple[str, ...]:
    """Names of the script-specific errors used for a language: its own list where xqg has one,
    else those of its script (``script``: the word's, e.g. from the text), else a dropped virama
    or mark, which any script with such signs can have.

    Example:
        >>> script_errors_for("ko"), script_errors_for("de"), script_errors_for("ro", "Latin")
        (('hangul_drop_final',), ('diacritic_strip',), ('diacritic_strip',))
        >>> script_errors_for("hy", "Armenian"), script_errors_for("mr", "Devanagari")
        (('virama_slip', 'mark_drop'), ('vowel_length', 'virama_slip'))
    """
    code = resource_key(lang)
    if code in _BY_LANGUAGE:
        return _BY_LANGUAGE[code]
    if script is None:
        return ("diacritic_strip",)
    return _BY_SCRIPT.get(script, _ANY_SCRIPT)
