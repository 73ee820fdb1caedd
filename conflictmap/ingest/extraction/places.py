"""Places stage: where an event happened, how precisely, and what the gazetteer lacks.

The place is the named place nearest after the trigger in its clause (the object of "captured",
"struck"), else before it, else anywhere in the sentence. ACLED's precision follows the words
around it: "near", "outside", "the outskirts of" a place is `near`; a province or its countryside
is `region` (placed at its capital, which carries its name); else `exact`. A distance and a
direction ("20 km west of Aleppo") move the point. A named site the gazetteer does not know ("the
Shayrat air base") is offered to editors as an addition.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .text import Words

EXACT, NEAR, REGION = "exact", "near", "region"

NEAR_BEFORE = re.compile(
    r"(?:\bnear|\boutside|\boutskirts of|\baround|\bclose to|\bedge of|\bvicinity of|"
    r"\b(?:north|south|east|west|north-east|north-west|south-east|south-west|northeast|"
    r"northwest|southeast|southwest)(?:ern)? of|قرب|محيط|اطراف|اطراف مدينه|بالقرب من|"
    r"شمال|جنوب|شرق|غرب|شمال غربي|شمال شرقي|جنوب غربي|جنوب شرقي)\s+(?:the\s+)?(?:city of\s+|"
    r"town of\s+|village of\s+|مدينه\s+|بلده\s+)?$",
    re.I,
)
REGION_BEFORE = re.compile(
    r"(?:\bprovince of|\bgovernorate of|\bcountryside of|محافظه|محافظتي|ريف|بادية)\s+$", re.I
)
REGION_AFTER = re.compile(
    r"^\s*(?:province|governorate|countryside|region|'s (?:eastern |western |northern |southern )?"
    r"countryside)\b",
    re.I,
)
SAME_PLACE_KM = 3.0
# A square, street or neighbourhood named like a town is not that town ("ساحة الكرامة").
NOT_A_TOWN_BEFORE = re.compile(r"(?:ساح[ةه]|شارع|حي|دوار)\s+$")
NOT_A_TOWN_AFTER = re.compile(r"^\s+(?:square|street|road|roundabout)\b", re.I)
TOWARD_BEFORE = re.compile(
    r"(?:\btoward|\btowards|\bfrom|\bto|\bfled|باتجاه|نحو|الي)\s+(?:the\s+)?$", re.I
)
COORDINATED = re.compile(
    r"^(?:\s+(?:city|town))?(?:,\s*|\s+and\s+(?:in\s+)?(?:the\s+)?(?:nearby\s+)?(?:town\s+of\s+|village\s+of\s+|city\s+of\s+)?"
    r"|\s+و(?:في\s+)?(?:بلده\s+|مدينه\s+)?)$",
    re.I,
)
BEARINGS = {
    "north": 0, "north-east": 45, "northeast": 45, "east": 90, "south-east": 135, "southeast": 135,
    "south": 180, "south-west": 225, "southwest": 225, "west": 270, "north-west": 315,
    "northwest": 315,
}  # fmt: skip
DISTANCE = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:km|kilometres|kilometers|kilometre|kilometer)\s+(?:to the\s+)?"
    r"(" + "|".join(sorted(BEARINGS, key=len, reverse=True)) + r")(?:ern)?\s+of\s+$",
    re.I,
)
SITE = re.compile(
    r"\b((?:[A-Z][\w'’-]+\s){1,3})(air ?base|airbase|airport|base|prison|dam|bridge|"
    r"(?:border )?crossing|checkpoint|camp|academy|hospital|oil field|gas field)\b"
    r"|\b(?:village|town|hill|base) of ([A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?)"
    r"|\bat ([A-Z][\w'’-]+), an? (?:village|town|hamlet|camp)"
)


# Words every match of NEAR_BEFORE, and of REGION_BEFORE, holds: a window without any is not
# searched (those patterns end at the window's end, and are tried from each of its letters).
NEAR_NEEDS = Words(
    "near", "outside", "outskirts", "around", "close to", "edge of", "vicinity", "north", "south",
    "east", "west", "قرب", "محيط", "اطراف", "شمال", "جنوب", "شرق", "غرب",
)  # fmt: skip
REGION_NEEDS = Words(
    "province of",
    "governorate of",
    "countryside of",
    "محافظ",
    "ريف",
    "بادية",
)


# What every match of SITE holds (case and all, as SITE matches): a clause without any is not
# searched.
SITE_WORDS = Words(
    "base", "airport", "prison", "dam", "bridge", "crossing", "checkpoint", "camp", "academy",
    "hospital", "field", "village", "town", "hill", "hamlet", ignore_case=False,
)  # fmt: skip


@dataclass
class PlaceMention:
    place_id: int
    name: str
    start: int  # sentence offsets
    end: int
    text: str
    lon: float
    lat: float
    exact: bool  # the spelling is the place's own name, not a generated variant


def precision(sentence: str, p: PlaceMention) -> str:
    before = sentence[max(0, p.start - 40) : p.start]
    if (REGION_NEEDS.may_be_in(before) and REGION_BEFORE.search(before)) or REGION_AFTER.match(
        sentence[p.end : p.end + 30]
    ):
        return REGION
    if NEAR_NEEDS.may_be_in(before) and NEAR_BEFORE.search(before):
        return NEAR
    return EXACT


def shifted(sentence: str, p: PlaceMention) -> tuple[float, float] | None:
    """The point a distance and direction from the place ("20 km west of Aleppo"), if given."""
    m = DISTANCE.search(sentence[max(0, p.start - 40) : p.start])
    if not m:
        return None
    km, bearing = float(m[1]), math.radians(BEARINGS[m[2].lower()])
    dlat = km * math.cos(bearing) / 111.32
    dlon = km * math.sin(bearing) / (111.32 * math.cos(math.radians(p.lat)))
    return round(p.lon + dlon, 5), round(p.lat + dlat, 5)


def km_between(a: PlaceMention, b: PlaceMention) -> float:
    dlat = (a.lat - b.lat) * 111.32
    dlon = (a.lon - b.lon) * 111.32 * math.cos(math.radians((a.lat + b.lat) / 2))
    return math.hypot(dlat, dlon)


def choose(
    sentence: str,
    places: list[PlaceMention],
    trigger_start: int,
    lo: int,
    hi: int,
    anywhere: bool = False,
) -> list[PlaceMention]:
    """The event's place in the clause [lo, hi) (or `anywhere` in the sentence), and the places
    coordinated with it ("captured Urum al-Kubra and the nearby village of Anjara"): one event
    each, unless they lie within a few km (a district of the same city)."""
    usable = [
        p for p in places
        if not TOWARD_BEFORE.search(sentence[max(0, p.start - 12) : p.start])
        and not NOT_A_TOWN_BEFORE.search(sentence[max(0, p.start - 12) : p.start])
        and not NOT_A_TOWN_AFTER.match(sentence[p.end : p.end + 12])
    ]  # fmt: skip
    if not usable:
        return []
    after = [p for p in usable if trigger_start <= p.start < hi]
    before = [p for p in usable if lo <= p.start < trigger_start]
    if after:
        first = after[0]
    elif before:
        # "A chemical attack on the town of Khan Shaykhun in Idlib province ... killed": the town,
        # not its province.
        towns = [p for p in before if precision(sentence, p) != REGION]
        first = (towns or before)[0]
    elif anywhere:
        first = min(usable, key=lambda p: abs(p.start - trigger_start))
    else:
        return []
    chosen = [first]
    rest = [p for p in usable if p.start > first.start]
    prev = first
    for p in rest:
        if not COORDINATED.match(sentence[prev.end : p.start]):
            break
        if all(km_between(p, c) > SAME_PLACE_KM for c in chosen):
            chosen.append(p)
        prev = p
    return chosen


def suggestion(sentence: str, places: list[PlaceMention], lo: int, hi: int) -> str:
    """A named site in the clause that the gazetteer does not know, for editors to add."""
    if not SITE_WORDS.may_be_in(sentence[lo:hi]):
        return ""
    for m in SITE.finditer(sentence, lo, hi):
        name = (m[1] + m[2]) if m[1] else (m[3] or m[4] or "")
        name = name.strip()
        s = m.start()
        known = any(p.start <= s < p.end or s <= p.start < m.end() for p in places)
        if name and not known and name.split()[0] not in ("The", "A", "An", "In", "On", "At"):
            return name
    return ""
