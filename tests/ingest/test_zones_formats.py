"""Zone files through GDAL: every format gives the same zones, every broken file a clear reason
naming it, and XML with a DTD is refused in any encoding before GDAL reads it."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.contrib.gis.geos import GEOSGeometry
from django.core.management import call_command
from django.db import connection

from conflictmap.ingest import pipeline
from conflictmap.ingest.models import ImportRun
from conflictmap.ingest.parsers import vector, zones
from conflictmap.territory.models import ZoneVersion

from .conftest import DATA

ZONES = DATA / "zones"
NAMES = ["Test pocket east", "Test pocket west", "Test strip"]
# Files made by make.sh from zones.geojson (the KMZ from mymaps/doc.kml, drawn like a My Maps export).
FORMATS = [
    "zones.geojson", "zones-3857.geojson", "zones.kml", "zones-mymaps.kmz", "zones.gpkg",
    "zones.fgb", "zones-utm37n.zip",
]  # fmt: skip


def reference() -> dict[str, GEOSGeometry]:
    doc = json.loads((ZONES / "zones.geojson").read_text())
    return {
        f["properties"]["zone"]: GEOSGeometry(json.dumps(f["geometry"]), srid=4326)
        for f in doc["features"]
    }


def run_file(content: bytes, filename: str, **options) -> ImportRun:
    options = {"faction": "hts", "date": "2024-11-30", **options}
    run = pipeline.create_run("zones", content, filename=filename, options=options)
    return pipeline.process_run(run.pk, inline=True)


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def command(*args: str) -> dict:
    out = io.StringIO()
    call_command("ingest", *args, stdout=out)
    return json.loads(out.getvalue())


# --- every format, the same zones ------------------------------------------------------------------


@pytest.mark.parametrize("name", FORMATS)
def test_each_format_imports_the_same_zones(factions, name):
    run = run_file((ZONES / name).read_bytes(), name)
    assert (run.state, run.created, run.updated) == ("done", 3, 0)
    versions = ZoneVersion.objects.order_by("zone__name")
    assert [v.zone.name for v in versions] == NAMES
    expected = reference()
    with connection.cursor() as cur:
        for v in versions:
            # Reprojected files come back within a millimetre or so: 1e-7 degrees is ~1 cm.
            cur.execute(
                "SELECT ST_HausdorffDistance(%s::geometry, %s::geometry)",
                [v.geom.hexewkb.decode(), expected[v.zone.name].hexewkb.decode()],
            )
            assert cur.fetchone()[0] < 1e-7, v.zone.name
    assert {v.faction.slug for v in versions} == {"hts"}
    if name.endswith(".kmz"):
        assert [(r.row, r.reason) for r in run.rejections.all()] == [
            ("feature 4 (Test checkpoint)", "is a Point, not a polygon")
        ]
    else:
        assert run.rejected == 0


def test_a_my_maps_kmz_reads_its_folders_and_keeps_the_html_description_as_text():
    features, problems = zones.parse((ZONES / "zones-mymaps.kmz").read_bytes(), "m.kmz")
    assert [f.name for f in features] == ["Test pocket west", "Test pocket east", "Test strip"]
    west = features[0]
    assert len(west.geom[0]) == 2  # the outer ring and its hole
    assert west.properties["description"].startswith("Held since <b>30 Nov</b><br>Source:")
    assert len(features[1].geom) == 2  # a MultiGeometry of two polygons
    assert features[2].properties["note"] == "drawn in My Maps"
    assert [p.reason for p in problems] == ["is a Point, not a polygon"]


def test_the_same_file_again_changes_nothing(factions):
    content = (ZONES / "zones.gpkg").read_bytes()
    run_file(content, "zones.gpkg")
    again = run_file(content, "zones.gpkg")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert ZoneVersion.objects.count() == 3


# --- per feature: repaired or rejected, each with its reason ---------------------------------------


def test_it_reads_polygons_of_a_control_map_and_names_what_it_rejects(sample):
    features, problems = zones.parse(sample("control_map.geojson"), "control_map.geojson")
    assert [f.name for f in features] == [
        "Test pocket north", "Test pocket south", "Test loop", "Test bowtie",
    ]  # fmt: skip
    assert features[0].geom.geom_type == "MultiPolygon" and not features[0].invalid_reason
    assert features[2].invalid_reason.startswith("Self-intersection")
    assert features[3].invalid_reason.startswith("Self-intersection")
    assert [(p.row, p.reason) for p in problems] == [
        ("feature 5 (Test road)", "is a LineString, not a polygon"),
        ("feature 6 (Test Paris)", "has coordinates outside Syria (extent 2.300,48.800,2.400,48.900)"),
        ("feature 7 (Test swapped)", "has longitude and latitude swapped (coordinates must be lon, lat)"),
    ]  # fmt: skip


def test_it_reads_kml_polygons_with_holes_and_multigeometries(sample):
    features, problems = zones.parse(sample("control_map.kml"), "control_map.kml")
    assert [f.name for f in features] == ["Test KML pocket", "Test KML two parts", "Test bowtie"]
    assert len(features[0].geom[0]) == 2  # outer ring and one hole
    assert len(features[1].geom) == 2
    assert features[2].invalid_reason
    assert [(p.row, p.reason) for p in problems] == [
        ("feature 3 (Test checkpoint)", "is a Point, not a polygon")
    ]


def test_a_feature_without_a_name_or_a_geometry_is_rejected_with_its_reason(factions):
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"zone": "Test strip"},
             "geometry": {"type": "Polygon", "coordinates": [[[40, 35], [40.3, 35], [40.3, 35.5], [40, 35]]]}},
            {"type": "Feature", "properties": {"note": "no name"},
             "geometry": {"type": "Polygon", "coordinates": [[[38, 35], [38.3, 35], [38.3, 35.5], [38, 35]]]}},
            {"type": "Feature", "properties": {"zone": "Nowhere"}, "geometry": None},
        ],
    }  # fmt: skip
    run = run_file(json.dumps(doc).encode(), "m.geojson")
    assert run.created == 1
    assert [(r.row, r.reason) for r in run.rejections.all()] == [
        ("feature 3 (Nowhere)", "has no geometry"),
        ("feature 2", "has no name or zone property; pass --zone NAME"),
    ]


def test_a_shapefile_without_its_prj_is_rejected_as_outside_syria_with_its_extent():
    with zipfile.ZipFile(ZONES / "zones-utm37n.zip") as archive:
        members = {n: archive.read(n) for n in archive.namelist() if not n.endswith(".prj")}
    features, problems = zones.parse(zipped(members), "no-prj.zip")
    assert features == []
    assert problems[0].reason.startswith("has coordinates outside Syria (extent 2")


# --- files that cannot be read ---------------------------------------------------------------------

GML = b"""<?xml version="1.0"?><gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml">
</gml:FeatureCollection>"""
VRT = b"""<OGRVRTDataSource><OGRVRTLayer name="passwd"><SrcDataSource>/etc/passwd</SrcDataSource>
</OGRVRTLayer></OGRVRTDataSource>"""


def broken_files() -> list[tuple[str, bytes, str]]:
    gpkg = (ZONES / "zones.gpkg").read_bytes()
    return [
        ("empty.geojson", b"  \n", "empty.geojson: the file is empty"),
        ("notes.geojson", b"just some words", "notes.geojson: not a vector file this importer reads (GeoJSON, KML, KMZ, GeoPackage, FlatGeobuf or a zipped Shapefile)"),
        ("cut.geojson", b'{"type": "FeatureCollection", "features": [', "cut.geojson: GDAL cannot open it as geojson: At line 1, character 44: Unterminated array; Failed to read GeoJSON data"),
        ("cut.gpkg", gpkg[:3000], "cut.gpkg: GDAL cannot open it as gpkg: database disk image is malformed"),
        ("cut.fgb", (ZONES / "zones.fgb").read_bytes()[:20], "cut.fgb: GDAL finds no layer in it: Failed to read header"),
        ("readme.zip", zipped({"readme.txt": b"hello"}), "readme.zip: a zip archive with no .kml (KMZ) or .shp (zipped Shapefile) inside; found: readme.txt"),
        ("bad.zip", b"PK\x03\x04 not really a zip", "bad.zip: a damaged zip archive (File is not a zip file)"),
        ("bad.kml", b'<kml xmlns="http://www.opengis.net/kml/2.2">\n<Placemark>\n<name>x</nam></kml>', "bad.kml: not well-formed XML at line 3, column 10: mismatched tag"),
        ("map.gml", GML, "map.gml: an XML document whose root element is <FeatureCollection>, not KML"),
        ("sneaky.kml", VRT, "sneaky.kml: an XML document whose root element is <OGRVRTDataSource>, not KML"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    broken_files(),
    ids=lambda v: v if isinstance(v, str) and "." in v[:12] else "",
)
def test_a_file_that_cannot_be_read_is_one_problem_naming_the_file_and_why(name, content, reason):
    features, problems = zones.parse(content, name)
    assert features == []
    assert len(problems) == 1 and problems[0].row == "file"
    assert problems[0].reason == reason


def test_the_command_prints_the_reason_and_exits_non_zero_without_a_traceback(
    factions, tmp_path, capsys
):
    path = tmp_path / "cut.geojson"
    path.write_bytes(b'{"type": "FeatureCollection", "features": [')
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command(
            "ingest", "zones", str(path), "--faction", "hts", "--date", "2024-11-30", stdout=out
        )
    assert exit_.value.code == 1
    summary = json.loads(out.getvalue())
    assert summary["problems"] == [
        {"row": "file", "repaired": False, "reason": "cut.geojson: GDAL cannot open it as geojson: At line 1, character 44: Unterminated array; Failed to read GeoJSON data"}
    ]  # fmt: skip
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("name", ["zones.gpkg", "zones-mymaps.kmz", "zones.fgb"])
def test_the_command_reads_each_format(factions, tmp_path, name):
    path = tmp_path / name
    path.write_bytes((ZONES / name).read_bytes())
    out = command("zones", str(path), "--faction", "hts", "--date", "2024-11-30")
    assert (out["state"], out["created"], out["file"]) == ("done", 3, name)


def test_the_command_reads_a_shapefile_with_the_files_beside_it(factions, tmp_path):
    with zipfile.ZipFile(ZONES / "zones-utm37n.zip") as archive:
        archive.extractall(tmp_path)
    (tmp_path / "other.txt").write_text("not part of it")
    out = command("zones", str(tmp_path / "zones.shp"), "--faction", "hts", "--date", "2024-11-30")
    assert (out["created"], out["rejected"], out["file"]) == (3, 0, "zones.shp")
    stored = zipfile.ZipFile(io.BytesIO(bytes(ImportRun.objects.get().content)))
    assert sorted(stored.namelist()) == [
        "zones.dbf",
        "zones.prj",
        "zones.shp",
        "zones.shx",
    ]


def test_the_command_reads_every_zone_file_of_a_folder(factions, tmp_path):
    for name in ("zones.geojson", "zones.gpkg", "zones-mymaps.kmz"):
        (tmp_path / name).write_bytes((ZONES / name).read_bytes())
    (tmp_path / "notes.txt").write_text("skipped")
    out = command("zones", str(tmp_path), "--faction", "hts", "--date", "2024-11-30")
    assert [(r["file"], r["created"], r["unchanged"]) for r in out] == [
        ("zones-mymaps.kmz", 3, 0), ("zones.geojson", 0, 3), ("zones.gpkg", 0, 3),
    ]  # fmt: skip


# --- XML with a DTD, in any encoding, never reaches GDAL -------------------------------------------

LAUGHS = (
    '<?xml version="1.0" encoding="{encoding}"?>\n'
    '<!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
    '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>&b;</name></Document></kml>'
)


def encoded(codec: str, bom: bytes = b"") -> bytes:
    declared = "UTF-16" if codec.startswith("utf-16") else codec  # the name XML documents use
    return bom + LAUGHS.format(encoding=declared).encode(codec)


ENTITY_DOCUMENTS = {
    "utf-8": encoded("utf-8"),
    "utf-8 with BOM": encoded("utf-8", b"\xef\xbb\xbf"),
    "utf-16-le with BOM": encoded("utf-16-le", b"\xff\xfe"),
    "utf-16-be with BOM": encoded("utf-16-be", b"\xfe\xff"),
    "utf-16-be without BOM": encoded("utf-16-be"),
    "latin-1": encoded("iso-8859-1"),
    "windows-1252": encoded("windows-1252"),
}


@pytest.fixture
def gdal_must_not_open(monkeypatch):
    def refuse(path, *args, **kwargs):
        raise AssertionError(f"GDAL was asked to open {path}")

    monkeypatch.setattr(vector, "DataSource", refuse)


@pytest.mark.parametrize("encoding", ENTITY_DOCUMENTS)
def test_kml_with_a_dtd_is_refused_in_any_encoding_before_gdal_reads_it(
    encoding, gdal_must_not_open
):
    content = ENTITY_DOCUMENTS[encoding]
    if encoding.startswith("utf-16"):
        assert b"<!ENTITY" not in content.upper()  # a search for the ASCII bytes misses it
    features, problems = zones.parse(content, "laughs.kml")
    assert features == []
    assert [p.row for p in problems] == ["file"]
    assert problems[0].reason.startswith("laughs.kml: refused: the file declares XML entities")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le with BOM"])
def test_a_kmz_whose_kml_has_a_dtd_is_refused_before_gdal_reads_it(encoding, gdal_must_not_open):
    plain = (ZONES / "mymaps" / "doc.kml").read_bytes()
    for members in (
        {"doc.kml": ENTITY_DOCUMENTS[encoding]},
        {"doc.kml": plain, "layers/other.kml": ENTITY_DOCUMENTS[encoding]},
    ):
        _, problems = zones.parse(zipped(members), "laughs.kmz")
        name = next(n for n, c in members.items() if c is ENTITY_DOCUMENTS[encoding])
        assert len(problems) == 1
        assert problems[0].reason.startswith(
            f"laughs.kmz: {name} in the KMZ: refused: the file declares XML entities"
        )


def test_xml_in_utf_32_is_refused_with_a_reason(gdal_must_not_open):
    content = b"\xff\xfe\x00\x00" + '<kml xmlns="http://www.opengis.net/kml/2.2"/>'.encode(
        "utf-32-le"
    )
    _, problems = zones.parse(content, "wide.kml")
    assert problems[0].reason == "wide.kml: XML in UTF-32 is not read; save it as UTF-8"


def test_a_kml_without_a_dtd_is_read_in_utf_16():
    plain = (ZONES / "mymaps" / "doc.kml").read_text(encoding="utf-8")
    content = b"\xff\xfe" + plain.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode(
        "utf-16-le"
    )
    assert vector.xml_root(content) == "kml"


def test_reading_leaves_no_temporary_file_behind(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    zones.parse((ZONES / "zones-utm37n.zip").read_bytes(), "z.zip")
    zones.parse(b"{", "bad.geojson")
    assert list(Path(tmp_path).iterdir()) == []
