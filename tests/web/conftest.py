"""Browser tests of the map page: Debian's Chromium driven by Playwright against live_server.

Nothing here reaches the internet: every request that is not to the live server is aborted, so
base tiles never load and the map must stand on its own layers.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from django.core.management import call_command

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run inside one
# unless told it is safe (it is: the tests do not share connections with the loop).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "screenshots")

ALEPPO = (36.201, 37.161)
MANBIJ = (36.528, 37.955)


class MapPage:
    """A page on the live server that records console errors and blocks the outside world."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        host = urlparse(base_url).netloc

        def console(msg) -> None:
            # Requests to other hosts (base tiles) are aborted on purpose below; their failures
            # are expected. Anything else logged as an error fails the test.
            origin = urlparse(msg.location.get("url") or base_url).netloc
            if msg.type == "error" and origin == host:
                self.errors.append(msg.text)

        self.requests: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

        def route(route) -> None:
            if urlparse(route.request.url).netloc == host:
                route.continue_()
            else:
                route.abort()

        page.route("**/*", route)

    def open(self, query: str = "") -> None:
        self.page.goto(f"{self.base_url}/{query}")
        self.page.wait_for_selector("#map[data-drawn-date]", timeout=20000)

    def wait_for_date(self, date: str) -> None:
        self.page.wait_for_selector(f'#map[data-drawn-date="{date}"]', timeout=10000)

    def view(self) -> dict:
        return self.page.evaluate(
            """() => {
              const p = new URLSearchParams(location.search);
              const el = document.getElementById('map');
              return {lat: +p.get('lat'), lng: +p.get('lng'), z: +p.get('z'),
                      w: el.clientWidth, h: el.clientHeight};
            }"""
        )

    def pixel(self, lat: float, lng: float) -> tuple[float, float]:
        """Where (lat, lng) is on the page, by Web Mercator from the view in the URL."""
        v = self.view()

        def project(la: float, lo: float) -> tuple[float, float]:
            scale = 256 * 2 ** v["z"]
            s = math.sin(math.radians(la))
            return (lo + 180) / 360 * scale, (
                0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)
            ) * scale

        cx, cy = project(v["lat"], v["lng"])
        px, py = project(lat, lng)
        box = self.page.locator("#map").bounding_box()
        return box["x"] + v["w"] / 2 + px - cx, box["y"] + v["h"] / 2 + py - cy

    def faction_at(self, lat: float, lng: float) -> str | None:
        """Slug of the faction whose zone is drawn under (lat, lng), read from the SVG paths."""
        x, y = self.pixel(lat, lng)
        return self.page.evaluate(
            """([x, y]) => {
              const hit = document.elementsFromPoint(x, y)
                .find((el) => el.closest('.leaflet-zones-pane') && el.dataset && el.dataset.faction);
              return hit ? hit.dataset.faction : null;
            }""",
            [x, y],
        )

    def measures(self, name: str) -> list[float]:
        return self.page.evaluate(
            "(name) => performance.getEntriesByName(name).map((e) => e.duration)", name
        )

    def screenshot(self, name: str) -> None:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        self.page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=False)


@pytest.fixture
def map_page(browser, live_server, transactional_db) -> Iterator[MapPage]:
    # Asking for transactional_db here sets the database up before the page and flushes it only
    # after the page is closed: a flush under a page still fetching deadlocks with its queries.
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    page = context.new_page()
    yield MapPage(page, live_server.url)
    # Let requests in flight finish: a query still running when the database is flushed can
    # deadlock with the flush.
    page.wait_for_load_state("networkidle", timeout=30000)
    context.close()


@pytest.fixture
def demo(transactional_db) -> None:
    """The project's demo data, as `make run` loads it."""
    call_command("load_demo", verbosity=0)
