"""/healthz: is every service the dashboard needs up?"""

from __future__ import annotations

import ipaddress
import time

import redis
from django.conf import settings
from django.db import connection, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from conflictmap import replica


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT postgis_lib_version(), current_setting('server_version')")
        postgis, server = cursor.fetchone()
    return {"ok": True, "postgresql": server, "postgis": postgis}


def _check_replica() -> dict:
    """The read replica answers; how far behind it is (the age of the last transaction it
    replayed: it also grows while the primary is idle, so it is reported, not judged)."""
    with connections[replica.REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT pg_is_in_recovery(),"
            " extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float"
        )
        in_recovery, age = cursor.fetchone()
    return {
        "ok": True,
        "in_recovery": in_recovery,
        "replay_age_s": round(age, 3) if age is not None else None,
    }


def _check_redis() -> dict:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
        return {"ok": True, "version": client.info("server").get("redis_version")}
    finally:
        client.close()


def _check_celery() -> dict:
    from conflictmap.celery import app

    # limit=1: answer as soon as one worker replies instead of always waiting out the timeout
    # (a broadcast cannot know how many workers there are).
    replies = app.control.ping(
        timeout=float(getattr(settings, "HEALTHZ_CELERY_TIMEOUT", 1.0)), limit=1
    )
    workers = sorted(name for reply in replies for name in reply)
    if not workers:
        return {"ok": False, "error": "no Celery worker answered the ping", "workers": []}
    return {"ok": True, "workers": workers}


# Headers a proxy adds: a request carrying one came through a proxy on this machine, so its
# loopback address says nothing about who sent it.
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def may_see_details(request: HttpRequest) -> bool:
    """Staff, or a request made on this machine (a load balancer's or container's probe) that no
    proxy forwarded. Versions, worker host names and error texts help an attacker; a visitor
    learns only up or down."""
    if request.user.is_authenticated and request.user.is_staff:
        return True
    try:
        local = ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False
    return local and not any(request.META.get(header) for header in PROXY_HEADERS)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Database (and its read replica, if any), PostGIS, Redis and Celery workers; 503 when any
    of them is down. Only staff and local probes see each check."""
    checks: dict[str, dict] = {}
    services = [("database", _check_database)]
    if replica.replica_configured():
        services.append(("replica", _check_replica))
    services += [("redis", _check_redis), ("celery", _check_celery)]
    for name, check in services:
        started = time.monotonic()
        try:
            result = check()
        except Exception as exc:  # a health check reports every failure, whatever it is
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        result["ms"] = round((time.monotonic() - started) * 1000, 1)
        checks[name] = result
    ok = all(c["ok"] for c in checks.values())
    body = {"ok": ok, "checks": checks} if may_see_details(request) else {"ok": ok}
    return JsonResponse(body, status=200 if ok else 503)
