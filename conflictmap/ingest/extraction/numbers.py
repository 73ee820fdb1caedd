"""Numbers stage: fatalities with ACLED's qualifier.

"at least eight" is 8 "at least", "more than 80" 80 "at least", "about 20" and "nearly 90" are
"about"; as ACLED codes them, "dozens" is 12 "at least", "tens" (عشرات) 10 and "hundreds" 100.
"Several", "a number of" and "scores" stay unknown, and so does a total over several days
("since Sunday", "over the past week"). "No one was killed" and "no casualties" are 0. Wounded,
captured or displaced people are not fatalities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import Words

WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "a hundred": 100,
    "واحد": 1, "اثنان": 2, "اثنين": 2, "ثلاثه": 3, "اربعه": 4, "خمسه": 5, "سته": 6, "سبعه": 7,
    "ثمانيه": 8, "تسعه": 9, "عشره": 10,
}  # fmt: skip
# Vague amounts ACLED codes as a floor.
VAGUE = {"dozens": 12, "tens": 10, "hundreds": 100, "عشرات": 10, "مئات": 100}
AT_LEAST = {"at least", "more than", "over", "upwards of", "علي الاقل", "اكثر من"}
ABOUT = {"about", "nearly", "around", "some", "almost", "roughly", "approximately", "close to",
         "up to", "نحو", "حوالي", "قرابه"}  # fmt: skip

_N = (
    r"(\d{1,3}(?:,\d{3})*|\d+|"
    + "|".join(sorted((re.escape(w) for w in [*WORDS, *VAGUE]), key=len, reverse=True))
    + r")"
)
_Q = r"(?:(" + "|".join(sorted((*AT_LEAST, *ABOUT), key=len, reverse=True)) + r")\s+)?"
_DEAD = r"(?:killed|dead|died|deaths|fatalities|bodies|lives)"
PATTERNS = [
    # "killing at least five civilians", "killed six fighters"
    re.compile(r"\b(?:killing|killed|kills)\s+" + _Q + _N + r"\b", re.I),
    # "At least 33 Turkish soldiers were killed", "15 ships" is not: the death word must follow
    re.compile(
        r"\b"
        + _Q
        + _N
        + r"\b(?:\s+(?!wounded|injured)[\w-]+){0,4}?\s+(?:were|was|had been|have been)?\s*"
        + _DEAD,
        re.I,
    ),
    re.compile(r"\bdeath toll (?:of|rose to|reached|at)\s+" + _Q + _N, re.I),
    # Arabic: "قتل 15 شخصا علي الاقل", "مقتل سبعه علي الاقل", "بحياه عشرات"
    re.compile(
        r"(?:قتل|مقتل|بحياه|مصرع)\s+" + _Q + _N + r"(?:\s+[^\s،.]+){0,2}?(?:\s+(علي الاقل))?"
    ),
]
ZERO = re.compile(
    r"\bno (?:one|civilians?|people|person) (?:was|were) (?:killed|hurt)|\bno casualties\b|"
    r"\bno (?:deaths|fatalities) (?:were )?reported|لم ترد انباء عن (?:سقوط )?(?:ضحايا|قتلي)|"
    r"لم يسفر عن (?:سقوط )?(?:ضحايا|قتلي)",
    re.I,
)
# The words every match of each pattern of PATTERNS holds, in order, and those of ZERO: a text
# without any is not searched with it.
PATTERN_NEEDS = [
    Words("killing", "killed", "kills"),
    Words("killed", "dead", "died", "deaths", "fatalities", "bodies", "lives"),
    Words("death toll"),
    Words("قتل", "بحياه", "مصرع"),
]
ZERO_NEEDS = Words(
    "no one", "no civilian", "no people", "no person", "no casualties", "no deaths",
    "no fatalities", "لم ترد انباء عن", "لم يسفر عن",
)  # fmt: skip
TOTAL = re.compile(
    r"\bsince\b|\bover the (?:past|last)\b|\bin recent\b|\bon both sides\b|منذ", re.I
)


@dataclass(frozen=True)
class Fatalities:
    value: int
    qualifier: str  # "exact", "at least" or "about"
    start: int
    end: int


def _value(word: str) -> tuple[int, str] | None:
    w = word.lower().replace(",", "")
    if w.isdigit():
        return int(w), "exact"
    if w in VAGUE:
        return VAGUE[w], "at least"
    if w in WORDS:
        return WORDS[w], "exact"
    return None


DEATH_WORDS = Words(
    "kill", "dead", "die", "death", "casualt", "fatalit", "bodies", "lives", "قتل", "قتلي",
    "ضحايا", "بحياه", "مصرع", ignore_case=False,
)  # fmt: skip


def fatalities(text: str) -> Fatalities | None:
    """The fatalities a sentence (lower-cased or folded Arabic) states for its event, if any."""
    if not DEATH_WORDS.found_in(text):
        return None
    zero = ZERO_NEEDS.may_be_in(text) and ZERO.search(text)
    if zero:
        return Fatalities(0, "exact", zero.start(), zero.end())
    for pattern, needs in zip(PATTERNS, PATTERN_NEEDS, strict=True):
        if not needs.may_be_in(text):
            continue
        for m in pattern.finditer(text):
            if TOTAL.search(text[m.end() : m.end() + 40]):
                continue
            found = _value(m[2])
            if not found:
                continue
            value, qualifier = found
            q = (m[1] or (m[3] if m.lastindex and m.lastindex >= 3 else None) or "").lower()
            if q in AT_LEAST:
                qualifier = "at least"
            elif q in ABOUT:
                qualifier = "about"
            return Fatalities(value, qualifier, m.start(), m.end())
    return None
