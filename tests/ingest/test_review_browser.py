"""The review page in Chromium, under the site's Content-Security-Policy: the matches marked in the
report, the map's zones and nearby events drawn without any tile server, and the keys that reject
and accept, each moving on to the next candidate."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from conflictmap.ingest import extract, pipeline
from conflictmap.ingest.models import Candidate
from tests.conftest import wait_until
from tests.territory.test_admin_context import admin_page

__all__ = ["admin_page"]  # the signed-in page fixture of the admin's browser tests

SCREENSHOT = "/tmp/review.png"
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def store(text: str, published: dt.date) -> list[Candidate]:
    stored = pipeline.store_report(
        text, published_at=dt.datetime.combine(published, dt.time(12), tzinfo=dt.UTC)
    )
    assert pipeline.process_report(stored.report.pk)
    return list(stored.report.candidates.all())


@pytest.mark.browser
def test_the_review_page_marks_the_report_maps_the_candidate_and_reviews_by_keyboard(admin_page):
    page = admin_page
    extract.invalidate()  # the demo's gazetteer, loaded by the fixture
    [capture] = store(
        f"Editor's note: {HOSTILE} stays text.\n\nSNA fighters captured Tall Rif'at on Monday "
        "after clashes with the SDF, killing at least 12 fighters. Residents fled towards Aleppo.",
        dt.date(2024, 12, 3),
    )
    [strike] = store("Regime aircraft struck Manbij on Sunday.", dt.date(2024, 12, 3))
    assert capture.date == dt.date(2024, 12, 2) and strike.date == dt.date(2024, 12, 1)

    page.goto(f"{page.base}{reverse('admin:ingest_candidate_review', args=[capture.pk])}")
    report = page.locator("#cm-review-text")
    marked = {
        kind: report.locator(f"mark.cm-mark-{kind}").all_inner_texts()
        for kind in ("type", "actor", "place", "date", "number")
    }
    assert marked == {
        "type": ["captured"],
        "actor": ["SNA", "SDF"],
        "place": ["Tall Rif'at"],
        "date": ["Monday"],
        "number": ["killing at least 12"],
    }
    # The hostile note is text on the page, not markup.
    assert HOSTILE in report.inner_text()
    assert report.locator("script, img").count() == 0

    review_map = page.locator("#cm-review-map")
    page.wait_for_selector('#cm-review-map[data-cm-review="ready"]', timeout=20000)
    page.wait_for_selector('#cm-review-map[data-cm-neighbours="2024-12-02"]', timeout=20000)
    page.wait_for_selector('#cm-review-map[data-cm-context="ready"]', timeout=20000)
    assert review_map.locator("path.cm-review-candidate").count() == 1
    assert review_map.locator("path.cm-review-radius").count() == 1
    events = review_map.locator("path.cm-review-event")
    assert events.count() >= 2  # the demo's clashes and capture at Tall Rif'at, 1-2 Dec
    assert review_map.locator("path.cm-review-mergeable").count() >= 1
    zones = review_map.locator("path.cm-neighbour")
    assert zones.count() >= 5
    classes = " ".join(zones.evaluate_all("els => els.map(e => e.getAttribute('class'))"))
    for slug in ("sna", "sdf", "syrian-government"):
        assert f"cm-faction-{slug}" in classes, slug
    assert "Syrian National Army" in review_map.locator(".cm-legend").inner_text()
    # Clicking a mergeable event chooses it in the merge form.
    mergeable = review_map.locator("path.cm-review-mergeable").last
    mergeable.click(force=True)
    wait_until(page, "document.querySelectorAll('path.cm-review-chosen').length === 1")
    chosen = page.locator("input[name=event]:checked").get_attribute("value")
    assert chosen and page.locator(f"#cm-merge-{chosen}").is_checked()
    page.mouse.move(0, 0)  # its tooltip away, for the picture
    page.screenshot(path=SCREENSHOT, full_page=True)

    # r rejects it, and the next candidate waiting comes up.
    page.keyboard.press("r")
    strike_url = f"{page.base}{reverse('admin:ingest_candidate_review', args=[strike.pk])}"
    page.wait_for_url(strike_url, timeout=10000)
    assert f"Candidate {capture.pk} rejected." in page.locator(".messagelist").inner_text()
    capture.refresh_from_db()
    assert capture.state == "rejected"
    page.wait_for_selector('#cm-review-map[data-cm-review="ready"]', timeout=20000)

    # a accepts this one; it was the last, so the list comes back.
    page.keyboard.press("a")
    page.wait_for_url(f"{page.base}{reverse('admin:ingest_candidate_changelist')}", timeout=10000)
    strike.refresh_from_db()
    assert strike.state == "accepted" and strike.event.status == "draft"
    assert "That was the last candidate awaiting review." in page.content()
    assert page.errors == []
    # Nothing but base tiles was asked of another host (and those were refused): the page
    # stands without them.
    elsewhere = [url for url in page.requests if not url.startswith(page.base)]
    assert all(url.endswith(".png") for url in elsewhere), elsewhere
