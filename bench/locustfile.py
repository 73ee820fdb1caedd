"""Visitors of the map, for `make loadtest` (bench/loadtest.py runs locust on this file).

A visitor arrives (the map page and the requests the page makes at once), then looks around: moves
the time slider (zones and front lines of a date), pans and zooms (event tiles of a 30-day
window), opens the events of a week, compares two dates, and now and then downloads an export.
Dates are random within the data's extent, so caches help only as much as they would with real
visitors spread over fourteen years. Requests are grouped by endpoint in the report (`name=`).

Every request must answer 200 within NETWORK_TIMEOUT seconds: anything else is a failure, and
a failure fails the run.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import urllib.request

from locust import FastHttpUser, between, events, task

NETWORK_TIMEOUT = 30.0
SYRIA = (35.7, 32.3, 42.4, 37.3)  # W, S, E, N
# Filled at the start of the run from /api/v1/extent.
EXTENT = {"first": dt.date(2011, 3, 15), "last": dt.date(2024, 12, 31)}


@events.test_start.add_listener
def read_extent(environment, **kwargs) -> None:
    with urllib.request.urlopen(environment.host + "/api/v1/extent", timeout=30) as response:
        extent = json.load(response)
    EXTENT["first"] = dt.date.fromisoformat(extent["first_date"])
    EXTENT["last"] = dt.date.fromisoformat(extent["last_date"])


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


class Visitor(FastHttpUser):
    # A person reads what they asked for before the next click.
    wait_time = between(0.5, 2.0)
    network_timeout = NETWORK_TIMEOUT
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.arrive()

    def day(self) -> dt.date:
        first, last = EXTENT["first"], EXTENT["last"]
        return first + dt.timedelta(days=random.randrange((last - first).days + 1))

    def get(self, path: str, name: str, *, may_be_empty: bool = False) -> None:
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif not response.content and not may_be_empty:
                response.failure("empty body")

    @task(1)
    def arrive(self) -> None:
        """The map page, then what it asks for before the first paint (as static/js/map/page.js)."""
        first, last = EXTENT["first"].isoformat(), EXTENT["last"].isoformat()
        span = (EXTENT["last"] - EXTENT["first"]).days
        chart = "day" if span <= 120 else "week" if span <= 3 * 366 else "month"
        counts = "week" if span <= 900 * 7 else "month"
        self.get("/", "/ (map page)")
        # The zones of the date only (generalised for the opening zoom), then the state of the
        # next change as a difference from it (static/js/map/perdate.js).
        self.get(f"/api/v1/zones?date={last}&zoom=7", "/api/v1/zones?date&zoom")
        self.get(
            f"/api/v1/zones?date={last}&zoom=7&base={(EXTENT['last'] - dt.timedelta(days=1)).isoformat()}",
            "/api/v1/zones?date&zoom&base",
        )
        self.get(f"/api/v1/stats/area?from={first}&to={last}&step={chart}", "/api/v1/stats/area")
        self.get(
            f"/api/v1/stats/events?from={first}&to={last}&step={counts}&by=type",
            "/api/v1/stats/events",
        )
        self.get("/api/v1/regions", "/api/v1/regions")
        self.get("/api/v1/places", "/api/v1/places")
        self.get(f"/api/v1/frontlines?date={last}", "/api/v1/frontlines?date")
        self.week_of_events(EXTENT["last"])

    @task(8)
    def slider_step(self) -> None:
        """The state of a day as the page asks for it: a difference from the day before."""
        day = self.day()
        base = (day - dt.timedelta(days=1)).isoformat()
        self.get(f"/api/v1/zones?date={day}&zoom=7&base={base}", "/api/v1/zones?date&zoom&base")

    @task(4)
    def front_lines(self) -> None:
        self.get(f"/api/v1/frontlines?date={self.day()}", "/api/v1/frontlines?date")

    @task(6)
    def pan_and_zoom(self) -> None:
        """The event tiles of a viewport: four neighbours at zoom 6-10, a 30-day window."""
        z = random.randint(6, 10)
        x, y = tile_xy(random.uniform(SYRIA[0], SYRIA[2]), random.uniform(SYRIA[1], SYRIA[3]), z)
        end = self.day()
        window = f"start={end - dt.timedelta(days=29)}&end={end}"
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            self.get(
                f"/api/v1/tiles/events/{z}/{x + dx}/{y + dy}.mvt?{window}",
                "/api/v1/tiles/events (30 days)",
                may_be_empty=True,  # a tile with no event in it is an empty MVT
            )

    @task(3)
    def events_of_a_week(self) -> None:
        self.week_of_events(self.day())

    def week_of_events(self, end: dt.date) -> None:
        start = end - dt.timedelta(days=6)
        self.get(f"/api/v1/events?start={start}&end={end}", "/api/v1/events (7 days)")

    @task(1)
    def compare(self) -> None:
        a, b = sorted((self.day(), self.day()))
        self.get(f"/api/v1/changes?from={a}&to={b}", "/api/v1/changes")

    @task(1)
    def export(self) -> None:
        """A download: a month of events as CSV, or the zones of a date as GeoJSON."""
        end = self.day()
        if random.random() < 0.5:
            start = end - dt.timedelta(days=29)
            self.get(
                f"/api/v1/events?start={start}&end={end}&format=csv&download=1",
                "/api/v1/events (30 days, CSV export)",
            )
        else:
            self.get(f"/api/v1/zones?date={end}&download=1", "/api/v1/zones?date (export)")
