"""The database itself refuses what would corrupt history or geometry."""

import datetime as dt

import pytest
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from conflictmap.events.models import ExternalId
from conflictmap.territory.models import ZoneVersion, new_version_from
from tests.conftest import square

D = dt.date


# A bow-tie: its two triangles touch at one point and the ring crosses itself.
BOWTIE = GEOSGeometry(
    "SRID=4326;MULTIPOLYGON(((36 35, 37 36, 37 35, 36 36, 36 35)))",
)


def test_it_rejects_two_versions_of_one_zone_that_overlap_in_time(make_version):
    first = make_version(valid_from=D(2024, 11, 26), valid_to=D(2024, 12, 1))
    with pytest.raises(IntegrityError, match="zoneversion_no_overlap"), transaction.atomic():
        make_version(zone=first.zone, faction=first.faction, valid_from=D(2024, 11, 30))
    assert ZoneVersion.objects.filter(zone=first.zone).count() == 1


def test_it_rejects_an_open_version_that_starts_before_an_open_one_ends(make_version):
    first = make_version(valid_from=D(2024, 11, 26))
    with pytest.raises(IntegrityError, match="zoneversion_no_overlap"), transaction.atomic():
        make_version(zone=first.zone, faction=first.faction, valid_from=D(2024, 12, 9))


def test_it_accepts_versions_that_meet_on_the_boundary_day(make_version):
    first = make_version(valid_from=D(2024, 11, 26), valid_to=D(2024, 12, 1))
    second = make_version(zone=first.zone, faction=first.faction, valid_from=D(2024, 12, 1))
    assert ZoneVersion.objects.filter(zone=first.zone).count() == 2
    assert second.valid_to is None


def test_versions_of_different_zones_may_overlap_in_time(make_version):
    make_version(valid_from=D(2024, 11, 26))
    make_version(valid_from=D(2024, 11, 26))
    assert ZoneVersion.objects.count() == 2


@pytest.mark.parametrize("valid_to", [D(2024, 12, 1), D(2024, 11, 30)])
def test_it_rejects_a_period_that_ends_before_it_starts(make_version, valid_to):
    with pytest.raises(IntegrityError, match="zoneversion_period_not_empty"), transaction.atomic():
        make_version(valid_from=D(2024, 12, 1), valid_to=valid_to)
    assert not ZoneVersion.objects.exists()


def test_it_rejects_an_invalid_geometry_in_the_database(make_version):
    with pytest.raises(IntegrityError, match="zoneversion_geom_valid"), transaction.atomic():
        make_version(geom=BOWTIE)


def test_full_clean_names_the_geometry_problem(make_zone, make_faction):
    version = ZoneVersion(
        zone=make_zone(), faction=make_faction(), geom=BOWTIE, valid_from=D(2024, 11, 26)
    )
    with pytest.raises(ValidationError) as error:
        version.full_clean()
    assert "Invalid geometry: Self-intersection" in str(error.value.message_dict["geom"])


def test_full_clean_names_the_version_it_would_overlap(make_version):
    first = make_version(valid_from=D(2024, 11, 26))
    clash = ZoneVersion(
        zone=first.zone, faction=first.faction, geom=first.geom, valid_from=D(2024, 12, 3)
    )
    with pytest.raises(ValidationError, match="overlaps another version"):
        clash.full_clean()


def test_it_rejects_a_duplicate_external_id(make_event):
    ExternalId.objects.create(event=make_event(), system="acled", value="SYR12345")
    with pytest.raises(IntegrityError, match="externalid_unique"), transaction.atomic():
        ExternalId.objects.create(event=make_event(), system="acled", value="SYR12345")
    ExternalId.objects.create(event=make_event(), system="demo", value="SYR12345")
    assert ExternalId.objects.count() == 2


def test_it_rejects_an_invalid_region_geometry(db):
    from conflictmap.territory.models import Region

    with pytest.raises(IntegrityError, match="region_geom_valid"), transaction.atomic():
        Region.objects.create(name="Bad", slug="bad", level="governorate", geom=BOWTIE)


def test_new_version_from_closes_the_current_version_and_opens_a_copy(make_version, make_faction):
    old = make_version(valid_from=D(2024, 11, 26))
    sna = make_faction(name="SNA", slug="sna")
    new = new_version_from(old, D(2024, 12, 2), faction=sna, geom=square(37.0, 36.4))

    old.refresh_from_db()
    assert old.valid_to == D(2024, 12, 2)
    assert (new.valid_from, new.valid_to, new.faction) == (D(2024, 12, 2), None, sna)
    assert list(ZoneVersion.objects.filter(zone=old.zone).at(D(2024, 12, 1))) == [old]
    assert list(ZoneVersion.objects.filter(zone=old.zone).at(D(2024, 12, 2))) == [new]
    assert old.history.count() == 2  # created, then closed: the edit is in history


def test_new_version_from_refuses_a_day_outside_the_version(make_version):
    old = make_version(valid_from=D(2024, 11, 26), valid_to=D(2024, 12, 5))
    with pytest.raises(ValidationError, match="must start after 2024-11-26"):
        new_version_from(old, D(2024, 11, 26))
    with pytest.raises(ValidationError, match="ends on 2024-12-05"):
        new_version_from(old, D(2024, 12, 5))
    old.refresh_from_db()
    assert old.valid_to == D(2024, 12, 5)
    assert ZoneVersion.objects.count() == 1


def test_geometries_are_stored_as_multipolygons_in_wgs84(make_version):
    version = make_version()
    version.refresh_from_db()
    assert isinstance(version.geom, MultiPolygon)
    assert version.geom.srid == 4326
