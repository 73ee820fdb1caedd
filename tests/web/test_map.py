"""The map page at / in headless Chromium, on the demo data."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.conftest import wait_until

from .conftest import ALEPPO, MANBIJ

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BETWEEN = "lat=36.3600&lng=37.5500&z=8"


def test_the_page_loads_without_console_errors_and_draws_the_demo_zones(map_page, demo):
    map_page.open("?date=2024-11-28")
    page = map_page.page
    assert page.locator(".leaflet-zones-pane path[data-faction]").count() > 0
    assert page.locator("#legend tbody tr[data-faction]").count() > 0
    assert "Demo data" in page.locator(".demo-note").inner_text()
    page.wait_for_selector(".place-label", timeout=10000)
    page.wait_for_load_state("networkidle")
    map_page.screenshot("map-2024-11-28")
    assert map_page.errors == []
    # Zones come per date (that day's and the neighbouring changes'), never the whole period.
    zones = [url for url in map_page.requests if "/api/v1/zones?" in url]
    assert zones and all("date=" in url and "from=" not in url for url in zones)
    assert "date=2024-11-28" in zones[0]


def test_moving_the_slider_changes_who_holds_aleppo_and_manbij(map_page, demo):
    map_page.open(f"?date=2024-11-26&{BETWEEN}&layers=zones")
    assert map_page.faction_at(*ALEPPO) == "syrian-government"
    assert map_page.faction_at(*MANBIJ) == "sdf"

    slider = map_page.page.locator("#slider")
    slider.focus()
    for _ in range(4):
        slider.press("ArrowRight")
    map_page.wait_for_date("2024-11-30")
    assert map_page.page.locator("#date-label").inner_text() == "2024-11-30"
    assert map_page.faction_at(*ALEPPO) == "hts"
    assert map_page.faction_at(*MANBIJ) == "sdf"
    map_page.screenshot("map-2024-11-30")

    for _ in range(10):
        slider.press("ArrowRight")
    map_page.wait_for_date("2024-12-10")
    assert map_page.faction_at(*ALEPPO) == "hts"
    assert map_page.faction_at(*MANBIJ) == "sna"
    map_page.screenshot("map-2024-12-10")
    assert map_page.errors == []


def test_clicking_the_map_at_aleppo_shows_who_holds_it_with_sources(map_page, demo):
    map_page.open(f"?date=2024-12-10&{BETWEEN}&layers=zones")
    x, y = map_page.pixel(*ALEPPO)
    map_page.page.mouse.click(x, y)
    popup = map_page.page.locator(".zone-popup")
    popup.wait_for()
    assert popup.get_attribute("data-faction") == "hts"
    assert popup.locator("a.source-link").count() > 0


def test_clicking_an_event_opens_its_panel_with_a_source_link(map_page, demo):
    from conflictmap.events.models import Event

    event = Event.objects.published().filter(sources__url__startswith="http").first()
    assert event is not None, "the demo should have a sourced event"
    map_page.open(
        f"?date={event.date.isoformat()}&lat={event.geom.y:.4f}&lng={event.geom.x:.4f}&z=13&layers=events"
    )
    marker = map_page.page.locator(f'.event-icon[data-event-id="{event.pk}"]')
    marker.wait_for(timeout=10000)
    marker.click()
    panel = map_page.page.locator("#event-panel")
    panel.wait_for(state="visible")
    assert panel.locator(".event-date").inner_text().startswith(event.date.isoformat())
    expected = "unknown" if event.fatalities is None else str(event.fatalities)
    assert panel.locator(".event-fatalities").inner_text() == expected
    links = [a.get_attribute("href") for a in panel.locator("a.source-link").all()]
    assert set(links) & set(event.sources.values_list("url", flat=True))
    map_page.screenshot("event-panel")
    assert map_page.errors == []


def test_a_permalink_restores_the_date_the_view_the_layers_and_the_filters(map_page, demo):
    map_page.open(
        "?date=2024-12-05&lat=36.5000&lng=37.9000&z=9&layers=zones,events&type=Battles&window=14"
    )
    page = map_page.page
    assert page.locator("#date-label").inner_text() == "2024-12-05"
    wait_until(page, "location.search.includes('window=14')")
    view = map_page.view()
    assert (view["lat"], view["lng"], view["z"]) == (36.5, 37.9, 9)
    assert page.locator('#layers input[value="zones"]').is_checked()
    assert not page.locator('#layers input[value="frontlines"]').is_checked()
    assert page.locator("#filter-type").input_value() == "Battles"
    assert page.locator("#window").input_value() == "14"

    page.locator("#step-forward").click()
    map_page.wait_for_date("2024-12-06")
    wait_until(page, "location.search.includes('date=2024-12-06')")
    again = page.url
    map_page.open(again.split("/", 3)[3])
    assert page.locator("#date-label").inner_text() == "2024-12-06"


def test_a_date_alone_in_the_url_opens_the_map_at_that_date(map_page, demo):
    map_page.open("?date=2024-12-01")
    assert map_page.page.locator("#date-label").inner_text() == "2024-12-01"
    assert map_page.page.locator("#legend-date").inner_text() == "2024-12-01"


def test_compare_shows_what_each_faction_gained(map_page, demo):
    map_page.open(f"?date=2024-12-10&compare=2024-11-26&{BETWEEN}&layers=zones")
    page = map_page.page
    page.wait_for_selector(".compare-table tbody tr", timeout=15000)
    hts = page.locator('.compare-table tr[data-faction="hts"] td.gained').inner_text()
    assert float(hts.replace(",", "")) > 0
    assert page.locator('.leaflet-compare-pane path[data-kind="gained"]').count() > 0
    assert page.locator("#compare-on").is_checked()
    map_page.screenshot("compare")
    assert map_page.errors == []


def test_export_downloads_valid_geojson_of_the_zones_and_events(map_page, demo):
    map_page.open("?date=2024-12-10&window=30")
    page = map_page.page
    for link in ("#export-zones", "#export-events-geojson"):
        with page.expect_download() as info:
            page.locator(link).click()
        with open(info.value.path(), encoding="utf-8") as fh:
            data = json.load(fh)
        assert data["type"] == "FeatureCollection"
        assert isinstance(data["features"], list)
    with page.expect_download() as info:
        page.locator("#export-zones").click()
    with open(info.value.path(), encoding="utf-8") as fh:
        assert len(json.load(fh)["features"]) > 0


def test_a_view_larger_than_the_api_answers_for_exports_everything(map_page, demo):
    # Zoom 3: the view spans far more than MAX_BBOX_DEG2, which the API would refuse.
    map_page.open("?date=2024-12-10&window=30&lat=35&lng=38&z=3")
    page = map_page.page
    for link in ("#export-zones", "#export-events-geojson", "#export-events-csv"):
        assert "bbox=" not in page.locator(link).get_attribute("href"), link
    with page.expect_download() as info:
        page.locator("#export-zones").click()
    with open(info.value.path(), encoding="utf-8") as fh:
        assert len(json.load(fh)["features"]) > 0
    map_page.open("?date=2024-12-10&window=30&lat=35&lng=38&z=7")
    assert "bbox=" in page.locator("#export-zones").get_attribute("href")
    assert map_page.errors == []


def test_clicking_the_area_chart_moves_the_slider(map_page, demo):
    map_page.open("?date=2024-12-10")
    page = map_page.page
    chart = page.locator("#chart-area .u-over")
    chart.wait_for(timeout=10000)
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + 5, box["y"] + box["height"] / 2)
    wait_until(page, "document.getElementById('date-label').textContent < '2024-12-01'")


def test_the_page_fits_a_phone_screen_and_is_usable_by_keyboard(browser, live_server, demo):
    from .conftest import MapPage

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    map_page = MapPage(context.new_page(), live_server.url)
    try:
        map_page.open("?date=2024-12-01")
        page = map_page.page
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator("#slider").is_visible()
        map_page.screenshot("phone")
        # Every control in the panel can be reached with Tab and has an accessible name.
        unnamed = page.evaluate(
            """() => [...document.querySelectorAll('button, input, select, a[href]')]
                .filter((el) => !el.closest('.leaflet-container'))
                .filter((el) => !(el.getAttribute('aria-label') || el.labels?.length || el.textContent.trim()))
                .map((el) => el.outerHTML)"""
        )
        assert unnamed == []
        assert map_page.errors == []
    finally:
        context.close()


def test_a_slider_step_redraws_the_zones_within_50_ms(map_page, demo):
    map_page.open("?date=2024-11-26&layers=zones")
    slider = map_page.page.locator("#slider")
    slider.focus()
    day = dt.date(2024, 11, 26)
    for _ in range(14):  # each step waits for its frame, as someone reading the map would
        slider.press("ArrowRight")
        day += dt.timedelta(days=1)
        map_page.wait_for_date(day.isoformat())
    drawn = map_page.measures("zones-drawn")
    steps = map_page.measures("step-redraw")
    assert len(drawn) == 1 and len(steps) == 14
    map_page.page.wait_for_timeout(100)
    paints = map_page.measures("step-paint")
    print(
        f"\ndemo: zones-drawn {drawn[0]:.1f} ms; step-redraw max {max(steps):.2f} ms,"
        f" mean {sum(steps) / len(steps):.2f} ms; step-paint max {max(paints):.1f} ms"
    )
    # In-page timings on a shared machine: the median carries the target, the max only catches
    # something pathological (a step that re-renders everything).
    assert sorted(steps)[len(steps) // 2] <= 50
    assert max(steps) <= 200


def _count(text: str) -> int:
    return int(text.split(" ", 1)[0])


def test_event_filters_by_type_actor_and_text_match_the_database(map_page, demo):
    from conflictmap.events.models import Event

    end = dt.date(2024, 12, 10)
    window = Event.objects.published().between(end - dt.timedelta(days=29), end)
    battles = window.filter(event_type="Battles")
    assert battles.exists(), "the demo should have battles in its first fortnight"
    map_page.open("?date=2024-12-10&window=30&layers=events")
    page = map_page.page
    count = page.locator("#event-count")
    wait_until(page, "document.getElementById('event-count').textContent.includes('event')")
    assert _count(count.inner_text()) == window.count()

    page.locator("#filter-type").select_option("Battles")
    wait_until(
        page, f"document.getElementById('event-count').textContent.startsWith('{battles.count()} ')"
    )
    wait_until(page, "location.search.includes('type=Battles')")

    page.locator("#filter-type").select_option("")
    page.locator("#filter-actor").select_option("sna")
    sna = window.filter(event_actors__faction__slug="sna").distinct().count()
    wait_until(page, f"document.getElementById('event-count').textContent.startsWith('{sna} ')")

    page.locator("#filter-actor").select_option("")
    page.locator("#filter-q").fill("zzzz-no-such-text")
    wait_until(page, "document.getElementById('event-count').textContent.startsWith('0 ')")
    assert page.locator(".event-icon").count() == 0
    assert map_page.errors == []


def test_play_advances_the_date_and_pause_stops_it(map_page, demo):
    map_page.open("?date=2024-11-26&layers=zones")
    page = map_page.page
    page.locator("#play").click()
    assert page.locator("#play").get_attribute("aria-pressed") == "true"
    map_page.wait_for_date("2024-11-28")
    page.locator("#play").click()
    assert page.locator("#play").get_attribute("aria-pressed") == "false"
    stopped = page.locator("#date-label").inner_text()
    page.wait_for_timeout(1500)
    assert page.locator("#date-label").inner_text() == stopped
    page.locator('.step[data-step="week"]').click()
    page.locator("#step-forward").click()
    week_later = dt.date.fromisoformat(stopped) + dt.timedelta(days=7)
    map_page.wait_for_date(week_later.isoformat())


def test_the_layout_mirrors_right_to_left_without_overflow(map_page, demo):
    map_page.open("?date=2024-12-01")
    page = map_page.page
    page.evaluate("document.documentElement.dir = 'rtl'")
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    panel = page.locator("#controls").bounding_box()
    area = page.locator(".map-area").bounding_box()
    assert panel["x"] < area["x"], "the panel moves to the left in right-to-left layout"
    map_page.screenshot("rtl")
    assert map_page.errors == []


def test_csv_export_carries_the_current_filters(map_page, demo):
    map_page.open("?date=2024-12-10&window=30&type=Battles")
    page = map_page.page
    href = page.locator("#export-events-csv").get_attribute("href")
    assert "format=csv" in href and "type=Battles" in href and "bbox=" in href
    with page.expect_download() as info:
        page.locator("#export-events-csv").click()
    with open(info.value.path(), encoding="utf-8") as fh:
        header = fh.readline()
    assert "date" in header


def test_contested_ground_is_hatched(map_page, demo):
    from conflictmap.territory.models import ZoneVersion

    day = dt.date(2024, 11, 30)
    map_page.open(f"?date={day.isoformat()}&layers=zones")
    page = map_page.page
    # Overlapping zones of different factions on the day come flagged by /api/v1/zones?date=.
    response = page.request.get(f"{map_page.base_url}/api/v1/zones?date={day.isoformat()}")
    flagged = [
        f["properties"]["zone"] for f in response.json()["features"] if f["properties"]["contested"]
    ]
    flagged += list(
        ZoneVersion.objects.published()
        .at(day)
        .filter(confidence="contested")
        .values_list("zone__slug", flat=True)
    )
    assert flagged, "the demo should have contested ground on 30 November 2024"
    for zone in set(flagged):
        path = page.locator(f'.leaflet-zones-pane path[data-zone="{zone}"][data-contested="true"]')
        path.wait_for(timeout=10000)
        assert path.get_attribute("fill").startswith("url(#cm-hatch-")
    unflagged = page.locator('.leaflet-zones-pane path[data-contested="false"]').first
    assert not unflagged.get_attribute("fill").startswith("url(")


def test_names_from_the_data_are_drawn_as_text_never_as_markup(map_page, demo):
    from conflictmap.events.models import Place
    from conflictmap.territory.models import Region

    Region.objects.filter(level="governorate", name="Aleppo").update(name="<i>Aleppo</i>")
    Place.objects.filter(name="Aleppo").update(name="<b>Aleppo</b>", name_ar="")
    map_page.open(f"?date=2024-12-10&{BETWEEN}&layers=regions,places")
    page = map_page.page
    page.wait_for_selector(".region-label", timeout=10000)
    page.wait_for_selector(".place-label", timeout=10000)
    regions = page.locator(".region-label").all_text_contents()
    assert any(text.startswith("<i>Aleppo</i> · ") for text in regions), regions
    assert "<b>Aleppo</b>" in page.locator(".place-label").all_text_contents()
    assert page.locator(".region-label i, .place-label b").count() == 0
    assert map_page.errors == []
