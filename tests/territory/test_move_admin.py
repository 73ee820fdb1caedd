"""The admin page "Move the front": permissions, CSRF, place search, preview and commit, the
prefill of "Apply to the map" from a capture event or candidate; and in Chromium, an editor
searching a town, previewing and committing, then drawing an area."""

from __future__ import annotations

import json
import os

import pytest
from django.contrib.auth.models import Permission
from django.contrib.gis.geos import Point
from django.test import Client
from django.urls import reverse

from conflictmap.events.models import EventActor, Source
from conflictmap.ingest.models import Candidate, Report
from conflictmap.territory.models import FrontMove, ZoneVersion
from tests.territory.test_admin_context import admin_page
from tests.territory.test_transfer import DAY, front, state

__all__ = ["admin_page", "front"]  # fixtures shared with the other admin and engine tests
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

MOVE = "/admin/territory/frontmove/move/"
SEARCH = "/admin/territory/frontmove/move/places/"


def form(front, **changes) -> dict:
    data = {
        "day": DAY.isoformat(),
        "taker": front["gov"].pk,
        "method": "places",
        "places": str(front["Saraqib"].pk),
        "shape": "",
        "radius_km": "5",
        "source": "https://example.org/report",
        "reason": "Saraqib taken",
    }
    data.update(changes)
    return data


@pytest.fixture
def editor(db, django_user_model):
    """Staff with the rights to add and change zone versions (and see moves), not a publisher."""
    user = django_user_model.objects.create_user("ed", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "add_zoneversion", "change_zoneversion", "view_zoneversion", "view_frontmove",
                "change_frontmove", "view_event", "view_candidate",
            ]
        )
    )  # fmt: skip
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def publisher(editor):
    """The editor, made a publisher (territory.editorial's publish permission)."""
    editor.user.user_permissions.add(Permission.objects.get(codename="publish_zoneversion"))
    return editor


def test_only_users_who_may_write_zone_versions_open_the_page(front, db, django_user_model):
    viewer = django_user_model.objects.create_user("v", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_frontmove"))
    client = Client()
    client.force_login(viewer)
    assert client.get(MOVE).status_code == 403
    assert client.get(SEARCH + "?q=Sar").status_code == 403
    assert client.post(MOVE, form(front) | {"_commit": "1"}).status_code == 403
    assert state() and not FrontMove.objects.exists()
    assert Client().get(MOVE).status_code == 302  # to the login page


def test_a_post_without_the_csrf_token_is_refused(front, django_user_model):
    user = django_user_model.objects.create_superuser("root", "r@example.org", "pw")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    before = state()
    response = client.post(MOVE, form(front) | {"_commit": "1"})
    assert response.status_code == 403 and state() == before
    # With the page's token the same post goes through (the attack above is the only change).
    page = client.get(MOVE)
    token = page.cookies["csrftoken"].value
    response = client.post(MOVE, form(front) | {"_commit": "1", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and FrontMove.objects.count() == 1


def test_places_are_found_by_name_and_by_a_click_near_them(front, editor):
    found = editor.get(SEARCH, {"q": "sar"}).json()["places"]
    assert [p["name"] for p in found] == ["Saraqib", "Sarmin"]  # most populous first
    near = editor.get(SEARCH, {"near": "36.601,35.321", "within": "0.01"}).json()["places"]
    assert [p["name"] for p in near] == ["Afis"]
    assert editor.get(SEARCH, {"near": "36.3,35.3", "within": "0.01"}).json()["places"] == []


def test_the_preview_answers_json_and_changes_nothing(front, editor):
    before = state()
    response = editor.post(MOVE, form(front) | {"_preview": "1"})
    data = response.json()
    assert response.status_code == 200 and data["ok"]
    assert data["summary"]["from"][0]["faction"] == "hts"
    assert data["ground"]["type"] in ("Polygon", "MultiPolygon")
    refused = editor.post(MOVE, form(front, places=str(front["Hama"].pk)) | {"_preview": "1"})
    assert refused.status_code == 400
    assert "already held by Government" in refused.json()["error"]
    missing = editor.post(MOVE, form(front, method="area") | {"_preview": "1"})
    assert "Draw the area on the map" in missing.json()["error"]
    assert state() == before and not FrontMove.objects.exists()


def test_an_editor_moves_drafts_and_a_publisher_publishes(front, editor):
    # Over published zones an editor is told to ask a publisher, in the preview and the commit.
    preview = editor.post(MOVE, form(front) | {"_preview": "1"}).json()
    assert preview["summary"]["warnings"][0].startswith("Only a publisher can commit this move")
    refused = editor.post(MOVE, form(front) | {"_commit": "1"}).content.decode()
    assert "Only publishers change those: ask a publisher" in refused
    assert not FrontMove.objects.exists()
    ZoneVersion.objects.update(status="draft")
    response = editor.post(MOVE, form(front, publish="on") | {"_commit": "1"}, follow=True)
    record = FrontMove.objects.get()
    assert response.redirect_chain[-1][0] == f"/admin/territory/frontmove/{record.pk}/change/"
    assert "Government took 75.7" in response.content.decode()
    opened = ZoneVersion.objects.filter(pk__in=record.summary["opened"])
    assert {v.status for v in opened} == {"draft"}  # not a publisher: publish is ignored


def test_a_publisher_commits_over_published_zones_and_publishes(front, publisher):
    response = publisher.post(MOVE, form(front, publish="on") | {"_commit": "1"}, follow=True)
    record = FrontMove.objects.get()
    assert "Government took 75.7" in response.content.decode()
    opened = ZoneVersion.objects.filter(pk__in=record.summary["opened"])
    assert {v.status for v in opened} == {"published"}
    # History says who, and why, for every version the move wrote (written in bulk).
    for version in ZoneVersion.objects.filter(
        pk__in=record.summary["opened"] + record.summary["closed"]
    ):
        row = version.history.latest()
        assert (row.history_user, row.history_change_reason) == (publisher.user, "Saraqib taken")
    assert record.reason == "Saraqib taken"
    assert list(record.sources.values_list("url", flat=True)) == ["https://example.org/report"]


def test_a_refused_commit_says_why_and_keeps_the_form(front, editor):
    before = state()
    response = editor.post(MOVE, form(front, places=str(front["Hama"].pk)) | {"_commit": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and "is already held by Government" in page
    config = json.loads(page.split('id="cm-move-config" type="application/json">')[1].split("<")[0])
    assert [p["name"] for p in config["chosen"]] == ["Hama"]
    assert state() == before


def test_apply_to_the_map_opens_the_page_prefilled_from_a_capture_event(
    front, make_event, publisher
):
    editor = publisher
    event = make_event(
        date=DAY, event_type="Battles", sub_event_type="Government regains territory",
        place=front["Saraqib"], geom=front["Saraqib"].geom,
    )  # fmt: skip
    EventActor.objects.create(event=event, faction=front["gov"], role="actor1")
    EventActor.objects.create(event=event, faction=front["hts"], role="actor2")
    event.sources.add(Source.objects.create(url="https://example.org/saraqib"))
    page = editor.get(reverse("admin:events_event_change", args=[event.pk])).content.decode()
    link = page.split('class="cm-apply-to-map"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert link == f"{MOVE}?event={event.pk}"
    move_page = editor.get(link).content.decode()
    assert f'value="{DAY.isoformat()}"' in move_page
    assert f'<option value="{front["gov"].pk}" selected>' in move_page
    assert 'value="https://example.org/saraqib"' in move_page
    assert f'name="event" value="{event.pk}"' in move_page
    # Committed, the versions link back to the event.
    data = form(front, event=str(event.pk), source="https://example.org/saraqib")
    editor.post(link, data | {"_commit": "1"})
    record = FrontMove.objects.get()
    assert record.event == event
    assert set(event.zone_versions.values_list("pk", flat=True)) == set(record.summary["opened"])
    # An armed clash offers no such button.
    clash = make_event(sub_event_type="Armed clash")
    other = editor.get(reverse("admin:events_event_change", args=[clash.pk])).content.decode()
    assert "Apply to the map" not in other


def test_apply_to_the_map_from_a_candidate_passes_its_date_actor_places_and_report(front, editor):
    report = Report.objects.create(
        url="https://example.org/r1", text="HTS lost Saraqib.", content_hash="y" * 64
    )
    candidate = Candidate.objects.create(
        report=report, sentence_index=0, sentence="Government forces took Saraqib.",
        geom=Point(36.55, 35.25, srid=4326), place=front["Saraqib"], date=DAY,
        event_type="Battles", sub_event_type="Government regains territory",
        actors=[
            {"slug": "hts", "role": "actor2", "start": 0, "end": 3},
            {"slug": "gov", "role": "actor1", "start": 4, "end": 10},
        ],
        places=[{"place_id": front["Afis"].pk, "start": 0, "end": 1}],
    )  # fmt: skip
    page = editor.get(reverse("admin:ingest_candidate_change", args=[candidate.pk]))
    html = page.content.decode()
    link = html.split('class="cm-apply-to-map"')[0].rsplit('href="', 1)[1].split('"')[0]
    link = link.replace("&amp;", "&")
    move_page = editor.get(link).content.decode()
    config = json.loads(
        move_page.split('id="cm-move-config" type="application/json">')[1].split("<")[0]
    )
    assert [p["name"] for p in config["chosen"]] == ["Saraqib", "Afis"]
    assert 'value="https://example.org/r1"' in move_page
    assert f'<option value="{front["gov"].pk}" selected>' in move_page


# --- in Chromium ---------------------------------------------------------------------------------


def test_an_editor_searches_a_town_previews_and_commits_the_move(admin_page):
    page = admin_page
    page.goto(f"{page.base}/admin/territory/frontmove/")
    page.click("text=Move the front")
    page.wait_for_selector('#cm-move[data-ready="true"]')
    page.fill("#id_day", "2024-12-15")
    page.select_option("#id_taker", label="Syrian National Army (SNA)")
    page.fill("#cm-place-search", "Raqqa")
    page.click("#cm-place-results button.cm-result >> nth=0")
    page.wait_for_selector("#cm-place-chosen li.cm-chosen")
    assert page.locator("#cm-move-map path.cm-chosen-marker").count() == 1
    assert page.is_disabled("#cm-commit")
    page.click("#cm-preview")
    page.wait_for_selector('#cm-move[data-preview="ready"]')
    assert page.locator("#cm-move-map path.cm-ground").count() >= 1
    assert page.locator('#cm-preview-result tr[data-faction="sdf"]').count() == 1
    assert "Ar Raqqah" in page.inner_text("#cm-preview-result .cm-preview-places")
    # Changing the radius asks for a new preview before a commit.
    page.fill("#id_radius_km", "3")
    assert page.is_disabled("#cm-commit")
    page.click("#cm-preview")
    page.wait_for_selector('#cm-move[data-preview="ready"]')
    km2 = page.inner_text('#cm-preview-result tr[data-faction="sdf"] td >> nth=1')
    assert float(km2) == pytest.approx(28.3, abs=0.3)  # a disc of 3 km
    page.fill("#id_reason", "Raqqa taken (test)")
    page.click("#cm-commit")
    page.wait_for_selector("ul.messagelist li.success")
    record = FrontMove.objects.get()
    assert record.reason == "Raqqa taken (test)" and record.taker.slug == "sna"
    assert record.moved_km2 == pytest.approx(28.3, abs=0.3)
    assert page.errors == []


def test_an_editor_draws_an_area_and_commits_it(admin_page):
    page = admin_page
    page.goto(f"{page.base}{MOVE}?date=2024-12-15&to=sna")
    page.wait_for_selector('#cm-move[data-ready="true"]')
    page.evaluate("() => window.scrollTo(0, 0)")
    # Zoom in on Raqqa, then draw a rectangle with Leaflet.draw's tool.
    page.fill("#cm-place-search", "Raqqa")
    page.click("#cm-place-results button.cm-result >> nth=0")
    page.click("#cm-place-chosen .cm-remove")
    page.click(".leaflet-draw-draw-rectangle")
    box = page.locator("#cm-move-map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 20, cy - 20)
    page.mouse.down()
    page.mouse.move(cx + 5, cy + 5, steps=4)
    page.mouse.move(cx + 20, cy + 20, steps=4)
    page.mouse.up()
    assert page.is_checked("input[name=method][value=area]")
    assert json.loads(page.input_value("#id_shape"))["type"] == "Polygon"
    page.click("#cm-preview")
    page.wait_for_selector('#cm-move[data-preview="ready"], #cm-move[data-preview="refused"]')
    assert page.get_attribute("#cm-move", "data-preview") == "ready", page.inner_text(
        "#cm-preview-result"
    )
    page.click("#cm-commit")
    page.wait_for_selector("ul.messagelist li.success")
    assert FrontMove.objects.get().method == "area"
    assert page.errors == []


def test_the_data_quality_report_links_a_capture_the_map_misses_to_apply_to_the_map(
    front, make_event, editor
):
    event = make_event(
        date=DAY, event_type="Battles", sub_event_type="Government regains territory",
        place=front["Saraqib"], geom=front["Saraqib"].geom,
    )  # fmt: skip
    EventActor.objects.create(event=event, faction=front["gov"], role="actor1")
    EventActor.objects.create(event=event, faction=front["hts"], role="actor2")
    page = editor.get("/admin/data-quality/", {"date": "2024-12-20", "days": "3"})
    html = page.content.decode()
    assert f'href="{MOVE}?event={event.pk}">Apply to the map</a>' in html
