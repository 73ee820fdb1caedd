"""The tile pyramid (events_tilecell, kept by database triggers) stays equal to counting the events
themselves after every kind of write, and aggregated tiles read from it are the tiles computed
from the events, byte for byte."""

from __future__ import annotations

import datetime as dt
import importlib
import math
import random

import pytest
from django.contrib.gis.geos import Point
from django.db import connection, transaction

from conflictmap.events import tiles
from conflictmap.events.models import Event, EventActor
from conflictmap.events.queries import EventFilter
from conflictmap.geojson import query_cursor
from tests.api.test_related_cache import acled_csv, acled_row, import_acled
from tests.web.test_snapshot import decode_events_layer

# What the pyramid must hold, counted from the events with the same cell arithmetic.
REFERENCE_CELLS = """
    SELECT z.zoom, events_tile_cell(p.x, z.zoom), events_tile_cell(p.y, z.zoom), p.event_type,
           p.status, count(*)::int, COALESCE(sum(p.fatalities), 0)::bigint, sum(p.x), sum(p.y)
    FROM (SELECT events_mercator_x(geom) AS x, events_mercator_y(geom) AS y, event_type, status,
                 fatalities FROM events_event) p
    CROSS JOIN generate_series(0, 8) AS z (zoom)
    GROUP BY 1, 2, 3, 4, 5
"""
CELLS = (
    "SELECT zoom, cx, cy, event_type, status, events, fatalities, sum_x, sum_y FROM events_tilecell"
)


def flush() -> None:
    with connection.cursor() as cursor:
        cursor.execute(tiles.FLUSH_CELLS)


def rows(sql: str) -> dict[tuple, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {tuple(r[:5]): tuple(r[5:]) for r in cursor.fetchall()}


def assert_cells_are_right() -> None:
    """The pyramid equals the events counted afresh: counts and fatalities exactly, the sums of
    coordinates to 1e-12 of their value (they are added in another order)."""
    flush()
    kept, expected = rows(CELLS), rows(REFERENCE_CELLS)
    assert kept.keys() == expected.keys()
    for key, (events, fatalities, sum_x, sum_y) in expected.items():
        got = kept[key]
        assert got[:2] == (events, fatalities), key
        assert got[2:] == pytest.approx((sum_x, sum_y), rel=1e-12), key


def pending() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM events_tilecell_pending")
        return cursor.fetchone()[0]


def direct_tile(z: int, x: int, y: int, flt: EventFilter) -> bytes:
    """The aggregated tile computed from the events (the way windowed tiles are made)."""
    sql, params = tiles._aggregated_sql(z, flt)
    params.update(
        {"z": z, "x": x, "y": y, "extent": tiles.TILE_EXTENT, "buffer": tiles.TILE_BUFFER}
    )
    with query_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


TYPES = ["Battles", "Explosions/Remote violence", "Protests"]


def scatter(n: int, seed: int = 1, **values) -> list[Event]:
    """n events over Syria (one INSERT), of three types, some drafts, some unknown fatalities."""
    rng = random.Random(seed)
    made = [
        Event(
            date=dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(300)),
            event_type=TYPES[i % 3],
            geom=Point(rng.uniform(35.8, 42.3), rng.uniform(32.4, 37.2), srid=4326),
            fatalities=None if i % 4 == 0 else rng.randrange(20),
            status="draft" if i % 5 == 0 else "published",
            **values,
        )
        for i in range(n)
    ]
    return Event.objects.bulk_create(made)


# --- the pyramid follows each kind of write ------------------------------------------------------


def test_a_new_event_counts_in_one_cell_of_each_zoom(make_event):
    make_event(geom=Point(37.16, 36.2, srid=4326), fatalities=4)
    flush()
    kept = rows(CELLS)
    assert sorted(key[0] for key in kept) == list(range(9))
    assert {value[:2] for value in kept.values()} == {(1, 4)}
    assert_cells_are_right()


def test_moving_retyping_changing_status_or_fatalities_moves_the_counts(make_event):
    event = make_event(geom=Point(37.16, 36.2, srid=4326), fatalities=None)
    other = make_event(geom=Point(37.17, 36.21, srid=4326), fatalities=2)
    assert_cells_are_right()
    event.geom = Point(40.5, 35.3, srid=4326)
    event.save()
    assert_cells_are_right()
    event.event_type = "Protests"
    event.save()
    assert_cells_are_right()
    event.status = "draft"
    event.save()
    assert_cells_are_right()
    Event.objects.filter(pk=other.pk).update(fatalities=7)
    assert_cells_are_right()
    Event.objects.filter(pk=other.pk).update(summary="edited")  # no cell changes
    assert pending() == 0
    assert_cells_are_right()


def test_deleting_events_takes_them_away_and_drops_empty_cells(make_event):
    one = make_event(geom=Point(37.16, 36.2, srid=4326))
    make_event(geom=Point(41.0, 33.0, srid=4326))
    one.delete()
    assert_cells_are_right()
    Event.objects.all().delete()
    assert_cells_are_right()
    assert rows(CELLS) == {}  # emptied cells are deleted, not kept at zero


def test_bulk_statements_and_many_updates_at_once(db):
    made = scatter(400)
    assert_cells_are_right()
    Event.objects.filter(pk__in=[e.pk for e in made[::3]]).update(status="published")
    assert_cells_are_right()
    for event in made[:50]:
        event.geom = Point(event.geom.x + 0.3, event.geom.y - 0.2, srid=4326)
        event.event_type = "Riots"
    Event.objects.bulk_update(made[:50], ["geom", "event_type"])
    assert_cells_are_right()
    Event.objects.filter(pk__in=[e.pk for e in made[100:200]]).delete()
    assert_cells_are_right()


def test_actors_and_the_related_cache_queue_nothing(make_event, make_faction):
    event = make_event()
    flush()
    EventActor.objects.create(event=event, faction=make_faction(), role="actor1")
    assert pending() == 0  # the related cache rewrote the event: no cell changed


def test_an_acled_import_through_the_pipeline_and_its_update(db):
    run = import_acled(acled_csv([acled_row(i) for i in range(1, 41)]))
    assert run.created == 40
    assert_cells_are_right()
    moved = [acled_row(i) for i in range(1, 41)]
    moved[4] = acled_row(5, latitude="34.9", fatalities="12", event_type="Riots",
                         sub_event_type="Mob violence")  # fmt: skip
    assert import_acled(acled_csv(moved)).updated == 1
    assert_cells_are_right()


@pytest.mark.django_db(transaction=True)
def test_committed_writes_are_applied_at_commit_and_a_rollback_leaves_no_trace():
    with transaction.atomic():
        made = scatter(300, seed=2)
        assert rows(CELLS) == {}  # applied when the transaction commits
    assert pending() == 0
    assert_cells_are_right()
    before = rows(CELLS)

    with pytest.raises(RuntimeError), transaction.atomic():
        scatter(50, seed=3)
        Event.objects.filter(pk=made[0].pk).delete()
        flush()  # even applied inside the transaction, it goes with the rollback
        assert rows(CELLS) != before
        raise RuntimeError("rolled back")
    assert rows(CELLS) == before
    assert pending() == 0
    assert_cells_are_right()


@pytest.mark.django_db(transaction=True)
def test_a_committed_acled_import_of_bulk_batches_leaves_the_pyramid_right():
    run = import_acled(acled_csv([acled_row(i, fatalities=str(i % 7)) for i in range(1, 1201)]))
    assert run.created == 1200
    assert pending() == 0
    assert_cells_are_right()


@pytest.mark.django_db(transaction=True)
def test_truncating_the_events_empties_the_pyramid():
    scatter(20, seed=4)
    assert rows(CELLS)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE events_event CASCADE")
    assert rows(CELLS) == {}


def test_the_migration_backfill_writes_what_the_triggers_write(db):
    scatter(200, seed=5)
    flush()
    expected = rows(CELLS)
    migration = importlib.import_module("conflictmap.events.migrations.0004_event_tile_cells")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM events_tilecell")
        cursor.execute(migration.BACKFILL)
    kept = rows(CELLS)
    assert kept.keys() == expected.keys()
    for key, value in expected.items():
        assert kept[key][:2] == value[:2]
        assert kept[key][2:] == pytest.approx(value[2:], rel=1e-12)


def test_web_mercator_by_formula_agrees_with_postgis(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(abs(events_mercator_x(g) - ST_X(ST_Transform(g, 3857)))),"
            " max(abs(events_mercator_y(g) - ST_Y(ST_Transform(g, 3857))))"
            " FROM (SELECT ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS g"
            " FROM generate_series(-179, 179, 7) lon, generate_series(-85, 85, 5) lat) p"
        )
        dx, dy = cursor.fetchone()
    assert dx < 1e-6 and dy < 1e-6


# --- tiles read from it are the tiles computed from the events -----------------------------------


def test_pyramid_tiles_are_byte_for_byte_the_tiles_aggregated_from_events(db):
    scatter(1500, seed=6)
    flush()
    rng = random.Random(8)
    compared = 0
    # (Up to the detail zoom itself: without a window, its tiles take the cells of zoom 8.)
    for z in range(0, tiles.DETAIL_ZOOM + 1):
        for _ in range(4):
            x, y = tile_xy(rng.uniform(35.8, 42.3), rng.uniform(32.4, 37.2), z)
            for flt in (
                EventFilter(),
                EventFilter(staff=True),
                EventFilter(types=["Protests", "Battles"]),
            ):
                made = tiles.tile(z, x, y, flt)
                assert made == direct_tile(z, x, y, flt), (z, x, y, flt)
                compared += bool(made)
    assert compared > 60


def test_an_aggregated_tile_is_32_cells_across_from_the_zoom_above(db, monkeypatch):
    # A dense square of events: one point per cell of zoom z - 1, so at most 34 x 34 with the
    # buffer, and about a quarter as many as cells of the tile's own zoom would make.
    rng = random.Random(15)
    Event.objects.bulk_create(
        Event(
            date=dt.date(2024, 5, 1),
            event_type="Battles",
            geom=Point(rng.uniform(36.0, 39.0), rng.uniform(34.0, 37.0), srid=4326),
            status="published",
        )
        for _ in range(6000)
    )
    flush()
    z = 7
    x, y = tile_xy(37.5, 35.5, z)
    monkeypatch.setattr(tiles, "_aggregated_sql", None)  # served from the pyramid
    points = decode_events_layer(tiles.tile(z, x, y, EventFilter()))
    assert tiles.cells_across(z) == 32 and tiles.cells_across(0) == 64
    assert 500 < len(points) <= 34 * 34
    assert all(p["cluster"] for p in points)
    # The cells of the tile's own zoom, which it used to be drawn from, are three times as many.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT (cx, cy)) FROM events_tilecell WHERE zoom = %s", [z])
        assert cursor.fetchone()[0] > 3 * len(points)


def test_a_tile_by_the_edge_of_its_events_keeps_the_buffer_cells(db):
    # Events just east of a zoom-6 tile's edge show in its buffer, as from the events.
    z = 6
    x, y = tile_xy(37.5, 35.0, z)
    east = (x + 1) / 2**z * 360 - 180
    Event.objects.bulk_create(
        [
            Event(
                date=dt.date(2024, 5, 1),
                event_type="Battles",
                geom=Point(east + d, 35.0, srid=4326),
                status="published",
            )
            for d in (-0.01, 0.01, 0.05, 0.3)
        ]
    )
    made = tiles.tile(z, x, y, EventFilter())
    assert made and made == direct_tile(z, x, y, EventFilter())


def test_anonymous_users_see_published_events_only_and_staff_drafts_too(db, client, admin_client):
    scatter(60, seed=9)
    z, (x, y) = 5, tile_xy(38.5, 35.0, 5)
    public = client.get(f"/api/v1/tiles/events/{z}/{x}/{y}.mvt")
    staff = admin_client.get(f"/api/v1/tiles/events/{z}/{x}/{y}.mvt")
    assert public.content == direct_tile(z, x, y, EventFilter())
    assert staff.content == direct_tile(z, x, y, EventFilter(staff=True))
    assert public.content != staff.content


def test_a_window_that_holds_every_event_is_served_like_no_window(db, client, monkeypatch):
    scatter(100, seed=10)
    z, (x, y) = 6, tile_xy(38.5, 35.0, 6)
    whole = client.get(f"/api/v1/tiles/events/{z}/{x}/{y}.mvt").content
    # Every event is dated 2024: this window holds them all; the pyramid answers it.
    monkeypatch.setattr(tiles, "_aggregated_sql", None)  # would fail if used
    covering = client.get(f"/api/v1/tiles/events/{z}/{x}/{y}.mvt?start=2023-01-01&end=2025-01-01")
    assert covering.content == whole


def test_a_window_of_every_published_date_is_served_like_no_window_to_visitors(
    db, client, admin_client, monkeypatch
):
    # The map's all-years window runs from the first to the last published day: drafts dated
    # outside it (one dated later, say) must not send visitors' tiles to the events.
    scatter(60, seed=11)
    Event.objects.update(status="published")
    late = scatter(5, seed=12)
    Event.objects.filter(pk__in=[e.pk for e in late]).update(
        status="draft", date=dt.date(2025, 6, 1)
    )
    first, last = (
        Event.objects.filter(status="published").order_by(f).values_list("date", flat=True)[0]
        for f in ("date", "-date")
    )
    z, (x, y) = 6, tile_xy(38.5, 35.0, 6)
    url = f"/api/v1/tiles/events/{z}/{x}/{y}.mvt?start={first}&end={last}"
    whole = client.get(f"/api/v1/tiles/events/{z}/{x}/{y}.mvt").content
    aggregated = tiles._aggregated_sql
    monkeypatch.setattr(tiles, "_aggregated_sql", None)  # would fail if used
    assert client.get(url).content == whole
    # Staff see the drafts, which this window leaves out: their tile is counted from the events.
    monkeypatch.setattr(tiles, "_aggregated_sql", aggregated)
    flt = EventFilter(start=first, end=last, staff=True)
    staff = admin_client.get(url).content
    assert staff == direct_tile(z, x, y, flt)
    assert staff != admin_client.get(f"/api/v1/tiles/events/{z}/{x}/{y}.mvt").content


@pytest.mark.django_db(transaction=True)
def test_a_kept_tile_is_served_again_until_published_data_changes(client, monkeypatch):
    from conflictmap.api import views

    views.TILE_CACHE.entries.clear()
    scatter(60, seed=13)
    Event.objects.update(status="published")
    z, (x, y) = 6, tile_xy(38.5, 35.0, 6)
    url = f"/api/v1/tiles/events/{z}/{x}/{y}.mvt"
    first = client.get(url).content
    compute = tiles.tile
    monkeypatch.setattr(tiles, "tile", None)  # would fail if the tile were computed again
    assert client.get(url).content == first
    # A draft is not the visitors' data: their stamp stays and their tile with it.
    draft = scatter(1, seed=14)[0]
    assert client.get(url).content == first
    # Published, it moves their stamp: the tile is computed afresh and holds the event.
    monkeypatch.setattr(tiles, "tile", compute)
    Event.objects.filter(pk=draft.pk).update(status="published", geom=Point(38.6, 35.1))
    again = client.get(url).content
    assert again != first
    assert again == direct_tile(z, x, y, EventFilter())
