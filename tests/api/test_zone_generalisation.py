"""Zones generalised per zoom (/api/v1/zones?date=&zoom=): fewer vertices and shorter numbers,
and neighbours that shared an edge still share it (no gap, no overlap between them), with the
period over which the map stays the same."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from django.db import connection

from conflictmap.territory import queries as territory
from conflictmap.territory.models import ZoneVersion

D = dt.date(2024, 12, 1)
# A rectangle whose corners lie on every zoom's grid, cut into four zones by wavy lines with a
# vertex every ~70 m; the second and third lines end on the first one, where each makes a
# T-junction: a vertex of the zones on one side that the zone on the other side lacks.
RECT = "ST_MakeEnvelope(36.0, 35.0, 36.5, 35.4, 4326)"
M_PER_DEGREE = 111_320.0


def wavy(points: list[tuple[float, float]]) -> str:
    return "LINESTRING(" + ",".join(f"{x!r} {y!r}" for x, y in points) + ")"


def cut_lines() -> list[str]:
    n = 700
    # West to east, wavy, between latitudes 35.166 and 35.234: splits north from south.
    first = [
        (36.0 + 0.5 * i / n, 35.2 + 0.03 * math.sin(i / 23) + 0.004 * math.sin(i))
        for i in range(n + 1)
    ]
    # From past the northern edge, wavy down to 35.26, then straight across the first line (one
    # crossing, where the split adds a vertex to the northern zones only); the same from the
    # south.
    north = [(36.2 + 0.02 * math.sin(i / 17), 35.41 - 0.15 * i / 300) for i in range(301)]
    south = [(36.3 + 0.02 * math.sin(i / 13), 34.99 + 0.15 * i / 300) for i in range(301)]
    north.append((north[-1][0], 35.14))
    south.append((south[-1][0], 35.26))
    return [wavy(first), wavy(north), wavy(south)]


def coverage() -> list[str]:
    """EWKT of the four zones: the rectangle split by the first line, then each half by its
    own line."""
    first, north, south = cut_lines()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH halves AS (
                SELECT (ST_Dump(ST_Split({RECT}, ST_GeomFromText(%(first)s, 4326)))).geom AS g
            ),
            cut AS (
                SELECT g, CASE WHEN ST_Y(ST_Centroid(g)) > 35.2 THEN %(north)s ELSE %(south)s
                          END AS line
                FROM halves
            )
            SELECT ST_AsEWKT(ST_Multi((ST_Dump(ST_Split(g, ST_GeomFromText(line, 4326)))).geom))
            FROM cut
            """,
            {"first": first, "north": north, "south": south},
        )
        parts = [row[0] for row in cursor.fetchall()]
    assert len(parts) == 4
    return parts


@pytest.fixture
def four_zones(make_version, make_faction):
    versions = []
    for ewkt in coverage():
        versions.append(make_version(geom=ewkt, faction=make_faction(), valid_from=D))
    return versions


def measure(geometries: list[str], width: float = 0.0) -> tuple[float, float, int, bool]:
    """(gap, overlap) in m² between these GeoJSON geometries and the rectangle they should tile
    (on the geography type), their number of vertices, and whether any part of the gaps and
    overlaps is `width` degrees wide or more (what an inward buffer of width / 2 leaves)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH g AS (SELECT ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(j), 4326)) AS g,
                              ST_NPoints(ST_GeomFromGeoJSON(j)) AS n
                       FROM unnest(%(geoms)s::text[]) AS j),
            pairs AS (SELECT ST_Union(ST_Intersection(a.g, b.g)) AS o
                      FROM g a JOIN g b ON a.g && b.g AND ST_AsEWKB(a.g) < ST_AsEWKB(b.g)),
            r AS (SELECT ST_Difference({RECT}, (SELECT ST_Union(g) FROM g)) AS gap,
                         COALESCE((SELECT ST_CollectionExtract(o, 3) FROM pairs),
                                  'POLYGON EMPTY'::geometry) AS overlap)
            SELECT ST_Area(gap::geography), ST_Area(overlap::geography),
                   (SELECT sum(n) FROM g)::int,
                   NOT ST_IsEmpty(ST_Buffer(gap, -%(half)s))
                   OR NOT ST_IsEmpty(ST_Buffer(overlap, -%(half)s))
            FROM r
            """,
            {"geoms": geometries, "half": width / 2},
        )
        return cursor.fetchone()


def pixel_m2(zoom: int, latitude: float = 35.2) -> float:
    side = 2 * math.pi * 6378137 / (256 * 2**zoom) * math.cos(math.radians(latitude))
    return side * side


@pytest.mark.django_db(transaction=True)
def test_neighbours_keep_their_shared_edges_at_every_zoom(client, four_zones):
    full = client.get(f"/api/v1/zones?date={D}").json()
    full_gap, full_overlap, full_vertices, _wide = measure(
        [json.dumps(f["geometry"]) for f in full["features"]]
    )
    # Rounded to 6 decimals (0.1 m), the T-junctions leave a few m²: nothing to see.
    assert full_gap < 10 and full_overlap < 10
    previous = 0
    for zoom in range(4, 17):
        body = client.get(f"/api/v1/zones?date={D}&zoom={zoom}").json()
        decimals = territory.zoom_decimals(zoom)
        geoms = [json.dumps(f["geometry"]) for f in body["features"]]
        assert len(geoms) == 4
        gap, overlap, vertices, wide = measure(geoms, width=10**-decimals)
        # Shared vertices stay shared exactly; only where a vertex lies on one side of an edge
        # and not the other (the T-junctions) can snapping open a sliver, and it is narrower
        # than a grid cell (under half a pixel) and no longer than the edges around the junction
        # (here ~70 m each side).
        assert not wide, zoom
        slivers = 2 * (10**-decimals * M_PER_DEGREE) * 150  # two junctions
        assert gap + overlap < slivers, (zoom, gap, overlap, slivers)
        assert previous <= vertices <= full_vertices  # fewer at lower zoom
        previous = vertices
        numbers = [
            c
            for g in body["features"]
            for polygon in g["geometry"]["coordinates"]
            for ring in polygon
            for point in ring
            for c in point
        ]
        assert all(round(c, decimals) == c for c in numbers)
        expected = 10**-decimals if decimals < territory.ZONE_DECIMALS else 0
        assert body["grid_degrees"] == expected
    low = client.get(f"/api/v1/zones?date={D}&zoom=6").json()
    assert measure([json.dumps(f["geometry"]) for f in low["features"]])[2] < full_vertices / 4


@pytest.mark.django_db(transaction=True)
def test_each_zone_simplified_on_its_own_would_open_gaps(four_zones):
    """What the test above guards against: ST_SimplifyPreserveTopology on each zone (tolerance
    of zoom 6's grid) leaves gaps and overlaps of many km² along the shared edges (pixels at zoom 6)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.01)) FROM territory_zoneversion"
        )
        simplified = [row[0] for row in cursor.fetchall()]
    gap, overlap, _vertices, _wide = measure(simplified)
    assert gap > 3 * pixel_m2(6) and overlap > 3 * pixel_m2(6)


@pytest.mark.django_db(transaction=True)
def test_a_zone_smaller_than_a_grid_cell_keeps_its_shape(client, make_version):
    from tests.conftest import square

    tiny = make_version(geom=square(36.0012, 35.0012, 0.002), valid_from=D)
    body = client.get(f"/api/v1/zones?date={D}&zoom=5").json()
    (feature,) = body["features"]
    ring = feature["geometry"]["coordinates"][0][0]
    assert len(ring) == 5 and feature["properties"]["version"] == tiny.pk


@pytest.mark.django_db(transaction=True)
def test_the_state_says_the_days_it_stays_the_same(client, make_version, make_zone):
    zone = make_zone()
    make_version(zone=zone, valid_from=dt.date(2024, 11, 1), valid_to=dt.date(2024, 11, 20))
    make_version(zone=zone, valid_from=dt.date(2024, 11, 20))
    make_version(valid_from=dt.date(2024, 11, 10), valid_to=dt.date(2024, 12, 5))
    make_version(valid_from=dt.date(2024, 11, 25), status="draft")

    def period(day: str, client=client) -> tuple[str | None, str | None]:
        body = client.get(f"/api/v1/zones?date={day}&zoom=7").json()
        return body["state_from"], body["state_to"]

    assert period("2024-10-01") == (None, "2024-11-01")
    assert period("2024-11-01") == ("2024-11-01", "2024-11-10")
    assert period("2024-11-19") == ("2024-11-10", "2024-11-20")
    assert period("2024-11-25") == ("2024-11-20", "2024-12-05")  # the draft is not seen
    assert period("2025-01-01") == ("2024-12-05", None)
    assert ZoneVersion.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_zoom_is_for_one_day_and_part_of_the_etag(client, make_version):
    make_version(valid_from=D)
    bad = client.get("/api/v1/zones?from=2024-11-01&to=2024-12-01&zoom=7")
    assert bad.status_code == 400 and bad.json()["parameter"] == "zoom"
    assert client.get(f"/api/v1/zones?date={D}&zoom=23").status_code == 400
    answers = {z: client.get(f"/api/v1/zones?date={D}&zoom={z}") for z in (5, 6, 7, 16, 22)}
    assert {z: a.json()["grid_zooms"] for z, a in answers.items()} == {
        5: [0, 6],
        6: [0, 6],
        7: [7, 9],
        16: [16, 22],
        22: [16, 22],
    }
    assert answers[5]["ETag"] == answers[6]["ETag"] and answers[16]["ETag"] == answers[22]["ETag"]
    etags = {a["ETag"] for a in answers.values()} | {client.get(f"/api/v1/zones?date={D}")["ETag"]}
    assert len(etags) == 4  # zooms 5 and 6 share a grid, 16 and 22 too; no zoom is another body


@pytest.mark.django_db(transaction=True)
def test_a_state_asked_as_a_difference_rebuilds_the_whole_one(
    client, make_version, make_zone, make_faction
):
    a, b = make_faction(), make_faction()
    zone = make_zone()
    from tests.conftest import square

    make_version(zone=zone, faction=a, geom=square(36.0, 35.0, 0.2), valid_to=D)
    make_version(zone=zone, faction=b, geom=square(36.0, 35.0, 0.2), valid_from=D)
    make_version(faction=b, geom=square(36.1, 35.1, 0.2), valid_from=D - dt.timedelta(days=30))
    kept = make_version(faction=a, geom=square(37.0, 35.0), valid_from=D - dt.timedelta(days=30))
    before, after = D - dt.timedelta(days=1), D
    old = client.get(f"/api/v1/zones?date={before}&zoom=8").json()
    new = client.get(f"/api/v1/zones?date={after}&zoom=8").json()
    delta = client.get(f"/api/v1/zones?date={after}&zoom=8&base={before}").json()
    assert delta["base"] == before.isoformat() and delta["count"] == 1
    removed = set(delta["removed"])
    rebuilt = {f["id"]: f for f in old["features"] if f["id"] not in removed}
    for f in rebuilt.values():
        f["properties"]["contested"] = f["id"] in delta["contested"]
    rebuilt.update({f["id"]: f for f in delta["features"]})
    assert [rebuilt[k] for k in sorted(rebuilt)] == new["features"]
    assert kept.pk in rebuilt and len(removed) == 1
    # b's other zone overlapped a's, no longer does once b holds both: its flag changes
    # although the version stays, and the rebuilt state carries that.
    assert any(f["properties"]["contested"] for f in old["features"])
    assert delta["contested"] == [] and not any(
        f["properties"]["contested"] for f in new["features"]
    )
    bad = client.get("/api/v1/zones?from=2024-11-01&to=2024-12-01&base=2024-11-01")
    assert bad.status_code == 400 and bad.json()["parameter"] == "base"
