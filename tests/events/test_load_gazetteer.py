"""`load_gazetteer FILE`: a GeoNames country dump, upserted by geonameid, with Arabic names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.core.management.base import CommandError

from conflictmap.events.gazetteer import ParseError, arabic_name, parse_geonames
from conflictmap.events.models import Place

pytestmark = pytest.mark.django_db
DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLE = DATA / "geonames-SY-sample.txt"


def load(capsys, *args) -> dict:
    call_command("load_gazetteer", *args)
    return json.loads(capsys.readouterr().out)


def test_it_loads_populated_places_and_sites_with_arabic_names(capsys):
    summary = load(capsys, str(SAMPLE), "--country", "SY")
    assert summary["counts"] == {"created": 4, "updated": 0, "unchanged": 0}
    assert summary["skipped"] == 2  # a stream (class H) and a place in Turkey
    village = Place.objects.get(geonameid=99000001)
    # The Persian spelling (with ی) is not taken for the Arabic name.
    assert village.name_ar == "قرية العينة"
    assert village.alternate_names == ["Sample Qarya", "قرية العينة", "قریه"]
    assert village.kind == "village" and village.population == 800
    airfield = Place.objects.get(geonameid=99000002)
    assert airfield.kind == "airport" and airfield.population is None
    aleppo = Place.objects.get(geonameid=170063)
    assert aleppo.name_ar == "حلب" and aleppo.kind == "city" and aleppo.admin1_code == "09"
    assert aleppo.geom.equals_exact(Point(37.16117, 36.20124, srid=4326), 1e-9)


def test_it_upserts_by_geonameid_and_a_second_run_changes_nothing(capsys):
    Place.objects.create(name="Halab (old)", geonameid=170063, geom=Point(37, 36, srid=4326))
    first = load(capsys, str(SAMPLE), "--country", "SY")
    assert first["counts"] == {"created": 3, "updated": 1, "unchanged": 0}
    assert Place.objects.get(geonameid=170063).name == "Aleppo"
    history = Place.history.count()
    second = load(capsys, str(SAMPLE), "--country", "SY")
    assert second["counts"] == {"created": 0, "updated": 0, "unchanged": 4}
    assert Place.history.count() == history


def test_it_assigns_places_to_the_governorate_with_their_admin1_code(capsys):
    from conflictmap.territory.models import Region
    from tests.conftest import square

    aleppo = Region.objects.create(
        name="Aleppo",
        slug="governorate-aleppo",
        level="governorate",
        code="09",
        geom=square(36.5, 35.5, 2.0),
        approximate=True,
    )
    load(capsys, str(SAMPLE), "--country", "SY")
    assert Place.objects.filter(region=aleppo).count() == 4


def test_a_malformed_line_stops_the_load_naming_the_line_and_writes_nothing():
    with pytest.raises(CommandError, match=r"geonames-SY-bad.txt line 2: expected 19"):
        call_command("load_gazetteer", str(DATA / "geonames-SY-bad.txt"))
    assert Place.objects.count() == 0


def test_bad_lines_can_be_skipped_and_are_reported(capsys):
    summary = load(capsys, str(DATA / "geonames-SY-bad.txt"), "--skip-bad-lines")
    assert summary["counts"]["created"] == 2
    assert summary["bad_lines"] == [
        {"line": 2, "reason": "expected 19 tab-separated columns, found 4"}
    ]


def test_a_file_that_is_not_a_geonames_dump_is_rejected():
    with pytest.raises(CommandError, match="is this a GeoNames dump"):
        call_command("load_gazetteer", str(DATA / "regions-ocha-adm1-sample.geojson"))
    assert Place.objects.count() == 0


def test_the_parser_reports_bad_coordinates_with_their_line():
    line = "\t".join(["1", "X", "X", "", "95.0", "37.0", "P", "PPL", "SY"] + [""] * 10)
    assert list(parse_geonames([line])) == [ParseError(1, "coordinates out of range: 95.0, 37.0")]


def test_the_arabic_name_follows_the_geonames_romanisation():
    assert arabic_name(["ترطوس", "طرطوس"], "Ţarţūs") == "طرطوس"
    assert arabic_name(["تل عمار", "عريقة"], "‘Arīqah") == "عريقة"
    assert arabic_name(["Halab"], "Aleppo") == ""


def test_the_arabic_name_skips_split_letters_and_the_word_for_city():
    assert arabic_name(["د مشق", "دمشق", "دیمەشق"], "Damascus") == "دمشق"
    assert arabic_name(["حمص", "مدينة حمص"], "Homs") == "حمص"
    assert arabic_name(["مدينة حمص"], "Homs") == "حمص"
