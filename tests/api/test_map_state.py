"""The map state at a date from per-process caches: the zone data stamp the database moves at each
committed change, the bodies it serves (the same bytes as the SQL that computes them afresh), and
304s answered before anything is rendered."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from django.db import connection, transaction

from conflictmap.api import state
from conflictmap.events.models import Source
from conflictmap.geojson import render_query
from conflictmap.territory import queries as territory
from conflictmap.territory.models import Faction, Zone, ZoneVersion
from tests.conftest import square

D = dt.date(2024, 12, 1)
SQL = Path(__file__).resolve().parents[2] / "conflictmap" / "api" / "migrations" / "sql"
RUN_BY_MIGRATIONS = {  # sha256: a file a migration ran never changes (a new version is a new file)
    "data_stamps_v1.sql": "369c97e9e22cdf0833ca384b805e0d6201d654272d6c434fc0557eb1019263e3",
    "data_stamps_v1_reverse.sql": "97d2ebae64062833f02df27ca36a63d820e97843972af9ba71065c35afe135ac",
    "data_stamps_v2.sql": "163ceb4272dfeaf3cc592b4b303013a6006ced0e4aec921cd4054984421d9f52",
    "data_stamps_v2_reverse.sql": "374b17bc11d9c12695cf36c74c9fb9c488dd59f551123dff914214f2a40dd71d",
}


@pytest.mark.parametrize("name", sorted(RUN_BY_MIGRATIONS))
def test_a_sql_file_a_migration_ran_is_unchanged(name):
    digest = hashlib.sha256((SQL / name).read_bytes()).hexdigest()
    assert digest == RUN_BY_MIGRATIONS[name], f"{name} changed: put the change in a new version"
    assert {p.name for p in SQL.glob("*.sql")} == set(RUN_BY_MIGRATIONS)


def stamp() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM api_datastamp WHERE name = 'zones'")
        return cursor.fetchone()[0]


def state_period(day: dt.date, staff: bool) -> tuple[str | None, str | None]:
    """The days [from, to) around `day` with the same versions in force, from every version's
    bounds in Python."""
    versions = ZoneVersion.objects.all() if staff else ZoneVersion.objects.published()
    bounds = {b for v in versions for b in (v.valid_from, v.valid_to) if b is not None}
    before = [b for b in bounds if b <= day]
    after = [b for b in bounds if b > day]
    return (
        max(before).isoformat() if before else None,
        min(after).isoformat() if after else None,
    )


def fresh_zones(day: dt.date, *, staff: bool = False, bbox=None) -> bytes:
    """The zones of `day` as the SQL computes them, contested flags by ST_Relate per zone."""
    since, until = state_period(day, staff)
    head = {"date": day.isoformat(), "state_from": since, "state_to": until}
    return render_query(territory.zones_at(day, bbox=bbox, staff=staff), head=head)


# --- the stamp ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_stamp_moves_once_per_committed_change_of_zone_data(make_version, make_faction):
    version = make_version()
    other = make_faction()

    def moves(change) -> int:
        before = stamp()
        with transaction.atomic():
            change()
            assert stamp() == before  # not before the commit
        return stamp() - before

    def edit_in_many_statements():
        version.note = "edited"
        version.save()
        version.sources.add(Source.objects.create(url="https://example.org/s"))
        Zone.objects.filter(pk=version.zone_id).update(name="Renamed")

    def raw_sql_leaving_updated_at_alone():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE territory_zoneversion SET note = 'raw' WHERE id = %s", [version.pk]
            )

    assert moves(edit_in_many_statements) == 1
    assert moves(raw_sql_leaving_updated_at_alone) == 1
    assert moves(lambda: Faction.objects.filter(pk=other.pk).update(colour="#123456")) == 1
    assert moves(lambda: version.faction.backed_by.add(other)) == 1
    assert moves(lambda: Source.objects.update(title="Retitled")) == 1
    assert moves(lambda: ZoneVersion.objects.filter(pk=version.pk).delete()) == 1
    assert moves(lambda: None) == 0

    before = stamp()
    with pytest.raises(RuntimeError), transaction.atomic():
        ZoneVersion.objects.all().delete()
        raise RuntimeError("rolled back")
    assert stamp() == before
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM api_datastamp_pending")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_a_write_inside_the_readers_transaction_is_served_and_never_cached(client, make_version):
    make_version()
    url = f"/api/v1/zones?date={D}"
    committed = client.get(url)
    assert committed.json()["count"] == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        make_version(geom=square(38.0, 35.0))
        assert state.data_stamp(state.ZONES, drafts=False)[0] is None
        inside = client.get(url)
        assert inside.json()["count"] == 2
        assert inside["ETag"] != committed["ETag"]
        raise RuntimeError("rolled back")
    again = client.get(url)
    assert again.content == committed.content and again["ETag"] == committed["ETag"]


# --- the bodies -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_cached_zones_are_the_bytes_the_sql_writes_and_follow_an_edit(
    client, admin_client, make_version, make_faction
):
    a, b = make_faction(), make_faction()
    overlapping = make_version(faction=a, geom=square(36.0, 35.0, 0.2))
    make_version(faction=b, geom=square(36.1, 35.1, 0.2))  # contested with the first
    make_version(faction=b, geom=square(37.0, 35.0), valid_from=D + dt.timedelta(days=2))
    make_version(faction=a, geom=square(37.5, 35.0), status="draft")
    days = [D, D + dt.timedelta(days=1), D + dt.timedelta(days=2), D - dt.timedelta(days=9)]
    for _ in range(2):  # the second round comes from the caches
        for day in days:
            assert client.get(f"/api/v1/zones?date={day}").content == fresh_zones(day)
            assert admin_client.get(f"/api/v1/zones?date={day}").content == fresh_zones(
                day, staff=True
            )
    bbox = (36.95, 34.9, 37.2, 35.2)
    assert client.get(f"/api/v1/zones?date={days[2]}&bbox=36.95,34.9,37.2,35.2").content == (
        fresh_zones(days[2], bbox=bbox)
    )

    overlapping.geom = square(35.0, 35.0, 0.2)  # no longer contested
    overlapping.save()
    body = client.get(f"/api/v1/zones?date={D}").content
    assert body == fresh_zones(D) and b'"contested":true' not in body


@pytest.mark.django_db(transaction=True)
def test_an_unchanged_state_answers_304_before_rendering(client, make_version, monkeypatch):
    make_version()
    first = client.get(f"/api/v1/zones?date={D}")
    lines = client.get(f"/api/v1/frontlines?date={D}")

    def fail(*args):
        raise AssertionError("rendered")

    monkeypatch.setattr(state, "zones_body", fail)
    monkeypatch.setattr(state, "frontline_features", fail)
    again = client.get(f"/api/v1/zones?date={D}", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again["ETag"] == first["ETag"]
    assert (
        client.get(f"/api/v1/frontlines?date={D}", HTTP_IF_NONE_MATCH=lines["ETag"]).status_code
        == 304
    )
    # Another day with the same versions in force is another body (its "date"), another ETag.
    monkeypatch.undo()
    other = client.get(f"/api/v1/zones?date={D + dt.timedelta(days=1)}")
    assert other["ETag"] != first["ETag"]


def test_the_feature_cache_keeps_within_its_budget_and_one_version_per_stamp_name(db, make_version):
    versions = [make_version(geom=square(36.0 + i * 0.3, 35.0)).pk for i in range(4)]
    public, drafts = ("zones_public", 1), ("zones", 1)
    cache = state.FeatureParts(budget=1)  # keeps nothing past the latest fetch
    parts = cache.get(public, tuple(versions))
    assert sorted(parts) == versions  # served, though none is kept
    assert cache.size == 0 and not cache.parts
    assert all(head.startswith(b'{"type":"Feature"') for head, _tail in parts.values())
    roomy = state.FeatureParts()
    roomy.get(public, tuple(versions))
    full = territory.ZONE_DECIMALS
    assert sorted(roomy.parts) == [("zones_public", v, full) for v in versions]
    roomy.get(public, tuple(versions[:2]), 2)  # each grid is kept apart
    assert sorted(roomy.parts) == sorted(
        [("zones_public", v, full) for v in versions]
        + [("zones_public", v, 2) for v in versions[:2]]
    )
    # The stamp of those who see drafts is kept beside the public one: its moves (an editor's
    # draft) drop only its own entries, and its version numbers never meet the public ones.
    roomy.get(drafts, tuple(versions[:1]))
    roomy.get(("zones", 2), tuple(versions[1:2]))
    assert [k for k in roomy.parts if k[0] == "zones"] == [("zones", versions[1], full)]
    assert len([k for k in roomy.parts if k[0] == "zones_public"]) == 6
    roomy.get(("zones_public", 2), tuple(versions[:1]))  # a new public stamp drops its old one's
    assert sorted(roomy.parts) == [
        ("zones", versions[1], full),
        ("zones_public", versions[0], full),
    ]
    before = dict(roomy.parts)
    ZoneVersion.objects.filter(pk=versions[0]).update(note="changed in this transaction")
    fresh = roomy.get(None, tuple(versions))  # uncommitted: fetched, neither read nor kept
    assert b"changed in this transaction" in fresh[versions[0]][1]
    assert roomy.parts == before
