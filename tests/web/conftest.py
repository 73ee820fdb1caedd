"""Browser tests of the map page: Debian's Chromium driven by Playwright against live_server.

Nothing here reaches the internet: every request that is not to the live server is aborted, so
base tiles never load and the map must stand on its own layers.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from django.core.management import call_command, get_commands

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run inside one
# unless told it is safe (it is: the tests do not share connections with the loop).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "screenshots")

ALEPPO = (36.201, 37.161)
MANBIJ = (36.528, 37.955)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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
    """The project's demo data (load_demo) or, until that command exists, a small stand-in."""
    if "load_demo" in get_commands():
        call_command("load_demo", verbosity=0)
    else:
        build_stand_in_demo()


def _box(w: float, s: float, e: float, n: float):
    from django.contrib.gis.geos import MultiPolygon, Polygon

    return MultiPolygon(Polygon.from_bbox((w, s, e, n)), srid=4326)


def build_stand_in_demo() -> None:
    """A few zones and events with the demo's key changes (Aleppo, Tal Rifaat, Manbij)."""
    from django.contrib.gis.geos import Point

    from conflictmap.events.models import Event, EventActor, Place, Source
    from conflictmap.territory.models import Faction, Region, Status, Zone, ZoneVersion

    day = dt.date
    gov = Faction.objects.create(
        slug="syrian-government", name="Syrian government", colour="#c0392b"
    )
    hts = Faction.objects.create(
        slug="hts", name="Hayat Tahrir al-Sham", name_ar="هيئة تحرير الشام", colour="#2c3e50"
    )
    sna = Faction.objects.create(slug="sna", name="Syrian National Army", colour="#27ae60")
    sdf = Faction.objects.create(slug="sdf", name="Syrian Democratic Forces", colour="#f1c40f")
    turkey = Faction.objects.create(
        slug="turkey", name="Turkey", colour="#e74c3c", kind="foreign_state"
    )
    sna.backed_by.add(turkey)
    source = Source.objects.create(
        url="https://example.org/report", publisher="Example", title="Report"
    )
    Region.objects.create(
        slug="syria",
        name="Syria",
        name_ar="سوريا",
        level="country",
        geom=_box(35.7, 32.3, 42.4, 37.3),
        approximate=True,
    )
    Region.objects.create(
        slug="aleppo-gov",
        name="Aleppo",
        name_ar="حلب",
        level="governorate",
        geom=_box(36.5, 35.6, 38.6, 36.9),
        approximate=True,
    )
    Place.objects.create(
        name="Aleppo",
        name_ar="حلب",
        kind="city",
        geom=Point(ALEPPO[1], ALEPPO[0]),
        population=1800000,
    )
    Place.objects.create(
        name="Manbij",
        name_ar="منبج",
        kind="city",
        geom=Point(MANBIJ[1], MANBIJ[0]),
        population=100000,
    )

    def zone(slug: str, geom, periods) -> None:
        z = Zone.objects.create(slug=slug, name=slug.replace("-", " ").title())
        for faction, start, end in periods:
            v = ZoneVersion.objects.create(
                zone=z,
                faction=faction,
                geom=geom,
                valid_from=start,
                valid_to=end,
                status=Status.PUBLISHED,
            )
            v.sources.add(source)

    zone("idlib-pocket", _box(36.2, 35.6, 36.95, 36.35), [(hts, day(2024, 11, 26), None)])
    zone(
        "aleppo-city",
        _box(37.05, 36.12, 37.27, 36.28),
        [(gov, day(2024, 11, 26), day(2024, 11, 30)), (hts, day(2024, 11, 30), None)],
    )
    zone(
        "tal-rifaat",
        _box(37.0, 36.4, 37.2, 36.55),
        [(sdf, day(2024, 11, 26), day(2024, 12, 2)), (sna, day(2024, 12, 2), None)],
    )
    zone(
        "manbij",
        _box(37.8, 36.42, 38.1, 36.62),
        [(sdf, day(2024, 11, 26), day(2024, 12, 9)), (sna, day(2024, 12, 9), None)],
    )
    zone("northern-countryside", _box(36.6, 36.56, 37.8, 36.85), [(sna, day(2024, 11, 26), None)])
    for when, lat, lng, kind, fatalities in [
        (day(2024, 11, 29), 36.2, 37.05, "Battles", 12),
        (day(2024, 12, 8), 36.53, 37.9, "Battles", None),
        (day(2024, 12, 1), 36.47, 37.1, "Strategic developments", None),
        (day(2024, 12, 15), 36.6, 38.2, "Battles", 3),
    ]:
        event = Event.objects.create(
            date=when,
            event_type=kind,
            geom=Point(lng, lat),
            fatalities=fatalities,
            status=Status.PUBLISHED,
            summary="Stand-in event",
            location_name="near the front",
        )
        event.sources.add(source)
        EventActor.objects.create(event=event, faction=hts if lng < 37.5 else sna, role="actor1")
