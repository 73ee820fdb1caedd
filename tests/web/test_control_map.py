"""Who held a place when, on the map in headless Chromium (demo data): a click on a place opens
its control timeline with sources; compare mode lists the places that changed hands."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AROUND_ALEPPO = "lat=36.2000&lng=37.1600&z=9"


def biggest(name: str):
    from conflictmap.events.models import Place

    return Place.objects.filter(name=name).order_by("-population").first()


def open_place(map_page, place, query: str):
    map_page.open(query)
    marker = map_page.page.locator(f'.place-hit[data-place-id="{place.pk}"]')
    marker.wait_for(timeout=15000)
    marker.click()
    panel = map_page.page.locator(f'#place-panel[data-loaded="{place.pk}"]')
    panel.wait_for(timeout=10000)
    return panel


def test_clicking_a_place_shows_who_held_it_when_with_sources(map_page, demo):
    aleppo = biggest("Aleppo")
    panel = open_place(map_page, aleppo, f"?date=2024-12-10&{AROUND_ALEPPO}&layers=zones,places")

    periods = panel.locator("li.control-period")
    holders = [periods.nth(i).get_attribute("data-holder") for i in range(periods.count())]
    assert holders == ["syrian-government", "hts"]
    lines = panel.locator(".control-line").all_inner_texts()
    assert lines[0].endswith("until 28 Nov 2024")
    assert lines[-1].endswith("since 29 Nov 2024")
    assert "Aleppo" in map_page.page.locator("#place-title").inner_text()
    assert panel.locator("a.source-link").count() > 0
    map_page.screenshot("place-control-aleppo")

    map_page.page.locator("#place-close").click()
    assert map_page.page.locator("#place-panel").is_hidden()
    assert map_page.errors == []


def test_a_place_name_is_shown_as_text_never_as_markup(map_page, demo):
    aleppo = biggest("Aleppo")
    aleppo.name = '<img src="x" id="injected" onerror="window.pwned = 1">Aleppo'
    aleppo.save()

    panel = open_place(map_page, aleppo, f"?date=2024-12-10&{AROUND_ALEPPO}&layers=zones,places")

    assert "<img" in map_page.page.locator("#place-title").inner_text()
    assert panel.locator("img").count() == 0
    assert map_page.page.evaluate("() => window.pwned === undefined")


def test_the_timeline_speaks_arabic(map_page, demo):
    aleppo = biggest("Aleppo")
    panel = open_place(
        map_page, aleppo, f"?date=2024-12-10&{AROUND_ALEPPO}&layers=zones,places&lang=ar"
    )

    assert "من سيطر على" in map_page.page.locator("#place-title").inner_text()
    assert "منذ" in panel.locator(".control-line").last.inner_text()


def test_compare_lists_the_places_that_changed_hands(map_page, demo):
    aleppo, manbij = biggest("Aleppo"), biggest("Manbij")
    map_page.open(f"?date=2024-12-10&compare=2024-11-26&{AROUND_ALEPPO}&layers=zones")
    page = map_page.page
    page.wait_for_selector("#compare-places li[data-place-id]", timeout=15000)

    row = page.locator(f'#compare-places li[data-place-id="{aleppo.pk}"]')
    assert row.get_attribute("data-before") == "syrian-government"
    assert row.get_attribute("data-after") == "hts"
    row = page.locator(f'#compare-places li[data-place-id="{manbij.pk}"]')
    assert (row.get_attribute("data-before"), row.get_attribute("data-after")) == ("sdf", "sna")
    assert "Places that changed hands" in page.locator("#compare-places h3").inner_text()
    map_page.screenshot("compare-places")
    assert map_page.errors == []
