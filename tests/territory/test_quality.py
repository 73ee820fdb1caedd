"""The editors' data-quality report (territory.quality): its admin page and staff API, on real
PostGIS with hand-made squares."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point

from conflictmap.events.models import EventActor, EventType, Place
from conflictmap.territory.models import Confidence, Status, new_version_from
from tests.conftest import square

pytestmark = pytest.mark.django_db

NOV = dt.date(2024, 11, 1)
D30 = dt.date(2024, 11, 30)


def place(x: float, y: float, name: str) -> Place:
    return Place.objects.create(name=name, geom=Point(x, y, srid=4326))


def report(client, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in {"date": D30, **params}.items())
    response = client.get(f"/api/v1/quality?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_place_left_outside_every_zone_is_listed(admin_client, make_version):
    make_version(geom=square(37.0, 36.0, 0.5), valid_from=NOV)
    place(37.2, 36.2, "Inside")
    outside = place(37.55, 36.2, "On the border, outside")

    found = report(admin_client)

    assert [p["id"] for p in found["outside"]] == [outside.pk]
    assert found["outside"][0]["longitude"] == 37.55


def test_a_place_in_two_factions_zones_is_listed_unless_one_is_marked_contested(
    admin_client, make_faction, make_version
):
    gov, sdf = make_faction(slug="gov"), make_faction(slug="sdf")
    make_version(faction=gov, geom=square(38.0, 36.0, 0.5), valid_from=NOV)
    overlap = make_version(faction=sdf, geom=square(38.3, 36.0, 0.5), valid_from=NOV)
    both = place(38.4, 36.2, "In both")
    place(38.1, 36.2, "Government only")

    (row,) = report(admin_client)["uncontested_overlaps"]
    assert row["place"]["id"] == both.pk
    assert [f["slug"] for f in row["factions"]] == ["gov", "sdf"]
    assert sorted(row["versions"]) == sorted([overlap.pk, overlap.pk - 1])

    overlap.confidence = Confidence.CONTESTED
    overlap.save()
    assert report(admin_client)["uncontested_overlaps"] == []


def test_allies_sharing_ground_are_not_listed(admin_client, make_faction, make_version):
    sna, turkey = make_faction(slug="sna"), make_faction(slug="turkey")
    sna.backed_by.add(turkey)
    make_version(faction=sna, geom=square(38.0, 36.0, 0.5), valid_from=NOV)
    make_version(faction=turkey, geom=square(38.3, 36.0, 0.5), valid_from=NOV)
    place(38.4, 36.2, "Shared by allies")

    assert report(admin_client)["uncontested_overlaps"] == []


def capture(make_event, at: Place, taker, loser, day=dt.date(2024, 11, 27)):
    event = make_event(
        date=day,
        event_type=EventType.BATTLES,
        sub_event_type="Non-state actor overtakes territory",
        geom=at.geom,
        place=at,
        location_name=at.name,
    )
    EventActor.objects.create(event=event, faction=taker, role=EventActor.Role.ACTOR1)
    EventActor.objects.create(event=event, faction=loser, role=EventActor.Role.ACTOR2)
    return event


def test_a_capture_whose_place_the_loser_still_holds_days_later_is_listed(
    admin_client, make_faction, make_version, make_event
):
    gov, hts = make_faction(slug="gov"), make_faction(slug="hts")
    make_version(faction=gov, geom=square(37.0, 36.0, 0.5), valid_from=NOV)
    town = place(37.2, 36.2, "Saraqib")
    event = capture(make_event, town, taker=hts, loser=gov)

    (row,) = report(admin_client)["stale_captures"]
    assert row["event"] == event.pk
    assert row["checked_on"] == "2024-11-30"
    assert [f["slug"] for f in row["held_by"]] == ["gov"]
    assert [f["slug"] for f in row["takers"]] == ["hts"]
    # Checked 10 days later instead of 3, the same.
    assert len(report(admin_client, days=10)["stale_captures"]) == 1


def test_a_capture_already_on_the_map_is_not_listed(
    admin_client, make_faction, make_version, make_event
):
    gov, hts = make_faction(slug="gov"), make_faction(slug="hts")
    old = make_version(faction=gov, geom=square(37.0, 36.0, 0.5), valid_from=NOV)
    new_version_from(old, dt.date(2024, 11, 28), faction=hts)
    town = place(37.2, 36.2, "Saraqib")
    capture(make_event, town, taker=hts, loser=gov)

    assert report(admin_client)["stale_captures"] == []
    # Checked on the day of the event itself, the government still held it.
    assert len(report(admin_client, days=0)["stale_captures"]) == 1


def test_drafts_count_only_when_asked(admin_client, make_version):
    make_version(geom=square(37.0, 36.0, 0.5), valid_from=NOV, status=Status.DRAFT)
    town = place(37.2, 36.2, "Drafted")

    assert [p["id"] for p in report(admin_client)["outside"]] == [town.pk]
    assert report(admin_client, drafts=1)["outside"] == []


def test_the_api_is_for_staff_only(client):
    response = client.get("/api/v1/quality")
    assert response.status_code == 403
    assert "staff" in response.json()["error"]


def test_the_admin_page_lists_the_three_checks_for_staff_only(
    client, admin_client, make_faction, make_version, make_event
):
    gov, hts = make_faction(slug="gov", name="Government"), make_faction(slug="hts")
    make_version(faction=gov, geom=square(37.0, 36.0, 0.5), valid_from=NOV)
    town = place(37.2, 36.2, "Saraqib")
    lonely = place(40.0, 33.0, "Lonely")
    event = capture(make_event, town, taker=hts, loser=gov)

    assert client.get("/admin/data-quality/").status_code == 302  # to the login page
    response = admin_client.get(f"/admin/data-quality/?date={D30}&days=3")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-place="{lonely.pk}"' in html
    assert f'data-event="{event.pk}"' in html
    assert "Government" in html
    bad = admin_client.get("/admin/data-quality/?date=30-11-2024")
    assert bad.status_code == 200
    assert "Enter a valid date" in bad.content.decode()


def test_the_zone_versions_list_links_to_the_report(admin_client):
    html = admin_client.get("/admin/territory/zoneversion/").content.decode()
    assert 'href="/admin/data-quality/"' in html


def test_staff_without_the_view_permission_see_neither_the_page_nor_the_api(
    client, django_user_model
):
    clerk = django_user_model.objects.create_user("clerk", password="x" * 12, is_staff=True)
    client.force_login(clerk)
    assert client.get("/admin/data-quality/").status_code == 403
    assert client.get("/api/v1/quality").status_code == 403
