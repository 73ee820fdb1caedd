"""Zone files (control maps) in any format `vector` opens: polygon features to zone geometries in
EPSG:4326, each with its name and properties, or the problem that rejects it.

Features are numbered across the file's layers in GDAL's order (a KML folder is a layer).
Reprojected to EPSG:4326 when the layer has another coordinate system; Z and M are dropped.
Invalid polygons are kept with the reason GEOS gives: the pipeline repairs them or rejects them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.gis.gdal import GDALException, OGRGeometry, SpatialReference
from django.contrib.gis.gdal.feature import Feature
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon

from . import Problem, in_syria
from .vector import VectorError, gdal_messages, open_vector

POLYGONAL = {"Polygon", "MultiPolygon"}
NAME_FIELDS = ("zone", "name", "Name", "NAME", "title", "id")
WGS84 = 4326
NOT_POLYGON = ", not a polygon"  # ends the reason given for a point, a line or a collection


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


def feature_name(properties: dict, fields: tuple[str, ...] = NAME_FIELDS) -> str:
    """The first of `fields` with a non-blank text or number value."""
    for key in fields:
        value = properties.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return " ".join(str(value).split())[:200]
    return ""


def check_geometry(
    geom: GEOSGeometry, label: str
) -> tuple[MultiPolygon | None, str, Problem | None]:
    """Polygonal, inside Syria, and its validity; returns (multipolygon, invalid reason, problem)."""
    if geom.geom_type not in POLYGONAL:
        return None, "", Problem(label, f"is a {geom.geom_type}{NOT_POLYGON}")
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
        geom = MultiPolygon(geom, srid=WGS84)
    geom.srid = WGS84
    invalid = "" if geom.valid else geom.valid_reason
    return geom, invalid, None


def _plain(value: object) -> object:
    """A field value as JSON can hold it (GDAL gives dates and times as Python objects)."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def _properties(feature: Feature, fields: list[str]) -> dict:
    out = {}
    for name in fields:
        try:
            out[name] = _plain(feature.get(name))
        except (GDALException, UnicodeDecodeError, ValueError):
            out[name] = None  # an undecodable value: the feature may still carry what matters
    return out


def _polygons_of(geom: OGRGeometry) -> GEOSGeometry:
    """GEOS geometry in 2D; a collection made only of polygons (old KML MultiGeometry) as a
    MultiPolygon."""
    if geom.is_3d:
        geom.set_3d(False)
    if geom.is_measured:
        geom.set_measured(False)
    geos = geom.geos
    if (
        geos.geom_type == "GeometryCollection"
        and len(geos)
        and all(g.geom_type == "Polygon" for g in geos)
    ):
        geos = MultiPolygon(*list(geos), srid=geos.srid)
    return geos


def _zone_geometry(feature: Feature, srs: SpatialReference | None) -> GEOSGeometry:
    """The feature's geometry in EPSG:4326, or ValueError with the reason."""
    with gdal_messages() as messages:
        try:
            geom = feature.geom
        except GDALException:
            raise ValueError("has no geometry") from None
        try:
            if srs is not None and srs.srid != WGS84:
                geom.transform(SpatialReference(WGS84))
        except GDALException:
            reason = "; ".join(messages)[:200] or "GDAL cannot transform it"
            raise ValueError(
                f"cannot be reprojected from {srs.name} to EPSG:4326: {reason}"
            ) from None
        try:
            geos = _polygons_of(geom)
        except (GDALException, GEOSException) as exc:
            raise ValueError(f"has an unreadable geometry: {'; '.join(messages) or exc}") from None
    geos.srid = WGS84
    return geos


def parse(data: bytes, filename: str = "") -> tuple[list[ZoneFeature], list[Problem]]:
    """Every polygon feature of every layer of the file as a ZoneFeature; every other feature,
    or the file itself when GDAL cannot read it, as a Problem with the reason."""
    records: list[ZoneFeature] = []
    problems: list[Problem] = []
    index = 0
    try:
        with open_vector(data, filename) as source:
            for layer in source:
                srs = layer.srs
                fields = list(layer.fields)
                for feature in layer:
                    index += 1
                    properties = _properties(feature, fields)
                    name = feature_name(properties)
                    label = f"feature {index}" + (f" ({name})" if name else "")
                    try:
                        geom = _zone_geometry(feature, srs)
                    except ValueError as exc:
                        problems.append(Problem(label, str(exc)))
                        continue
                    multi, invalid, problem = check_geometry(geom, label)
                    if problem:
                        problems.append(problem)
                    else:
                        records.append(ZoneFeature(index, name, multi, properties, invalid))
    except VectorError as exc:
        return [], [Problem("file", str(exc))]
    if index == 0:
        problems.append(Problem("file", f"{filename or 'the file'}: no features"))
    return records, problems


def property_values(data: bytes, filename: str, name: str) -> list[object]:
    """The distinct values of property `name` over the file's features, in order of first
    appearance (None for a feature without it). Raises VectorError when GDAL cannot read it."""
    seen: dict = {}
    with open_vector(data, filename) as source:
        for layer in source:
            has_it = name in layer.fields
            for feature in layer:
                value = _properties(feature, [name])[name] if has_it else None
                seen.setdefault(value, None)
    return list(seen)
