"""Geometry clean-up done by PostGIS for the loaders: valid, polygonal, multi, SRID 4326."""

from __future__ import annotations

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import connection


class GeometryError(ValueError):
    """A geometry that cannot be turned into a valid (multi)polygon."""


# ST_MakeValid repairs self-intersections; ST_CollectionExtract(…, 3) keeps only the polygonal
# parts (a repaired bow-tie can leave lines behind); ST_Multi makes the type uniform.
VALID_MULTIPOLYGON_SQL = "ST_Multi(ST_CollectionExtract(ST_MakeValid({}), 3))"


def valid_multipolygon(geom: GEOSGeometry) -> MultiPolygon:
    """Return `geom` (in any SRID, 4326 assumed when unset) as a valid MultiPolygon in 4326.

    Raises GeometryError when nothing polygonal is left (a point, a line, an empty shape).
    """
    srid = geom.srid or 4326
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_AsEWKB("
            + VALID_MULTIPOLYGON_SQL.format("ST_Transform(ST_SetSRID(%s::geometry, %s), 4326)")
            + ")",
            [geom.ewkb if geom.srid else geom.wkb, srid],
        )
        (ewkb,) = cursor.fetchone()
    result = GEOSGeometry(memoryview(bytes(ewkb)))
    if result.empty:
        raise GeometryError(f"the {geom.geom_type} has no polygonal area")
    return result
