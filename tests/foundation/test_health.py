"""/healthz against the real services: PostGIS, Redis and a real Celery worker."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def celery_worker_process(settings):
    """A real worker process on the configured broker, stopped after the test."""
    env = dict(
        os.environ, REDIS_URL=settings.REDIS_URL, CELERY_BROKER_URL=settings.CELERY_BROKER_URL
    )
    name = f"healthz-{os.getpid()}@%h"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "conflictmap",
            "worker",
            "-P",
            "solo",
            "-n",
            name,
            "--without-gossip",
            "--without-mingle",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    from conflictmap.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            break
        if proc.poll() is not None:
            pytest.fail(f"the worker exited: {proc.stderr.read().decode()[-2000:]}")
    else:
        proc.kill()
        pytest.fail("the worker did not answer pings within 60 s")
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.mark.worker
@pytest.mark.django_db
def test_healthz_is_green_with_database_redis_and_a_worker(client, celery_worker_process):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["ok"] is True
    assert body["checks"]["database"]["postgis"].startswith("3.")
    assert body["checks"]["redis"]["ok"] is True
    assert any(w.startswith("healthz-") for w in body["checks"]["celery"]["workers"])


@pytest.mark.django_db
def test_healthz_answers_503_naming_celery_when_no_worker_runs(client, settings):
    settings.HEALTHZ_CELERY_TIMEOUT = 0.3
    from conflictmap.celery import app

    if app.control.ping(timeout=0.5):
        pytest.fail("a Celery worker is running on the test broker; stop it to run this test")
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["ok"] is False
    assert body["checks"]["celery"] == {
        "ok": False,
        "error": "no Celery worker answered the ping",
        "workers": [],
        "ms": body["checks"]["celery"]["ms"],
    }
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz_answers_503_naming_redis_when_it_is_unreachable(client, settings):
    settings.HEALTHZ_CELERY_TIMEOUT = 0.3
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    redis_check = response.json()["checks"]["redis"]
    assert redis_check["ok"] is False
    assert "ConnectionError" in redis_check["error"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "meta",
    [
        {"REMOTE_ADDR": "203.0.113.7"},
        # A proxy on this machine forwards a visitor: the loopback address is the proxy's.
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"},
        {"REMOTE_ADDR": "::1", "HTTP_FORWARDED": "for=203.0.113.7"},
    ],
    ids=["remote", "through-x-forwarded-for", "through-forwarded"],
)
def test_healthz_tells_a_visitor_only_up_or_down(client, settings, meta):
    settings.HEALTHZ_CELERY_TIMEOUT = 0.3
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz", **meta)
    assert response.status_code == 503
    # No versions, worker names or error texts for an attacker to read.
    assert response.json() == {"ok": False}


@pytest.mark.django_db
def test_healthz_gives_staff_every_check_from_anywhere(client, settings, django_user_model):
    settings.HEALTHZ_CELERY_TIMEOUT = 0.3
    staff = django_user_model.objects.create_user("ops", password="x", is_staff=True)
    client.force_login(staff)
    body = client.get("/healthz", REMOTE_ADDR="203.0.113.7").json()
    assert body["checks"]["database"]["postgis"].startswith("3.")
    visitor = django_user_model.objects.create_user("reader", password="x")
    client.force_login(visitor)
    assert set(client.get("/healthz", REMOTE_ADDR="203.0.113.7").json()) == {"ok"}
