"""Whole-map snapshots against real PostGIS: only what changed becomes versions, in date order,
once; a re-run changes nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from conflictmap.ingest.models import ImportRun, Snapshot
from conflictmap.ingest.pipeline.snapshots import date_in_name
from conflictmap.territory.models import Zone, ZoneVersion

from .conftest import wait_for

NOVEMBER = [dt.date(2024, 11, d) for d in range(1, 31)]
# The front between HTS (west) and the government (east) moves east on these days only.
MOVES = {dt.date(2024, 11, 5), dt.date(2024, 11, 12), dt.date(2024, 11, 20), dt.date(2024, 11, 27)}


def ring(points: list[tuple[float, float]]) -> list[list[float]]:
    return [list(p) for p in [*points, points[0]]]


def feature(control: str, points: list[tuple[float, float]], **properties) -> dict:
    return {
        "type": "Feature",
        "properties": {"control": control, **properties},
        "geometry": {"type": "Polygon", "coordinates": [ring(points)]},
    }


def whole_map(front: float, wobble: float = 0.0, *, sdf: bool = True, **names) -> dict:
    """HTS west of the front, the government east of it, the SDF in a pocket of its own. The
    front's midpoint wobbles by `wobble` degrees: a redrawing, not a move (1e-5 is about a metre).
    The faction values use a slug, a name and an ACLED alias."""
    mid = front + wobble
    features = [
        feature("hts", [(36.0, 35.0), (front, 35.0), (mid, 35.5), (front, 36.0), (36.0, 36.0)],
                **names.get("hts", {})),
        feature("Syrian government", [(front, 35.0), (38.0, 35.0), (38.0, 36.0), (front, 36.0), (mid, 35.5)],
                **names.get("government", {})),
    ]  # fmt: skip
    if sdf:
        features.append(
            feature(
                "SDF: Syrian Democratic Forces",
                [(40.0, 36.0), (40.5, 36.0), (40.5, 36.5), (40.0, 36.5)],
            )
        )
    return {"type": "FeatureCollection", "features": features}


def front_on(day: dt.date) -> float:
    return 37.0 + 0.05 * sum(1 for m in MOVES if m <= day)


def write_month(folder: Path, days: list[dt.date] = NOVEMBER) -> Path:
    folder.mkdir(exist_ok=True)
    for i, day in enumerate(days):
        wobble = 1e-5 * (i % 3)  # every day redrawn a little differently
        (folder / f"{day.isoformat()}.geojson").write_text(
            json.dumps(whole_map(front_on(day), wobble))
        )
    return folder


def snapshots(folder: Path, *args: str, nothing_read: bool = False) -> dict:
    """The command's JSON; it exits with 1 when nothing could be read, and only then."""
    out = io.StringIO()
    try:
        call_command(
            "ingest", "snapshots", str(folder), "--faction-field", "control", *args, stdout=out
        )
    except SystemExit as exit_:
        assert nothing_read and exit_.code == 1
    else:
        assert not nothing_read
    return json.loads(out.getvalue())


def versions() -> list[tuple[str, str, dt.date, dt.date | None]]:
    return list(
        ZoneVersion.objects.order_by("valid_from", "faction__slug").values_list(
            "zone__name", "faction__slug", "valid_from", "valid_to"
        )
    )


# --- a month of daily snapshots --------------------------------------------------------------------


def test_a_month_of_daily_snapshots_makes_versions_only_on_the_days_the_front_moved(
    factions, tmp_path
):
    out = snapshots(write_month(tmp_path / "november"))
    assert (out["kind"], out["state"], out["total"], out["processed"]) == (
        "snapshots",
        "done",
        30,
        30,
    )
    # The first snapshot opens a zone per faction; each move replaces the two sides' versions.
    assert (out["created"], out["closed_versions"], out["unchanged"], out["rejected"]) == (
        3 + 2 * 4,
        2 * 4,
        25,
        0,
    )
    assert {v[2] for v in versions()} == {NOVEMBER[0], *MOVES}
    changed = {e["date"]: e["factions"] for e in out["snapshots"] if e["outcome"] == "changed"}
    assert changed == {
        "2024-11-01": ["hts", "sdf", "syrian-government"],
        **{m.isoformat(): ["hts", "syrian-government"] for m in MOVES},
    }
    assert [e["date"] for e in out["snapshots"]] == [d.isoformat() for d in NOVEMBER]
    # Identity by overlap: each side keeps one zone through the month, the SDF's never changes.
    assert Zone.objects.count() == 3
    sdf = ZoneVersion.objects.get(faction__slug="sdf")
    assert (sdf.valid_from, sdf.valid_to, sdf.status) == (NOVEMBER[0], None, "draft")
    hts = list(ZoneVersion.objects.filter(faction__slug="hts").order_by("valid_from"))
    assert [(v.valid_from, v.valid_to) for v in hts] == list(
        zip([NOVEMBER[0], *sorted(MOVES)], [*sorted(MOVES), None], strict=True)
    )
    assert len({v.zone_id for v in hts}) == 1
    # Each move gives HTS what the government lost: 0.05 degrees by 1 (about 500 km²).
    before, after = hts[0].area_km2, hts[1].area_km2
    government = ZoneVersion.objects.filter(faction__slug="syrian-government").order_by(
        "valid_from"
    )
    assert after - before == pytest.approx(
        government[0].area_km2 - government[1].area_km2, rel=1e-6
    )
    assert 450 < after - before < 560
    assert hts[1].sources.get().title.startswith("Control map snapshot 2024-11-05.geojson")
    assert Snapshot.objects.count() == 30


def test_running_the_same_snapshots_again_changes_nothing(factions, tmp_path):
    folder = write_month(tmp_path / "november")
    snapshots(folder)
    before = list(ZoneVersion.objects.order_by("pk").values_list("pk", "valid_to", "updated_at"))
    again = snapshots(folder)
    assert (again["created"], again["closed_versions"], again["unchanged"]) == (0, 0, 30)
    assert {e["outcome"] for e in again["snapshots"]} == {"already applied"}
    assert (
        list(ZoneVersion.objects.order_by("pk").values_list("pk", "valid_to", "updated_at"))
        == before
    )
    assert Snapshot.objects.count() == 30 and Zone.objects.count() == 3


def test_a_run_interrupted_midway_resumes_where_it_stopped(factions, tmp_path, monkeypatch):
    from conflictmap.ingest import pipeline
    from conflictmap.ingest.pipeline import snapshots as module

    folder = write_month(tmp_path / "november", NOVEMBER[:8])
    files = sorted(folder.iterdir())
    bundle = pipeline.bundle_snapshots((p.name, p.read_bytes()) for p in files)
    run = pipeline.create_run(
        "snapshots", bundle, filename="november", options={"faction_field": "control"}
    )
    apply_one, calls = module._apply_one, []

    def lose_the_connection_at_the_sixth(*args):
        calls.append(args[3])
        if len(calls) == 6:
            raise ConnectionResetError("connection reset by peer")
        return apply_one(*args)

    monkeypatch.setattr(module, "_apply_one", lose_the_connection_at_the_sixth)
    with pytest.raises(ConnectionResetError):
        pipeline.process_run(run.pk)
    run.refresh_from_db()
    assert (run.state, run.processed, Snapshot.objects.count()) == ("pending", 5, 5)
    run = pipeline.process_run(run.pk)  # the retry
    assert calls[6:] == [f"{d.isoformat()}.geojson" for d in NOVEMBER[5:8]]  # from the sixth on
    assert (run.state, run.processed, run.created, run.unchanged) == ("done", 8, 5, 6)
    assert [e["date"] for e in run.options["snapshots"]] == [d.isoformat() for d in NOVEMBER[:8]]
    assert {v[2] for v in versions()} == {NOVEMBER[0], NOVEMBER[4]}


def test_snapshots_are_applied_in_date_order_whatever_order_the_files_come_in(factions, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for day, name in [(NOVEMBER[5], "control_20241106.geojson"), (NOVEMBER[0], "2024_11_01-map.geojson"),
                      (NOVEMBER[4], "a-2024-11-05.geojson")]:  # fmt: skip
        (folder / name).write_text(json.dumps(whole_map(front_on(day))))
    out = snapshots(folder)
    assert [(e["file"], e["outcome"]) for e in out["snapshots"]] == [
        ("2024_11_01-map.geojson", "changed"), ("a-2024-11-05.geojson", "changed"),
        ("control_20241106.geojson", "unchanged"),
    ]  # fmt: skip


def test_a_snapshot_older_than_the_latest_recorded_is_refused_and_a_later_one_applied(
    factions, tmp_path
):
    snapshots(write_month(tmp_path / "november", NOVEMBER[0:10:3]))  # 1, 4, 7 and 10 November
    later = tmp_path / "later"
    later.mkdir()
    (later / "2024-11-03.geojson").write_text(json.dumps(whole_map(37.5)))
    (later / "2024-11-10.geojson").write_text(json.dumps(whole_map(37.6)))
    (later / "2024-12-01.geojson").write_text(json.dumps(whole_map(37.6)))
    out = snapshots(later)
    assert [(e["file"], e["outcome"]) for e in out["snapshots"]] == [
        ("2024-11-03.geojson", "refused"), ("2024-11-10.geojson", "refused"),
        ("2024-12-01.geojson", "changed"),
    ]  # fmt: skip
    problems = {p["row"]: p["reason"] for p in out["problems"]}
    assert problems["2024-11-03.geojson"] == (
        "dated 2024-11-03, before the latest snapshot recorded (2024-11-10, 2024-11-10.geojson): "
        "snapshots are applied in date order; refused"
    )
    assert problems["2024-11-10.geojson"].startswith(
        "another snapshot of 2024-11-10 (2024-11-10.geojson, import run #"
    )
    # The front moved on 5 November, first seen on the 7th; the refused files wrote nothing.
    assert {v[2] for v in versions()} == {NOVEMBER[0], NOVEMBER[6], dt.date(2024, 12, 1)}


# --- what a snapshot says ---------------------------------------------------------------------------


def test_a_named_zone_that_changes_hands_gets_a_new_version_of_the_same_zone(factions, tmp_path):
    folder = tmp_path / "named"
    folder.mkdir()
    names = {"hts": {"zone": "Idlib pocket"}, "government": {"zone": "Hama front"}}
    (folder / "2024-11-01.geojson").write_text(json.dumps(whole_map(37.0, sdf=False, **names)))
    swapped = whole_map(37.0, sdf=False, **names)
    swapped["features"][1]["properties"]["control"] = "hts"  # HTS takes the whole "Hama front"
    (folder / "2024-11-02.geojson").write_text(json.dumps(swapped))
    out = snapshots(folder)
    assert (out["created"], out["closed_versions"]) == (3, 1)
    assert versions() == [
        ("Idlib pocket", "hts", NOVEMBER[0], None),
        ("Hama front", "syrian-government", NOVEMBER[0], NOVEMBER[1]),
        ("Hama front", "hts", NOVEMBER[1], None),
    ]


def test_a_zone_given_to_two_factions_leaves_both_as_recorded(factions, tmp_path):
    folder = tmp_path / "clash"
    folder.mkdir()
    names = {"hts": {"zone": "Saraqib"}, "government": {"zone": "Saraqib"}}
    (folder / "2024-11-01.geojson").write_text(json.dumps(whole_map(37.0, **names)))
    out = snapshots(folder)
    assert [(p["row"], p["reason"]) for p in out["problems"]] == [
        ("2024-11-01.geojson zone Saraqib", "is given to 2 factions (hts, syrian-government)"),
        ("2024-11-01.geojson", "Syrian government is left as recorded on this date: zone Saraqib is given to another faction too"),
        ("2024-11-01.geojson", "Hayat Tahrir al-Sham is left as recorded on this date: zone Saraqib is given to another faction too"),
    ]  # fmt: skip
    assert versions() == [("Syrian Democratic Forces (from 2024-11-01)", "sdf", NOVEMBER[0], None)]


def test_a_faction_that_loses_all_its_ground_has_its_versions_closed(factions, tmp_path):
    folder = tmp_path / "lost"
    folder.mkdir()
    (folder / "2024-11-01.geojson").write_text(json.dumps(whole_map(37.0)))
    (folder / "2024-11-02.geojson").write_text(json.dumps(whole_map(37.0, sdf=False)))
    out = snapshots(folder)
    assert out["snapshots"][1] == {
        "file": "2024-11-02.geojson", "date": "2024-11-02", "outcome": "changed", "opened": 0,
        "closed": 1, "factions": ["sdf"],
    }  # fmt: skip
    assert ZoneVersion.objects.get(faction__slug="sdf").valid_to == NOVEMBER[1]


def test_a_snapshot_that_cannot_be_read_is_refused_and_the_map_kept(factions, tmp_path):
    folder = write_month(tmp_path / "november", NOVEMBER[:3])
    (folder / "2024-11-02.geojson").write_text('{"type": "FeatureCollection", "features": [')
    out = snapshots(folder)
    assert [e["outcome"] for e in out["snapshots"]] == ["changed", "refused", "unchanged"]
    assert out["snapshots"][1]["reason"] == "it cannot be read; not applied"
    assert out["problems"][0]["row"] == "2024-11-02.geojson"
    assert out["problems"][0]["reason"].startswith("2024-11-02.geojson: GDAL cannot open it")
    assert ZoneVersion.objects.filter(valid_to__isnull=True).count() == 3
    assert not Snapshot.objects.filter(date=NOVEMBER[1]).exists()


def test_a_faction_field_that_names_nobody_refuses_the_snapshot_instead_of_emptying_the_map(
    factions, tmp_path
):
    folder = write_month(tmp_path / "november", NOVEMBER[:2])
    snapshots(folder)
    later = write_month(tmp_path / "december", [dt.date(2024, 12, 1)])
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("ingest", "snapshots", str(later), "--faction-field", "Control", stdout=out)
    entry = json.loads(out.getvalue())["snapshots"][0]
    assert (entry["outcome"], entry["reason"]) == (
        "refused",
        "no polygon has a known faction in 'Control' (properties: control); not applied",
    )
    assert ZoneVersion.objects.filter(valid_to__isnull=True).count() == 3


def test_an_unknown_faction_is_reported_not_guessed_and_the_rest_goes_in(factions, tmp_path):
    folder = tmp_path / "unknown"
    folder.mkdir()
    doc = whole_map(37.0)
    doc["features"].append(feature("Tribal forces", [(41.0, 34.0), (41.2, 34.0), (41.2, 34.2)]))
    doc["features"].append(feature("", [(41.5, 34.0), (41.7, 34.0), (41.7, 34.2)]))
    (folder / "2024-11-01.geojson").write_text(json.dumps(doc))
    out = snapshots(folder)
    assert out["created"] == 3
    assert [(p["row"], p["reason"]) for p in out["problems"]] == [
        ("2024-11-01.geojson", "faction 'Tribal forces' is unknown (no faction has that slug, name or alias) in 'control': 1 not imported (feature 4)"),
        ("2024-11-01.geojson", "has no faction in 'control': 1 not imported (feature 5)"),
    ]  # fmt: skip
    assert not ZoneVersion.objects.filter(faction__name__icontains="tribal").exists()


def test_a_faction_with_a_polygon_that_cannot_be_repaired_is_left_as_recorded(factions, tmp_path):
    folder = tmp_path / "bowtie"
    folder.mkdir()
    (folder / "2024-11-01.geojson").write_text(json.dumps(whole_map(37.0)))
    doc = whole_map(37.2)  # the front moved, but one HTS polygon of the day is a bow-tie
    doc["features"].append(feature("hts", [(36.1, 34.0), (36.5, 34.4), (36.5, 34.0), (36.1, 34.4)]))
    (folder / "2024-11-02.geojson").write_text(json.dumps(doc))
    out = snapshots(folder)
    assert out["snapshots"][1]["factions"] == ["syrian-government"]
    reasons = [p["reason"] for p in out["problems"]]
    assert "rejected: ST_MakeValid would change its area by" in reasons[0]
    assert reasons[1] == (
        "Hayat Tahrir al-Sham is left as recorded on this date: some of its polygons could not be read"
    )
    assert ZoneVersion.objects.filter(faction__slug="hts").get().valid_to is None


def test_points_and_lines_in_a_snapshot_are_counted_in_one_problem(factions, tmp_path):
    folder = tmp_path / "kml"
    folder.mkdir()
    placemarks = "".join(
        f"<Placemark><name>Town {i}</name><Point><coordinates>37.{i},35.5</coordinates></Point></Placemark>"
        for i in range(3)
    ) + (
        "<Placemark><name>Front</name><LineString><coordinates>37,35 37,36</coordinates>"
        "</LineString></Placemark>"
        '<Placemark><name>Idlib</name><ExtendedData><Data name="control"><value>HTS</value>'
        "</Data></ExtendedData><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        "36,35 37,35 37,36 36,36 36,35</coordinates></LinearRing></outerBoundaryIs></Polygon>"
        "</Placemark>"
    )
    kml = f'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>{placemarks}</Document></kml>'
    (folder / "control_20241101.kml").write_text(kml)
    out = snapshots(folder)
    assert out["created"] == 1 and versions() == [("Idlib", "hts", NOVEMBER[0], None)]
    assert [p["reason"] for p in out["problems"]] == [
        "features that are not polygons skipped: 1 LineString, 3 Point"
    ]


# --- dates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "day"),
    [("2024-11-30.geojson", dt.date(2024, 11, 30)), ("control_20241130.kml", dt.date(2024, 11, 30)),
     ("map 2024_11_30 v2.gpkg", dt.date(2024, 11, 30)), ("20241331-then-20241201.fgb", dt.date(2024, 12, 1)),
     ("front-v12345678.geojson", None), ("map.geojson", None)],
)  # fmt: skip
def test_the_date_is_read_from_the_file_name(name, day):
    assert date_in_name(name) == day


def test_the_date_can_come_from_a_property_and_files_without_one_are_refused(factions, tmp_path):
    folder = tmp_path / "dated"
    folder.mkdir()
    for name, day in [("a.geojson", "2024-11-02"), ("b.geojson", "2024-11-01T00:00:00Z")]:
        doc = whole_map(37.0 if name == "b.geojson" else 37.1)
        for f in doc["features"]:
            f["properties"]["as_of"] = day
        (folder / name).write_text(json.dumps(doc))
    mixed = whole_map(37.0, sdf=False)
    mixed["features"][0]["properties"]["as_of"] = "2024-11-03"
    mixed["features"][1]["properties"]["as_of"] = "2024-11-04"
    (folder / "c.geojson").write_text(json.dumps(mixed))
    out = snapshots(folder, "--date-field", "as_of")
    assert [(e["file"], e.get("date"), e["outcome"]) for e in out["snapshots"]] == [
        ("c.geojson", None, "refused"), ("b.geojson", "2024-11-01", "changed"),
        ("a.geojson", "2024-11-02", "changed"),
    ]  # fmt: skip
    assert out["snapshots"][0]["reason"] == (
        "its features carry 2 dates in 'as_of' (2024-11-03, 2024-11-04); one file per date"
    )
    undated = tmp_path / "undated"
    undated.mkdir()
    (undated / "latest.geojson").write_text(json.dumps(whole_map(37.0)))
    (undated / "2024-12-01.geojson").write_text(json.dumps(whole_map(37.0)))
    (undated / "2024-12-01.kml").write_text("<kml/>")
    out = snapshots(undated, nothing_read=True)
    assert [(p["row"], p["reason"]) for p in out["problems"]] == [
        ("2024-12-01.geojson", "2 files for 2024-12-01 (2024-12-01.geojson, 2024-12-01.kml); none is applied"),
        ("2024-12-01.kml", "2 files for 2024-12-01 (2024-12-01.geojson, 2024-12-01.kml); none is applied"),
        ("latest.geojson", "no date in the file name (e.g. 2024-11-30.geojson or control_20241130.kml); or pass --date-field"),
    ]  # fmt: skip


# --- the command -----------------------------------------------------------------------------------


def test_the_snapshots_command_checks_its_input(factions, tmp_path):
    with pytest.raises(CommandError, match="not a folder"):
        snapshots(tmp_path / "missing")
    with pytest.raises(
        CommandError, match="no .geojson/.json/.kml/.kmz/.gpkg/.fgb/.zip/.shp files"
    ):
        snapshots(tmp_path)
    write_month(tmp_path / "m", NOVEMBER[:1])
    with pytest.raises(CommandError, match="--tolerance-km2: must be 0 or more"):
        snapshots(tmp_path / "m", "--tolerance-km2", "-1")
    assert ImportRun.objects.count() == 0


def test_publish_and_a_tolerance_of_zero_record_every_redrawing(factions, tmp_path):
    folder = write_month(tmp_path / "november", NOVEMBER[:4])  # redrawn each day, no move
    out = snapshots(folder, "--publish", "--tolerance-km2", "0", "--tolerance-percent", "0")
    assert [e["outcome"] for e in out["snapshots"]] == ["changed"] * 4
    assert set(ZoneVersion.objects.values_list("status", flat=True)) == {"published"}


def test_the_queue_option_hands_the_snapshots_to_a_worker(factions, tmp_path, in_process_worker):
    out = snapshots(write_month(tmp_path / "november", NOVEMBER[:6]), "--queue")
    assert out["queued"] is True
    assert wait_for(lambda: ImportRun.objects.get(pk=out["run"]).state == "done", 30)
    run = ImportRun.objects.get(pk=out["run"])
    assert (run.kind, run.processed, run.created) == ("snapshots", 6, 5)
