"""The public changelog (/changelog, /api/v1/changelog, /changelog.atom): published changes with
their reason, sources and a link to the map at their date; drafts and retracted records never
leak through it."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.contrib.gis.geos import Point

from conflictmap.events.models import Source
from conflictmap.territory import editorial
from conflictmap.territory.models import Status, new_version_from
from tests.conftest import square

pytestmark = pytest.mark.django_db

SECRETS = ("Secret draft zone", "Hidden Faction", "secret-note", "https://example.org/secret",
           "Secret draft village", "never-published reason")  # fmt: skip


@pytest.fixture
def publisher(django_user_model):
    editorial.ensure_roles()
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("pub", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="publisher"))
    return user


def publish(obj, user, reason: str) -> None:
    changed, refused = editorial.set_status([obj], Status.PUBLISHED, user=user, reason=reason)
    assert changed == [obj], refused


@pytest.fixture
def history(publisher, make_version, make_zone, make_faction, make_event):
    """A published version later replaced, a published and corrected event, a draft never
    published and a version published then retracted (with secrets in both)."""
    source = Source.objects.create(url="https://example.org/sohr", title="SOHR report")
    secret = Source.objects.create(url="https://example.org/secret", title="Secret source")
    zone = make_zone(name="Manbij pocket")
    sdf = make_faction(name="SDF")
    version = make_version(zone=zone, faction=sdf, status=Status.DRAFT)
    version.sources.add(source)
    publish(version, publisher, "SDF holds Manbij per SOHR")
    editorial.record_reason(version, publisher, "SNA takes Manbij")
    new = new_version_from(version, dt.date(2024, 12, 9), faction=make_faction(name="SNA"),
                           reason="SNA takes Manbij")  # fmt: skip

    event = make_event(status=Status.DRAFT, location_name="Tell Rifaat", fatalities=None)
    event.sources.add(source)
    publish(event, publisher, "clash confirmed")
    editorial.update_each([event], user=publisher, reason="toll confirmed", fatalities=4)

    hidden = make_faction(name="Hidden Faction")
    draft = make_version(zone=make_zone(name="Secret draft zone"), faction=hidden,
                         status=Status.DRAFT, note="secret-note")  # fmt: skip
    draft._change_reason = "never-published reason"
    draft.save()
    make_event(status=Status.DRAFT, location_name="Secret draft village")

    gone = make_version(zone=make_zone(name="Retracted pocket"), faction=hidden,
                        geom=square(39.0, 35.0), status=Status.DRAFT, note="secret-note")  # fmt: skip
    gone.sources.add(secret)
    publish(gone, publisher, "looked right")
    editorial.set_status([gone], Status.RETRACTED, user=publisher, reason="the map was a fake")
    return {"version": version, "new": new, "event": event, "gone": gone}


def changelog(client, query: str = "") -> dict:
    response = client.get(f"/api/v1/changelog{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_published_changes_come_with_reason_sources_and_a_map_link(client, history):
    data = changelog(client)
    found = {(e["kind"], e["id"], e["change"]): e for e in data["entries"]}
    version, new, event = history["version"], history["new"], history["event"]

    published = found[("zone_version", version.pk, "published")]
    assert published["reason"] == "SDF holds Manbij per SOHR"
    assert published["label"] == "Manbij pocket — SDF"
    assert published["sources"] == [
        {"url": "https://example.org/sohr", "publisher": "", "title": "SOHR report"}
    ]
    assert published["map_url"] == f"/?date={version.valid_from.isoformat()}"

    replaced = found[("zone_version", version.pk, "replaced")]
    assert replaced["reason"] == "SNA takes Manbij" and replaced["map_date"] == "2024-12-09"
    assert found[("zone_version", new.pk, "published")]["label"] == "Manbij pocket — SNA"

    assert found[("event", event.pk, "published")]["reason"] == "clash confirmed"
    corrected = found[("event", event.pk, "corrected")]
    assert corrected["reason"] == "toll confirmed"
    assert corrected["map_url"] == f"/?date={event.date.isoformat()}"
    assert data["truncated"] is False
    assert [e["at"] for e in data["entries"]] == sorted((e["at"] for e in data["entries"]),
                                                        reverse=True)  # fmt: skip


def test_drafts_never_appear_and_a_retraction_shows_only_its_reason(client, history):
    data = changelog(client)
    gone = history["gone"]
    about_gone = [e for e in data["entries"] if e["kind"] == "zone_version" and e["id"] == gone.pk]
    assert [(e["change"], e["reason"], e["sources"]) for e in about_gone] == [
        ("retracted", "the map was a fake", [])
    ]
    assert about_gone[0]["label"] == "Retracted pocket"
    text = str(data)
    for secret in SECRETS:
        assert secret not in text, secret


def test_the_page_and_the_atom_feed_list_the_same_changes_without_secrets(client, history):
    page = client.get("/changelog")
    assert page.status_code == 200
    html = page.content.decode()
    assert "SDF holds Manbij per SOHR" in html and "toll confirmed" in html
    assert 'href="/?date=2024-12-09"' in html and "the map was a fake" in html

    feed = client.get("/changelog.atom")
    assert feed.status_code == 200 and feed["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.findtext("a:title", namespaces=ns) for e in root.findall("a:entry", ns)]
    assert "Zone published: Manbij pocket — SDF" in titles
    assert "Zone replaced by a newer version: Manbij pocket — SDF" in titles
    links = [e.find("a:link", ns).get("href") for e in root.findall("a:entry", ns)]
    assert "http://testserver/?date=2024-12-09" in links
    for body in (html, feed.content.decode()):
        for secret in SECRETS:
            assert secret not in body, secret


def test_a_period_limits_the_entries_and_a_reversed_one_is_refused(client, history):
    assert changelog(client, "?from=2001-01-01&to=2001-12-31")["entries"] == []
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert changelog(client, f"?from={today}&to={today}")["entries"]
    response = client.get("/api/v1/changelog?from=2024-12-10&to=2024-12-01")
    assert response.status_code == 400 and response.json()["parameter"] == "from"
    schema = client.get("/api/schema/").json()
    assert "/api/v1/changelog" in schema["paths"]


def test_a_published_event_keeps_no_entry_once_it_is_back_to_draft(client, publisher, make_event):
    event = make_event(status=Status.DRAFT, location_name="Back to draft town",
                       geom=Point(38.0, 35.0, srid=4326))  # fmt: skip
    event.sources.add(Source.objects.create(url="https://example.org/x"))
    publish(event, publisher, "first look")
    editorial.update_each([event], user=publisher, reason="unpublished for checks", status="draft")
    assert "Back to draft town" not in str(changelog(client))
