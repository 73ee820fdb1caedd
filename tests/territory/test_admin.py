"""The editors' admin: every page renders with map widgets; "new version from date" works."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.gis.geos import Point
from django.urls import reverse

from conflictmap.territory.models import ZoneVersion
from tests.conftest import square

pytestmark = pytest.mark.django_db

GEOMETRY_MODELS = {"region", "zoneversion", "place", "event"}
OUR_APPS = {"territory", "events"}
# Records written by a tool, never added by hand: their add page is refused.
NO_ADD = {"frontmove"}  # made by "Move the front" (conflictmap.territory.move_admin)


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser("editor", "editor@example.org", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def one_of_each(make_version, make_event):
    from conflictmap.events.models import EventActor, ExternalId, Place, Source
    from conflictmap.territory.models import Region

    region = Region.objects.create(
        name="Aleppo", slug="governorate-test", level="governorate", geom=square(37.0, 36.0, 1.0)
    )
    source = Source.objects.create(url="https://example.org/report", title="A report")
    version = make_version(note="test")
    version.sources.add(source)
    place = Place.objects.create(name="Aleppo", geom=Point(37.16, 36.2, srid=4326), region=region)
    event = make_event(place=place)
    event.sources.add(source)
    EventActor.objects.create(event=event, faction=version.faction, role="actor1")
    ExternalId.objects.create(event=event, system="test", value="1")
    from conflictmap.territory.models import FrontMove

    move = FrontMove.objects.create(
        taker=version.faction, day=dt.date(2024, 12, 1), method="area", key="k", reason="test"
    )
    return {
        "frontmove": move,
        "faction": version.faction,
        "region": region,
        "zone": version.zone,
        "zoneversion": version,
        "source": source,
        "place": place,
        "event": event,
    }


def registered() -> list[str]:
    return sorted(
        f"{m._meta.app_label}.{m._meta.model_name}"
        for m in admin.site._registry
        if m._meta.app_label in OUR_APPS
    )


def test_every_territory_and_events_model_is_registered():
    assert set(registered()) >= {
        "territory.faction",
        "territory.region",
        "territory.zone",
        "territory.zoneversion",
        "events.source",
        "events.place",
        "events.event",
    }


@pytest.mark.parametrize("label", registered())
def test_the_changelist_and_change_pages_render_with_map_widgets(staff, one_of_each, label):
    app, model = label.split(".")
    response = staff.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 200
    obj = one_of_each[model]
    for url in (
        reverse(f"admin:{app}_{model}_change", args=[obj.pk]),
        reverse(f"admin:{app}_{model}_add"),
    ):
        response = staff.get(url)
        if model in NO_ADD and url.endswith("/add/"):
            assert response.status_code == 403, url
            continue
        assert response.status_code == 200, url
        html = response.content.decode()
        if model in GEOMETRY_MODELS:
            assert 'id="id_geom-map"' in html and "leaflet" in html, url
    history = staff.get(reverse(f"admin:{app}_{model}_history", args=[obj.pk]))
    assert history.status_code == 200


def test_changelist_filters_and_search_work(staff, one_of_each):
    faction = one_of_each["faction"]
    url = reverse("admin:territory_zoneversion_changelist")
    response = staff.get(url, {"faction__id__exact": faction.pk, "status__exact": "published"})
    assert response.status_code == 200 and str(one_of_each["zone"]) in response.content.decode()
    response = staff.get(reverse("admin:events_event_changelist"), {"q": "Aleppo"})
    assert response.status_code == 200 and "1 event" in response.content.decode()
    response = staff.get(reverse("admin:territory_faction_changelist"), {"q": faction.name})
    assert response.status_code == 200


def action(staff, version, **data):
    payload = {
        "action": "new_version_from_date",
        "_selected_action": [version.pk],
        "reason": "front moved",
        **data,
    }
    return staff.post(reverse("admin:territory_zoneversion_changelist"), payload, follow=True)


def test_the_new_version_action_first_asks_for_the_date(staff, one_of_each):
    response = action(staff, one_of_each["zoneversion"])
    assert response.status_code == 200
    assert b"New version starts on" in response.content
    assert ZoneVersion.objects.count() == 1


def test_the_new_version_action_closes_the_version_and_opens_an_edited_copy(
    staff, one_of_each, make_faction
):
    old = one_of_each["zoneversion"]
    other = make_faction(name="Newcomers")
    response = action(
        staff, old, apply="1", day="2024-12-01", faction=other.pk, confidence="contested"
    )
    assert response.status_code == 200
    old.refresh_from_db()
    new = ZoneVersion.objects.exclude(pk=old.pk).get()
    assert old.valid_to == dt.date(2024, 12, 1)
    assert new.valid_from == dt.date(2024, 12, 1) and new.valid_to is None
    assert new.faction == other and new.confidence == "contested"
    assert new.geom.equals(old.geom) and list(new.sources.all()) == list(old.sources.all())
    # The editor lands on the new version's page to edit its geometry on the map.
    assert response.redirect_chain[-1][0] == reverse(
        "admin:territory_zoneversion_change", args=[new.pk]
    )
    assert "Closed the previous version" in response.content.decode()


def test_the_new_version_action_rejects_a_date_before_the_version_starts(staff, one_of_each):
    old = one_of_each["zoneversion"]
    response = action(staff, old, apply="1", day="2024-11-20")
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any("must start after 2024-11-26" in m for m in messages), messages
    old.refresh_from_db()
    assert old.valid_to is None and ZoneVersion.objects.count() == 1


def test_the_new_version_action_rejects_a_malformed_date_on_its_form(staff, one_of_each):
    response = action(staff, one_of_each["zoneversion"], apply="1", day="1st of December")
    assert response.status_code == 200
    assert b"Enter a valid date" in response.content
    assert ZoneVersion.objects.count() == 1


def test_the_demo_pages_render_in_the_admin(staff, demo):
    version = ZoneVersion.objects.get(zone__slug="aleppo-city", valid_from="2024-11-30")
    response = staff.get(reverse("admin:territory_zoneversion_change", args=[version.pk]))
    assert response.status_code == 200 and b"id_geom-map" in response.content
    response = staff.get(reverse("admin:territory_zone_change", args=[version.zone.pk]))
    # The zone's page lists its three versions (read-only inline, linked to their pages).
    assert response.status_code == 200 and response.content.count(b"Nov. 29, 2024") >= 1
    assert response.content.count(b"/admin/territory/zoneversion/") >= 3
    response = staff.get(reverse("admin:events_event_changelist"), {"date__year": 2024})
    assert response.status_code == 200
