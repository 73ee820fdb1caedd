"""Places and actors stage: the gazetteer's names (places with their spellings, factions' aliases
and a built-in lexicon) in one Aho-Corasick automaton over folded text, built once per process and
rebuilt when the gazetteer changes (a version stamp checked at most every few seconds, and signals).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import ahocorasick

from .text import COMMON_WORDS, STOPWORDS, fold, fold_name, name_variants

# --- actors --------------------------------------------------------------------------------------

# Built-in lexicon: wording in reports -> faction slug. Acronyms are matched case-sensitively.
LEXICON: dict[str, tuple[str, ...]] = {
    "syrian-government": (
        "regime", "regime forces", "Syrian army", "Syrian Arab Army", "SAA", "government forces",
        "pro-government forces", "Assad forces", "Syrian government", "Syrian troops",
        "Tiger Forces", "25th Division", "النظام", "قوات النظام", "الجيش السوري",
        "Military of Syria: Syrian Arab Army",
    ),
    "russia": (
        "Russian", "Russia", "Russian forces", "Russian warplanes", "Russian jets", "روسيا",
        "روسية", "الروسية", "الروسي", "روسي",
    ),
    "iran": ("IRGC", "Iranian", "Iran-backed", "Iranian-backed", "Revolutionary Guard", "إيران"),
    "hezbollah": ("Hezbollah", "Hizbollah", "Hizballah", "حزب الله"),
    "hts": (
        "HTS", "Hayat Tahrir al-Sham", "Hayat Tahrir al Sham", "Hay'at Tahrir al-Sham",
        "Tahrir al-Sham", "هيئة تحرير الشام", "الهيئة",
        # Its leader, who became the interim president after Assad's fall (coded hts).
        "Ahmed al-Sharaa", "al-Sharaa", "Abu Mohammed al-Jolani", "al-Jolani", "interim president",
        "interim government", "أحمد الشرع", "الشرع", "الرئيس السوري للمرحلة الانتقالية",
    ),
    "sna": (
        "SNA", "Syrian National Army", "Turkish-backed", "Turkey-backed", "Turkish-backed factions",
        "الجيش الوطني السوري", "الجيش الوطني",
    ),
    "turkey": (
        "Turkish army", "Turkish forces", "Turkish drone", "Turkish", "Turkey", "TAF", "تركيا",
        "التركية", "التركي", "تركية", "تركياً", "الأتراك",
    ),
    "sdf": (
        "SDF", "YPG", "Syrian Democratic Forces", "Kurdish-led", "Kurdish forces", "Kurdish fighters",
        "قسد", "قوات سوريا الديمقراطية",
    ),
    "isis": ("ISIS", "ISIL", "IS", "Islamic State", "Daesh", "Daish", "داعش", "تنظيم الدولة"),
    "us-coalition": (
        "US-led coalition", "U.S.-led coalition", "international coalition", "US forces",
        "U.S. forces", "American forces", "CENTCOM", "التحالف الدولي", "United States", "US",
        "U.S.", "US-led", "الأمريكية", "الأمريكي", "أمريكية", "الولايات المتحدة",
    ),
    "israel": (
        "Israel", "Israeli", "IDF", "Israeli warplanes", "Israeli jets", "إسرائيل", "إسرائيلية",
        "الإسرائيلية", "الإسرائيلي",
    ),
    "southern-groups": (
        "southern factions", "Southern Operations Room", "southern opposition", "Daraa factions",
        "غرفة عمليات الجنوب",
        # The corpus and ACLED code Suwayda's Druze armed groups with the southern factions.
        "Druze fighters", "Druze factions", "Druze militias", "Druze gunmen",
    ),
    "unidentified-armed-group": (
        "unidentified gunmen", "unknown gunmen", "unidentified attackers", "مسلحون مجهولون",
        "مسلحين مجهولين",
    ),
}  # fmt: skip


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


def _spellings(key: str) -> list[str]:
    """Other ways a folded name is written: without the apostrophe folding keeps before an s
    ("Ra's al Ayn" is written "Ras al-Ayn"); Arabic "البو كمال" and "ابو كمال" joined as one
    word, as they often are."""
    out = []
    if "'" in key:
        out.append(key.replace("'", ""))
    first, _, rest = key.partition(" ")
    if rest and first in ("البو", "ابو"):
        out.append(first + rest)
    return [k for k in out if len(k) >= 3 and k not in STOPWORDS]


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
            for extra in _spellings(key):
                _add(store, extra, Entry("place", pid, name, lon, lat, exact=False, weight=weight))
        for n in [name_ar, *(alternates or [])]:
            key = fold_name(n or "")
            if len(key) >= 3 and key not in STOPWORDS:
                _add(store, key, Entry("place", pid, name, lon, lat, weight=weight))
                for extra in _spellings(key):
                    _add(store, extra, Entry("place", pid, name, lon, lat, weight=weight))
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
    # Arabic: after the preposition ل the article's alef drops ("للنظام" is ل + "النظام").
    for key, entry in list(store.items()):
        if key.startswith("ال") and len(key) > 4:
            _add(store, "لل" + key[2:], entry)
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
