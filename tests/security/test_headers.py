"""Every response carries the Content-Security-Policy and the usual headers; the map and the
admin's map widgets work under the policy in Chromium, with no violation and no console error."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse

from conflictmap.ingest.models import Candidate, Report
from conflictmap.territory.models import Faction, ZoneVersion


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/", "/admin/login/", "/api/v1/factions", "/api/schema/", "/healthz", "/no-such-page"],
)
def test_every_response_carries_the_policy_and_the_usual_headers(client, settings, url):
    settings.HEALTHZ_CELERY_TIMEOUT = 0.1
    response = client.get(url)
    policy = directives(response)
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in permissions


@pytest.mark.django_db
def test_the_signed_in_admin_carries_the_policy_too(admin_client):
    response = admin_client.get(reverse("admin:territory_zoneversion_add"))
    assert directives(response)["script-src"] == ["'self'"]


def test_images_may_come_from_the_base_tiles_server_only():
    from conflictmap.settings import tile_origin

    assert tile_origin("https://tile.openstreetmap.org/{z}/{x}/{y}.png") == (
        "https://tile.openstreetmap.org"
    )
    assert tile_origin("https://{s}.tiles.example.org:8443/{z}/{x}/{y}.png") == (
        "https://*.tiles.example.org:8443"
    )
    assert tile_origin("") is None


# --- in Chromium -------------------------------------------------------------------------------


@pytest.fixture
def chromium(open_chromium):
    return open_chromium()


@pytest.mark.browser
def test_the_map_works_under_the_policy(chromium):
    page = chromium
    page.goto(f"{page.base}/?date=2024-12-08")
    page.wait_for_selector('#map[data-drawn-date="2024-12-08"]', timeout=20000)
    page.wait_for_selector(".leaflet-zones-pane path", timeout=10000)
    page.wait_for_load_state("networkidle")
    assert page.locator(".leaflet-zones-pane path").count() > 5
    assert page.locator("#legend tbody tr").count() >= 4
    assert page.violations() == []
    assert page.errors == []


@pytest.mark.browser
def test_the_policy_refuses_a_script_written_into_the_page(chromium):
    """What the policy is for: had text become markup, a script in it would not run."""
    page = chromium
    page.goto(f"{page.base}/")
    page.wait_for_selector("#map[data-drawn-date]", timeout=20000)
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.__injected = true'; document.body.append(s); }"""
    )
    assert page.evaluate("window.__injected") is None
    assert any(v.startswith("script-src-elem refused inline") for v in page.violations())


@pytest.mark.browser
def test_the_admin_and_its_map_widgets_work_under_the_policy(chromium):
    page = chromium
    page.sign_in()
    version = ZoneVersion.objects.filter(zone__slug="manbij-pocket").first()
    faction = Faction.objects.get(slug="sdf")
    report = Report.objects.create(
        text="SNA fighters took Manbij on Monday.", content_hash="h" * 64
    )
    candidate = Candidate.objects.create(
        report=report, sentence_index=0, sentence=report.text, date=version.valid_from,
        geom=Point(37.9495, 36.5281, srid=4326), event_type="Battles",
        places=[{"name": "Manbij", "start": 18, "end": 24}],
        spans=[{"kind": "type", "start": 13, "end": 17}],
    )  # fmt: skip
    for url in (
        reverse("admin:index"),
        reverse("admin:territory_zoneversion_changelist"),
        reverse("admin:territory_zoneversion_add"),
        reverse("admin:territory_faction_changelist"),
        # Selectors of two lists (backed by), slug filled from the name, help popups.
        reverse("admin:territory_faction_change", args=[faction.pk]),
        reverse("admin:events_event_add"),
        reverse("admin:ingest_importrun_changelist"),
        # The review page: its marks, its map (zones of the day, events near) and shortcuts.
        reverse("admin:ingest_candidate_review", args=[candidate.pk]),
    ):
        page.goto(f"{page.base}{url}")
        page.wait_for_load_state("networkidle")
        assert page.violations() == [], url
    page.goto(f"{page.base}{reverse('admin:territory_zoneversion_change', args=[version.pk])}")
    page.wait_for_selector('#id_geom-map[data-cm-context="ready"]', timeout=20000)
    widget = page.locator("#id_geom-map")
    # The version's own geometry is drawn, editable, with the drawing toolbar.
    assert widget.locator(".leaflet-overlay-pane path.leaflet-interactive").count() == 1
    assert widget.locator(".leaflet-draw-toolbar").count() >= 1
    assert page.locator("#id_geom").input_value().startswith('{"type":')
    # Saving the form unchanged (with its reason) goes through: CSRF and the admin's scripts work.
    page.fill("#id_change_reason", "checked under the Content-Security-Policy")
    page.click("input[name=_save]")
    page.wait_for_url(f"{page.base}{reverse('admin:territory_zoneversion_changelist')}")
    assert page.locator(".messagelist .success").count() == 1
    assert page.violations() == []
    assert page.errors == []
