"""Hypothesis throws thousands of inputs at each parser: no unhandled exception, ever."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conflictmap.ingest.parsers import Problem, acled, feed, text, zones

FUZZ = settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
PARSERS = [acled, feed, text, zones]


def check(result) -> None:
    records, problems = result
    assert isinstance(records, list)
    assert all(isinstance(p, Problem) and p.reason for p in problems)


def parser_name(parser) -> str:
    return parser.__name__.rpartition(".")[2]


@pytest.mark.parametrize("parser", PARSERS, ids=parser_name)
@FUZZ
@given(data=st.binary(max_size=400))
def test_each_parser_survives_arbitrary_bytes(parser, data):
    check(parser.parse(data))


@pytest.mark.parametrize(
    ("parser", "opening"),
    [(feed, "<rss><channel><item><title>"), (text, "<html><p>")],
    ids=["feed", "text"],
)
@FUZZ
@given(rest=st.text(max_size=300))
def test_a_parser_survives_arbitrary_text_after_the_opening_of_its_format(parser, opening, rest):
    check(parser.parse((opening + rest).encode("utf-8", "surrogatepass")))


cells = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["2024-11-27", "27 November 2024", "Battles", "Armed clash", "36.2", "37.1",
                     "1", "2", "3", "", "-1", "nan", "1e999", '"', ";", "\x00"]),
)  # fmt: skip


@FUZZ
@given(st.lists(st.lists(cells, min_size=0, max_size=len(acled.COLUMNS) + 2), max_size=6))
def test_the_acled_parser_survives_arbitrary_rows(rows):
    lines = [",".join(acled.COLUMNS)] + [",".join(r) for r in rows]
    check(acled.parse("\n".join(lines).encode("utf-8", "surrogatepass")))


coords = st.lists(
    st.lists(st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=3)), max_size=3),
    max_size=6,
)
geometries = st.fixed_dictionaries(
    {"type": st.sampled_from(["Polygon", "MultiPolygon", "Point", "LineString", "Bogus"]),
     "coordinates": st.one_of(coords, st.lists(coords, max_size=3), st.lists(st.lists(coords, max_size=2), max_size=2))}
)  # fmt: skip
features = st.fixed_dictionaries(
    {"type": st.just("Feature"),
     "properties": st.one_of(st.none(), st.dictionaries(st.sampled_from(["name", "zone"]), st.text(max_size=5))),
     "geometry": st.one_of(st.none(), geometries)}
)  # fmt: skip


@FUZZ
@given(st.lists(features, max_size=4))
def test_the_zones_parser_survives_arbitrary_geojson_features(items):
    check(zones.parse(json.dumps({"type": "FeatureCollection", "features": items}).encode()))


@FUZZ
@given(st.lists(st.text(alphabet="0123456789.,- e", max_size=40), max_size=3), st.text(max_size=20))
def test_the_zones_parser_survives_arbitrary_kml_placemarks(rings, name):
    from xml.sax.saxutils import escape

    polys = "".join(
        f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{escape(r)}</coordinates>"
        "</LinearRing></outerBoundaryIs></Polygon>"
        for r in rings
    )
    doc = f'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>{escape(name)}</name>{polys}</Placemark></kml>'
    check(zones.parse(doc.encode("utf-8", "surrogatepass")))


def zipped(name: str, content: bytes) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "wrap",
    [
        lambda rest: b"SQLite format 3\x00" + rest,
        lambda rest: b"fgb\x03fgb\x01" + rest,
        lambda rest: zipped("doc.kml", b'<kml xmlns="http://www.opengis.net/kml/2.2">' + rest),
        lambda rest: zipped("zones.shp", b"\x00\x00\x27\x0a" + rest),
    ],
    ids=["geopackage", "flatgeobuf", "kmz", "zipped-shapefile"],
)
@FUZZ
@given(rest=st.binary(max_size=400))
def test_the_zones_parser_survives_arbitrary_bytes_after_the_signature_of_a_format(wrap, rest):
    check(zones.parse(wrap(rest)))
