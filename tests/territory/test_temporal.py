"""`at(day)` and `between(a, b)` on their boundary days."""

import datetime as dt

from conflictmap.events.models import Event
from conflictmap.territory.models import Status, ZoneVersion

D = dt.date


def test_at_includes_a_version_on_its_valid_from_day(make_version):
    version = make_version(valid_from=D(2024, 11, 29), valid_to=D(2024, 12, 1))
    assert list(ZoneVersion.objects.at(D(2024, 11, 29))) == [version]


def test_at_excludes_a_version_on_its_valid_to_day(make_version):
    make_version(valid_from=D(2024, 11, 29), valid_to=D(2024, 12, 1))
    assert list(ZoneVersion.objects.at(D(2024, 11, 30))) != []
    assert list(ZoneVersion.objects.at(D(2024, 12, 1))) == []


def test_at_excludes_a_version_the_day_before_it_starts(make_version):
    make_version(valid_from=D(2024, 11, 29))
    assert not ZoneVersion.objects.at(D(2024, 11, 28)).exists()


def test_at_includes_an_open_version_on_any_later_day(make_version):
    version = make_version(valid_from=D(2024, 12, 9), valid_to=None)
    assert list(ZoneVersion.objects.at(D(2031, 1, 1))) == [version]


def test_at_gives_the_version_in_force_as_a_zone_changes_hands(make_version, make_faction):
    sdf, sna = make_faction(slug="sdf"), make_faction(slug="sna")
    before = make_version(faction=sdf, valid_from=D(2024, 11, 26), valid_to=D(2024, 12, 9))
    after = make_version(zone=before.zone, faction=sna, valid_from=D(2024, 12, 9))
    assert ZoneVersion.objects.at(D(2024, 12, 8)).get().faction == sdf
    assert ZoneVersion.objects.at(D(2024, 12, 9)).get() == after


def test_published_leaves_drafts_out(make_version):
    make_version(status=Status.DRAFT)
    published = make_version(status=Status.PUBLISHED)
    assert list(ZoneVersion.objects.published().at(D(2024, 12, 1))) == [published]


def test_between_includes_both_boundary_days(make_event):
    first = make_event(date=D(2024, 11, 27))
    last = make_event(date=D(2024, 12, 1))
    make_event(date=D(2024, 11, 26))
    make_event(date=D(2024, 12, 2))
    assert list(Event.objects.between(D(2024, 11, 27), D(2024, 12, 1))) == [first, last]


def test_between_leaves_a_side_open_when_it_is_none(make_event):
    early = make_event(date=D(2020, 1, 1))
    late = make_event(date=D(2024, 12, 8))
    assert list(Event.objects.between(None, D(2024, 1, 1))) == [early]
    assert list(Event.objects.between(D(2024, 1, 1), None)) == [late]
