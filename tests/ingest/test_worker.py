"""A real Celery worker on a real (private) Redis: killed with SIGKILL, or its Redis restarted,
while 1,000 reports go through. Afterwards every report is processed and no candidate is doubled.

The Redis server here is our own, on a private port, started with --save "" so a restart loses
every queued message: the periodic sweep must bring the work back.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dj_database_url
import pytest
from django.db import connection, transaction
from django.db.models import Count

from conflictmap.ingest import extract, pipeline
from conflictmap.ingest.models import Candidate, Report

from .conftest import wait_for

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parents[2]
REDIS_PORT = int(os.environ.get("INGEST_TEST_REDIS_PORT", "6391"))
N = 400
CLAIM_TIMEOUT = 5
PLACES = ["Manbij", "Menbij", "Idleb", "Tell Refaat", "Aleppo", "Hama", "Saraqib", "منبج"]
ACTORS = ["HTS", "the SDF", "regime forces", "Turkish-backed factions", "Hezbollah", "Russian jets"]
WORDING = ["clashed with", "shelled positions of", "captured villages from", "fought"]
DAYS = ["yesterday", "on Tuesday", "on 27 November", "on Sunday"]


def article(i: int) -> str:
    """A short generated report; every one differs (the number), so none is deduplicated."""
    p, a, w, d = PLACES[i % 8], ACTORS[i % 6], WORDING[i % 4], DAYS[i % 4]
    b = ACTORS[(i + 1) % 6]
    return (
        f"Report {i}. {a} {w} {b} near {p} {d}, a monitor said. "
        f"Residents of {PLACES[(i + 3) % 8]} described a quiet night. "
        f"Airstrikes hit {PLACES[(i + 5) % 8]} later, killing {i % 9} people."
    )


class RedisServer:
    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir, self.proc = port, workdir, None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        assert wait_for(self.ready, 10), f"redis-server did not start on port {self.port}"

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(REDIS_PORT, tmp_path)
    if server.ready():
        pytest.fail(f"port {REDIS_PORT} is taken; set INGEST_TEST_REDIS_PORT to a free one")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker(redis_server, settings, use_broker):
    """Point this process's Celery app at the private Redis."""
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    use_broker(url)
    settings.INGEST_CLAIM_TIMEOUT = CLAIM_TIMEOUT
    return url


class Worker:
    """`celery worker` in its own process group (prefork, two children), with the test's
    database and broker, and any other settings as environment variables."""

    def __init__(self, broker_url: str, log: Path, **env: str) -> None:
        db = connection.settings_dict
        url = dj_database_url.parse(
            os.environ.get("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/x")
        )
        auth = url["USER"] + (f":{url['PASSWORD']}" if url.get("PASSWORD") else "")
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgis://{auth}@{url['HOST']}:{url['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": broker_url,
            "REDIS_URL": broker_url,
            "INGEST_CLAIM_TIMEOUT": str(CLAIM_TIMEOUT),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "conflictmap", "worker", "-l", "info",
             "-c", "2", "--pool", "prefork", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the whole worker: the main process and its pool children."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def worker(transactional_db, broker, tmp_path):
    w = Worker(broker, tmp_path / "worker.log")
    yield w
    w.kill()


def queue_reports() -> dict[int, int]:
    """Store N reports (queued on commit) and return the candidates each should get."""
    gaz = extract.get_gazetteer(force_check=True)
    expected = {}
    with transaction.atomic():
        for i in range(N):
            text = article(i)
            report = pipeline.store_report(
                text, url=f"https://test.example/r/{i}", queue=True
            ).report
            expected[report.pk] = len(extract.extract(text, pipeline.report_date(report), gaz))
    return expected


def processed() -> int:
    return Report.objects.filter(state=Report.State.PROCESSED).count()


def finish_with_sweeps(timeout: float) -> None:
    """What beat does in production, faster: sweep pending and stale work until all is done."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and processed() < N:
        pipeline.sweep(min_age=3)
        wait_for(lambda: processed() == N, 3)


def assert_each_report_processed_once(expected: dict[int, int]) -> None:
    assert Report.objects.count() == N
    states = dict(Report.objects.values_list("state").annotate(n=Count("id")))
    assert states == {Report.State.PROCESSED: N}
    counts = dict(Candidate.objects.values_list("report_id").annotate(n=Count("id")))
    assert {pk: counts.get(pk, 0) for pk in expected} == expected
    assert Candidate.objects.count() == sum(expected.values())
    pairs = Candidate.objects.values_list("report_id", "sentence_index")
    assert len(set(pairs)) == len(pairs)


def test_reports_survive_a_worker_killed_with_sigkill_and_restarted(gazetteer, worker):
    worker.start()
    expected = queue_reports()
    assert wait_for(lambda: processed() >= 100, 60), "the worker processed nothing"
    worker.kill()
    done_at_kill = processed()
    assert done_at_kill < N, "the worker finished before it could be killed"
    worker.start()
    finish_with_sweeps(75)
    assert_each_report_processed_once(expected)
    # The killed worker's unacknowledged messages stay hidden in Redis for the visibility
    # timeout (an hour): the sweep is what brought those reports back.
    assert Report.objects.filter(queued_at__isnull=False).exists()


def test_reports_survive_a_redis_restart_that_loses_every_queued_message(
    gazetteer, worker, redis_server
):
    worker.start()
    expected = queue_reports()
    assert wait_for(lambda: processed() >= 100, 60), "the worker processed nothing"
    redis_server.restart()  # --save "": the queue is gone
    lost_at_restart = N - processed()
    assert lost_at_restart > 0
    finish_with_sweeps(75)
    assert_each_report_processed_once(expected)
    # All but the few the worker held in memory (two per pool process) came back by the sweep.
    assert Report.objects.filter(queued_at__isnull=False).count() >= lost_at_restart - 4
