"""Ingestion fixtures: a small gazetteer and the demo's faction slugs, as tests need them."""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point

DATA = Path(__file__).resolve().parent.parent / "data" / "ingest"

FACTIONS = [
    ("syrian-government", "Syrian government", "Military Forces of Syria (2000-2024)", "state"),
    ("russia", "Russia", "Military Forces of Russia (2000-)", "foreign_state"),
    ("iran", "Iran", "Islamic Revolutionary Guard Corps", "foreign_state"),
    ("hezbollah", "Hezbollah", "Hezbollah", "militia"),
    ("hts", "Hayat Tahrir al-Sham", "Hayat Tahrir al Sham", "jihadist"),
    ("sna", "Syrian National Army", "SNA: Syrian National Army", "rebel"),
    ("turkey", "Turkey", "Military Forces of Turkey (2016-)", "foreign_state"),
    ("sdf", "Syrian Democratic Forces", "SDF: Syrian Democratic Forces", "militia"),
    ("isis", "Islamic State", "Islamic State (Syria)", "jihadist"),
    ("us-coalition", "US-led coalition", "Military Forces of the United States (2021-)", "coalition"),
    ("israel", "Israel", "Military Forces of Israel (2022-)", "foreign_state"),
    ("southern-groups", "Southern groups", "Southern Operations Room", "rebel"),
]  # fmt: skip

PLACES = [
    ("Manbij", "منبج", [], 37.9495, 36.5281, 100000),
    ("Idlib", "إدلب", [], 36.6339, 35.9306, 165000),
    ("Tal Rifaat", "تل رفعت", [], 37.0978, 36.4728, 20000),
    ("Aleppo", "حلب", ["Halab"], 37.1612, 36.2021, 2000000),
    ("Hama", "حماة", [], 36.7500, 35.1318, 700000),
    ("Saraqib", "سراقب", ["Sarakeb"], 36.8000, 35.8643, 30000),
    ("Deir ez-Zor", "دير الزور", ["Deir Ezzor"], 40.1408, 35.3359, 200000),
    ("Ma‘arrat an Nu‘mān", "معرة النعمان", [], 36.6717, 35.6440, 60000),  # GeoNames spelling
    ("Al Qāmishlī", "القامشلي", [], 41.2264, 37.0525, 180000),
]


def wait_for(predicate, timeout: float, step: float = 0.2) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def reset_pools(app) -> None:
    """Drop the app's broker connections so the next publish connects to the new broker URL."""
    import kombu.pools

    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    kombu.pools.reset()  # kombu keeps producer pools per broker URL, process-wide


@pytest.fixture
def use_broker(monkeypatch):
    """Point this process's Celery app at another broker for one test. Celery reads
    CELERY_BROKER_URL from the environment before its own setting, so both change."""
    from conflictmap.celery import app

    def point(url: str) -> None:
        reset_pools(app)
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        monkeypatch.setitem(app.conf, "broker_url", url)

    yield point
    reset_pools(app)


@pytest.fixture(autouse=True)
def in_memory_broker_outside_worker_tests(request, use_broker):
    """Tests that start no worker process of their own publish to kombu's in-memory broker:
    nothing reaches a shared Redis, and each test starts with no message queued."""
    from kombu.transport.memory import Channel

    if request.node.get_closest_marker("worker") is None:
        use_broker("memory://")
    Channel.queues.clear()
    yield
    Channel.queues.clear()


@pytest.fixture
def in_process_worker(transactional_db, monkeypatch):
    """A real Celery worker in a thread of this process, consuming the in-memory broker: tasks
    run as in production (found by name, acks_late, retries) against the committed database."""
    from celery.contrib.testing.worker import start_worker

    from conflictmap.celery import app

    monkeypatch.setitem(app.conf, "worker_hijack_root_logger", False)  # keep pytest's log capture
    # The in-memory transport is polled (once a second by default): poll often, stop quickly.
    monkeypatch.setitem(app.conf, "broker_transport_options", {"polling_interval": 0.05})
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


@pytest.fixture
def factions(db):
    from conflictmap.territory.models import Faction

    return {
        slug: Faction.objects.create(slug=slug, name=name, aliases=[acled], kind=kind)
        for slug, name, acled, kind in FACTIONS
    }


@pytest.fixture
def gazetteer(db, factions):
    from conflictmap.events.models import Place
    from conflictmap.ingest import extract

    places = {
        name: Place.objects.create(
            name=name, name_ar=ar, alternate_names=alt, geom=Point(lon, lat, srid=4326),
            population=pop,
        )
        for name, ar, alt, lon, lat, pop in PLACES
    }  # fmt: skip
    extract.invalidate()
    yield places
    extract.invalidate()


@pytest.fixture
def sample():
    def read(name: str) -> bytes:
        return (DATA / name).read_bytes()

    return read


def queued_messages() -> list[tuple[str, list]]:
    """The task names and arguments waiting in the (in-memory) broker's default queue."""
    from conflictmap.celery import app

    found = []
    with app.connection_for_write() as conn:
        while (message := conn.default_channel.basic_get("celery", no_ack=True)) is not None:
            found.append((message.headers["task"], message.decode()[0]))
    return found


@pytest.fixture
def feed_server(sample, settings):
    """The RSS sample served on the loopback (allowed for this test), honouring its ETag; yields
    the feed's URL and the headers of each request it got."""
    body = sample("feed.rss")
    hits: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(dict(self.headers))
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", '"v1"')
            self.send_header("Last-Modified", "Sun, 01 Dec 2024 10:00:00 GMT")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    settings.INGEST_FETCH_ALLOW = ["127.0.0.1/32"]  # the test's own server, on the loopback
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.rss", hits
    server.shutdown()
    server.server_close()
