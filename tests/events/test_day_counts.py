"""The day counts (events_daycount, events_dayfaction: migration events/0008_event_day_counts,
kept by database triggers) stay equal to counting the events themselves after every kind of
committed write, and /stats/events read from them answers what a pass over the events answers.

These tests commit (transaction=True): the counts are applied by a deferred trigger when each
transaction commits, which a test inside one rolled-back transaction would never reach."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.contrib.gis.geos import Point
from django.db import connection, transaction

from conflictmap.events import queries
from conflictmap.events.models import Event, EventActor
from conflictmap.territory.series import step_days
from tests.api.test_related_cache import acled_csv, acled_row, import_acled

pytestmark = pytest.mark.django_db(transaction=True)

TYPES = ["Battles", "Explosions/Remote violence", "Protests", "Riots"]
STATUSES = ["published", "draft", "retracted"]
ROLES = ["actor1", "assoc_actor_1", "actor2", "assoc_actor_2"]
FIRST = dt.date(2020, 1, 1)
DAYS = 400

# What each table must hold, counted from the events (an event counts once per faction among
# its actors, whatever the roles).
REFERENCE_TYPES = """
    SELECT date, event_type, status, count(*)::int FROM events_event GROUP BY 1, 2, 3
"""
REFERENCE_FACTIONS = """
    SELECT e.date, ea.faction_id, e.status, count(*)::int
    FROM events_event e
    JOIN (SELECT DISTINCT event_id, faction_id FROM events_eventactor) ea ON ea.event_id = e.id
    GROUP BY 1, 2, 3
"""
KEPT_TYPES = "SELECT day, event_type, status, events FROM events_daycount"
KEPT_FACTIONS = "SELECT day, faction_id, status, events FROM events_dayfaction"

# /stats/events as it was computed before the day counts: one pass over the window's events.
DIRECT_COUNTS = """
    SELECT key, json_object_agg(i, n) FROM (
        SELECT width_bucket(e.date, %(days)s::date[]) - 1 AS i, {key} AS key, count(*) AS n
        FROM events_event e {join}
        WHERE e.date >= %(a)s AND e.date <= %(b)s AND (%(staff)s OR e.status = 'published')
        GROUP BY 1, 2
    ) counted GROUP BY key ORDER BY key
"""


def rows(sql: str) -> set[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return set(cursor.fetchall())


def direct_counts(start: dt.date, end: dt.date, step: str, by: str, staff: bool) -> dict:
    days = step_days(start, end, step)
    if by == "type":
        sql = DIRECT_COUNTS.format(key="e.event_type", join="")
    else:
        sql = DIRECT_COUNTS.format(
            key="f.slug",
            join="JOIN (SELECT DISTINCT event_id, faction_id FROM events_eventactor) ea"
            " ON ea.event_id = e.id JOIN territory_faction f ON f.id = ea.faction_id",
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"days": days, "a": start, "b": end, "staff": staff})
        found = cursor.fetchall()
    series = {}
    for key, by_step in found:
        n = [0] * len(days)
        for i, value in by_step.items():
            n[int(i)] = int(value)
        series[key] = n
    return series


def assert_counts_are_right(rng: random.Random, windows: int = 6) -> None:
    """The tables equal the events counted afresh, nothing is left pending, and counts() over
    random windows, steps, both keys and both audiences equals a pass over the events."""
    assert rows(KEPT_TYPES) == rows(REFERENCE_TYPES)
    assert rows(KEPT_FACTIONS) == rows(REFERENCE_FACTIONS)
    assert rows("SELECT count(*) FROM events_daycount_pending") == {(0,)}
    assert not rows("SELECT 1 FROM events_daycount WHERE events <= 0")
    assert not rows("SELECT 1 FROM events_dayfaction WHERE events <= 0")
    for _ in range(windows):
        start = FIRST + dt.timedelta(days=rng.randrange(-10, DAYS))
        end = start + dt.timedelta(days=rng.randrange(0, DAYS))
        step = rng.choice(["day", "week", "month"])
        for by in ("type", "actor"):
            for staff in (False, True):
                got = queries.counts(start, end, step, by, staff=staff)
                assert got["steps"] == [d.isoformat() for d in step_days(start, end, step)]
                expected = direct_counts(start, end, step, by, staff)
                assert {s["key"]: s["counts"] for s in got["series"]} == expected, (
                    start,
                    end,
                    step,
                    by,
                    staff,
                )


def scatter(rng: random.Random, n: int, factions: list) -> list[Event]:
    """n events (one INSERT) over DAYS days, of every type and status, with 0-3 actor rows each
    (one INSERT), a faction sometimes in two roles of one event."""
    made = Event.objects.bulk_create(
        Event(
            date=FIRST + dt.timedelta(days=rng.randrange(DAYS)),
            event_type=rng.choice(TYPES),
            geom=Point(rng.uniform(35.8, 42.3), rng.uniform(32.4, 37.2), srid=4326),
            status=rng.choice(STATUSES),
        )
        for _ in range(n)
    )
    actors = []
    for event in made:
        for role in rng.sample(ROLES, rng.randrange(4)):
            actors.append(EventActor(event=event, faction=rng.choice(factions), role=role))
    EventActor.objects.bulk_create(actors)
    return made


@pytest.fixture
def factions(make_faction):
    return [make_faction(slug=slug, name=slug.upper()) for slug in ("saa", "sdf", "hts", "sna")]


def test_counts_follow_inserts_updates_and_deletes_of_events(factions):
    rng = random.Random(1)
    made = scatter(rng, 300, factions)
    assert_counts_are_right(rng)

    # Status changes (publishing, retracting), one statement each.
    Event.objects.filter(pk__in=[e.pk for e in made[::4]]).update(status="published")
    Event.objects.filter(pk__in=[e.pk for e in made[1::7]]).update(status="retracted")
    assert_counts_are_right(rng)

    # Date changes, and a type change (which moves no faction count).
    for event in made[2::9]:
        event.date = event.date + dt.timedelta(days=rng.randrange(-40, 40))
        event.save()
    Event.objects.filter(pk__in=[e.pk for e in made[3::5]]).update(event_type="Riots")
    assert_counts_are_right(rng)

    # Type, date and status at once, and an update that changes nothing counted.
    Event.objects.filter(pk__in=[e.pk for e in made[5::6]]).update(
        event_type="Protests", date=dt.date(2020, 6, 1), status="draft"
    )
    Event.objects.filter(pk__in=[e.pk for e in made[::2]]).update(summary="checked")
    assert_counts_are_right(rng)

    # Deletes: the ORM deletes the actors first, then the events.
    Event.objects.filter(pk__in=[e.pk for e in made[::3]]).delete()
    made[1].delete()
    assert_counts_are_right(rng)


def test_counts_follow_changes_of_actors(factions):
    rng = random.Random(2)
    made = scatter(rng, 200, factions)
    saa, sdf = factions[:2]

    # A faction already among an event's actors in another role counts once; a new one counts.
    event = made[0]
    EventActor.objects.filter(event=event).delete()
    EventActor.objects.create(event=event, faction=saa, role="actor1")
    EventActor.objects.create(event=event, faction=saa, role="actor2")
    EventActor.objects.create(event=event, faction=sdf, role="assoc_actor_1")
    assert_counts_are_right(rng)

    # One of two rows of a faction goes: still counted; the last goes: no longer.
    EventActor.objects.filter(event=event, role="actor1").delete()
    assert_counts_are_right(rng, windows=2)
    EventActor.objects.filter(event=event, faction=saa).delete()
    assert_counts_are_right(rng, windows=2)

    # An actor row changes faction (UPDATE), or role only (no count moves), in bulk.
    ids = list(EventActor.objects.filter(event__in=made[1::3]).values_list("pk", flat=True))
    EventActor.objects.filter(pk__in=ids[::2]).update(faction=sdf)
    EventActor.objects.filter(pk__in=ids[1::2], role="actor1").exclude(
        event__event_actors__role="actor2"
    ).update(role="actor2")
    assert_counts_are_right(rng)

    # Every actor of many events goes in one statement.
    EventActor.objects.filter(event__in=made[::2]).delete()
    assert_counts_are_right(rng)


def test_actors_written_before_their_event_or_deleted_after_it_count_once(factions):
    # The foreign keys are deferred: within one transaction, actors may come before their
    # event, and an event may go before its actors.
    rng = random.Random(3)
    saa, sdf = factions[:2]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('events_event', 'id'))")
        (event_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO events_eventactor (event_id, faction_id, role)"
            " VALUES (%s, %s, 'actor1'), (%s, %s, 'actor2')",
            [event_id, saa.pk, event_id, sdf.pk],
        )
        Event.objects.create(
            id=event_id,
            date=FIRST,
            event_type="Battles",
            geom=Point(37.0, 36.0, srid=4326),
            status="published",
        )
    assert_counts_are_right(rng, windows=2)
    assert rows(KEPT_FACTIONS) == {(FIRST, saa.pk, "published", 1), (FIRST, sdf.pk, "published", 1)}

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM events_event WHERE id = %s", [event_id])
        cursor.execute("DELETE FROM events_eventactor WHERE event_id = %s", [event_id])
    assert_counts_are_right(rng, windows=2)
    assert rows(KEPT_TYPES) == set() and rows(KEPT_FACTIONS) == set()


def test_a_rolled_back_write_leaves_no_trace_and_a_read_in_a_transaction_sees_its_own(factions):
    rng = random.Random(4)
    scatter(rng, 50, factions)
    before = rows(KEPT_TYPES), rows(KEPT_FACTIONS)
    window = (FIRST, FIRST + dt.timedelta(days=DAYS), "month", "type")

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        made = scatter(rng, 30, factions)
        Event.objects.filter(pk__in=[e.pk for e in made]).update(status="published")
        # Inside the transaction, counts() applies its pending changes first.
        inside = queries.counts(*window, staff=True)
        assert sum(map(sum, (s["counts"] for s in inside["series"]))) == 80
        raise Undo
    assert (rows(KEPT_TYPES), rows(KEPT_FACTIONS)) == before
    assert_counts_are_right(rng, windows=2)


def test_truncating_the_events_empties_the_counts(factions):
    rng = random.Random(5)
    scatter(rng, 40, factions)
    assert rows(KEPT_TYPES) and rows(KEPT_FACTIONS)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE events_eventactor")
    assert rows(KEPT_TYPES) and not rows(KEPT_FACTIONS)
    assert_counts_are_right(rng, windows=2)
    scatter(rng, 40, factions)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE events_event CASCADE")
    assert not rows(KEPT_TYPES) and not rows(KEPT_FACTIONS)
    scatter(rng, 20, factions)
    assert_counts_are_right(rng)


def test_an_acled_import_and_its_update_leave_the_counts_right():
    # The import's own way of writing: COPY into a staging table, bulk INSERTs and UPDATEs of
    # events and their actors, all in one committed transaction.
    rng = random.Random(6)
    sub_types = {"Battles": "Armed clash", "Protests": "Peaceful protest", "Riots": "Mob violence"}
    first = []
    for i in range(1, 301):
        event_type = list(sub_types)[i % 3]
        day = FIRST + dt.timedelta(days=i % 90)
        first.append(
            acled_row(
                i,
                event_date=day.isoformat(),
                event_type=event_type,
                sub_event_type=sub_types[event_type],
            )
        )
    run = import_acled(acled_csv(first))
    assert run.created == 300
    assert rows(KEPT_FACTIONS)  # the actors were recognised
    assert_counts_are_right(rng)

    again = list(first)
    again[4] = {**first[4], "event_date": (FIRST + dt.timedelta(days=200)).isoformat()}
    again[5] = {**first[5], "event_type": "Riots", "sub_event_type": "Mob violence"}
    again[6] = {**first[6], "actor2": "", "assoc_actor_1": ""}
    assert import_acled(acled_csv(again)).updated == 3
    assert_counts_are_right(rng)
