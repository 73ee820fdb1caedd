"""GeoJSON control maps: polygon features to zone geometries (EPSG:4326)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon

from . import Problem, in_syria

POLYGONAL = {"Polygon", "MultiPolygon"}


@dataclass
class ZoneFeature:
    index: int
    name: str
    geom: MultiPolygon
    properties: dict = field(default_factory=dict)
    invalid_reason: str = (
        ""  # set when GEOS finds the polygon invalid; the pipeline repairs or rejects
    )

    @property
    def label(self) -> str:
        return f"feature {self.index}" + (f" ({self.name})" if self.name else "")


def feature_name(properties: dict) -> str:
    for key in ("zone", "name", "Name", "NAME", "title", "id"):
        value = properties.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()[:200]
    return ""


def check_geometry(
    geom: GEOSGeometry, label: str
) -> tuple[MultiPolygon | None, str, Problem | None]:
    """Polygonal, inside Syria, and its validity; returns (multipolygon, invalid reason, problem)."""
    if geom.geom_type not in POLYGONAL:
        return None, "", Problem(label, f"is a {geom.geom_type}, not a polygon")
    if geom.empty:
        return None, "", Problem(label, "has an empty geometry")
    west, south, east, north = geom.extent
    if not (in_syria(west, south) and in_syria(east, north)):
        if in_syria(south, west) and in_syria(north, east):
            reason = "has longitude and latitude swapped (coordinates must be lon, lat)"
        else:
            reason = (
                f"has coordinates outside Syria (extent {west:.3f},{south:.3f},"
                f"{east:.3f},{north:.3f})"
            )
        return None, "", Problem(label, reason)
    if geom.geom_type == "Polygon":
        geom = MultiPolygon(geom, srid=4326)
    geom.srid = 4326
    invalid = "" if geom.valid else geom.valid_reason
    return geom, invalid, None


def read_zone_feature(
    index: int,
    name: str,
    label: str,
    properties: dict,
    read: Callable[[Any], GEOSGeometry],
    source: Any,
    what: str = "geometry",
) -> ZoneFeature | Problem:
    """`read(source)` as a zone feature, or the problem that rejects it: it cannot be read, or it
    fails `check_geometry`. The GeoJSON and KML parsers share this last step."""
    try:
        geom = read(source)
    except (GEOSException, GDALException, ValueError, TypeError) as exc:
        return Problem(label, f"has an unreadable {what}: {str(exc)[:200]}")
    multi, invalid, problem = check_geometry(geom, label)
    return problem or ZoneFeature(index, name, multi, properties, invalid)


def _geometry(geometry: dict) -> GEOSGeometry:
    return GEOSGeometry(json.dumps(geometry))


def _features(doc: object) -> list:
    if not isinstance(doc, dict):
        raise ValueError("the top level is not a GeoJSON object")
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise ValueError('the FeatureCollection has no "features" list')
        return features
    if kind == "Feature":
        return [doc]
    if kind in POLYGONAL or kind in {"Point", "LineString", "MultiPoint", "MultiLineString"}:
        return [{"type": "Feature", "properties": {}, "geometry": doc}]
    raise ValueError(f'"type" is {str(kind)[:40]!r}, not FeatureCollection, Feature or a geometry')


def parse(data: bytes) -> tuple[list[ZoneFeature], list[Problem]]:
    problems: list[Problem] = []
    records: list[ZoneFeature] = []
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        problems.append(Problem("file", f"GeoJSON must be UTF-8 (byte {exc.start} is not)"))
        return records, problems
    except json.JSONDecodeError as exc:
        hint = " — the file looks truncated" if exc.pos >= len(data.rstrip()) - 1 else ""
        problems.append(
            Problem(
                "file",
                f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}",
            )
        )
        return records, problems
    except RecursionError:
        problems.append(Problem("file", "JSON nested too deeply"))
        return records, problems
    try:
        features = _features(doc)
    except ValueError as exc:
        problems.append(Problem("file", str(exc)))
        return records, problems
    for index, feature in enumerate(features, start=1):
        label = f"feature {index}"
        if not isinstance(feature, dict):
            problems.append(Problem(label, "is not a GeoJSON Feature object"))
            continue
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            properties = {}
        name = feature_name(properties)
        if name:
            label = f"{label} ({name})"
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict):
            problems.append(Problem(label, "has no geometry"))
            continue
        found = read_zone_feature(index, name, label, properties, _geometry, geometry)
        (records if isinstance(found, ZoneFeature) else problems).append(found)
    if not records and not problems:
        problems.append(Problem("file", "no features"))
    return records, problems
