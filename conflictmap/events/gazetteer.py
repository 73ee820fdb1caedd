"""GeoNames records: parsing a country dump (SY.txt) and picking Arabic names.

The dump format is GeoNames' tab-separated `geoname` table, one place per line, 19 columns:
https://download.geonames.org/export/dump/readme.txt
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# Arabic script (Arabic, Arabic Supplement, Extended-A, presentation forms).
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
# Letters only Persian, Urdu, Kurdish (Sorani) or Pashto use: such names are not Arabic ones.
_NOT_ARABIC_LANGUAGE = re.compile(
    r"[\u067E\u0686\u0698\u06A9\u06AF\u06CC\u06BE\u06C1\u06D2\u06B5\u06CE\u0695]"
)

GEONAMES_COLUMNS = 19
# Feature classes that are places for our purposes: populated places (P), spots and buildings (S),
# areas (L), hypsographic features (T) and administrative units (A) such as districts.
PLACE_FEATURE_CLASSES = {"P", "S", "L", "T", "A"}


# Consonant skeletons to choose among several Arabic spellings the one that matches GeoNames'
# romanisation (BGN/PCGN: Ţ = ط, Ş = ص, Ḩ = ح, ‘ = ع, ...); e.g. طرطوس, not ترطوس, for Ţarţūs.
_ARABIC_SKELETON = str.maketrans(
    {
        "ب": "b", "ت": "t", "ث": "θ", "ج": "j", "ح": "H", "خ": "x", "د": "d", "ذ": "ð",
        "ر": "r", "ز": "z", "س": "s", "ش": "c", "ص": "S", "ض": "D", "ط": "T", "ظ": "Z",
        "ع": "E", "غ": "g", "ف": "f", "ق": "q", "ك": "k", "ل": "l", "م": "m", "ن": "n",
        "ه": "h", "ة": "h", "و": "w", "ي": "y", "ى": "", "ا": "", "أ": "", "إ": "", "آ": "",
        "ء": "", "ئ": "", "ؤ": "", " ": "",
    }
)  # fmt: skip
_LATIN_DIGRAPHS = [("kh", "x"), ("gh", "g"), ("sh", "c"), ("th", "θ"), ("dh", "ð")]
_LATIN_SKELETON = str.maketrans(
    {
        "ţ": "T", "ş": "S", "ḑ": "D", "ḩ": "H", "‘": "E", "’": "", "'": "", "ī": "y",
        "ū": "w", "ā": "", "á": "", "a": "", "e": "", "i": "", "o": "", "u": "", " ": "",
        "-": "",
    }
)  # fmt: skip


def _latin_skeleton(name: str) -> str:
    s = name.lower().replace("z̧", "Z")
    for digraph, letter in _LATIN_DIGRAPHS:
        s = s.replace(digraph, letter)
    return s.translate(_LATIN_SKELETON)


def arabic_name(names: Iterable[str], romanised: str = "") -> str:
    """The Arabic-script name among `names` (not recognisably Persian/Urdu/Kurdish); with
    several, the one whose consonants best match the `romanised` GeoNames name."""
    from rapidfuzz.fuzz import ratio

    candidates = [n.strip() for n in names if n and _ARABIC.search(n)]
    arabic = [n for n in candidates if not _NOT_ARABIC_LANGUAGE.search(n)] or candidates
    # GeoNames holds some misspellings with a letter split off ("د مشق" for دمشق): a lone
    # letter is never a word of a place name.
    arabic = [n for n in arabic if not re.search(r"(?:^|\s)\S(?:\s|$)", n)] or arabic
    # "مدينة حمص" is "the city of Homs": the place's name is what follows.
    arabic = list(dict.fromkeys(re.sub(r"^مدينة\s+", "", n) for n in arabic))
    if len(arabic) <= 1 or not romanised:
        return arabic[0] if arabic else ""
    target = _latin_skeleton(romanised)
    # max() keeps the first of equals, so GeoNames' own order breaks ties.
    return max(arabic, key=lambda n: ratio(n.translate(_ARABIC_SKELETON), target))


def normalise(name: str) -> str:
    """Fold a place name for matching: no diacritics, no apostrophes or ayn marks, lower case."""
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = re.sub(r"[‘’'`ʿʾ´]", "", folded)
    folded = re.sub(r"[-\s]+", " ", folded)
    return folded.strip().lower()


@dataclass
class GeonamesRecord:
    geonameid: int
    name: str
    latitude: float
    longitude: float
    feature_class: str
    feature_code: str
    country_code: str
    admin1_code: str
    population: int | None
    alternate_names: list[str] = field(default_factory=list)

    @property
    def name_ar(self) -> str:
        return arabic_name(self.alternate_names, self.name)


@dataclass
class ParseError:
    line: int
    reason: str


def parse_geonames(lines: Iterable[str]) -> Iterator[GeonamesRecord | ParseError]:
    """Yield a record per well-formed line and a ParseError (with its line number) per bad one."""
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\n").rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != GEONAMES_COLUMNS:
            yield ParseError(
                number, f"expected {GEONAMES_COLUMNS} tab-separated columns, found {len(cols)}"
            )
            continue
        try:
            geonameid = int(cols[0])
            latitude = float(cols[4])
            longitude = float(cols[5])
        except ValueError:
            yield ParseError(number, "geonameid, latitude and longitude must be numbers")
            continue
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            yield ParseError(number, f"coordinates out of range: {latitude}, {longitude}")
            continue
        population = int(cols[14]) if cols[14].strip().isdigit() else None
        alternates = [n.strip() for n in cols[3].split(",") if n.strip()]
        yield GeonamesRecord(
            geonameid=geonameid,
            name=cols[1].strip(),
            latitude=latitude,
            longitude=longitude,
            feature_class=cols[6].strip(),
            feature_code=cols[7].strip(),
            country_code=cols[8].strip(),
            admin1_code=cols[10].strip(),
            population=population or None,
            alternate_names=alternates,
        )


def place_kind(feature_class: str, feature_code: str, population: int | None) -> str:
    """Map GeoNames' feature class/code to Place.Kind values."""
    code = feature_code.upper()
    if code.startswith("AIR"):
        return "airport"
    if code in {"MILB", "INSM"}:
        return "base"
    if code in {"DAM", "BDG", "RD", "RDJCT"}:
        return "infrastructure"
    if code in {"PSTB", "BCN"}:
        return "crossing"
    if code == "PPLX":
        return "district"
    if feature_class in {"L", "T", "A"}:
        return "area"
    if population and population >= 100_000:
        return "city"
    if population is not None and population < 2_000:
        return "village"
    return "town"
