"""A window holding more events than markers can carry is drawn from the event vector tiles
(Leaflet.VectorGrid): aggregated circles at low zoom, single events at zoom 9 and above, whose
click opens the same event panel; a short window stays markers."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def many_events(transactional_db) -> None:
    # 20,000 events over 14 years: a window of all of them is far past the tile threshold
    # (3,000), a week holds about 30.
    call_command("generate_synthetic", events=20_000, zones=20, versions=40, stdout=io.StringIO())


def tile_requests(map_page) -> list[str]:
    return [url for url in map_page.requests if "/api/v1/tiles/events/" in url]


def test_all_years_of_events_come_as_tiles_and_a_point_opens_its_panel(map_page, many_events):
    from conflictmap.events.models import Event

    page = map_page.page
    page.route("**/api/v1/stats/area*", lambda route: route.abort())  # minutes of union
    map_page.open("?date=2024-12-31&window=5041&layers=events")
    page.wait_for_selector('#map[data-events-mode="tiles"]', timeout=20000)
    page.wait_for_function("performance.getEntriesByName('events-drawn').length > 0")
    assert page.locator(".event-icon").count() == 0  # no markers
    tiles = tile_requests(map_page)
    # The window holds every event: the server answers from its tile pyramid.
    assert tiles and all("start=2011-03-15" in url and "end=2024-12-31" in url for url in tiles)
    assert not any("/api/v1/events?start=2011" in url for url in map_page.requests)
    total = Event.objects.published().count()
    assert page.locator("#event-count").inner_text().startswith(f"{total:,} ")
    assert page.locator(".leaflet-tile-container canvas").count() > 0

    # Zoomed in on an event (detail tiles, one point each): a click opens its panel.
    event = Event.objects.published().order_by("id").first()
    map_page.open(
        f"?date=2024-12-31&window=5041&layers=events&lat={event.geom.y:.5f}"
        f"&lng={event.geom.x:.5f}&z=14"
    )
    page.wait_for_selector('#map[data-events-mode="tiles"]', timeout=20000)
    page.wait_for_function("performance.getEntriesByName('events-drawn').length > 0")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    panel = page.locator("#event-panel")
    panel.wait_for(state="visible", timeout=10000)
    shown = int(panel.locator(".event-details").get_attribute("data-event-id"))
    near = Event.objects.filter(
        geom__dwithin=(event.geom, 0.001), date=Event.objects.get(pk=shown).date
    ).values_list("id", flat=True)
    assert shown in near
    map_page.screenshot("event-tiles-panel")
    assert [e for e in map_page.errors if "ERR_FAILED" not in e] == []


def test_a_week_of_the_same_events_stays_markers(map_page, many_events):
    page = map_page.page
    page.route("**/api/v1/stats/area*", lambda route: route.abort())
    map_page.open("?date=2020-06-30&layers=events")
    page.wait_for_selector('#map[data-events-mode="markers"]', timeout=20000)
    assert tile_requests(map_page) == []
