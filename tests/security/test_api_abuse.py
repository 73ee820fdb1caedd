"""The public API under abuse: a per-client rate limit kept in Redis (429 + Retry-After), a
statement time limit that answers 503 instead of holding a worker, and responses made for a
signed-in user never cacheable by a shared cache."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def an_address() -> str:
    """A client address of its own for each test run: the counters live in Redis."""
    return f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.fixture
def limited(settings):
    settings.RATE_LIMIT = "5/3600"
    return an_address()


@pytest.mark.django_db
def test_a_burst_from_one_address_is_answered_429_with_retry_after(client, limited):
    for _ in range(5):
        assert client.get("/api/v1/factions", REMOTE_ADDR=limited).status_code == 200
    refused = client.get("/api/v1/factions", REMOTE_ADDR=limited)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert refused.json()["error"].startswith("Too many requests: at most 5 every 3600 s")
    # Another address is not affected; the map page itself is not limited.
    assert client.get("/api/v1/factions", REMOTE_ADDR=an_address()).status_code == 200
    assert client.get("/", REMOTE_ADDR=limited).status_code == 200


@pytest.mark.django_db
def test_without_the_limit_a_burst_is_served_whole(client, settings):
    """What the limit stops: with it off, one address is served as often as it asks."""
    settings.RATE_LIMIT = "off"
    address = an_address()
    assert {client.get("/api/v1/factions", REMOTE_ADDR=address).status_code for _ in range(30)} == {
        200
    }


@pytest.mark.django_db
def test_the_count_is_shared_by_every_process(client, limited, settings):
    for _ in range(4):
        client.get("/api/v1/factions", REMOTE_ADDR=limited)
    # Another process (another gunicorn worker, another machine) counts into the same window.
    code = f"from conflictmap.api import guard; print(guard.over_limit({limited!r}, (5, 3600)))"
    other = subprocess.run(
        [sys.executable, "manage.py", "shell", "--verbosity", "0", "-c", code],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert other.stdout.strip() == "None", other.stderr  # the 5th request: still allowed
    assert client.get("/api/v1/factions", REMOTE_ADDR=limited).status_code == 429


@pytest.mark.django_db
def test_signed_in_editors_are_not_limited(admin_client, limited):
    for _ in range(8):
        assert admin_client.get("/api/v1/factions", REMOTE_ADDR=limited).status_code == 200


def test_a_malformed_rate_limit_is_refused(settings):
    from django.core.exceptions import ImproperlyConfigured

    from conflictmap.api.guard import rate_limit

    settings.RATE_LIMIT = "many"
    with pytest.raises(ImproperlyConfigured, match="RATE_LIMIT='many' is not requests/seconds"):
        rate_limit()
    settings.RATE_LIMIT = "120/60"
    assert rate_limit() == (120, 60)


# --- the statement time limit -------------------------------------------------------------------


@pytest.fixture
def locked_zones(transactional_db):
    """Another session holding an exclusive lock on the zone versions: any read of them waits,
    as a visitor's request would behind a slow query."""
    params = connection.settings_dict
    holder = psycopg.connect(
        dbname=params["NAME"], user=params["USER"], password=params["PASSWORD"] or None,
        host=params["HOST"] or None, port=params["PORT"] or None,
    )  # fmt: skip
    holder.execute("LOCK TABLE territory_zoneversion IN ACCESS EXCLUSIVE MODE")
    yield holder
    holder.rollback()
    holder.close()


def test_a_query_past_the_time_limit_is_answered_503_not_a_hung_worker(
    client, settings, locked_zones
):
    settings.PUBLIC_STATEMENT_TIMEOUT = 1
    started = time.monotonic()
    response = client.get("/api/v1/zones?date=2024-12-01")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json()["error"].startswith("The query took longer than 1 s and was stopped")
    assert response["Retry-After"] == "30"
    # The connection is back to no limit for what the thread serves next.
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


def test_without_the_time_limit_the_request_waits_as_long_as_the_query(
    client, settings, locked_zones
):
    """What the limit stops: with it off, the request holds its worker until the lock goes."""
    settings.PUBLIC_STATEMENT_TIMEOUT = 0
    answers: list[int] = []
    worker = threading.Thread(
        target=lambda: answers.append(client.get("/api/v1/zones?date=2024-12-01").status_code)
    )
    worker.start()
    worker.join(timeout=3)
    assert worker.is_alive() and answers == []
    locked_zones.rollback()  # the slow query ends
    worker.join(timeout=30)
    assert answers == [200]


def test_signed_in_users_have_no_statement_limit(admin_client, settings, locked_zones):
    settings.PUBLIC_STATEMENT_TIMEOUT = 1
    answers: list[int] = []
    worker = threading.Thread(
        target=lambda: answers.append(admin_client.get("/api/v1/zones?date=2024-12-01").status_code)
    )
    worker.start()
    worker.join(timeout=2.5)
    assert answers == []
    locked_zones.rollback()
    worker.join(timeout=30)
    assert answers == [200]


# --- caching ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/api/v1/zones?date=2024-12-01", "/api/v1/factions", "/api/v1/extent", "/"]
)
def test_a_response_made_for_a_signed_in_user_is_private(client, admin_client, url):
    mine = admin_client.get(url)
    assert "private" in mine["Cache-Control"]
    assert "public" not in mine["Cache-Control"]
    assert "Cookie" in mine["Vary"]
    visitors = client.get(url)
    assert "private" not in visitors.get("Cache-Control", "")
    assert visitors.status_code == 200


# --- parameters ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/tiles/events/0/0/-1.mvt", "y"),  # was the resolver's 404, not in the schema
        ("/api/v1/tiles/events/3/-2/0.mvt", "x"),
        ("/api/v1/tiles/events/-1/0/0.mvt", "z"),
        ("/api/v1/tiles/events/23/0/0.mvt", "z"),
        ("/api/v1/tiles/events/2/4/0.mvt", "x"),
        ("/api/v1/tiles/events/99999999999999999999/0/0.mvt", "z"),
        ("/api/v1/tiles/events/0/0/null,null.mvt", "y"),  # schemathesis' next finding
    ],
)
def test_a_tile_out_of_range_is_a_documented_400(client, url, parameter):
    response = client.get(url)
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter
