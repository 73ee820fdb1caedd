"""The map of "Move the front" in Chromium: the zones in force on the chosen date drawn by
faction with a legend and redrawn when the date changes (drafts included: the editor's map),
and the gazetteer's places taken into the move and out of it by clicks on the map."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from conflictmap.territory.models import ZoneVersion
from tests.territory.test_admin_context import SCREENSHOTS, admin_page

__all__ = ["admin_page"]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

MOVE = "/admin/territory/frontmove/move/"


@pytest.mark.browser
def test_the_move_map_draws_the_zones_in_force_and_places_clicked_in_and_out(admin_page):
    page = admin_page
    # A draft: the editor's map shows it (dashed), the public's would not.
    ZoneVersion.objects.filter(zone__slug="manbij-pocket").at(dt.date(2024, 12, 15)).update(
        status="draft"
    )
    page.goto(f"{page.base}{MOVE}?date=2024-12-15&to=sna")
    page.wait_for_selector('#cm-move[data-ready="true"]')
    page.wait_for_selector('#cm-move-map[data-cm-neighbours="2024-12-15"]', timeout=20000)
    widget = page.locator("#cm-move-map")
    zones = widget.locator("path.cm-neighbour")
    classes = " ".join(zones.evaluate_all("els => els.map(e => e.getAttribute('class'))"))
    assert zones.count() >= 10
    for slug in ("hts", "sdf", "sna"):
        assert f"cm-faction-{slug}" in classes, slug
    assert widget.locator('path.cm-neighbour[stroke-dasharray="5 4"]').count() >= 1
    assert "Manbij pocket" in widget.locator(".cm-zone-label").all_inner_texts()
    legend = widget.locator(".cm-legend").inner_text()
    assert "Syrian Democratic Forces" in legend and "Syrian government" not in legend
    assert "Zones in force on the date" in widget.locator(".leaflet-control-layers").text_content()
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.locator("#cm-move-side").screenshot(path=os.path.join(SCREENSHOTS, "admin_move_map.png"))

    # Another date: the zones of that day, and their factions in the legend.
    page.fill("#id_day", "2024-11-26")
    page.dispatch_event("#id_day", "change")
    page.wait_for_selector('#cm-move-map[data-cm-neighbours="2024-11-26"]', timeout=10000)
    assert "Syrian government" in widget.locator(".cm-legend").inner_text()
    assert any("/api/v1/zones?date=2024-11-26" in url for url in page.requests)

    # A place found by name is on the map; clicked there it leaves the move, clicked again it
    # joins it.
    page.fill("#cm-place-search", "Raqqa")
    page.click("#cm-place-results button.cm-result >> nth=0")
    page.wait_for_selector("#cm-place-chosen li.cm-chosen")
    raqqa = page.input_value("#id_places")
    assert raqqa.isdigit()
    page.wait_for_timeout(400)  # the pan to the place
    # Where the place is within the map (the page may scroll as the list changes: the map's
    # own box is read again before each click).
    marker = widget.locator("path.cm-chosen-marker").bounding_box()
    frame = widget.bounding_box()
    dx = marker["x"] + marker["width"] / 2 - frame["x"]
    dy = marker["y"] + marker["height"] / 2 - frame["y"]

    def click_on_the_place() -> None:
        frame = widget.bounding_box()
        page.mouse.click(frame["x"] + dx, frame["y"] + dy)

    click_on_the_place()
    page.wait_for_selector("#cm-place-chosen li.cm-chosen", state="detached")
    assert page.input_value("#id_places") == ""
    assert widget.locator("path.cm-chosen-marker").count() == 0
    page.wait_for_timeout(500)  # a second click so soon would be a double click (zoom)
    click_on_the_place()
    page.wait_for_selector("#cm-place-chosen li.cm-chosen")
    assert page.input_value("#id_places") == raqqa
    assert widget.locator("path.cm-chosen-marker").count() == 1
    assert page.errors == []
