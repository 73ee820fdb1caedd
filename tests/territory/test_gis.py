"""conflictmap.gis: the one geometry repair, and Web Mercator's constants as PostGIS has them."""

from __future__ import annotations

import math

import pytest
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import connection

from conflictmap.gis import (
    WEB_MERCATOR_HALF_WIDTH_M,
    WEB_MERCATOR_RADIUS_M,
    GeometryError,
    repair,
)
from tests.conftest import square

pytestmark = pytest.mark.django_db

# Two triangles crossing at (36.5 35.5): ST_Area of the ring is 0, of the repair 0.5 square degree.
BOWTIE = GEOSGeometry("SRID=4326;POLYGON((36 35, 37 36, 37 35, 36 36, 36 35))")
# A square of one degree with a bow-tie of 0.0002 square degree hanging from a corner.
SQUARE_WITH_A_LOOP = GEOSGeometry(
    "SRID=4326;POLYGON((36 35, 37 35, 37 36, 36 36, 35.98 36.02, 35.98 36, 36 36.02, 36 36, 36 35))"
)


def test_a_valid_polygon_comes_back_as_a_multipolygon_with_its_area_unchanged():
    polygon = square(36.0, 35.0)[0]
    repaired = repair(polygon, max_area_change=0.0)
    assert isinstance(repaired.geom, MultiPolygon)
    assert repaired.geom.srid == 4326
    assert repaired.geom.equals(polygon)
    assert repaired.area_change == 0.0


def test_a_small_self_intersection_is_repaired_within_the_tolerance():
    repaired = repair(SQUARE_WITH_A_LOOP, max_area_change=0.01)
    assert repaired.geom.valid
    assert repaired.area_change == pytest.approx(0.0002 / 1.0002)
    assert repaired.geom.area == pytest.approx(1.0002)


def test_a_repair_that_changes_the_area_beyond_the_tolerance_is_refused():
    with pytest.raises(GeometryError, match="ST_MakeValid would change its area by 100%"):
        repair(BOWTIE, max_area_change=0.01)
    # Without a tolerance (boundaries we trust) the same repair is taken.
    assert repair(BOWTIE).geom.area == pytest.approx(0.5)


def test_a_geometry_in_another_srid_comes_back_in_wgs84():
    metres = square(36.0, 35.0).transform(3857, clone=True)
    repaired = repair(metres)
    assert repaired.geom.srid == 4326
    assert repaired.geom.equals_exact(square(36.0, 35.0), tolerance=1e-9)


@pytest.mark.parametrize(
    "wkt", ["SRID=4326;LINESTRING(36 35, 37 36)", "SRID=4326;POINT(36 35)", "POLYGON EMPTY"]
)
def test_nothing_polygonal_left_is_an_error_naming_the_type(wkt):
    geom = GEOSGeometry(wkt)
    with pytest.raises(GeometryError, match=f"the {geom.geom_type} has no polygonal area"):
        repair(geom)


def test_the_web_mercator_constants_are_those_of_postgis_tiles():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_XMax(ST_TileEnvelope(0, 0, 0)),"
            " ST_Y(ST_Transform('SRID=4326;POINT(0 45)'::geometry, 3857))"
        )
        half_width, y45 = cursor.fetchone()
    assert half_width == WEB_MERCATOR_HALF_WIDTH_M
    # y = R ln(tan(45° + φ/2)): the formula the aggregated event tiles use.
    assert WEB_MERCATOR_RADIUS_M * math.log(math.tan(math.radians(45 + 45 / 2))) == (
        pytest.approx(y45, abs=1e-6)
    )
