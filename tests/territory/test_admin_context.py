"""The admin's map widgets stand on our own offline layers: country outlines and governorates,
places and, on a zone version's page, the other zones in force on its first day."""

from __future__ import annotations

import json
import os
import re
from urllib.parse import urlparse

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.urls import reverse

from conflictmap.events.models import Place
from conflictmap.ingest.models import Candidate, Report
from conflictmap.territory.models import Region, ZoneVersion
from tests.conftest import square

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run inside one
# unless told it is safe (it is: the tests do not share connections with the loop).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "screenshots")
SCRIPT = "/static/js/admin/context.js"
STYLE = "/static/css/admin/context.css"


def map_context(page: str) -> dict:
    found = re.search(
        r'<script id="cm-admin-map-context" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, "the change form carries no map context"
    return json.loads(found.group(1))


@pytest.fixture
def pages(db, make_version, make_event) -> dict[str, str]:
    """The change page of every model with a map widget."""
    region = Region.objects.create(
        name="Aleppo", slug="aleppo-test", level="governorate", geom=square(37.0, 36.0, 1.0)
    )
    place = Place.objects.create(name="Aleppo", geom=Point(37.16, 36.2, srid=4326))
    version = make_version()
    event = make_event(place=place)
    report = Report.objects.create(text="Clashes in Aleppo.", content_hash="x" * 64)
    candidate = Candidate.objects.create(
        report=report, sentence_index=0, sentence="Clashes in Aleppo.",
        geom=Point(37.16, 36.2, srid=4326),
    )  # fmt: skip
    return {
        "region": reverse("admin:territory_region_change", args=[region.pk]),
        "zoneversion": reverse("admin:territory_zoneversion_change", args=[version.pk]),
        "place": reverse("admin:events_place_change", args=[place.pk]),
        "event": reverse("admin:events_event_change", args=[event.pk]),
        "candidate": reverse("admin:ingest_candidate_change", args=[candidate.pk]),
        "zoneversion_add": reverse("admin:territory_zoneversion_add"),
        "event_add": reverse("admin:events_event_add"),
    }


def test_every_admin_map_widget_page_includes_the_offline_context_script(admin_client, pages):
    for name, url in pages.items():
        page = admin_client.get(url).content.decode()
        assert 'id="id_geom-map"' in page, name
        assert f'src="{SCRIPT}"' in page and f'href="{STYLE}"' in page, name
        # After Leaflet: the script hooks map:init, which Leaflet's loader fires.
        assert page.index("leaflet/leaflet.js") < page.index(SCRIPT), name
        context = map_context(page)
        assert context["regions"] == "/api/v1/regions", name
        assert context["places"] == "/api/v1/places", name


def test_event_and_candidate_forms_show_every_place_as_a_point(admin_client, pages):
    for name in ("event", "event_add", "candidate", "place"):
        page = admin_client.get(pages[name]).content.decode()
        assert map_context(page)["placesMode"] == "points", name
    region = admin_client.get(pages["region"]).content.decode()
    assert map_context(region)["placesMode"] == "labels"
    assert "neighbours" not in map_context(region)


def test_a_zone_version_form_asks_for_the_other_zones_of_its_first_day(admin_client, pages):
    version = ZoneVersion.objects.get()
    context = map_context(admin_client.get(pages["zoneversion"]).content.decode())
    assert context["zones"] == "/api/v1/zones"
    assert context["neighbours"] == {
        "date": version.valid_from.isoformat(),
        "version": version.pk,
        "dateField": "id_valid_from",
    }
    added = map_context(admin_client.get(pages["zoneversion_add"]).content.decode())
    assert added["neighbours"] == {"date": None, "version": None, "dateField": "id_valid_from"}


def test_pages_without_a_map_widget_and_the_public_map_do_not_load_it(admin_client, db):
    for url in (reverse("admin:territory_faction_add"), reverse("admin:index"), "/"):
        page = admin_client.get(url).content.decode()
        assert SCRIPT not in page, url


# --- in a browser -------------------------------------------------------------------------------


@pytest.fixture
def admin_page(browser, live_server, transactional_db, django_user_model):
    """A signed-in admin page that records console errors and reaches nothing but the server."""
    call_command("load_demo", verbosity=0)
    django_user_model.objects.create_superuser("editor", "editor@example.org", "pw")
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    host = urlparse(live_server.url).netloc
    errors: list[str] = []
    requests: list[str] = []

    def console(msg) -> None:
        # Base tiles from other hosts are aborted on purpose; their failures are expected.
        if (
            msg.type == "error"
            and urlparse(msg.location.get("url") or live_server.url).netloc == host
        ):
            errors.append(msg.text)

    page.on("console", console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requests.append(request.url))
    page.route(
        "**/*",
        lambda route: (
            route.continue_() if urlparse(route.request.url).netloc == host else route.abort()
        ),
    )
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.errors, page.requests, page.base = errors, requests, live_server.url
    yield page
    page.wait_for_load_state("networkidle", timeout=30000)
    context.close()


def test_a_zone_version_page_draws_governorates_and_the_neighbouring_zones_under_the_widget(
    admin_page,
):
    page = admin_page
    version = ZoneVersion.objects.get(zone__slug="tal-rifaat-shahba", valid_from="2024-12-02")
    # A draft neighbour: staff see drafts, the public does not.
    draft = ZoneVersion.objects.get(zone__slug="manbij-pocket", valid_from="2024-11-26")
    ZoneVersion.objects.filter(pk=draft.pk).update(status="draft")
    page.goto(f"{page.base}{reverse('admin:territory_zoneversion_change', args=[version.pk])}")
    widget = page.locator("#id_geom-map")
    page.wait_for_selector('#id_geom-map[data-cm-context="ready"]', timeout=20000)
    page.wait_for_selector('#id_geom-map[data-cm-neighbours="2024-12-02"]', timeout=20000)

    assert widget.locator("path.cm-country").count() >= 1
    assert widget.locator("path.cm-governorate").count() >= 14
    neighbours = widget.locator("path.cm-neighbour")
    classes = " ".join(neighbours.evaluate_all("els => els.map(e => e.getAttribute('class'))"))
    assert neighbours.count() >= 10
    for slug in ("hts", "sdf", "sna", "syrian-government"):
        assert f"cm-faction-{slug}" in classes, slug
    zone_labels = widget.locator(".cm-zone-label").all_inner_texts()
    assert "Manbij pocket" in zone_labels and "Aleppo city" in zone_labels
    # The draft is drawn (staff see drafts), dashed.
    assert widget.locator('path.cm-faction-sdf[stroke-dasharray="5 4"]').count() == 1
    # This version itself is the editable geometry, not a neighbour.
    assert version.zone.name not in zone_labels
    legend = widget.locator(".cm-legend").inner_text()
    assert "Syrian Democratic Forces" in legend and "Syrian National Army" in legend
    assert widget.locator(".leaflet-overlay-pane path.leaflet-interactive").count() == 1
    # Neighbours sit under the edited shape and take no clicks.
    assert widget.locator(".leaflet-cmNeighbours-pane path.leaflet-interactive").count() == 0
    assert widget.locator(".cm-place").count() > 0
    assert widget.locator(".leaflet-control-layers").count() == 1
    assert any("/api/v1/zones?date=2024-12-02" in url for url in page.requests)
    assert any(url.endswith("/api/v1/regions?level=governorate") for url in page.requests)

    os.makedirs(SCREENSHOTS, exist_ok=True)
    widget.screenshot(path=os.path.join(SCREENSHOTS, "admin_zoneversion_context.png"))

    # Moving the start date redraws the neighbours of the new date.
    page.fill("#id_valid_from", "2024-11-26")
    page.dispatch_event("#id_valid_from", "change")
    page.wait_for_selector('#id_geom-map[data-cm-neighbours="2024-11-26"]', timeout=10000)
    assert "Aleppo city" in widget.locator(".cm-zone-label").all_inner_texts()
    assert "Syrian government" in widget.locator(".cm-legend").inner_text()
    assert page.errors == []


def test_an_event_page_shows_the_places_as_points_on_the_widget(admin_page):
    from conflictmap.events.models import Event

    event = Event.objects.filter(place__name="Manbij").first() or Event.objects.first()
    page = admin_page
    page.goto(f"{page.base}{reverse('admin:events_event_change', args=[event.pk])}")
    page.wait_for_selector('#id_geom-map[data-cm-context="ready"]', timeout=20000)
    widget = page.locator("#id_geom-map")
    page.wait_for_selector("#id_geom-map .cm-place", timeout=10000)
    assert widget.locator("path.cm-governorate").count() >= 14
    # Framed where the neighbouring places show, not at the widget's zoom 15 on one point.
    assert widget.locator(".cm-place").count() >= 3
    assert widget.locator(".cm-neighbour").count() == 0
    widget.screenshot(path=os.path.join(SCREENSHOTS, "admin_event_context.png"))
    assert page.errors == []
