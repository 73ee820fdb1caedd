"""A visitor's validators (ETag, Last-Modified) move only when published data changes: an editor
saving a draft must not make every visitor's cache revalidate and download again, nor tell the
world, through a changed ETag, that something unpublished happened in that window. Users who
see drafts are validated by the stamp every change moves (migration api/0002_public_stamps).

Committed data (transaction=True): the stamps move when a transaction commits."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.contrib.auth.models import Permission
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.test import Client

from conflictmap.events.models import Event, EventActor, Source
from conflictmap.territory.models import Faction, ZoneVersion
from tests.api.test_tile_cells import tile_xy
from tests.conftest import square

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date(2024, 12, 1)
WINDOW = "from=2024-11-20&to=2024-12-05"
DRAFT_EVENT_AT = (40.1, 33.1)
TILE_X, TILE_Y = tile_xy(*DRAFT_EVENT_AT, 12)
URLS = (
    f"/api/v1/zones?date={D}",
    f"/api/v1/zones?{WINDOW}",
    f"/api/v1/frontlines?date={D}",
    f"/api/v1/changes?from=2024-11-27&to={D}",
    f"/api/v1/stats/area?{WINDOW}&step=day",
    f"/api/v1/events?start={D}&end={D}",
    f"/api/v1/events?format=csv&start={D}&end={D}",
    f"/api/v1/stats/events?{WINDOW}&step=day&by=type",
    f"/api/v1/tiles/events/12/{TILE_X}/{TILE_Y}.mvt?start={D}&end={D}",
    "/api/v1/tiles/events/5/19/12.mvt",  # aggregated, from the pyramid of cells
)


def validators(client: Client) -> dict[str, tuple[str, str]]:
    """(ETag, Last-Modified) of every URL, as `client` gets them."""
    found = {}
    for url in URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        found[url] = (response["ETag"], response["Last-Modified"])
    return found


def editor(django_user_model) -> Client:
    user = django_user_model.objects.create_user("editor", password="pw")
    user.user_permissions.add(
        Permission.objects.get(codename="view_zoneversion"),
        Permission.objects.get(codename="view_event"),
    )
    client = Client()
    client.force_login(user)
    return client


def next_second() -> None:
    """Last-Modified counts whole seconds: wait for the next, so that a move would show."""
    time.sleep(1.05 - time.time() % 1)


def test_a_draft_moves_no_public_validator_and_publishing_it_does(
    make_faction, make_version, make_event, django_user_model
):
    a, b = make_faction(slug="aaa"), make_faction(slug="bbb")
    make_version(faction=a, geom=square(36.0, 35.0), valid_from=dt.date(2024, 11, 26))
    make_event(date=D, geom=Point(37.16, 36.2, srid=4326))
    public, staff = Client(), editor(django_user_model)
    before, staff_before = validators(public), validators(staff)
    next_second()

    # An editor makes a draft zone version touching the published one (another faction: a front
    # line, gains and area if it showed) and a draft event, in every window asked, and edits both.
    draft_zone = make_version(
        faction=b, geom=square(36.1, 35.0), valid_from=dt.date(2024, 11, 28), status="draft"
    )
    draft_event = make_event(date=D, geom=Point(*DRAFT_EVENT_AT, srid=4326), status="draft")
    draft_zone.note = "edited"
    draft_zone.save()
    source = Source.objects.create(url="https://example.org/draft-source")
    draft_zone.sources.add(source)
    draft_event.fatalities = 4
    draft_event.save()
    draft_event.sources.add(source)
    EventActor.objects.create(event=draft_event, faction=b, role="actor1")

    assert validators(public) == before
    for url, (etag, last_modified) in before.items():
        again = public.get(url, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304, url
        assert public.get(url, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304, url
    staff_after = validators(staff)
    assert all(staff_after[url][0] != staff_before[url][0] for url in URLS), staff_after

    next_second()
    draft_zone.status = draft_event.status = "published"
    draft_zone.save()
    draft_event.save()

    after = validators(public)
    for url in URLS:
        assert after[url][0] != before[url][0], url
        assert after[url][1] != before[url][1], url
        assert public.get(url, HTTP_IF_NONE_MATCH=before[url][0]).status_code == 200, url


def public_stamps() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, version FROM api_datastamp")
        return dict(cursor.fetchall())


def moved(change) -> set[str]:
    """The stamps one committed transaction of `change` moves."""
    before = public_stamps()
    with transaction.atomic():
        change()
    after = public_stamps()
    return {name for name in after if after[name] != before[name]}


def test_the_public_stamps_move_with_published_rows_only(make_faction, make_version, make_event):
    faction = make_faction()
    draft = make_version(status="draft")
    published = make_version()
    draft_event = make_event(status="draft")
    event = make_event()
    source = Source.objects.create(url="https://example.org/s")

    # Drafts, in every way they are written, and a new source: no public stamp moves.
    assert moved(lambda: Source.objects.create(url="https://example.org/new")) == {
        "zones",
        "events",
    }
    assert moved(lambda: ZoneVersion.objects.filter(pk=draft.pk).update(note="x")) == {"zones"}
    assert moved(lambda: draft.sources.add(source)) == {"zones"}
    assert moved(lambda: make_version(status="draft", faction=faction)) == {"zones"}
    assert moved(lambda: Event.objects.filter(pk=draft_event.pk).update(fatalities=2)) == {"events"}
    assert moved(lambda: draft_event.sources.add(source)) == {"events"}
    assert moved(
        lambda: EventActor.objects.create(event=draft_event, faction=faction, role="actor1")
    ) == {"events"}
    assert moved(
        lambda: Event.objects.bulk_create(
            [Event(date=D, event_type="Battles", geom=Point(38, 35, srid=4326)) for _ in range(3)]
        )
    ) == {"events"}
    assert moved(lambda: Event.objects.filter(status="draft").delete()) == {"events"}

    # Published rows, or rows that were published before the statement: the public ones too.
    assert moved(lambda: ZoneVersion.objects.filter(pk=published.pk).update(note="y")) == {
        "zones",
        "zones_public",
    }
    assert moved(lambda: published.sources.add(source)) == {"zones", "zones_public"}
    assert moved(lambda: ZoneVersion.objects.filter(pk=draft.pk).update(status="published")) == {
        "zones",
        "zones_public",
    }
    assert moved(lambda: ZoneVersion.objects.filter(pk=draft.pk).update(status="retracted")) == {
        "zones",
        "zones_public",
    }
    assert moved(lambda: ZoneVersion.objects.filter(pk=draft.pk).update(note="z")) == {"zones"}
    assert moved(lambda: Event.objects.filter(pk=event.pk).update(fatalities=5)) == {
        "events",
        "events_public",
    }
    assert moved(
        lambda: EventActor.objects.create(event=event, faction=faction, role="actor1")
    ) == {"events", "events_public"}
    assert moved(lambda: ZoneVersion.objects.filter(pk=published.pk).delete()) == {
        "zones",
        "zones_public",
    }
    assert moved(lambda: Event.objects.filter(pk=event.pk).delete()) == {"events", "events_public"}

    # Shared by both (factions, sources): every stamp.
    assert moved(lambda: Faction.objects.filter(pk=faction.pk).update(colour="#654321")) == {
        "zones",
        "zones_public",
        "events",
        "events_public",
    }
    assert moved(lambda: Source.objects.filter(pk=source.pk).update(title="T")) == {
        "zones",
        "zones_public",
        "events",
        "events_public",
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM api_datastamp_pending")
        assert cursor.fetchone()[0] == 0
