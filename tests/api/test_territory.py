"""The territory engine through the HTTP API, on hand-made geometries with known answers."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from conflictmap.territory.models import Status, new_version_from
from tests.conftest import square

D = dt.date(2024, 12, 1)


def rect(w: float, s: float, e: float, n: float) -> MultiPolygon:
    return MultiPolygon(Polygon(((w, s), (e, s), (e, n), (w, n), (w, s))), srid=4326)


def ellipsoid_rect_km2(w: float, s: float, e: float, n: float) -> float:
    """Area of the WGS84 ellipsoid between two meridians and two parallels (exact formula,
    independent of PostGIS): A = b²·Δλ/2 · [q(φ)] with the authalic function q."""
    a = 6378137.0
    f = 1 / 298.257223563
    b = a * (1 - f)
    ecc = math.sqrt(f * (2 - f))

    def q(phi: float) -> float:
        sp = math.sin(phi)
        return sp / (1 - (ecc * sp) ** 2) + math.log((1 + ecc * sp) / (1 - ecc * sp)) / (2 * ecc)

    dlam = math.radians(e - w)
    return b * b * dlam / 2 * (q(math.radians(n)) - q(math.radians(s))) / 1e6


def get_json(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()


def test_two_squares_sharing_an_edge_give_that_edge_as_the_front_line(
    client, make_version, make_faction
):
    a, b = make_faction(slug="aaa"), make_faction(slug="bbb")
    make_version(faction=a, geom=square(36.0, 35.0, 0.1))
    make_version(faction=b, geom=square(36.1, 35.0, 0.1))

    data = get_json(client, f"/api/v1/frontlines?date={D}")

    assert len(data["features"]) == 1
    feature = data["features"][0]
    assert feature["geometry"]["type"] == "MultiLineString"
    (line,) = feature["geometry"]["coordinates"]
    assert sorted(map(tuple, line)) == [(36.1, 35.0), (36.1, 35.1)]
    assert [f["slug"] for f in feature["properties"]["factions"]] == ["aaa", "bbb"]
    # 0.1 degree of latitude at 35 N is 11.09 km on the ellipsoid.
    assert feature["properties"]["length_km"] == pytest.approx(11.09, abs=0.01)


@pytest.mark.parametrize("direction", ["a backs b", "b backs a"])
def test_allies_make_no_front_line(client, make_version, make_faction, direction):
    a, b = make_faction(), make_faction()
    if direction == "a backs b":
        b.backed_by.add(a)
    else:
        a.backed_by.add(b)
    make_version(faction=a, geom=square(36.0, 35.0, 0.1))
    make_version(faction=b, geom=square(36.1, 35.0, 0.1))

    assert get_json(client, f"/api/v1/frontlines?date={D}")["features"] == []


def test_zones_of_one_faction_make_no_front_line(client, make_version, make_faction):
    a = make_faction()
    make_version(faction=a, geom=square(36.0, 35.0, 0.1))
    make_version(faction=a, geom=square(36.1, 35.0, 0.1))

    assert get_json(client, f"/api/v1/frontlines?date={D}")["features"] == []


def test_zones_a_few_hundred_metres_apart_make_a_front_and_a_kilometre_apart_do_not(
    client, make_version, make_faction
):
    a, b, c = make_faction(), make_faction(), make_faction()
    make_version(faction=a, geom=square(36.0, 35.0, 0.1))
    # 0.003 degrees of longitude at 35 N is about 274 m: within the 500 m tolerance.
    make_version(faction=b, geom=rect(36.103, 35.0, 36.2, 35.1))
    # 0.011 degrees (about 1 km) west of a: too far.
    make_version(faction=c, geom=rect(35.8, 35.0, 35.989, 35.1))

    features = get_json(client, f"/api/v1/frontlines?date={D}")["features"]

    assert len(features) == 1
    slugs = {f["slug"] for f in features[0]["properties"]["factions"]}
    assert slugs == {a.slug, b.slug}
    # The stretch of a's east edge within 500 m of b: the whole edge plus at most 500 m of
    # the north and south edges.
    assert 11.09 <= features[0]["properties"]["length_km"] <= 11.09 + 2 * 0.5


def test_moving_a_boundary_gives_that_gain_and_loss_in_km2(
    client, make_version, make_faction, make_zone
):
    a, b = make_faction(slug="west"), make_faction(slug="east")
    za, zb = make_zone(), make_zone()
    va = make_version(zone=za, faction=a, geom=rect(36.0, 35.0, 36.2, 35.2), valid_from=D)
    vb = make_version(zone=zb, faction=b, geom=rect(36.2, 35.0, 36.4, 35.2), valid_from=D)
    later = D + dt.timedelta(days=10)
    new_version_from(va, later, geom=rect(36.0, 35.0, 36.25, 35.2))
    new_version_from(vb, later, geom=rect(36.25, 35.0, 36.4, 35.2))
    expected = ellipsoid_rect_km2(36.2, 35.0, 36.25, 35.2)

    data = get_json(client, f"/api/v1/changes?from={D}&to={later}")

    by_kind = {
        (f["properties"]["faction"]["slug"], f["properties"]["kind"]): f for f in data["features"]
    }
    assert set(by_kind) == {("west", "gained"), ("east", "lost")}
    for feature in by_kind.values():
        assert feature["properties"]["area_km2"] == pytest.approx(expected, rel=0.005)
        assert feature["geometry"]["type"] == "MultiPolygon"
    summary = {s["faction"]["slug"]: s for s in data["summary"]}
    assert summary["west"]["net_km2"] == pytest.approx(expected, rel=0.005)
    assert summary["east"]["net_km2"] == pytest.approx(-expected, rel=0.005)
    assert summary["east"]["gained_km2"] == 0
    assert data["from"] == D.isoformat() and data["to"] == later.isoformat()


def test_a_version_is_in_force_from_valid_from_and_not_on_valid_to(client, make_version):
    v = make_version(valid_from=dt.date(2024, 12, 1), valid_to=dt.date(2024, 12, 10))

    def ids(day: str) -> list[int]:
        return [f["id"] for f in get_json(client, f"/api/v1/zones?date={day}")["features"]]

    assert ids("2024-11-30") == []
    assert ids("2024-12-01") == [v.pk]
    assert ids("2024-12-09") == [v.pk]
    assert ids("2024-12-10") == []


def test_period_mode_returns_every_version_in_force_on_any_day_of_the_period(
    client, make_version, make_zone
):
    zone = make_zone()
    first = make_version(zone=zone, valid_from=dt.date(2024, 11, 1), valid_to=dt.date(2024, 12, 1))
    second = make_version(zone=zone, valid_from=dt.date(2024, 12, 1))
    make_version(valid_from=dt.date(2025, 1, 2))

    data = get_json(client, "/api/v1/zones?from=2024-11-30&to=2025-01-01")

    assert [f["id"] for f in data["features"]] == [first.pk, second.pk]
    assert all(f["properties"]["contested"] is False for f in data["features"])
    assert get_json(client, "/api/v1/zones?from=2024-12-01&to=2025-01-01")["count"] == 1


def test_zone_features_carry_the_contract_properties(client, make_version, make_faction):
    from conflictmap.events.models import Source

    faction = make_faction(slug="hts", name="HTS", colour="#123456")
    v = make_version(faction=faction, note="demo", valid_to=dt.date(2025, 1, 1))
    v.sources.add(Source.objects.create(url="https://example.org/a", publisher="P", title="T"))

    (feature,) = get_json(client, f"/api/v1/zones?date={D}")["features"]

    props = feature["properties"]
    assert props["faction"] == {"slug": "hts", "name": "HTS", "colour": "#123456"}
    assert props["zone"] == v.zone.slug and props["zone_name"] == v.zone.name
    assert props["valid_from"] == "2024-11-26" and props["valid_to"] == "2025-01-01"
    assert props["version"] == v.pk and props["status"] == "published"
    assert props["sources"] == [{"url": "https://example.org/a", "publisher": "P", "title": "T"}]
    assert props["contested"] is False and props["note"] == "demo"


def test_overlapping_zones_of_different_factions_are_contested_and_touching_ones_are_not(
    client, make_version, make_faction
):
    a, b, c = make_faction(), make_faction(), make_faction()
    va = make_version(faction=a, geom=square(36.0, 35.0, 0.1))
    vb = make_version(faction=b, geom=square(36.05, 35.05, 0.1))  # overlaps a
    vc = make_version(faction=c, geom=square(36.0, 34.9, 0.1))  # shares a's south edge
    vd = make_version(faction=b, geom=square(37.0, 35.0, 0.1))  # alone

    data = get_json(client, f"/api/v1/zones?date={D}")

    contested = {f["id"]: f["properties"]["contested"] for f in data["features"]}
    assert contested == {va.pk: True, vb.pk: True, vc.pk: False, vd.pk: False}


def test_a_sliver_along_a_shared_edge_does_not_make_zones_contested(
    client, make_version, make_faction
):
    a, b = make_faction(), make_faction()
    # b's west edge runs 0.000001 degrees (about 9 cm) into a along 11 km: a sliver of about
    # 1,000 m2, as zones drawn or rounded separately leave along a shared border.
    va = make_version(faction=a, geom=square(36.0, 35.0, 0.1))
    vb = make_version(faction=b, geom=square(36.099999, 35.0, 0.1))
    # and a real overlap of 0.01 x 0.1 degrees (about 100 ha) next to them
    vc = make_version(faction=a, geom=square(37.0, 35.0, 0.1))
    vd = make_version(faction=b, geom=square(37.09, 35.0, 0.1))

    data = get_json(client, f"/api/v1/zones?date={D}")

    contested = {f["id"]: f["properties"]["contested"] for f in data["features"]}
    assert contested == {va.pk: False, vb.pk: False, vc.pk: True, vd.pk: True}


def test_bbox_limits_zones_to_those_whose_box_meets_it(client, make_version):
    inside = make_version(geom=square(36.0, 35.0, 0.1))
    make_version(geom=square(40.0, 35.0, 0.1))

    data = get_json(client, f"/api/v1/zones?date={D}&bbox=35.9,34.9,36.5,35.5")

    assert [f["id"] for f in data["features"]] == [inside.pk]


def test_staff_sees_drafts_and_anonymous_does_not(client, admin_client, make_version):
    published = make_version()
    draft = make_version(status=Status.DRAFT)

    anonymous = get_json(client, f"/api/v1/zones?date={D}")
    staff = get_json(admin_client, f"/api/v1/zones?date={D}")

    assert [f["id"] for f in anonymous["features"]] == [published.pk]
    assert sorted(f["id"] for f in staff["features"]) == sorted([published.pk, draft.pk])


def test_polygon_rings_follow_the_right_hand_rule(client, make_version):
    outer_cw = ((36.0, 35.0), (36.0, 35.2), (36.2, 35.2), (36.2, 35.0), (36.0, 35.0))
    hole_ccw = ((36.05, 35.05), (36.15, 35.05), (36.15, 35.15), (36.05, 35.15), (36.05, 35.05))
    make_version(geom=MultiPolygon(Polygon(outer_cw, hole_ccw), srid=4326))

    (feature,) = get_json(client, f"/api/v1/zones?date={D}")["features"]

    def signed_area(ring: list[list[float]]) -> float:
        return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False))

    (polygon,) = feature["geometry"]["coordinates"]
    assert signed_area(polygon[0]) > 0  # exterior counter-clockwise
    assert signed_area(polygon[1]) < 0  # hole clockwise


def test_area_series_gives_km2_per_faction_at_each_step(client, make_version, make_faction):
    a = make_faction(slug="aaa")
    make_version(faction=a, geom=rect(36.0, 35.0, 36.2, 35.2), valid_from=dt.date(2024, 12, 8))
    expected = ellipsoid_rect_km2(36.0, 35.0, 36.2, 35.2)

    data = get_json(client, "/api/v1/stats/area?from=2024-12-01&to=2024-12-22&step=week")

    assert data["steps"] == ["2024-12-01", "2024-12-08", "2024-12-15", "2024-12-22"]
    (series,) = data["series"]
    assert series["faction"]["slug"] == "aaa"
    assert series["km2"][0] == 0
    assert series["km2"][1:] == [pytest.approx(expected, rel=0.005)] * 3


def test_export_of_frontlines_uses_the_same_writer_as_the_api(
    client, make_version, make_faction, tmp_path
):
    from django.core.management import call_command

    make_version(faction=make_faction(), geom=square(36.0, 35.0, 0.1))
    make_version(faction=make_faction(), geom=square(36.1, 35.0, 0.1))
    out = tmp_path / "fronts.geojson"

    call_command("export_geojson", "frontlines", "--date", D.isoformat(), "-o", str(out))

    assert out.read_bytes() == client.get(f"/api/v1/frontlines?date={D}").content


def test_an_edit_is_seen_at_once_although_the_map_state_is_cached(client, make_version):
    v = make_version(geom=square(36.0, 35.0, 0.1))
    first = get_json(client, f"/api/v1/zones?date={D}")
    same_state = get_json(client, f"/api/v1/zones?date={D + dt.timedelta(days=1)}")
    assert same_state["features"] == first["features"]
    assert same_state["date"] != first["date"]

    v.geom = square(36.0, 35.0, 0.2)
    v.save()

    (feature,) = get_json(client, f"/api/v1/zones?date={D}")["features"]
    assert [36.2, 35.2] in feature["geometry"]["coordinates"][0][0]


def test_backing_a_faction_removes_the_front_at_once(client, make_version, make_faction):
    a, b = make_faction(), make_faction()
    make_version(faction=a, geom=square(36.0, 35.0, 0.1))
    make_version(faction=b, geom=square(36.1, 35.0, 0.1))
    assert len(get_json(client, f"/api/v1/frontlines?date={D}")["features"]) == 1

    b.backed_by.add(a)

    assert get_json(client, f"/api/v1/frontlines?date={D}")["features"] == []


def test_the_export_and_the_api_agree_on_zones_and_their_contested_flags(
    client, make_version, make_faction, tmp_path
):
    from django.core.management import call_command

    a, b = make_faction(), make_faction()
    make_version(faction=a, geom=square(36.0, 35.0, 0.1))
    make_version(faction=b, geom=square(36.05, 35.05, 0.1))
    make_version(faction=b, geom=square(36.05, 35.05, 0.1), valid_from=dt.date(2025, 1, 1))
    make_version(faction=b, geom=square(37.0, 35.0, 0.1))
    out = tmp_path / "zones.geojson"

    call_command("export_geojson", "zones", "--date", D.isoformat(), "-o", str(out))

    api = client.get(f"/api/v1/zones?date={D}").content
    assert out.read_bytes() == api
    flags = [f["properties"]["contested"] for f in json.loads(api)["features"]]
    assert flags == [True, True, False]
