"""The static copy of publish_static in Chromium, served by `python -m http.server` and nothing
else: no Django, no database behind it."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections, transaction
from django.db.models import Q

from conflictmap.web import snapshot

from ..foundation.serving import free_port, wait_for
from .conftest import ALEPPO, MANBIJ, MapPage

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BETWEEN = "lat=36.3600&lng=37.5500&z=8"


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[tuple[Path, dict]]:
    """The demo published, and a sourced event of it; the demo is rolled back before any page
    opens (the database plays no part in what follows, and Playwright's event loop would give
    the ORM another connection than this transaction's)."""
    from conflictmap.events.models import Event, Place
    from conflictmap.territory.demo import load_demo

    root = tmp_path_factory.mktemp("site")
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        snapshot.publish(root)
        event = Event.objects.published().filter(sources__url__startswith="http").first()
        sample = {
            "id": event.pk,
            "date": event.date.isoformat(),
            "lat": event.geom.y,
            "lng": event.geom.x,
            "fatalities": "unknown" if event.fatalities is None else str(event.fatalities),
        }
        aleppo = Place.objects.filter(name="Aleppo").order_by("-population").first()
        sample["aleppo"] = aleppo.pk
        # The events of the 30 days up to 2024-12-10, filtered as the page's filters will be.
        window = Event.objects.published().between(dt.date(2024, 11, 11), dt.date(2024, 12, 10))
        word = "Aleppo"
        sample["counts"] = {
            "all": window.count(),
            "Battles": window.filter(event_type="Battles").count(),
            "sna": window.filter(event_actors__faction__slug="sna").distinct().count(),
            word: window.filter(Q(summary__icontains=word) | Q(location_name__icontains=word))
            .distinct()
            .count(),
        }
        transaction.set_rollback(True)
    # This transaction's connection may be one of Playwright's context (when the session's
    # browser started first): close it, or it would hold the test database open at the end.
    connections.close_all()
    yield root, sample


RANGE_SERVER = Path(__file__).with_name("rangeserve.py")


@pytest.fixture(params=["http.server"])
def served(request, site) -> Iterator[str]:
    """The copy served by `python -m http.server` (no range requests), or by rangeserve.py (range
    requests answered, as a CDN does) when the test asks for "ranges"."""
    port = free_port()
    if request.param == "ranges":
        command = [sys.executable, str(RANGE_SERVER), str(port), str(site[0])]
    else:
        command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    server = subprocess.Popen(
        command, cwd=site[0], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return urllib.request.urlopen(base + "/index.html", timeout=1).status == 200
        except OSError:
            return False

    try:
        assert wait_for(up, 10), "python -m http.server did not answer"
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def static_page(browser, served) -> Iterator[MapPage]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    yield MapPage(page, served)
    context.close()


def test_the_slider_compare_places_and_an_event_panel_work_with_only_a_static_server(
    site, static_page
):
    page = static_page.page
    # The slider: who holds Aleppo changes between change dates.
    static_page.open(f"?date=2024-11-26&{BETWEEN}&layers=zones")
    assert static_page.faction_at(*ALEPPO) == "syrian-government"
    assert static_page.faction_at(*MANBIJ) == "sdf"
    slider = page.locator("#slider")
    slider.focus()
    for _ in range(4):
        slider.press("ArrowRight")
    static_page.wait_for_date("2024-11-30")
    assert static_page.faction_at(*ALEPPO) == "hts"
    assert page.locator("#legend tbody tr[data-faction]").count() > 0

    # Compare, from the pair of change dates around the slider's day.
    static_page.open(f"?date=2024-12-10&compare=2024-11-26&{BETWEEN}&layers=zones")
    page.wait_for_selector(".compare-table tbody tr", timeout=15000)
    hts = page.locator('.compare-table tr[data-faction="hts"] td.gained').inner_text()
    assert float(hts.replace(",", "")) > 0
    assert page.locator('.leaflet-compare-pane path[data-kind="gained"]').count() > 0
    page.wait_for_selector("#compare-places li[data-place-id]", timeout=15000)
    row = page.locator(f'#compare-places li[data-place-id="{site[1]["aleppo"]}"]')
    assert (row.get_attribute("data-before"), row.get_attribute("data-after")) == (
        "syrian-government",
        "hts",
    )

    # A place's timeline of control.
    static_page.open("?date=2024-12-10&lat=36.2000&lng=37.1600&z=9&layers=zones,places")
    page.locator(f'.place-hit[data-place-id="{site[1]["aleppo"]}"]').click()
    panel = page.locator(f'#place-panel[data-loaded="{site[1]["aleppo"]}"]')
    panel.wait_for(timeout=10000)
    periods = panel.locator("li.control-period")
    holders = [periods.nth(i).get_attribute("data-holder") for i in range(periods.count())]
    assert holders == ["syrian-government", "hts"]

    # An event, read from the PMTiles archive, opens its panel.
    event = site[1]
    static_page.open(
        f"?date={event['date']}&lat={event['lat']:.4f}&lng={event['lng']:.4f}&z=13&layers=events"
    )
    marker = page.locator(f'.event-icon[data-event-id="{event["id"]}"]')
    marker.wait_for(timeout=10000)
    marker.click()
    panel = page.locator("#event-panel")
    panel.wait_for(state="visible")
    assert panel.locator(".event-date").inner_text().startswith(event["date"])
    assert panel.locator(".event-fatalities").inner_text() == event["fatalities"]
    assert panel.locator("a.source-link").count() > 0

    # The language permalink: ?lang=ar opens the Arabic page of the copy, view kept.
    static_page.open(f"?date=2024-11-30&{BETWEEN}&lang=ar")
    assert page.evaluate("document.documentElement.lang") == "ar"
    assert page.url.split("/")[-1].startswith("index.ar.html?date=2024-11-30")
    assert static_page.errors == []
    assert any("/data/events.pmtiles" in u for u in static_page.requests)
    assert not any("/api/" in u for u in static_page.requests)


def _count(page) -> int:
    return int(page.locator("#event-count").inner_text().split(" ", 1)[0])


def test_the_event_filters_of_the_static_copy_match_the_database(site, static_page):
    counts = site[1]["counts"]
    assert counts["all"] > counts["Battles"] > 0
    static_page.open("?date=2024-12-10&window=30&layers=events")
    page = static_page.page
    page.wait_for_function("document.getElementById('event-count').textContent.includes('event')")
    assert _count(page) == counts["all"]
    page.locator("#filter-type").select_option("Battles")
    page.wait_for_function(
        f"document.getElementById('event-count').textContent.startsWith('{counts['Battles']} ')"
    )
    page.locator("#filter-type").select_option("")
    page.locator("#filter-actor").select_option("sna")
    page.wait_for_function(
        f"document.getElementById('event-count').textContent.startsWith('{counts['sna']} ')"
    )
    page.locator("#filter-actor").select_option("")
    page.locator("#filter-q").fill("aleppo")  # case does not matter, as with the API
    page.wait_for_function(
        f"document.getElementById('event-count').textContent.startsWith('{counts['Aleppo']} ')"
    )
    assert static_page.errors == []


@pytest.mark.parametrize("served", ["ranges"], indirect=True)
def test_the_events_archive_is_read_by_range_requests_where_the_host_answers_them(
    site, static_page
):
    ranges: list[tuple[str | None, int]] = []
    page = static_page.page
    page.on(
        "response",
        lambda r: (
            ranges.append((r.request.headers.get("range"), r.status))
            if r.url.endswith("/data/events.pmtiles")
            else None
        ),
    )
    event = site[1]
    static_page.open(
        f"?date={event['date']}&lat={event['lat']:.4f}&lng={event['lng']:.4f}&z=13&layers=events"
    )
    page.locator(f'.event-icon[data-event-id="{event["id"]}"]').wait_for(timeout=10000)
    assert ranges, "the page did not read the archive"
    assert all(
        header and header.startswith("bytes=") and status == 206 for header, status in ranges
    )
    assert static_page.errors == []
