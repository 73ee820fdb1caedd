"""The labelled extraction corpus (tests/data/extraction/): it loads, it is large and varied
enough, its places are the gazetteer's, and a broken file is refused with a clear message."""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict

import pytest

from conflictmap.ingest import scoring

REQUIRED_SUB_TYPES = {
    "Non-state actor overtakes territory", "Government regains territory",
    "Non-violent transfer of territory", "Air/drone strike", "Shelling/artillery/missile attack",
    "Armed clash", "Remote explosive/landmine/IED", "Attack", "Peaceful protest", "Agreement",
}  # fmt: skip
LEVANTINE_MONTHS = re.compile(r"كانون|تشرين|شباط|آذار|نيسان|أيار|حزيران|تموز|آب|أيلول")


@pytest.fixture(scope="module")
def corpus() -> list[scoring.Report]:
    return scoring.load_corpus()


def test_it_has_60_reports_15_of_them_arabic_and_10_that_hold_no_event(corpus):
    assert len(corpus) >= 60
    assert sum(r.language == "ar" for r in corpus) >= 15
    assert sum(not r.events for r in corpus) >= 10
    assert sum(not r.events for r in corpus if r.language == "ar") >= 2


def test_its_reports_are_short_news_reports_and_a_few_are_long(corpus):
    for r in corpus:
        assert 60 <= r.words <= 700, (r.id, r.words)
    assert sum(r.words >= 500 for r in corpus) >= 2


def test_it_covers_the_kinds_of_event_the_issue_lists(corpus):
    found = {e.sub_event_type for r in corpus for e in r.events}
    assert found >= REQUIRED_SUB_TYPES
    territory = {r.language for r in corpus for e in r.events if "territory" in e.sub_event_type}
    assert territory == {"en", "ar"}


def test_it_holds_the_hard_cases(corpus):
    assert sum(r.published is None for r in corpus) >= 3  # no date, or only a dateline
    assert any(re.match(r"^[A-Z]+(, [A-Za-z]+)?, .{3,20} —", r.text) for r in corpus)  # dateline
    events = [e for r in corpus for e in r.events]
    assert {e.precision for e in events} == {"exact", "near", "region"}
    assert {"exact", "at least", "about"} <= {e.qualifier for e in events}
    assert any(e.fatalities is None for e in events)
    assert any(e.fatalities == 0 for e in events)
    assert any(e.actor1 is None for e in events)  # protests, unattributed strikes
    arabic = [r.text for r in corpus if r.language == "ar"]
    assert sum(bool(LEVANTINE_MONTHS.search(t)) for t in arabic) >= 5
    assert any("أمس" in t for t in arabic) and any("عشرات" in t for t in arabic)
    english = " ".join(r.text for r in corpus if r.language == "en")
    for words in ("at least", "dozens", "several", "the group", "the regime", "yesterday"):
        assert words in english


def test_every_gold_place_is_a_place_of_the_demo_gazetteer_at_its_coordinates(corpus):
    places = defaultdict(list)
    for _, name, _, _, lon, lat, _ in scoring.demo_places():
        places[name].append((lon, lat))
    for r in corpus:
        for e in r.events:
            assert e.place in places, (r.id, e.place)
            assert any(
                scoring.distance_km(e.lon, e.lat, lon, lat) < 0.1 for lon, lat in places[e.place]
            )


def test_reports_of_one_group_tell_the_same_event(corpus):
    groups = defaultdict(list)
    for r in corpus:
        if r.group:
            groups[r.group].append(r)
    assert len(groups) >= 5
    for name, reports in groups.items():
        assert len(reports) >= 2, name
        told = [{(e.sub_event_type, e.place, e.date) for e in r.events} for r in reports]
        assert set.intersection(*told), name


def test_no_gold_event_is_dated_after_its_report(corpus):
    for r in corpus:
        assert all(e.date is None or r.published is None or e.date <= r.published for e in r.events)


# --- bad files -----------------------------------------------------------------------------------

GOOD = scoring.CORPUS_DIR / "en" / "008-sna-takes-tal-rifaat.json"


def write(tmp_path, doc: dict | str, name: str = "008-sna-takes-tal-rifaat.json") -> None:
    folder = tmp_path / "en"
    folder.mkdir(exist_ok=True)
    text = doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False)
    (folder / name).write_text(text, encoding="utf-8")


def broken(change) -> dict:
    doc = json.loads(GOOD.read_text(encoding="utf-8"))
    change(doc)
    return doc


DELETE = object()


def _set(path: str, value):
    """A change to a report: the value at a dotted path ("events.0.date") set, or DELETEd."""

    def change(doc):
        *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]
        target = doc
        for k in parents:
            target = target[k]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            _set("events.0.actors.0.slug", "free-syrian-army"),
            "unknown actor slug 'free-syrian-army'",
        ),
        (_set("events.0.sub_event_type", "Air/drone strike"), "is not a sub-type of 'Battles'"),
        (_set("events.0.event_type", "Skirmish"), "event_type 'Skirmish' is not one of"),
        (_set("events.0.date", "2024-12-05"), "is after the report's publication 2024-12-02"),
        (_set("events.0.date", "1 Dec"), "is not a date (YYYY-MM-DD) or null"),
        (_set("events.0.evidence", "SNA fighters took Tal Rifaat."), "evidence is not a verbatim"),
        (_set("events.0.place.lon", 30.1), "is outside Syria"),
        (_set("events.0.place.precision", "approximate"), "precision must be one of"),
        (_set("events.0.fatalities", {"value": 3, "qualifier": "maybe"}), "qualifier must be one"),
        (_set("events.0.fatalities", {"value": -1, "qualifier": "exact"}), "whole number >= 0"),
        (_set("events.0.place", "Tal Rifaat"), "event 0: malformed"),
        (_set("events.0.evidence", DELETE), "event 0: missing keys ['evidence']"),
        (_set("id", "en-009"), "id 'en-009' does not match the file name"),
        (_set("language", "ar"), "must be one of ('en', 'ar') and match its folder"),
        (_set("based_on", " "), "based_on must say what public reporting"),
        (_set("published", "yesterday"), "published: 'yesterday' is not a date"),
        (_set("source", "x"), "unknown keys ['source']"),
    ],
)
def test_it_refuses_a_broken_report_and_says_what_is_wrong(tmp_path, change, message):
    write(tmp_path, broken(change))
    with pytest.raises(scoring.CorpusError) as err:
        scoring.load_corpus(tmp_path)
    assert message in str(err.value)
    assert str(err.value).startswith("en/008-sna-takes-tal-rifaat.json: ")


def test_it_lists_the_problems_of_every_broken_file_at_once(tmp_path):
    shutil.copy(GOOD, tmp_path / "stray.json")  # outside a language folder: not part of it
    write(tmp_path, "{not json")
    write(tmp_path, broken(_set("id", "en-001")), name="001-copy.json")  # valid
    far_north = broken(_set("events.0.place.lat", 40.0))
    far_north["id"] = "en-002"
    write(tmp_path, far_north, name="002-far-north.json")
    with pytest.raises(scoring.CorpusError) as err:
        scoring.load_corpus(tmp_path)
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "en/002-far-north.json: event 0: place 'Tall Rif‘at' (37.0947, 40.0)"
    )
    assert lines[1].startswith("en/008-sna-takes-tal-rifaat.json: not JSON")


def test_a_valid_copy_loads_as_it_is(tmp_path):
    write(tmp_path, json.loads(GOOD.read_text(encoding="utf-8")))
    (report,) = scoring.load_corpus(tmp_path)
    assert report.id == "en-008" and report.events[0].actor1 == "sna"
    assert report.text[report.events[0].start : report.events[0].end] == report.events[0].evidence
