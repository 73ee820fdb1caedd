"""`load_regions FILE`: OCHA / geoBoundaries boundaries from GeoJSON or GeoPackage, via GDAL."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from conflictmap.territory.models import Region

pytestmark = pytest.mark.django_db
DATA = Path(__file__).resolve().parent.parent / "data"


def load(capsys, *args) -> dict:
    call_command("load_regions", *args)
    return json.loads(capsys.readouterr().out)


def test_it_loads_ocha_governorates_from_geojson_made_valid_and_multi(capsys):
    summary = load(capsys, str(DATA / "regions-ocha-adm1-sample.geojson"))
    assert summary["counts"] == {"region.created": 3}
    north = Region.objects.get(code="SY90")
    assert north.name == "Sample North" and north.name_ar == "الشمال التجريبي"
    assert north.level == "governorate" and not north.approximate
    assert north.geom.geom_type == "MultiPolygon" and north.geom.srid == 4326
    bow_tie = Region.objects.get(code="SY91")  # a self-intersecting ring in the file
    assert bow_tie.geom.valid and len(bow_tie.geom) == 2 and bow_tie.geom.area > 0.07
    assert len(Region.objects.get(code="SY92").geom) == 2


def test_loading_the_same_file_again_changes_nothing(capsys):
    load(capsys, str(DATA / "regions-ocha-adm1-sample.geojson"))
    summary = load(capsys, str(DATA / "regions-ocha-adm1-sample.geojson"))
    assert summary["counts"] == {"region.unchanged": 3}
    assert Region.objects.count() == 3


def test_it_loads_geoboundaries_districts_from_a_geopackage(capsys):
    summary = load(
        capsys, str(DATA / "regions-geoboundaries-adm2-sample.gpkg"), "--level", "district"
    )
    assert summary["counts"] == {"region.created": 2}
    assert sorted(Region.objects.filter(level="district").values_list("name", flat=True)) == [
        "Sample District A",
        "Sample District B",
    ]
    assert Region.objects.get(code="SYR-ADM2-SAMPLE-A").slug == "district-syr-adm2-sample-a"


@pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="needs GDAL's ogr2ogr")
def test_it_loads_a_shapefile_in_another_projection(capsys, tmp_path):
    shp = tmp_path / "adm1_utm.shp"
    subprocess.run(
        ["ogr2ogr", "-f", "ESRI Shapefile", "-t_srs", "EPSG:32637", str(shp),
         str(DATA / "regions-ocha-adm1-sample.geojson")],
        check=True,
    )  # fmt: skip
    load(capsys, str(shp))
    north = Region.objects.get(code="SY90")
    assert north.geom.srid == 4326
    west, south, east, north_edge = north.geom.extent
    assert abs(west - 37.0) < 1e-4 and abs(north_edge - 36.8) < 1e-4


def test_explicit_fields_are_used_and_an_unknown_one_is_named(capsys):
    load(
        capsys,
        str(DATA / "regions-ocha-adm1-sample.geojson"),
        "--name-field",
        "ADM1_AR",
        "--code-field",
        "ADM1_PCODE",
    )
    assert Region.objects.get(code="SY90").name == "الشمال التجريبي"
    with pytest.raises(CommandError, match=r"--code-field 'pcode' is not a field.*ADM1_PCODE"):
        call_command(
            "load_regions", str(DATA / "regions-ocha-adm1-sample.geojson"), "--code-field", "pcode"
        )


def test_replacing_the_approximate_governorates_deletes_only_those(capsys):
    from tests.conftest import square

    Region.objects.create(
        name="Derived",
        slug="governorate-derived",
        level="governorate",
        code="01",
        geom=square(36, 35),
        approximate=True,
    )
    summary = load(capsys, str(DATA / "regions-ocha-adm1-sample.geojson"), "--replace-approximate")
    assert summary["removed"] == 1
    assert not Region.objects.filter(approximate=True).exists()
    assert Region.objects.count() == 3


def test_a_file_gdal_cannot_read_is_a_clear_error_and_writes_nothing():
    with pytest.raises(CommandError, match="not a vector file GDAL can read"):
        call_command("load_regions", str(DATA / "regions-broken.geojson"))
    assert Region.objects.count() == 0


def test_a_feature_without_area_rejects_the_whole_file_naming_the_feature():
    with pytest.raises(CommandError, match=r"feature 2 of regions-with-a-point.geojson \(SY94\)"):
        call_command("load_regions", str(DATA / "regions-with-a-point.geojson"))
    assert not Region.objects.filter(code="SY93").exists()


def test_a_missing_file_is_named():
    with pytest.raises(CommandError, match="does not exist"):
        call_command("load_regions", str(DATA / "no-such-file.geojson"))
