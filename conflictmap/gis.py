"""Geometry rules shared by every app, done by PostGIS: valid multipolygons in EPSG:4326, the
bounding-box filter of the queries, and Web Mercator's constants."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import connection

# Web Mercator (EPSG:3857) projects onto a sphere of the WGS84 semi-major axis; the square world
# it draws spans ±π·R metres on both axes (the tile grid of ST_TileEnvelope).
WEB_MERCATOR_RADIUS_M = 6378137.0
WEB_MERCATOR_HALF_WIDTH_M = math.pi * WEB_MERCATOR_RADIUS_M  # 20037508.342789244

Bbox = tuple[float, float, float, float]


def bbox_sql(alias: str, bbox: Bbox, params: dict[str, Any]) -> str:
    """SQL true where `alias`.geom's box meets `bbox` (W, S, E, N in lon/lat): the GiST index
    answers it. Adds the corners to `params` as w, s, e, n."""
    params.update(zip(("w", "s", "e", "n"), bbox, strict=True))
    return f"{alias}.geom && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)"


class GeometryError(ValueError):
    """A geometry that cannot be turned into a valid (multi)polygon, or only with a change of
    area beyond what the caller accepts."""


# ST_MakeValid repairs self-intersections; ST_CollectionExtract(…, 3) keeps only the polygonal
# parts (a repaired bow-tie can leave lines behind); ST_Multi makes the type uniform.
VALID_MULTIPOLYGON_SQL = "ST_Multi(ST_CollectionExtract(ST_MakeValid({}), 3))"


@dataclass(frozen=True)
class Repaired:
    geom: MultiPolygon  # valid, in EPSG:4326
    area_change: float  # |area after - area before| / the larger of the two (0.0: unchanged)


def repair(geom: GEOSGeometry, max_area_change: float | None = None) -> Repaired:
    """`geom` (in any SRID, 4326 assumed when unset) as a valid MultiPolygon in 4326.

    Raises GeometryError when nothing polygonal is left (a point, a line, an empty shape), or
    when `max_area_change` is given (a fraction: 0.01 is 1%) and the repair would change the
    area by more: a bow-tie "repaired" into half of itself is a different shape, not a fix.
    """
    srid = geom.srid or 4326
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH g AS (SELECT ST_Transform(ST_SetSRID(%s::geometry, %s), 4326) AS g),"
            f" v AS (SELECT {VALID_MULTIPOLYGON_SQL.format('g')} AS v, g FROM g)"
            " SELECT ST_AsEWKB(v), ST_Area(v), ST_Area(g) FROM v",
            [geom.ewkb if geom.srid else geom.wkb, srid],
        )
        ewkb, area_after, area_before = cursor.fetchone()
    result = GEOSGeometry(memoryview(bytes(ewkb)))
    if result.empty or not area_after:
        raise GeometryError(f"the {geom.geom_type} has no polygonal area")
    change = abs(area_after - area_before) / max(area_before, area_after)
    if max_area_change is not None and change > max_area_change:
        raise GeometryError(f"ST_MakeValid would change its area by {change:.0%}")
    return Repaired(result, change)
