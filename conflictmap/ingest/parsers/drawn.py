"""A drawn area or front line read from a vector file (any format `vector` opens): the ground of
`manage.py transfer --area FILE` or `--line FILE`.

Every feature of every layer must be of the kind asked (polygons for an area, lines for a line);
they are collected into one MultiPolygon or MultiLineString in EPSG:4326, reprojected as zone
files are (see `zones`). A file with anything else is refused with the feature and the reason.
"""

from __future__ import annotations

from django.contrib.gis.geos import GEOSGeometry, LineString, MultiLineString, MultiPolygon, Polygon

from .vector import VectorError, open_vector
from .zones import _zone_geometry

KINDS = {
    "area": ((Polygon, MultiPolygon), MultiPolygon, "polygons"),
    "line": ((LineString, MultiLineString), MultiLineString, "lines"),
}


def read(data: bytes, filename: str, kind: str) -> GEOSGeometry:
    """The features of the file as one geometry of `kind` ("area" or "line"). Raises
    VectorError saying which feature is wrong and why."""
    accepted, multi, label = KINDS[kind]
    parts: list[GEOSGeometry] = []
    index = 0
    with open_vector(data, filename) as source:
        for layer in source:
            for feature in layer:
                index += 1
                try:
                    geom = _zone_geometry(feature, layer.srs)
                except ValueError as exc:
                    raise VectorError(f"{filename}: feature {index} {exc}") from None
                if not isinstance(geom, accepted) or geom.empty:
                    raise VectorError(
                        f"{filename}: feature {index} is a {geom.geom_type}; a file of the {kind} "
                        f"holds {label} only"
                    )
                parts.extend(geom if isinstance(geom, multi) else [geom])
    if not parts:
        raise VectorError(f"{filename}: no features")
    return multi(*parts, srid=4326)
