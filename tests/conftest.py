"""Shared fixtures: real PostGIS through pytest-django; factories with non-overlapping shapes."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Iterator

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import transaction

_counter = itertools.count(1)


def square(x: float, y: float, size: float = 0.1) -> MultiPolygon:
    """A square with its south-west corner at (x, y), counter-clockwise (RFC 7946 exterior)."""
    ring = ((x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y))
    return MultiPolygon(Polygon(ring), srid=4326)


def named_factory(model, label: str):
    """Create rows of `model`, each with a name and slug of its own unless given."""

    def make(**kwargs):
        n = next(_counter)
        kwargs.setdefault("name", f"{label} {n}")
        kwargs.setdefault("slug", f"{label.lower()}-{n}")
        return model.objects.create(**kwargs)

    return make


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    """The API's rate limit is off in tests (a browser test alone makes hundreds of requests
    from one address); tests/security/test_api_abuse.py turns it on."""
    settings.RATE_LIMIT = "off"


@pytest.fixture
def make_faction(db):
    from conflictmap.territory.models import Faction

    return named_factory(Faction, "Faction")


@pytest.fixture
def make_zone(db):
    from conflictmap.territory.models import Zone

    return named_factory(Zone, "Zone")


@pytest.fixture
def make_version(db, make_zone, make_faction):
    from conflictmap.territory.models import Status, ZoneVersion

    def make(**kwargs):
        if "zone" not in kwargs:
            kwargs["zone"] = make_zone()
        if "faction" not in kwargs:
            kwargs["faction"] = make_faction()
        kwargs.setdefault("geom", square(36.0 + next(_counter) * 0.2, 35.0))
        kwargs.setdefault("valid_from", dt.date(2024, 11, 26))
        kwargs.setdefault("status", Status.PUBLISHED)
        return ZoneVersion.objects.create(**kwargs)

    return make


@pytest.fixture
def make_event(db):
    from conflictmap.events.models import Event, EventType
    from conflictmap.territory.models import Status

    def make(**kwargs):
        kwargs.setdefault("date", dt.date(2024, 11, 30))
        kwargs.setdefault("event_type", EventType.BATTLES)
        kwargs.setdefault("sub_event_type", "Armed clash")
        kwargs.setdefault("geom", Point(37.16, 36.2, srid=4326))
        kwargs.setdefault("status", Status.PUBLISHED)
        return Event.objects.create(**kwargs)

    return make


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, loaded once per test module inside a transaction rolled back afterwards.

    Each test's own `db` transaction nests in it as a savepoint, so tests see the demo and leave
    nothing behind, and the load is paid once per module instead of once per test. (The browser
    tests, whose live server needs committed data, have their own `demo` in tests/web.)
    """
    from conflictmap.territory.demo import load_demo

    with django_db_blocker.unblock(), transaction.atomic():
        summary = load_demo()
        yield summary
        transaction.set_rollback(True)


# Debian's Chromium, driven by Playwright (never a browser Playwright downloads).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Chromium for the whole run (map and admin browser tests)."""
    from playwright import sync_api

    assert os.path.exists(CHROMIUM), "Debian's chromium is missing: `make test` installs it"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def wait_until(page, predicate: str, timeout: float = 30.0, interval: float = 0.05) -> None:
    """Poll a JavaScript expression or function in the page until it is truthy.

    Instead of Playwright's wait_for_function: that one compiles its predicate with eval inside
    the page, and the site's Content-Security-Policy (no 'unsafe-eval') refuses that whenever
    Playwright's CSP exemption loses a race (microsoft/playwright#36982). page.evaluate runs
    through the DevTools protocol, which the policy does not govern."""
    import time

    source = predicate if "=>" in predicate.split("{")[0] else f"() => ({predicate})"
    deadline = time.monotonic() + timeout
    while not page.evaluate(source):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {predicate}")
        time.sleep(interval)
