"""Dates stage: the report's own date (feed entry, --published, or a dateline), the day-level
date expressions of a sentence resolved against it, and the coarser ones (a year, a month, "last
week") that mark history rather than an event.

Weekdays and "yesterday" are counted back from the report date and never land after it; with no
report date they stay unknown. Absolute dates ("5 December 2024", "30 تشرين الثاني") are read by
dateparser once the Levantine month names are replaced by the ones it knows.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

import dateparser

from .text import Words

MONTHS = {
    m.lower(): i
    for i, names in enumerate(
        [
            ("January", "Jan"), ("February", "Feb"), ("March", "Mar"), ("April", "Apr"),
            ("May",), ("June", "Jun"), ("July", "Jul"), ("August", "Aug"),
            ("September", "Sep", "Sept"), ("October", "Oct"), ("November", "Nov"),
            ("December", "Dec"),
        ],
        start=1,
    )
    for m in names
}  # fmt: skip
_MON = r"(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WD = "|".join(WEEKDAYS)
NUMBER_DAYS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}

# Arabic: weekdays (الاثنين also spelt الإثنين), the Levantine month names dateparser does not
# know, and the standard ones it does.
AR_WEEKDAYS = {
    "الاثنين": 0, "الإثنين": 0, "الثلاثاء": 1, "الأربعاء": 2, "الاربعاء": 2, "الخميس": 3,
    "الجمعة": 4, "السبت": 5, "الأحد": 6, "الاحد": 6,
}  # fmt: skip
LEVANTINE_MONTHS = [
    ("كانون الثاني", "يناير"), ("تشرين الأول", "أكتوبر"), ("تشرين الاول", "أكتوبر"),
    ("تشرين الثاني", "نوفمبر"), ("كانون الأول", "ديسمبر"), ("كانون الاول", "ديسمبر"),
    ("شباط", "فبراير"), ("آذار", "مارس"), ("نيسان", "أبريل"), ("أيار", "مايو"),
    ("حزيران", "يونيو"), ("تموز", "يوليو"), ("آب", "أغسطس"), ("أيلول", "سبتمبر"),
]  # fmt: skip
AR_MONTHS = [m for pair in LEVANTINE_MONTHS for m in pair] + ["ابريل", "اكتوبر"]
_AR_MON = "(?:" + "|".join(sorted(set(AR_MONTHS), key=len, reverse=True)) + ")"
AR_ORDINAL_DAYS = {"الأول": 1, "الاول": 1, "الثاني": 2, "الثالث": 3}

DATE_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("iso", re.compile(r"\b(20\d\d|19\d\d)-(\d\d)-(\d\d)\b")),
    ("dmy", re.compile(r"\b(\d{1,2}) " + _MON + r"(?:,? ((?:19|20)\d\d))?\b", re.I)),
    ("mdy", re.compile(r"\b" + _MON + r" (\d{1,2})(?:st|nd|rd|th)?\b(?:,? ((?:19|20)\d\d))?", re.I)),
    ("yesterday", re.compile(r"\byesterday\b|\blast night\b", re.I)),
    ("today", re.compile(r"\btoday\b|\bthis (?:morning|afternoon|evening)\b|\btonight\b", re.I)),
    ("weekday", re.compile(r"\b(?:(last|this) )?(" + _WD + r")\b", re.I)),
    ("ago", re.compile(r"\b(\d|one|two|three|four|five|six|seven) days? ago\b", re.I)),
    ("ar_date", re.compile(
        r"(\d{1,2}|الأول|الاول|الثاني|الثالث) (?:من )?(" + _AR_MON + r"(?: " + _AR_MON
        + r")?)(?:\s?/\s?" + _AR_MON + r")?(?: ((?:19|20)\d\d))?"
    )),
    ("ar_yesterday", re.compile(r"(?<![\w])(?:و|ب)?أمس(?![\w])")),
    ("ar_today", re.compile(r"(?<![\w])(?:و|ب)?اليوم(?![\w])")),
    ("ar_weekday", re.compile(r"(?<![\w])(" + "|".join(AR_WEEKDAYS) + r")(?![\w])")),
]  # fmt: skip

# Time words coarser than a day: a year, a month without its day, "last week", "in recent days".
COARSE = re.compile(
    r"\b(?:19|20)\d\d\b|\b(?:in|since|by|until|during|early|late|mid|last|this|of|next) "
    + _MON.replace(r"\.?", "")
    + r"\b|\b(?:last|past|previous|next|coming) (?:week|month|year|decade|weeks|months|years)\b"
    + r"|\bearlier this (?:week|month|year)\b|\bin recent (?:days|weeks|months|years)\b"
    + r"|\bfor (?:years|months|weeks|decades)\b|\byears ago\b|\bin the past\b"
    + r"|\b(?:days|weeks|months|years) (?:earlier|before|ago)\b"
    + r"|(?<![\w])(?:عام|العام|مطلع|منذ|الأسبوع|الشهر|أشهر|سنوات)(?![\w])"
    + r"|(?<![\w\d/])" + _AR_MON + r" (?:19|20)\d\d",
    re.I,
)  # fmt: skip

# "ALEPPO, Nov 30 —", "HAMA, Syria, 5 December 2024 —": a place in capitals at the very start.
DATELINE = re.compile(r"^\s*[A-Z][A-Z .'-]{2,40},(?: [A-Z][a-z]+,)? ([^—–\n]{3,30}?)\s*[—–-]")


@dataclass(frozen=True)
class DateMention:
    day: dt.date
    start: int  # offsets in the sentence
    end: int
    text: str


@functools.lru_cache(maxsize=4096)
def _dateparser(phrase: str, base: dt.date | None, languages: tuple[str, ...]) -> dt.date | None:
    settings = {"PREFER_DATES_FROM": "past", "DATE_ORDER": "DMY", "REQUIRE_PARTS": ["day", "month"]}
    if base:
        settings["RELATIVE_BASE"] = dt.datetime.combine(base, dt.time(12))
    parsed = dateparser.parse(phrase, languages=list(languages), settings=settings)
    return parsed.date() if parsed else None


def _with_year(day: dt.date | None, has_year: bool, base: dt.date | None) -> dt.date | None:
    """A date written without its year is the last such day on or before the report's date."""
    if day is None or has_year:
        return day
    if base is None:
        return None
    try:
        day = day.replace(year=base.year)
        return day if day <= base else day.replace(year=base.year - 1)
    except ValueError:  # 29 February
        return None


def _weekday(index: int, base: dt.date | None, last: bool = False) -> dt.date | None:
    if base is None:
        return None
    back = (base.weekday() - index) % 7
    if last and back == 0:
        back = 7
    return base - dt.timedelta(days=back)


def _resolve(kind: str, m: re.Match, base: dt.date | None) -> dt.date | None:
    if kind == "iso":
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    if kind in ("dmy", "mdy"):
        day = _dateparser(m.group(0), base, ("en",))
        return _with_year(day, bool(m[3]), base)
    if kind == "ar_date":
        phrase = m.group(0)
        for levantine, standard in LEVANTINE_MONTHS:
            phrase = phrase.replace(levantine, standard)
        if m[1] in AR_ORDINAL_DAYS:
            phrase = phrase.replace(m[1], str(AR_ORDINAL_DAYS[m[1]]), 1)
        phrase = re.sub(r"\s?/\s?\S+", "", phrase.replace(" من ", " "))
        return _with_year(_dateparser(phrase, base, ("ar",)), bool(m[3]), base)
    if base is None:
        return None  # every other expression is relative to the report's day
    if kind in ("yesterday", "ar_yesterday"):
        return base - dt.timedelta(days=1)
    if kind in ("today", "ar_today"):
        return base
    if kind == "weekday":
        return _weekday(WEEKDAYS.index(m[2].lower()), base, last=(m[1] or "").lower() == "last")
    if kind == "ar_weekday":
        return _weekday(AR_WEEKDAYS[m[1]], base)
    if kind == "ago":
        n = int(m[1]) if m[1].isdigit() else NUMBER_DAYS[m[1].lower()]
        return base - dt.timedelta(days=n)
    return None


# What every match of a pattern holds, tested first: most sentences lack a digit, a month, a
# weekday or an Arabic letter, and then the patterns that need one cannot match. Words are
# looked for case-insensitively (as the patterns match), all in one pass.
DIGIT = re.compile(r"\d")
ARABIC_LETTER = re.compile("[\u0600-\u06ff]")
MONTH_WORDS = frozenset(m[:3] for m in MONTHS)  # every month name starts with its abbreviation
NEEDS: dict[str, tuple[str | frozenset[str], ...]] = {
    "iso": ("digit",), "dmy": ("digit", MONTH_WORDS), "mdy": ("digit", MONTH_WORDS),
    "yesterday": (frozenset({"yesterday", "last night"}),),
    "today": (frozenset({"today", "tonight", "morning", "afternoon", "evening"}),),
    "weekday": (frozenset(WEEKDAYS),), "ago": (frozenset({"day"}), frozenset({"ago"})),
    "ar_date": ("arabic",), "ar_yesterday": ("arabic",), "ar_today": ("arabic",),
    "ar_weekday": ("arabic",),
}  # fmt: skip
# What every match of a pattern begins with, for those that begin with \b (which the regex
# engine cannot skip ahead for): they are tried only where one of these begins.
STARTS = {
    "mdy": Words(*sorted(MONTH_WORDS)),
    "yesterday": Words("yesterday", "last night"),
    "today": Words("today", "this ", "tonight"),
    "weekday": Words("last ", "this ", *WEEKDAYS),
}
DATE_WORDS = Words(
    *sorted(
        {w for needs in NEEDS.values() for n in needs if n not in ("digit", "arabic") for w in n}
    )
)


def find_dates(sentence: str, base: dt.date | None) -> list[DateMention]:
    """Day-level date expressions of a sentence resolved against the report date, never after it;
    an expression inside a longer one found first ("Monday" in "أمس الإثنين") is not repeated."""
    out: list[DateMention] = []
    words = DATE_WORDS.present(sentence)  # None: any may be there
    has = {"digit": DIGIT.search(sentence) is not None}
    has["arabic"] = ARABIC_LETTER.search(sentence) is not None

    def holds(need: str | frozenset[str]) -> bool:
        if isinstance(need, str):
            return has[need]
        return words is None or not words.isdisjoint(need)

    for kind, pattern in DATE_PATTERNS:
        if not all(holds(need) for need in NEEDS[kind]):
            continue
        starts = STARTS.get(kind)
        found = starts.finditer(pattern, sentence) if starts else pattern.finditer(sentence)
        for m in found:
            if any(d.start <= m.start() < d.end or m.start() <= d.start < m.end() for d in out):
                continue
            day = _resolve(kind, m, base)
            if day is not None and (base is None or day <= base):
                out.append(DateMention(day, m.start(), m.end(), m.group(0)))
    # "أمس الإثنين" (yesterday, Monday): both name one day; keep them as one mention.
    return sorted(out, key=lambda d: d.start)


YEAR_OR_MONTH = re.compile(
    r"\b(?:19|20)\d\d\b|\b(?:in|since|by|until|during|early|late|mid) "
    + _MON.replace(r"\.?", "")
    + r"\b|(?<![\w])(?:عام|العام|مطلع)(?![\w])",
    re.I,
)


def has_year_or_month(sentence: str) -> bool:
    """Whether the sentence is placed in a year or a month (history, as "By 2013 ...")."""
    return YEAR_OR_MONTH.search(sentence) is not None


def has_coarse_time(sentence: str) -> bool:
    """Whether the sentence places something by year, month or week rather than by day."""
    return COARSE.search(sentence) is not None


def report_day(text: str, published: dt.date | None) -> dt.date | None:
    """The report's date: the one it was published with, else a dated dateline at its start."""
    if published:
        return published
    m = DATELINE.match(text)
    if m:
        found = [d for d in find_dates(m[1], None) if d.day]
        if found:
            return found[0].day
    return None
