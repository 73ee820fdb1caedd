"""Reports to candidate events: places, actors, dates and the event type, sentence by sentence.

Places and actors are found in one pass with an Aho-Corasick automaton (pyahocorasick) over a
case- and diacritics-folded copy of the text. The automaton is built once per process from the
gazetteer (events.Place) and the factions' aliases plus a small built-in lexicon, and rebuilt when
the gazetteer changes (a version stamp checked at most every few seconds, and signals).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import math
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field

import ahocorasick
import dateparser

# --- folding -------------------------------------------------------------------------------------

APOSTROPHES = "'’‘`´ʿʾʻʼ"
DASHES = "-‐‑‒–—_"
ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
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


# --- actors --------------------------------------------------------------------------------------

# Built-in lexicon: wording in reports -> faction slug. Acronyms are matched case-sensitively.
LEXICON: dict[str, tuple[str, ...]] = {
    "syrian-government": (
        "regime", "regime forces", "Syrian army", "Syrian Arab Army", "SAA", "government forces",
        "pro-government forces", "Assad forces", "Syrian government", "Syrian troops",
        "Tiger Forces", "25th Division", "النظام", "قوات النظام", "الجيش السوري",
        "Military of Syria: Syrian Arab Army",
    ),
    "russia": ("Russian", "Russia", "Russian forces", "Russian warplanes", "Russian jets", "روسيا"),
    "iran": ("IRGC", "Iranian", "Iran-backed", "Iranian-backed", "Revolutionary Guard", "إيران"),
    "hezbollah": ("Hezbollah", "Hizbollah", "Hizballah", "حزب الله"),
    "hts": (
        "HTS", "Hayat Tahrir al-Sham", "Hayat Tahrir al Sham", "Hay'at Tahrir al-Sham",
        "Tahrir al-Sham", "هيئة تحرير الشام", "الهيئة",
    ),
    "sna": (
        "SNA", "Syrian National Army", "Turkish-backed", "Turkey-backed", "Turkish-backed factions",
        "الجيش الوطني السوري", "الجيش الوطني",
    ),
    "turkey": ("Turkish army", "Turkish forces", "Turkish drone", "Turkish", "Turkey", "TAF", "تركيا"),
    "sdf": (
        "SDF", "YPG", "Syrian Democratic Forces", "Kurdish-led", "Kurdish forces", "Kurdish fighters",
        "قسد", "قوات سوريا الديمقراطية",
    ),
    "isis": ("ISIS", "ISIL", "IS", "Islamic State", "Daesh", "Daish", "داعش", "تنظيم الدولة"),
    "us-coalition": (
        "US-led coalition", "U.S.-led coalition", "international coalition", "US forces",
        "U.S. forces", "American forces", "CENTCOM", "التحالف الدولي",
    ),
    "israel": ("Israel", "Israeli", "IDF", "Israeli warplanes", "Israeli jets", "إسرائيل"),
    "southern-groups": (
        "southern factions", "Southern Operations Room", "southern opposition", "Daraa factions",
        "غرفة عمليات الجنوب",
    ),
}  # fmt: skip


# --- event types ---------------------------------------------------------------------------------

BATTLES, EXPLOSIONS, VAC = "Battles", "Explosions/Remote violence", "Violence against civilians"
TYPE_RULES: list[tuple[re.Pattern, str, str]] = [
    (
        re.compile(r"\bchemical (?:attack|weapons?)|\bsarin\b|\bchlorine\b"),
        EXPLOSIONS,
        "Chemical weapon",
    ),
    (re.compile(r"\bsuicide (?:bomb|attack|car)|\bsuicide bomber"), EXPLOSIONS, "Suicide bomb"),
    (
        re.compile(
            r"\bair ?strikes?\b|\bair ?raids?\b|\bdrone (?:strikes?|attacks?)\b|\bwarplanes?\b"
            r"|\bjets? (?:struck|bombed|hit)\b|\bbombed\b|\bdrones? (?:struck|hit|targeted)\b"
            r"|غارات?|قصف جوي"
        ),
        EXPLOSIONS,
        "Air/drone strike",
    ),
    (
        re.compile(
            r"\bshell(?:ing|ed|s)\b|\bartillery\b|\brockets?\b|\bmissiles?\b|\bmortars?\b"
            r"|قصف|صواريخ|قذائف"
        ),
        EXPLOSIONS,
        "Shelling/artillery/missile attack",
    ),
    (
        re.compile(r"\bied\b|\bcar bomb|\broadside bomb|\blandmines?\b|\bexplosive device"),
        EXPLOSIONS,
        "Remote explosive/landmine/IED",
    ),
    (
        re.compile(
            r"\brecaptured\b|\bretook\b|\bregained\b|\bre-?took control\b|\bregained control\b"
        ),
        BATTLES,
        "Government regains territory",
    ),
    (
        re.compile(
            r"\bcaptured?\b|\btook (?:full )?control\b|\btaken control\b|\bseized?\b|\boverran\b"
            r"|\bentered\b|\bfell to\b|\btake over\b|\btook over\b|سيطر|سيطرة"
        ),
        BATTLES,
        "Non-state actor overtakes territory",
    ),
    (
        re.compile(
            r"\bclash(?:es|ed)?\b|\bfighting\b|\bfought\b|\bbattles?\b|\bengaged\b|\bcombat\b"
            r"|\bfirefights?\b|اشتباكات|معارك"
        ),
        BATTLES,
        "Armed clash",
    ),
    (
        re.compile(r"\babduct(?:ed|ion)\b|\bkidnapp(?:ed|ing)\b"),
        VAC,
        "Abduction/forced disappearance",
    ),
    (
        re.compile(
            r"\bcivilians?\b[^.]{0,80}\b(?:killed|shot|executed|murdered)\b"
            r"|\b(?:killed|shot|executed|murdered|killing)\b[^.]{0,60}\bcivilians?\b|\bmassacre"
        ),
        VAC,
        "Attack",
    ),
    (
        re.compile(r"\bprotest(?:s|ers|ed)?\b|\bdemonstrat(?:ion|ors|ed)\b"),
        "Protests",
        "Peaceful protest",
    ),
    (re.compile(r"\barrest(?:ed|s)?\b|\bdetained\b"), "Strategic developments", "Arrests"),
]
GOVERNMENT = {"syrian-government", "russia", "iran", "hezbollah"}

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "dozens": 24,
    "a dozen": 12, "dozen": 12,
}  # fmt: skip
_NUM = r"(\d{1,5}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + ")"
FATALITIES = [
    re.compile(r"\bkilling (?:at least |some |about )?" + _NUM + r"\b"),
    re.compile(
        r"\b(?:at least |some |about )?" + _NUM + r"\b(?: [a-z-]+){0,3} (?:were |was )?killed"
    ),
    re.compile(r"\b" + _NUM + r" (?:dead|deaths|fatalities|bodies)\b"),
]

# --- dates ---------------------------------------------------------------------------------------

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
DATE_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("iso", re.compile(r"\b(20\d\d)-(\d\d)-(\d\d)\b")),
    ("dmy", re.compile(r"\b(\d{1,2}) " + _MON + r"(?:,? (20\d\d))?\b")),
    ("mdy", re.compile(r"\b" + _MON + r" (\d{1,2})(?:st|nd|rd|th)?(?:,? (20\d\d))?\b")),
    ("yesterday", re.compile(r"\byesterday\b|\blast night\b|أمس")),
    ("today", re.compile(r"\btoday\b|\bthis morning\b|\bearlier today\b|\bovernight\b|اليوم")),
    ("weekday", re.compile(r"\b(?:on |last |early |late )?(" + "|".join(WEEKDAYS) + r")\b")),
    ("ago", re.compile(r"\b" + _NUM + r" days? ago\b")),
    ("arabic", re.compile(r"\d{1,2} (?:كانون|تشرين|شباط|آذار|نيسان|أيار|حزيران|تموز|آب|أيلول|يناير|فبراير|مارس|أبريل|مايو|يونيو|يوليو|أغسطس|سبتمبر|أكتوبر|نوفمبر|ديسمبر)[^\s\d]*(?: [^\s\d]+)?(?: \d{4})?")),
]  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _dateparser(phrase: str, base: dt.date) -> dt.date | None:
    parsed = dateparser.parse(
        phrase,
        settings={
            "RELATIVE_BASE": dt.datetime.combine(base, dt.time(12)),
            "PREFER_DATES_FROM": "past",
            "DATE_ORDER": "DMY",
        },
    )
    return parsed.date() if parsed else None


def _with_year(month: int, day: int, year: str | None, base: dt.date) -> dt.date | None:
    try:
        if year:
            return dt.date(int(year), month, day)
        candidate = dt.date(base.year, month, day)
        # A date without a year in a report is in the past of the report (or its day).
        return candidate if candidate <= base else dt.date(base.year - 1, month, day)
    except ValueError:
        return None


def _resolve(kind: str, m: re.Match, base: dt.date) -> dt.date | None:
    if kind == "iso":
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    if kind == "dmy":
        return _with_year(MONTHS[m[2]], int(m[1]), m[3], base)
    if kind == "mdy":
        return _with_year(MONTHS[m[1]], int(m[2]), m[3], base)
    if kind == "yesterday":
        return base - dt.timedelta(days=1)
    if kind == "today":
        return base
    if kind == "weekday":
        back = (base.weekday() - WEEKDAYS.index(m[1])) % 7
        if m.group(0).startswith("last ") and back == 0:
            back = 7
        return base - dt.timedelta(days=back)
    if kind == "ago":
        n = int(m[1]) if m[1].isdigit() else NUMBER_WORDS.get(m[1], 0)
        return base - dt.timedelta(days=n) if n < 400 else None
    phrase = m.group(0)
    for levantine, standard in LEVANTINE_MONTHS:
        phrase = phrase.replace(levantine, standard)
    return _dateparser(phrase, base)


# dateparser knows the Arabic month names of Egypt and the Gulf, not the Levant's (Syria's).
LEVANTINE_MONTHS = [
    ("كانون الثاني", "يناير"), ("تشرين الأول", "أكتوبر"), ("تشرين الاول", "أكتوبر"),
    ("تشرين الثاني", "نوفمبر"), ("كانون الأول", "ديسمبر"), ("كانون الاول", "ديسمبر"),
    ("شباط", "فبراير"), ("آذار", "مارس"), ("نيسان", "أبريل"), ("أيار", "مايو"),
    ("حزيران", "يونيو"), ("تموز", "يوليو"), ("آب", "أغسطس"), ("أيلول", "سبتمبر"),
]  # fmt: skip


def find_dates(sentence_lower: str, base: dt.date) -> list[tuple[dt.date, int, int]]:
    """Date expressions of a (lower-cased) sentence, resolved against the report date."""
    out = []
    for kind, pattern in DATE_PATTERNS:
        for m in pattern.finditer(sentence_lower):
            day = _resolve(kind, m, base)
            if day is not None and not any(s <= m.start() < e for _, s, e in out):
                out.append((day, m.start(), m.end()))
    return out


def find_date(sentence_lower: str, base: dt.date, near: int = 0) -> tuple[dt.date, int, int] | None:
    """The date expression nearest to position `near` (the event wording), if any."""
    found = find_dates(sentence_lower, base)
    return min(found, key=lambda d: abs(d[1] - near)) if found else None


# --- the automaton -------------------------------------------------------------------------------


@dataclass
class Entry:
    kind: str  # "place" or "actor"
    ref: int | str  # place id or faction slug
    name: str
    lon: float | None = None
    lat: float | None = None
    faction_id: int | None = None
    exact: bool = True  # the key is a real name, not a generated variant
    case: str = ""  # the exact spelling required (acronyms)
    weight: int = 0


@dataclass
class Gazetteer:
    automaton: ahocorasick.Automaton
    stamp: tuple
    places: int = 0
    keys: int = 0


def _add(store: dict[str, Entry], key: str, entry: Entry) -> None:
    old = store.get(key)
    if old is None or (entry.exact, entry.weight) > (old.exact, old.weight):
        store[key] = entry


def build(places: list[tuple], factions: list[tuple], stamp: tuple = ()) -> Gazetteer:
    """places: (id, name, name_ar, alternate_names, lon, lat, population);
    factions: (id, slug, name, short_name, name_ar, aliases)."""
    store: dict[str, Entry] = {}
    for pid, name, name_ar, alternates, lon, lat, population in places:
        weight = population or 0
        # The main name gets transliteration variants; Arabic and alternate names (GeoNames
        # already lists many spellings) are taken as they are, folded.
        for i, key in enumerate(name_variants(name or "")):
            _add(store, key, Entry("place", pid, name, lon, lat, exact=i == 0, weight=weight))
        for n in [name_ar, *(alternates or [])]:
            key = fold_name(n or "")
            if len(key) >= 3 and key not in STOPWORDS:
                _add(store, key, Entry("place", pid, name, lon, lat, weight=weight))
    by_slug = {slug: (fid, name) for fid, slug, name, *_ in factions}
    for fid, slug, name, short, name_ar, aliases in factions:
        for n in [name, short, name_ar, *(aliases or [])]:
            if n and len(fold_name(n)) >= 2 and fold_name(n) not in COMMON_WORDS:
                case = n if n.isupper() and len(n) <= 5 else ""
                _add(
                    store,
                    fold_name(n),
                    Entry("actor", slug, name, faction_id=fid, case=case, weight=10),
                )
    for slug, words in LEXICON.items():
        fid, fname = by_slug.get(slug, (None, slug))
        for w in words:
            case = w if w.isupper() and len(w) <= 5 else ""
            _add(
                store,
                fold_name(w),
                Entry("actor", slug, fname, faction_id=fid, case=case, weight=5),
            )
    automaton = ahocorasick.Automaton()
    for key, entry in store.items():
        automaton.add_word(key, (len(key), entry))
    if store:
        automaton.make_automaton()
    return Gazetteer(automaton, stamp, places=len(places), keys=len(store))


_lock = threading.Lock()
_cache: dict[str, object] = {"gazetteer": None, "checked": 0.0}
CHECK_EVERY = 5.0


def gazetteer_stamp() -> tuple:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM events_place), (SELECT max(id) FROM events_place),"
            " (SELECT max(history_id) FROM events_historicalplace),"
            " (SELECT count(*) FROM territory_faction), (SELECT max(id) FROM territory_faction),"
            " (SELECT max(history_id) FROM territory_historicalfaction)"
        )
        return tuple(cur.fetchone())


def load_gazetteer() -> Gazetteer:
    from conflictmap.events.models import Place
    from conflictmap.territory.models import Faction

    stamp = gazetteer_stamp()
    places = [
        (p.pk, p.name, p.name_ar, p.alternate_names, p.geom.x, p.geom.y, p.population)
        for p in Place.objects.only(
            "id", "name", "name_ar", "alternate_names", "geom", "population"
        ).iterator(chunk_size=2000)
    ]
    factions = list(
        Faction.objects.values_list("id", "slug", "name", "short_name", "name_ar", "aliases")
    )
    return build(places, factions, stamp)


def get_gazetteer(force_check: bool = False) -> Gazetteer:
    """The process-wide automaton, rebuilt when the gazetteer's version stamp changes."""
    now = time.monotonic()
    gaz = _cache["gazetteer"]
    if gaz is not None and not force_check and now - _cache["checked"] < CHECK_EVERY:
        return gaz  # type: ignore[return-value]
    with _lock:
        gaz = _cache["gazetteer"]
        stamp = gazetteer_stamp()
        if gaz is None or gaz.stamp != stamp:  # type: ignore[union-attr]
            gaz = load_gazetteer()
            _cache["gazetteer"] = gaz
        _cache["checked"] = now
    return gaz  # type: ignore[return-value]


def invalidate() -> None:
    _cache["gazetteer"] = None


# --- extraction ----------------------------------------------------------------------------------

SENTENCE_END = re.compile(r"(?<=[.!?؟])[\"”’)]*\s+(?=[\"“(]?[A-Z0-9\u0600-\u06ff])|\n+")


@dataclass
class CandidateData:
    sentence_index: int
    sentence: str
    start: int
    end: int
    places: list[dict] = field(default_factory=list)
    actors: list[dict] = field(default_factory=list)
    spans: list[dict] = field(default_factory=list)
    date: dt.date | None = None
    event_type: str = ""
    sub_event_type: str = ""
    fatalities: int | None = None
    confidence: float = 0.0
    place_id: int | None = None
    lon: float | None = None
    lat: float | None = None


def sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in SENTENCE_END.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


ARABIC_PREFIXES = "وبلفك"


def find_matches(text: str, gaz: Gazetteer) -> list[tuple[int, int, Entry]]:
    """Whole-word, longest, non-overlapping matches as (start, end, entry) in `text` offsets."""
    folded, index = fold(text)
    found: list[tuple[int, int, Entry]] = []
    n = len(folded)
    if not gaz.keys:
        return found
    for end, (length, entry) in gaz.automaton.iter(folded):
        start = end - length + 1
        if end + 1 < n and folded[end + 1].isalnum():
            continue
        if start > 0 and folded[start - 1].isalnum():
            ok = folded[start - 1] in ARABIC_PREFIXES and (
                start < 2 or not folded[start - 2].isalnum()
            )
            if not ok:
                continue
        s, e = (index[start], index[end + 1]) if index else (start, end + 1)
        if entry.case and text[s:e] != entry.case:
            continue
        if entry.kind == "place":
            span = text[s:e]
            if span == span.lower() and span != span.upper():
                continue  # a place name in Latin script is capitalised ("hash" is not Hish)
        found.append((s, e, entry))
    found.sort(key=lambda m: (m[0], -(m[1] - m[0])))
    chosen: list[tuple[int, int, Entry]] = []
    last_end = -1
    for m in found:
        if m[0] >= last_end:
            chosen.append(m)
            last_end = m[1]
    return chosen


def _fatalities(lower: str) -> int | None:
    for pattern in FATALITIES:
        m = pattern.search(lower)
        if m:
            value = m.group(1)
            return NUMBER_WORDS.get(value) if not value.isdigit() else int(value)
    return None


def extract(text: str, report_date: dt.date, gaz: Gazetteer | None = None) -> list[CandidateData]:
    """Candidates of one report: sentences with an event wording and a place or an actor."""
    gaz = gaz or get_gazetteer()
    matches = find_matches(text, gaz)
    starts = [m[0] for m in matches]
    out: list[CandidateData] = []
    spans = sentences(text)
    for index, (s, e) in enumerate(spans):
        lo, hi = bisect.bisect_left(starts, s), bisect.bisect_left(starts, e)
        if lo == hi:  # no place and no actor: not a candidate (most sentences; skip them fast)
            continue
        here = matches[lo:hi]
        places = [m for m in here if m[2].kind == "place"]
        actors = [m for m in here if m[2].kind == "actor"]
        sentence = text[s:e]
        lower = sentence.lower()
        rule = next(((t, sub, m) for p, t, sub in TYPE_RULES if (m := p.search(lower))), None)
        if rule is None:
            continue
        found = find_date(lower, report_date, rule[2].start())
        date_explicit = found is not None
        context_date = None
        if not found:
            # A sentence without a date takes the last one of the few sentences before it.
            for j in range(index - 1, max(index - 4, -1), -1):
                earlier = find_dates(text[spans[j][0] : spans[j][1]].lower(), report_date)
                if earlier:
                    context_date = max(earlier, key=lambda d: d[1])[0]
                    break
        event_type, sub, cue = rule
        slugs = list(dict.fromkeys(str(a[2].ref) for a in actors))
        if sub == "Non-state actor overtakes territory" and slugs and slugs[0] in GOVERNMENT:
            sub = "Government regains territory"
        cand = CandidateData(index, sentence, s, e, event_type=event_type, sub_event_type=sub)
        cand.places = [
            {
                "place_id": p[2].ref,
                "name": p[2].name,
                "matched": text[p[0] : p[1]],
                "start": p[0] - s,
                "end": p[1] - s,
                "lon": p[2].lon,
                "lat": p[2].lat,
                "exact": p[2].exact,
            }
            for p in places
        ]
        seen: set[str] = set()
        for a in actors:
            if str(a[2].ref) in seen:
                continue
            seen.add(str(a[2].ref))
            cand.actors.append(
                {
                    "slug": a[2].ref,
                    "faction_id": a[2].faction_id,
                    "name": a[2].name,
                    "matched": text[a[0] : a[1]],
                    "start": a[0] - s,
                    "end": a[1] - s,
                }
            )
        cand.spans.append(
            {"kind": "type", "start": cue.start(), "end": cue.end(), "text": cue.group(0)}
        )
        if found:
            cand.spans.append(
                {
                    "kind": "date",
                    "start": found[1],
                    "end": found[2],
                    "text": lower[found[1] : found[2]],
                }
            )
        cand.date = found[0] if found else (context_date or report_date)
        cand.fatalities = _fatalities(lower)
        if places:
            # The place nearest the event wording (a dateline such as "ALEPPO —" is not it).
            nearest = min(places, key=lambda p: abs(p[0] - s - cue.start()))
            first = nearest[2]
            cand.place_id, cand.lon, cand.lat = int(first.ref), first.lon, first.lat
        score = 0.2 + (0.35 if places else 0) + (0.2 if actors else 0)
        score += 0.15 if date_explicit else 0.05
        if places and not nearest[2].exact:
            score -= 0.1
        cand.confidence = round(min(score, 0.95), 2)
        out.append(cand)
    return out
