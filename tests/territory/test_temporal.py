"""`at(day)` and `between(a, b)` on their boundary days; the stored period the SQL reads."""

import datetime as dt

from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateRange

from conflictmap.events.models import Event
from conflictmap.territory.models import Status, ZoneVersion, in_force, in_force_during, visible

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


def test_the_period_is_written_by_the_database_and_follows_an_edit(make_version):
    version = make_version(valid_from=D(2024, 11, 29))
    version.refresh_from_db()
    assert version.period == DateRange(D(2024, 11, 29), None, "[)")
    version.valid_to = D(2024, 12, 3)
    version.save()
    version.refresh_from_db()
    assert version.period == DateRange(D(2024, 11, 29), D(2024, 12, 3), "[)")
    # simple_history keeps the period of each state of the version.
    periods = [h.period for h in version.history.order_by("history_id")]
    assert periods == [DateRange(D(2024, 11, 29), None, "[)"), version.period]


def ids_where(condition: str, **params) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.id FROM territory_zoneversion v WHERE {condition} ORDER BY v.id", params
        )
        return [r[0] for r in cursor.fetchall()]


def test_the_sql_rules_and_the_orm_agree_on_every_boundary_day(make_version):
    closed = make_version(valid_from=D(2024, 11, 29), valid_to=D(2024, 12, 1))
    opened = make_version(valid_from=D(2024, 12, 1))
    draft = make_version(valid_from=D(2024, 11, 30), valid_to=D(2024, 12, 2), status=Status.DRAFT)
    expected = {
        D(2024, 11, 28): [],
        D(2024, 11, 29): [closed.pk],
        D(2024, 11, 30): [closed.pk, draft.pk],
        D(2024, 12, 1): [opened.pk, draft.pk],
        D(2024, 12, 2): [opened.pk],
    }
    for day, ids in expected.items():
        assert ids_where(in_force("v", "%(day)s"), day=day) == sorted(ids), day
        orm = ZoneVersion.objects.at(day).order_by("id").values_list("id", flat=True)
        assert list(orm) == sorted(ids), day
        public = ZoneVersion.objects.published().at(day).order_by("id").values_list("id", flat=True)
        condition = f"{in_force('v', '%(day)s')} AND {visible('v')}"
        assert ids_where(condition, day=day, staff=False) == list(public), day
        assert ids_where(condition, day=day, staff=True) == sorted(ids), day


def test_in_force_during_takes_both_days_inclusive(make_version):
    closed = make_version(valid_from=D(2024, 11, 29), valid_to=D(2024, 12, 1))
    opened = make_version(valid_from=D(2024, 12, 5))
    during = in_force_during("v", "%(first)s", "%(last)s")
    assert ids_where(during, first=D(2024, 11, 1), last=D(2024, 11, 29)) == [closed.pk]
    assert ids_where(during, first=D(2024, 12, 1), last=D(2024, 12, 4)) == []
    assert ids_where(during, first=D(2024, 11, 30), last=D(2024, 12, 5)) == sorted(
        [closed.pk, opened.pk]
    )


def test_overlapping_takes_its_end_as_exclusive_or_open(make_version):
    closed = make_version(valid_from=D(2024, 11, 29), valid_to=D(2024, 12, 1))
    opened = make_version(valid_from=D(2024, 12, 5))
    assert list(ZoneVersion.objects.overlapping(D(2024, 11, 1), D(2024, 11, 29))) == []
    assert list(ZoneVersion.objects.overlapping(D(2024, 11, 30), D(2024, 12, 5))) == [closed]
    assert set(ZoneVersion.objects.overlapping(D(2024, 11, 30), None)) == {closed, opened}


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
