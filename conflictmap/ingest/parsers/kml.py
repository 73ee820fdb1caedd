"""KML control maps (Google Earth / My Maps exports): Placemark polygons to zone geometries."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from django.contrib.gis.geos import GEOSGeometry

from . import Problem
from .geojson import ZoneFeature, read_zone_feature

NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in element.iter() if _local(e.tag) == name]


def _ring(element: ET.Element | None) -> str:
    """A KML <coordinates> text ("lon,lat[,alt] ...") as a WKT ring."""
    if element is None:
        raise ValueError("a ring has no <coordinates>")
    points = []
    for token in (element.text or "").split():
        parts = token.split(",")
        if len(parts) < 2 or not (NUMBER.match(parts[0]) and NUMBER.match(parts[1])):
            raise ValueError(f"bad coordinate {token[:40]!r}")
        points.append(f"{parts[0]} {parts[1]}")
    if len(points) < 4:
        raise ValueError(f"a ring has {len(points)} points, at least 4 are needed")
    return "(" + ",".join(points) + ")"


def _polygon_wkt(polygon: ET.Element) -> str:
    rings = []
    for boundary in ("outerBoundaryIs", "innerBoundaryIs"):
        for b in [c for c in polygon if _local(c.tag) == boundary]:
            coords = next(iter(_children(b, "coordinates")), None)
            rings.append(_ring(coords))
    if not rings:
        raise ValueError("a Polygon has no outerBoundaryIs")
    return "(" + ",".join(rings) + ")"


def _multipolygon(polygons: list[ET.Element]) -> GEOSGeometry:
    return GEOSGeometry(
        "MULTIPOLYGON(" + ",".join(_polygon_wkt(p) for p in polygons) + ")", srid=4326
    )


def parse(data: bytes) -> tuple[list[ZoneFeature], list[Problem]]:
    problems: list[Problem] = []
    records: list[ZoneFeature] = []
    head = data[:2048].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        problems.append(Problem("file", "KML with a DTD or entities is refused"))
        return records, problems
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        problems.append(Problem("file", f"not well-formed XML at line {line}, column {column}"))
        return records, problems
    except (ValueError, RecursionError) as exc:
        problems.append(Problem("file", f"not readable XML: {str(exc)[:200]}"))
        return records, problems
    if _local(root.tag) != "kml":
        problems.append(
            Problem("file", f"the root element is <{_local(root.tag)[:40]}>, not <kml>")
        )
        return records, problems
    placemarks = _children(root, "Placemark")
    for index, placemark in enumerate(placemarks, start=1):
        name_el = next((c for c in placemark if _local(c.tag) == "name"), None)
        name = " ".join((name_el.text or "").split())[:200] if name_el is not None else ""
        label = f"placemark {index}" + (f" ({name})" if name else "")
        polygons = _children(placemark, "Polygon")
        if not polygons:
            others = {_local(e.tag) for e in placemark.iter()} & {
                "Point",
                "LineString",
                "LinearRing",
                "Model",
                "Track",
            }
            kind = ", ".join(sorted(others)) or "no geometry"
            problems.append(Problem(label, f"has {kind}, not a polygon"))
            continue
        props = {"name": name} if name else {}
        found = read_zone_feature(index, name, label, props, _multipolygon, polygons, "polygon")
        (records if isinstance(found, ZoneFeature) else problems).append(found)
    if not placemarks:
        problems.append(Problem("file", "no Placemark in the KML"))
    return records, problems
