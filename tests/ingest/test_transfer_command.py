"""`manage.py transfer`: moves by places, by area and by line files, their JSON, refusals, dry
runs, the same move twice, and a revert, against real PostGIS (and the published front line
served by /api/v1/frontlines)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from conflictmap.events.models import Place
from conflictmap.territory.models import FrontMove, ZoneVersion
from tests.territory.test_transfer import BEFORE, DAY, assert_balanced, box, front, in_force, state

__all__ = ["front"]  # the fixture, shared with the engine's tests


def transfer(*args: str) -> dict:
    out = io.StringIO()
    call_command("transfer", *args, stdout=out)
    return json.loads(out.getvalue())


def write_geojson(tmp_path, name: str, geometry: dict) -> str:
    path = tmp_path / name
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {}, "geometry": geometry}],
            }
        )
    )
    return str(path)


def test_it_moves_the_front_by_place_names_and_prints_what_changed(front, client):
    assert json.loads(client.get(f"/api/v1/frontlines?date={DAY}").content)["features"]
    before = in_force(DAY)
    summary = transfer(
        "--to", "gov", "--date", str(DAY), "--place", "Saraqib", "--place", str(front["Afis"].pk),
        "--radius-km", "5.5", "--source", "https://example.org/saraqib", "--reason", "Saraqib fell",
        "--publish",
    )  # fmt: skip
    assert summary["changed"] is True and summary["status"] == "published"
    assert summary["from"][0]["faction"] == "hts" and summary["from"][0]["km2"] > 10
    assert {p["name"] for p in summary["places"]} == {"Saraqib", "Afis"}
    assert len(summary["closed"]) == 2 and len(summary["opened"]) == 2
    assert_balanced(before, in_force(DAY), "gov", "hts")
    # The published front line moved east from that day; the day before it had not.
    lines = json.loads(client.get(f"/api/v1/frontlines?date={DAY}").content)["features"]
    east = max(c[0] for f in lines for line in f["geometry"]["coordinates"] for c in line)
    assert east > 36.54
    earlier = json.loads(client.get(f"/api/v1/frontlines?date={BEFORE}").content)["features"]
    assert max(c[0] for f in earlier for ln in f["geometry"]["coordinates"] for c in ln) == (
        pytest.approx(36.5)
    )
    record = FrontMove.objects.get(pk=summary["move"])
    assert record.reason == "Saraqib fell"
    assert [s.url for s in record.sources.all()] == ["https://example.org/saraqib"]


def test_it_moves_the_front_by_an_area_file(front, tmp_path):
    before = in_force(DAY)
    area = write_geojson(tmp_path, "area.geojson", json.loads(box(36.5, 35.0, 36.6, 35.5).json))
    summary = transfer("--to", "Government", "--date", str(DAY), "--area", area)
    assert_balanced(before, in_force(DAY), "gov", "hts")
    assert summary["moved_km2"] == pytest.approx(0.2 * (before["hts"]), rel=0.01)
    assert summary["status"] == "draft"


def test_it_moves_the_front_by_a_line_file(front, tmp_path):
    before = in_force(DAY)
    line = write_geojson(
        tmp_path,
        "line.geojson",
        {"type": "LineString", "coordinates": [[36.8, 34.9], [36.8, 35.6]]},
    )
    summary = transfer("--to", "gov", "--date", str(DAY), "--line", line)
    after = in_force(DAY)
    assert_balanced(before, after, "gov", "hts")
    assert after["hts"] == pytest.approx(0.4 * before["hts"], rel=0.005)
    assert {p["name"] for p in summary["places"]} == {"Saraqib", "Afis", "Sarmin"}


def test_a_dry_run_prints_the_plan_and_changes_nothing(front):
    before = state()
    summary = transfer("--to", "gov", "--date", str(DAY), "--place", "Saraqib", "--dry-run")
    assert summary["dry_run"] is True and summary["moved_km2"] > 0
    assert state() == before and not FrontMove.objects.exists()


def test_the_same_command_twice_changes_nothing_and_a_revert_restores_both_sides(front):
    before = state()
    first = transfer("--to", "gov", "--date", str(DAY), "--place", "Saraqib")
    after = state()
    second = transfer("--to", "gov", "--date", str(DAY), "--place", "Saraqib")
    assert second["move"] == first["move"] and second["changed"] is False
    assert state() == after
    reverted = transfer("--revert", str(first["move"]), "--reason", "a false report")
    assert reverted["reverted"] is True and state() == before
    assert ZoneVersion.objects.count() == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--place", "Atlantis"], "No place of the gazetteer is called 'Atlantis'"),
        (["--place", "999999"], "No place has the id 999999"),
        (["--place", "Twin"], "'Twin' names several places: .* Give the id"),
        (["--place", "Hama"], "Hama .* is already held by Government"),
        (["--place", "Desert"], "Desert .* lies outside every zone"),
        (["--area", "{outside}"], "The area lies outside every zone"),
        (["--line", "{area}"], "feature 1 is a MultiPolygon; a file of the line holds lines only"),
        (["--area", "{nothing}"], "the file is empty"),
        (["--place", "Saraqib", "--radius-km", "0"], "The radius must be more than 0"),
        (["--place", "Saraqib", "--to", "nobody"], "No faction is called 'nobody'"),
        (["--place", "Saraqib", "--date", "2024-13-01"], "is not YYYY-MM-DD"),
        ([], "give the ground"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(front, tmp_path, args, message):
    for name in ("Twin", "Twin"):
        Place.objects.create(name=name, geom=front["Saraqib"].geom)
    files = {
        "outside": write_geojson(tmp_path, "o.geojson", json.loads(box(38, 35, 38.1, 35.1).json)),
        "area": write_geojson(tmp_path, "a.geojson", json.loads(box(36.5, 35, 36.6, 35.1).json)),
        "nothing": str(tmp_path / "empty.geojson"),
    }
    (tmp_path / "empty.geojson").write_text("")
    args = [a.format(**files) for a in args]
    base = {"--to": "gov", "--date": str(DAY)}
    for option in ("--to", "--date"):
        if option in args:
            base.pop(option)
    before = state()
    with pytest.raises(CommandError, match=message):
        transfer(*[x for kv in base.items() for x in kv], *args)
    assert state() == before and not FrontMove.objects.exists()


def test_the_control_endpoint_shows_the_new_holder_from_the_date_and_the_old_one_before(
    front, client
):
    def holder(day) -> dict:
        features = json.loads(client.get(f"/api/v1/control?date={day}").content)["features"]
        place = next(f for f in features if f["properties"]["name"] == "Saraqib")
        return place["properties"]

    assert holder(DAY)["holder"]["slug"] == "hts"
    transfer(
        "--to", "gov", "--date", str(DAY), "--place", "Saraqib", "--publish",
        "--source", "https://example.org/saraqib",
    )  # fmt: skip
    now = holder(DAY)
    assert now["holder"]["slug"] == "gov" and now["since"] == str(DAY)
    assert holder(DAY - dt.timedelta(days=1))["holder"]["slug"] == "hts"
