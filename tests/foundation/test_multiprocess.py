"""Nothing assumes one process: two gunicorn processes and two Celery workers on one database and
one (private) Redis, as behind a load balancer.

An editor signs in on one web process and uploads on both (the session lives in the database);
the two workers share the work, each item done exactly once (claims are conditional updates,
and every task is delivered a second time to make them race); and both web processes serve
the same state, before and after a change that neither of them made.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models import Count

from conflictmap.events.models import Event, Place
from conflictmap.ingest import extract, pipeline
from conflictmap.ingest.models import Candidate, ImportRun, Report
from conflictmap.ingest.pipeline import queueing
from conflictmap.territory.models import Faction, ZoneVersion
from tests.foundation.serving import ROOT, Browser, free_port, gunicorn, wait_for
from tests.ingest.test_worker import RedisServer

pytestmark = [pytest.mark.worker, pytest.mark.slow]

SAMPLES = ROOT / "tests" / "data" / "ingest"
N = 120  # feed entries: enough that two workers both get some
PASSWORD = "a-long-passphrase-2"
PLACES = [("Manbij", 37.9495, 36.5281), ("Idlib", 36.6339, 35.9306), ("Saraqib", 36.8, 35.8643)]
ZONES_DAY = "2024-12-05"


def feed(n: int) -> bytes:
    """An RSS feed of n different reports (generated, not real)."""
    items = "".join(
        f"<item><title>Report {i}</title><link>https://multi.example/r/{i}</link>"
        f"<guid>multi-{i}</guid><pubDate>Sun, 01 Dec 2024 09:30:00 +0000</pubDate>"
        f"<description>Report {i}: clashes near {PLACES[i % 3][0]} yesterday, a monitor said. "
        f"Shelling hit {PLACES[(i + 1) % 3][0]} on Saturday.</description></item>"
        for i in range(n)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Multi-process test feed</title><link>https://multi.example/</link>{items}"
        "</channel></rss>"
    ).encode()


class Worker:
    """A Celery worker process with one pool process, logging each task's result."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "conflictmap", "worker",
             "-n", f"{name}@%h", "-c", "1", "--pool", "prefork", "-l", "info",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def ready(self) -> bool:
        assert self.proc.poll() is None, self.log.read_text()[-3000:]
        return " ready." in self.log.read_text()

    def results(self, task: str) -> list[str]:
        """What each `task` this worker ran returned, in order."""
        return re.findall(rf"{re.escape(task)}\[[0-9a-f-]+\] succeeded in \S+: (.*)", self.log.read_text())  # fmt: skip

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def deployment(transactional_db, tmp_path) -> Iterator[tuple[str, str, list[Worker], str]]:
    """Two web processes and two workers on the test database and a private Redis:
    (web A's URL, web B's URL, the workers, the broker URL)."""
    redis = RedisServer(free_port(), tmp_path)
    redis.start()
    broker = f"redis://127.0.0.1:{redis.port}/0"
    env = {
        "DATABASE_URL": _database_url(),
        "REDIS_URL": broker,
        "CELERY_BROKER_URL": broker,
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
    }
    workers: list[Worker] = []
    try:
        workers = [Worker(n, {**os.environ, **env}, tmp_path / f"{n}.log") for n in ("w1", "w2")]
        with (
            gunicorn(env, tmp_path / "web-a.log") as web_a,
            gunicorn(env, tmp_path / "web-b.log") as web_b,
        ):
            assert wait_for(lambda: all(w.ready() for w in workers), 60)
            yield web_a, web_b, workers, broker
    finally:
        for worker in workers:
            worker.stop()
        redis.stop()


def _database_url() -> str:
    """The test database (the one this process uses), as a URL for the other processes."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgis://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def upload(editor: Browser, kind: str, filename: str, content: bytes, **fields: str) -> int:
    """Upload a file in the admin, handed to the workers; the run's id."""
    status, headers, body = editor.post_form(
        "/admin/ingest/importrun/upload/",
        {"kind": kind, "confidence": "confirmed", "background": "on", **fields},
        files={"file": (filename, content)},
    )
    assert status == 302, body.decode(errors="replace")[-3000:]
    return int(re.search(r"/importrun/(\d+)/", headers["Location"]).group(1))


def get(base: str, path: str) -> tuple[str, bytes]:
    status, headers, body = Browser(base).request(path)
    assert status == 200, (base, path, status, body[:300])
    return headers["ETag"], body


def test_two_web_processes_and_two_workers_share_one_database_and_redis(deployment, monkeypatch):
    web_a, web_b, workers, broker = deployment
    Faction.objects.create(slug="test-holder", name="Test holder", colour="#336699")
    for name, lon, lat in PLACES:
        Place.objects.create(name=name, geom=Point(lon, lat, srid=4326), population=100000)
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("editor", "editor@example.org", PASSWORD)

    # Both web processes answer the same before anything happens.
    zones_path = f"/api/v1/zones?date={ZONES_DAY}"
    events_path = "/api/v1/events?start=2024-11-01&end=2024-12-31"
    assert get(web_a, zones_path) == get(web_b, zones_path)
    empty_events = get(web_a, events_path)
    assert empty_events == get(web_b, events_path)

    # Signed in on A, the editor is signed in on B too: the session is in the database.
    editor = Browser(web_a)
    editor.sign_in("editor", PASSWORD)
    feed_run = upload(editor, "feed", "multi.rss", feed(N))
    # Published at upload (the superuser is a publisher): imports create drafts otherwise, and
    # the visitors' answers compared below show published data only.
    acled_run = upload(editor.at(web_b), "acled", "acled.csv", (SAMPLES / "acled_sample.csv").read_bytes(), publish="on")  # fmt: skip

    def runs_done() -> bool:
        states = set(ImportRun.objects.values_list("state", flat=True))
        assert not states & {"failed"}, list(ImportRun.objects.values("pk", "error"))
        return states == {"done"}

    def reports_done() -> bool:
        return Report.objects.filter(state=Report.State.PROCESSED).count() == N

    assert wait_for(runs_done, 90, step=0.5)
    # Every task delivered once more, racing the first delivery (or finding the work done).
    monkeypatch.setenv("CELERY_BROKER_URL", broker)  # Celery prefers it to its argument
    sender = Celery(broker=broker)
    try:
        for pk in Report.objects.values_list("pk", flat=True):
            sender.send_task(queueing.PROCESS_REPORT, args=[pk])
        for pk in (feed_run, acled_run):
            sender.send_task(queueing.PROCESS_RUN, args=[pk])
    finally:
        sender.close()
    assert wait_for(reports_done, 90, step=0.5)

    # Exactly once: one claim per report and per run, one set of candidates per report.
    assert Report.objects.count() == N
    assert set(Report.objects.values_list("attempts", flat=True)) == {1}
    assert set(ImportRun.objects.values_list("attempts", flat=True)) == {1}
    gazetteer = extract.get_gazetteer(force_check=True)
    expected = {
        r.pk: len(extract.extract(r.text, pipeline.report_date(r), gazetteer))
        for r in Report.objects.all()
    }
    counts = dict(Candidate.objects.values_list("report_id").annotate(n=Count("id")))
    assert sum(expected.values()) > 0
    assert {pk: counts.get(pk, 0) for pk in expected} == expected
    # ... shared by the two workers: each processed some reports, together all of them once, and
    # every second delivery found its report already claimed.
    assert wait_for(lambda: sum(len(w.results(queueing.PROCESS_REPORT)) for w in workers) == 2 * N, 30)  # fmt: skip
    done = [w.results(queueing.PROCESS_REPORT).count("True") for w in workers]
    assert sum(done) == N and min(done) > 0, done
    assert Event.objects.count() == 7  # the ACLED sample's good rows, imported once

    # Both web processes serve the new events alike (a bulk import: no history row).
    events = get(web_a, events_path)
    assert events == get(web_b, events_path) and events != empty_events
    assert events[1].count(b'"type":"Feature"') == 7

    # A change neither web process made (a control map processed by a worker, uploaded on B)
    # is served by both at once: their per-process caches are keyed by the database's state.
    zones_before = get(web_a, zones_path)
    assert get(web_b, zones_path) == zones_before
    upload(
        editor.at(web_b), "zones", "control_map.geojson", (SAMPLES / "control_map.geojson").read_bytes(),
        faction="test-holder", date=ZONES_DAY, publish="on", url="https://example.org/control-map",
    )  # fmt: skip
    assert wait_for(runs_done, 60, step=0.5)
    assert ZoneVersion.objects.filter(valid_from=dt.date.fromisoformat(ZONES_DAY)).exists()
    zones_after = get(web_b, zones_path)
    assert zones_after != zones_before
    assert get(web_a, zones_path) == zones_after
    assert b"test-holder" in zones_after[1]
