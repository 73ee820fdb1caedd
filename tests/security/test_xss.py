"""Text from the database or an imported file never becomes markup, on the map or in the admin.

Names carrying a script (zone, faction, place, region, source title, report text) are drawn in
Chromium with the Content-Security-Policy switched off (bypass_csp), so that what is tested is
the escaping itself, not the policy behind it. Each payload is an image that fails to load and
whose onerror pushes its kind to window.__xss and opens a dialog.

Shown to catch the hole: with the map's front-line and comparison tooltips bound to strings
(Leaflet writes a string with innerHTML), as before this test was written,
test_script_bearing_names_stay_text_on_the_map fails with
`AssertionError: assert ['faction', 'faction', ...] == []` and a dialog "faction".
"""

from __future__ import annotations

import pytest
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.urls import reverse

from conflictmap.events.models import Event, Place, Source
from conflictmap.ingest.models import Candidate, Report
from conflictmap.territory.models import Faction, Region, Zone, ZoneVersion
from tests.conftest import wait_until

pytestmark = [pytest.mark.browser]

BETWEEN = "lat=36.3600&lng=37.5500&z=8"


def payload(kind: str) -> str:
    return f"<img src=/xss-{kind}.png onerror=\"__xss.push('{kind}');alert('{kind}')\">"


def arm(model, kind: str, field: str = "name", **filters) -> None:
    """Append the payload of `kind` to `field` of the rows (with an update: no form cleans it,
    as an import would not)."""
    model.objects.filter(**filters).update(**{field: Concat(F(field), Value(payload(kind)))})


@pytest.fixture
def armed(open_chromium):
    arm(Faction, "faction")
    arm(Zone, "zone")
    arm(Place, "place")
    arm(Region, "region")
    arm(Source, "source", field="title")
    # A source whose address would run a script when its link is clicked.
    Source.objects.filter(pk=Source.objects.order_by("pk").first().pk).update(
        url="javascript:__xss.push('source-url')"
    )
    report = Report.objects.create(
        title=payload("report-title"),
        text=f"Clashes near Aleppo {payload('report')} today.",
        content_hash="f" * 64,
    )
    Candidate.objects.create(
        report=report, sentence_index=0, sentence=f"Clashes near Aleppo {payload('sentence')}."
    )
    return open_chromium(bypass_csp=True)


def hover_and_click_everything(page, selector: str, event: str) -> int:
    """Fire `event` at the middle of every element matched (Leaflet opens a tooltip on
    mouseover and a popup on click)."""
    return page.evaluate(
        """([selector, type]) => {
          const found = [...document.querySelectorAll(selector)];
          for (const el of found) {
            const box = el.getBoundingClientRect();
            el.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true,
              clientX: box.x + box.width / 2, clientY: box.y + box.height / 2}));
          }
          return found.length;
        }""",
        [selector, event],
    )


def test_script_bearing_names_stay_text_on_the_map(armed):
    page = armed
    page.goto(
        f"{page.base}/?date=2024-12-10&compare=2024-11-26&{BETWEEN}"
        "&layers=zones,frontlines,events,regions,places"
    )
    page.wait_for_selector('#map[data-drawn-date="2024-12-10"]', timeout=20000)
    page.wait_for_selector(".compare-table tbody tr", timeout=15000)
    page.wait_for_selector(".leaflet-frontlines-pane path", timeout=15000)
    page.wait_for_selector(".place-label", timeout=10000)
    # Tooltips of the front lines and of the gains and losses; a zone's popup.
    assert hover_and_click_everything(page, ".leaflet-frontlines-pane path", "mouseover") > 0
    assert hover_and_click_everything(page, ".leaflet-compare-pane path", "mouseover") > 0
    page.locator(".leaflet-zones-pane path").first.dispatch_event("click")
    page.wait_for_selector(".zone-popup", timeout=10000)
    wait_until(page, "document.querySelectorAll('.leaflet-tooltip').length > 0")
    # An event's panel, with its place and sources.
    event = Event.objects.published().filter(date__lte="2024-12-10").order_by("-date").first()
    page.goto(
        f"{page.base}/?date={event.date}&lat={event.geom.y:.4f}&lng={event.geom.x:.4f}&z=13"
        "&layers=events,places"
    )
    marker = page.locator(f'.event-icon[data-event-id="{event.pk}"]')
    marker.wait_for(timeout=10000)
    marker.dispatch_event("click")  # markers of one place overlap
    page.locator("#event-panel").wait_for(state="visible")
    page.wait_for_load_state("networkidle")

    assert page.fired() == []
    assert page.dialogs == []
    # The names are there, as text: the legend, a place label, the panel's sources.
    assert payload("faction") in page.locator("#filter-actor").inner_text()
    assert page.locator("img[src^='/xss-']").count() == 0
    # A source address that is not a web address is no link.
    assert page.locator("a[href^='javascript:']").count() == 0


def test_script_bearing_names_stay_text_in_the_admin(armed):
    page = armed
    page.sign_in()
    version = ZoneVersion.objects.filter(valid_from="2024-12-02").first()
    candidate = Candidate.objects.get(sentence__contains="xss-sentence")
    pages = [
        reverse("admin:territory_faction_changelist"),
        reverse("admin:territory_faction_change", args=[Faction.objects.first().pk]),
        reverse("admin:territory_zone_changelist"),
        reverse("admin:territory_zoneversion_changelist"),
        reverse("admin:territory_zoneversion_change", args=[version.pk]),
        reverse("admin:events_place_changelist"),
        reverse("admin:events_source_changelist"),
        reverse("admin:events_event_changelist"),
        reverse("admin:ingest_report_changelist"),
        reverse("admin:ingest_report_change", args=[candidate.report.pk]),
        reverse("admin:ingest_candidate_changelist"),
        reverse("admin:ingest_candidate_change", args=[candidate.pk]),
        reverse("admin:ingest_candidate_review", args=[candidate.pk]),
    ]
    for url in pages:
        page.goto(f"{page.base}{url}")
        page.wait_for_load_state("networkidle")
        if "zoneversion" in url and url.endswith("/change/"):
            # The widget's context: neighbouring zones labelled with their zone's name, and a
            # legend of factions.
            page.wait_for_selector('#id_geom-map[data-cm-neighbours="2024-12-02"]', timeout=20000)
            assert payload("zone") in " ".join(page.locator(".cm-zone-label").all_inner_texts())
        assert page.fired() == [], url
        assert page.dialogs == [], url
        assert page.locator("img[src^='/xss-']").count() == 0, url
    page.goto(f"{page.base}{reverse('admin:ingest_candidate_change', args=[candidate.pk])}")
    assert payload("sentence") in page.locator("body").inner_text()
    page.goto(f"{page.base}{reverse('admin:ingest_candidate_review', args=[candidate.pk])}")
    assert payload("sentence") in page.locator("#cm-review-text").inner_text()
