"""The area series from stored per-version areas agrees with unions of the versions in force.

The fast path sums ZoneVersion.area_km2 and takes out the overlaps of a faction's own versions
by inclusion-exclusion; where more than MAX_STACK pile up it unions them. The reference
(`union_all=True`) unions every faction's versions on every step, as the series always did.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.management import call_command
from django.db import connection

from conflictmap.territory.models import Status
from conflictmap.territory.series import MAX_STACK, area_series
from tests.api.test_territory import ellipsoid_rect_km2, get_json
from tests.api.test_territory import rect as coarse_rect

START = dt.date(2024, 11, 26)  # make_version's default valid_from


def rect(w: float, s: float, e: float, n: float, step: float = 0.005) -> MultiPolygon:
    """A rectangle with a vertex every `step` degrees along its edges (about 500 m).

    PostGIS measures geography edges as geodesics, but unions and intersections put their
    crossing points on the straight lines of the plane; on a long edge the two differ by
    tens of metres, and the union path loses or gains that sliver (see
    test_on_long_edges_the_stored_areas_are_closer_to_the_geodesic_union). Short edges keep
    both paths within floating error of each other."""

    def edge(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
        k = max(1, round(max(abs(x1 - x0), abs(y1 - y0)) / step))
        return [(x0 + (x1 - x0) * j / k, y0 + (y1 - y0) * j / k) for j in range(k)]

    ring = edge(w, s, e, s) + edge(e, s, e, n) + edge(e, n, w, n) + edge(w, n, w, s) + [(w, s)]
    return MultiPolygon(Polygon(ring), srid=4326)


def both_paths(start: dt.date, end: dt.date, step: str, *, staff: bool = False) -> tuple:
    fast = area_series(start, end, step, staff=staff)
    reference = area_series(start, end, step, staff=staff, union_all=True)
    return fast, reference


def assert_same_series(fast: dict, reference: dict) -> None:
    assert fast["steps"] == reference["steps"]
    assert [s["faction"] for s in fast["series"]] == [s["faction"] for s in reference["series"]]
    for got, want in zip(fast["series"], reference["series"], strict=True):
        # Both are rounded to 3 decimals; see rect() for the 1e-7 relative difference left.
        assert got["km2"] == pytest.approx(want["km2"], rel=1e-7, abs=0.0011), got["faction"]


def km2_of(series: dict, slug: str) -> list[float]:
    (match,) = [s["km2"] for s in series["series"] if s["faction"]["slug"] == slug]
    return match


def test_a_version_stores_its_area_on_the_spheroid_and_follows_its_geometry(make_version):
    v = make_version(geom=rect(36.0, 35.0, 36.2, 35.2))
    assert v.area_km2 == pytest.approx(ellipsoid_rect_km2(36.0, 35.0, 36.2, 35.2), rel=0.005)

    with connection.cursor() as cursor:  # a write that bypasses Django is measured too
        cursor.execute(
            "UPDATE territory_zoneversion SET geom = %s::geometry WHERE id = %s",
            [rect(36.0, 35.0, 36.4, 35.2).ewkt, v.pk],
        )
    v.refresh_from_db()

    assert v.area_km2 == pytest.approx(ellipsoid_rect_km2(36.0, 35.0, 36.4, 35.2), rel=0.005)


def test_two_overlapping_versions_of_one_faction_count_their_overlap_once(
    make_version, make_faction
):
    a = make_faction(slug="aaa")
    make_version(faction=a, geom=rect(36.0, 35.0, 36.2, 35.1))
    make_version(faction=a, geom=rect(36.1, 35.0, 36.3, 35.1))

    fast, reference = both_paths(START, START + dt.timedelta(days=2), "day")

    assert (
        km2_of(fast, "aaa")
        == [pytest.approx(ellipsoid_rect_km2(36.0, 35.0, 36.3, 35.1), rel=0.005)] * 3
    )
    assert_same_series(fast, reference)


def test_three_versions_overlapping_each_other_count_once(make_version, make_faction):
    a = make_faction(slug="aaa")
    make_version(faction=a, geom=rect(36.0, 35.0, 36.2, 35.1))
    make_version(faction=a, geom=rect(36.1, 35.0, 36.3, 35.1))
    make_version(faction=a, geom=rect(36.15, 35.0, 36.25, 35.2))
    # Three that overlap pairwise with no point common to all three.
    b = make_faction(slug="bbb")
    make_version(faction=b, geom=rect(37.0, 35.0, 37.2, 35.1))
    make_version(faction=b, geom=rect(37.1, 35.0, 37.3, 35.1))
    make_version(faction=b, geom=rect(37.05, 35.05, 37.25, 35.15))

    fast, reference = both_paths(START, START + dt.timedelta(days=1), "day")

    expected_a = ellipsoid_rect_km2(36.0, 35.0, 36.3, 35.1) + ellipsoid_rect_km2(
        36.15, 35.1, 36.25, 35.2
    )
    assert km2_of(fast, "aaa") == [pytest.approx(expected_a, rel=0.005)] * 2
    assert_same_series(fast, reference)


@pytest.mark.parametrize("piled", [5, MAX_STACK + 1])
def test_versions_piled_on_one_spot_count_once(make_version, make_faction, piled):
    # Each overlaps all the others; past MAX_STACK the pile is unioned instead.
    a = make_faction(slug="aaa")
    for k in range(piled):
        d = 0.01 * k
        make_version(faction=a, geom=rect(36.0 + d, 35.0 + d, 36.1 + d, 35.1 + d))

    fast, reference = both_paths(START, START + dt.timedelta(days=1), "day")

    # A staircase: each square adds 0.1² - 0.09² = 19% of a square to the one before it.
    one = ellipsoid_rect_km2(36.0, 35.0, 36.1, 35.1)
    assert km2_of(fast, "aaa") == [pytest.approx(one * (1 + 0.19 * (piled - 1)), rel=0.005)] * 2
    assert_same_series(fast, reference)


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def test_the_fast_path_equals_unions_on_overlaps_that_come_and_go(make_version, make_faction):
    a, b = make_faction(slug="aaa"), make_faction(slug="bbb")
    # a1 overlaps a2 only from day 3 (a2 starts), and a3 joins them from day 5 to day 8.
    make_version(faction=a, geom=rect(36.0, 35.0, 36.2, 35.2), valid_from=day(0))
    make_version(faction=a, geom=rect(36.1, 35.1, 36.3, 35.3), valid_from=day(3))
    make_version(faction=a, geom=rect(36.15, 35.0, 36.4, 35.15), valid_from=day(5), valid_to=day(8))
    # Touching a1 along an edge: no overlap, areas simply add up.
    make_version(faction=a, geom=rect(35.8, 35.0, 36.0, 35.2), valid_from=day(1), valid_to=day(4))
    # Another faction on the same ground: contested, but each faction keeps its own area.
    make_version(faction=b, geom=rect(36.05, 35.05, 36.35, 35.25), valid_from=day(2))
    # A draft overlapping a1 and a retracted version of a faction of its own: only users who
    # may view drafts count them.
    draft = make_version(
        faction=a, geom=rect(35.9, 34.9, 36.1, 35.1), valid_from=day(4), status=Status.DRAFT
    )
    make_version(
        faction=make_faction(slug="ddd"), geom=rect(37.0, 35.0, 37.1, 35.1), valid_from=day(2),
        status=Status.RETRACTED,
    )  # fmt: skip
    # A zone that changes hands: two versions of one zone, one after the other.
    moved = make_version(faction=a, geom=rect(36.3, 35.2, 36.5, 35.4), valid_from=day(0))
    moved.valid_to = day(6)
    moved.save()
    make_version(zone=moved.zone, faction=b, geom=moved.geom, valid_from=day(6))
    # Held only between two weekly steps.
    brief = make_version(faction=make_faction(slug="ccc"), valid_from=day(1), valid_to=day(3))

    for step in ("day", "week"):
        for staff in (False, True):
            fast, reference = both_paths(START, day(20), step, staff=staff)
            assert_same_series(fast, reference)

    # The public's series leaves the draft and the retracted version out; the other counts them.
    public, _ = both_paths(START, day(20), "day")
    viewer, _ = both_paths(START, day(20), "day", staff=True)
    assert "ddd" not in [s["faction"]["slug"] for s in public["series"]]
    assert km2_of(viewer, "ddd")[2] == pytest.approx(
        ellipsoid_rect_km2(37.0, 35.0, 37.1, 35.1), rel=0.005
    )
    # The draft adds to "aaa" from day 4 (its part outside a1) for the viewer only.
    assert km2_of(viewer, "aaa")[4] - km2_of(public, "aaa")[4] == pytest.approx(
        draft.area_km2 - ellipsoid_rect_km2(36.0, 35.0, 36.1, 35.1), rel=0.01
    )
    assert km2_of(viewer, "aaa")[3] == km2_of(public, "aaa")[3]

    week, _ = both_paths(START, day(20), "week")
    assert "ccc" not in [s["faction"]["slug"] for s in week["series"]]
    daily, _ = both_paths(START, day(4), "day")
    held = pytest.approx(brief.area_km2, abs=1e-3)
    assert km2_of(daily, "ccc") == [0, held, held, 0, 0]


def test_the_fast_path_equals_unions_on_synthetic_data(db):
    call_command("generate_synthetic", zones=30, versions=300, seed=0.3, stdout=None)
    with connection.cursor() as cursor:  # the synthetic grid has overlaps within factions
        cursor.execute(
            "SELECT count(*) FROM territory_zoneversion a JOIN territory_zoneversion b"
            " ON a.id < b.id AND a.faction_id = b.faction_id"
            " WHERE ST_Relate(a.geom, b.geom, 'T********')"
        )
        assert cursor.fetchone()[0] > 0

    fast, reference = both_paths(dt.date(2011, 3, 15), dt.date(2024, 12, 31), "month")

    assert len(fast["series"]) == 6
    assert_same_series(fast, reference)


def test_the_http_series_is_the_fast_one(client, make_version, make_faction):
    a = make_faction(slug="aaa")
    make_version(faction=a, geom=rect(36.0, 35.0, 36.2, 35.1))
    make_version(faction=a, geom=rect(36.1, 35.0, 36.3, 35.1))

    data = get_json(client, "/api/v1/stats/area?from=2024-11-26&to=2024-12-10&step=week")

    assert data == area_series(START, dt.date(2024, 12, 10), "week")
    assert (
        data["series"][0]["km2"]
        == [pytest.approx(ellipsoid_rect_km2(36.0, 35.0, 36.3, 35.1), rel=0.005)] * 3
    )


def test_on_long_edges_the_stored_areas_are_closer_to_the_geodesic_union(
    make_version, make_faction
):
    a = make_faction(slug="aaa")
    make_version(faction=a, geom=coarse_rect(36.05, 35.05, 36.35, 35.25))
    make_version(faction=a, geom=coarse_rect(36.3, 35.2, 36.5, 35.4))
    with connection.cursor() as cursor:  # the same shapes with vertices every 10 m on geodesics
        cursor.execute(
            "SELECT ST_Area(ST_Union(ST_Segmentize(geom::geography, 10)::geometry)::geography)"
            " / 1e6 FROM territory_zoneversion"
        )
        (geodesic,) = cursor.fetchone()

    fast, reference = both_paths(START, START, "day")

    ((fast_km2,),) = [s["km2"] for s in fast["series"]]
    ((union_km2,),) = [s["km2"] for s in reference["series"]]
    assert abs(fast_km2 - geodesic) < abs(union_km2 - geodesic) / 4
    assert fast_km2 == pytest.approx(geodesic, rel=1e-5)
