"""Text stage of extraction: folding (case, diacritics, Arabic letter forms) with offsets back to
the original, transliteration variants of names, and sentences."""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Iterator

# --- folding -------------------------------------------------------------------------------------

APOSTROPHES = "'’‘`´ʿʾʻʼ"
DASHES = "-‐‑‒–—_"
ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")


# Characters reports are mostly made of (ASCII, the Arabic block, general punctuation), mapped to
# themselves: str.translate raises and catches a KeyError for every character its table lacks,
# which made folding an Arabic report twice as slow.
COMMON = (range(0x80), range(0x600, 0x700), range(0x2000, 0x2070))


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {cp: chr(cp) for block in COMMON for cp in block}
    for cp in itertools.chain(range(0xC0, 0x250), range(0x1E00, 0x1F00)):
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        base = base.lower()
        if len(base) == 1 and base != ch:
            table[cp] = base
    table.update({ord("ı"): "i", ord("ø"): "o", ord("đ"): "d", ord("ł"): "l"})
    for ch in APOSTROPHES:
        table[ord(ch)] = "'"
    for ch in DASHES:
        table[ord(ch)] = " "
    # Arabic: hamza forms of alef, alef maqsura, ta marbuta; one character each, so offsets hold.
    for ch in "أإآٱ":
        table[ord(ch)] = "ا"
    table[ord("ى")] = "ي"
    table[ord("ة")] = "ه"
    table[ord("ؤ")] = "و"
    table[ord("ئ")] = "ي"
    return table


FOLD = _fold_table()


APOS = re.compile("[" + APOSTROPHES + r"](?!s\b)", re.I)


def _marks_table() -> dict[int, str]:
    """FOLD, with every combining mark (Arabic harakat, shadda, tatweel, Latin accents written
    apart) turned into NUL, so that they can be found and dropped at C speed."""
    table = dict(FOLD)
    for cp in range(0x300, 0x10000):
        ch = chr(cp)
        if unicodedata.combining(ch) or ARABIC_MARKS.match(ch):
            table[cp] = "\x00"
    return table


FOLD_MARKS = _marks_table()
NUL = re.compile("\x00")


def fold(text: str) -> tuple[str, list[int] | None]:
    """Lower-case, strip diacritics, unify dashes and Arabic letter forms, drop apostrophes
    inside words (Rif'at = Rifat; a possessive 's stays a boundary).

    Returns the folded text and, when its length differs from the input's, a list mapping each
    folded position to the original one (None means positions are the same).
    """
    lowered = text.lower()
    drops = {m.start() for m in APOS.finditer(text)}
    if len(lowered) == len(text) and not ARABIC_MARKS.search(text):
        folded = lowered.translate(FOLD)
        if not drops:
            return folded, None
        index: list[int] = []
        prev = 0
        for d in sorted(drops):
            index.extend(range(prev, d))
            prev = d + 1
        index.extend(range(prev, len(text) + 1))
        return APOS.sub("", folded), index
    if len(lowered) == len(text):
        # Marks to drop (Arabic text): one translate, then the kept stretches between them.
        marked = lowered.translate(FOLD_MARKS)
        removed = sorted(drops.union(m.start() for m in NUL.finditer(marked)))
        parts: list[str] = []
        index = []
        prev = 0
        for d in removed:
            parts.append(marked[prev:d])
            index.extend(range(prev, d))
            prev = d + 1
        parts.append(marked[prev:])
        index.extend(range(prev, len(text) + 1))
        return "".join(parts), index
    out: list[str] = []
    index = []
    for i, ch in enumerate(text):
        if i in drops or ARABIC_MARKS.match(ch) or unicodedata.combining(ch):
            continue
        for c in ch.lower().translate(FOLD):
            out.append(c)
            index.append(i)
    index.append(len(text))
    return "".join(out), index


def fold_name(name: str) -> str:
    return " ".join(fold(name)[0].split())


# --- transliteration variants --------------------------------------------------------------------

TELL = ("tal", "tall", "tell", "tel")
ARTICLES = {"al", "el", "as", "ash", "ad", "ar", "az", "at", "an", "ath", "adh"}
STOPWORDS = {
    "the", "and", "near", "said", "area", "camp", "city", "town", "base", "line", "time", "that",
    "this", "there", "then", "than", "were", "here", "have", "made", "mine", "north",
    "south", "east", "west", "army", "team", "name", "same", "came", "late", "date", "bad",
}  # fmt: skip
MAX_VARIANTS = 400
# Faction short names that are everyday words in reports ("the south", "the government").
COMMON_WORDS = {
    "south", "north", "east", "west", "government", "coalition", "unidentified", "civilians",
    "army", "forces", "opposition", "rebels", "militia", "police",
}  # fmt: skip


def _word_variants(word: str) -> list[str]:
    """Spellings of one word, the likeliest first."""
    out = dict.fromkeys([word])
    for w in list(out):
        out.setdefault(re.sub(r"([aeiou])\1", r"\1", w))  # Rifaat / Rifat
        out.setdefault(re.sub(r"([b-df-hj-np-tv-z])\1", r"\1", w))  # Maarrat / Maarat
        out.setdefault(w.replace("ou", "u"))
        if len(w) > 4 and w.endswith("ah"):
            out.setdefault(w[:-1])  # Raqqah / Raqqa
    if len(word) >= 4 and word.isascii():
        for w in list(out):
            positions = [i for i, c in enumerate(w) if c in "aei" and i > 0][:4]
            for combo in itertools.product("aei", repeat=len(positions)):
                chars = list(w)
                for pos, vowel in zip(positions, combo, strict=True):
                    chars[pos] = vowel
                out.setdefault("".join(chars))
        # Long vowels written double or single: Rif'at / Rifaat, Refaat / Refat.
        for w in list(out):
            for i, c in enumerate(w):
                if c == "a" and i > 0 and w[i - 1] != "a" and w[i + 1 : i + 2] != "a":
                    out.setdefault(w[: i + 1] + "a" + w[i + 1 :])
    return list(out)


def name_variants(name: str) -> list[str]:
    """Spellings of one name: folded, Tal/Tell/Tall, al-/el- (or none), apostrophes, a/e/i
    vowels, long vowels and doubled consonants; at most MAX_VARIANTS, the likeliest kept."""
    folded = fold_name(name)
    if len(folded) < 3:
        return [folded] if folded else []
    words = folded.split()
    options: list[list[str]] = []
    for i, word in enumerate(words):
        if i == 0 and word in TELL and len(words) > 1:
            options.append(list(TELL))
        elif word in ARTICLES and i < len(words) - 1:
            choices = list(dict.fromkeys([word, "al", "el"]))
            if i == 0 and len(words) == 2 and len(words[1]) >= 5:
                choices.append("")  # "Al Qamishli" is often just "Qamishli"
            options.append(choices)
        else:
            options.append(_word_variants(word))
    while math.prod(len(o) for o in options) > MAX_VARIANTS:
        longest = max(options, key=len)
        longest.pop()
    variants = [folded]
    for combo in itertools.product(*options):
        v = " ".join(w for w in combo if w)
        if v not in STOPWORDS and len(v) >= 3:
            variants.append(v)
    return list(dict.fromkeys(variants))


# --- sentences -----------------------------------------------------------------------------------

# A sentence ends at . ! ? or the Arabic question mark before a capital, a digit or Arabic script,
# and at every line break (headlines and paragraphs).
SENTENCE_END = re.compile(r"(?<=[.!?؟])[\"”’)]*\s+(?=[\"“(]?[A-Z0-9\u0600-\u06ff])|\n+")


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of text."""
    spans, start = [], 0
    for m in SENTENCE_END.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


# --- word tests in C -----------------------------------------------------------------------------

# The only characters a lower-cased text can hold that re.IGNORECASE matches to an ASCII letter
# while lower() keeps them: dotless i (matches "i") and long s (matches "s"); in a text not
# lower-cased yet, also the dotted capital I, which lower() makes two characters.


def _ignorecase_odd(lowered: str) -> bool:
    return not lowered.isascii() and ("ı" in lowered or "ſ" in lowered)


def _case_odd(text: str) -> bool:
    return not text.isascii() and ("ı" in text or "ſ" in text or "İ" in text)


class Words:
    """Whether a text contains one of a set of words anywhere, as the alternation of the same
    words would say (case-insensitive unless `ignore_case` is False), but with one Aho-Corasick
    pass in C instead of trying every word at every position (ten to thirty times faster on a
    sentence). `pattern` is that alternation, for reading and for the rare text where case
    folding and lower() differ."""

    def __init__(self, *words: str, ignore_case: bool = True):
        import ahocorasick

        self.words = words
        self.ignore_case = ignore_case
        alternation = "|".join(re.escape(w) for w in words)
        self.pattern = re.compile(alternation, re.I) if ignore_case else re.compile(alternation)
        self._automaton = ahocorasick.Automaton()
        for w in words:
            self._automaton.add_word(w, w)
        self._automaton.make_automaton()

    def found_in(self, lowered: str) -> bool:
        """In a lower-cased (or folded) text, or any text when case counts: exactly whether
        `pattern` matches it."""
        if self.ignore_case and _ignorecase_odd(lowered):
            return self.pattern.search(lowered) is not None
        return next(self._automaton.iter(lowered), None) is not None

    def may_be_in(self, text: str) -> bool:
        """In any text: False only when `pattern` cannot match it. A pattern whose every match
        holds one of the words cannot match a text where this is False, so it need not be run
        there."""
        if not self.ignore_case:
            return next(self._automaton.iter(text), None) is not None
        if _case_odd(text):
            return True
        return next(self._automaton.iter(text.lower()), None) is not None

    def present(self, text: str) -> set[str] | None:
        """The words `text` holds; None when that cannot be told (a case-insensitive set, and a
        text whose case folding differs from lower()): then any of them may be there."""
        if not self.ignore_case:
            return {word for _, word in self._automaton.iter(text)}
        if _case_odd(text):
            return None
        return {word for _, word in self._automaton.iter(text.lower())}

    def finditer(self, pattern: re.Pattern, text: str) -> Iterator[re.Match]:
        """pattern.finditer(text), for a pattern every match of which begins with one of the
        words (as `pattern` would match them): the pattern is tried only where one begins,
        in order, as finditer would try every position (lookbehinds and \\b still see the text
        before). For patterns that begin with \\b or a lookbehind, which the regex engine
        cannot skip ahead for."""
        if _case_odd(text):
            yield from pattern.finditer(text)
            return
        lowered = text.lower() if self.ignore_case else text
        starts = sorted({end - len(word) + 1 for end, word in self._automaton.iter(lowered)})
        pos = 0
        for start in starts:
            if start < pos:
                continue
            m = pattern.match(text, start)
            if m:
                assert m.end() > start, "a pattern that matches nothing has no first word"
                yield m
                pos = m.end()
