"""The public API under abuse: a rate limit per client, held in Redis so that it holds across
every web process, and a time limit on the database statements of visitors' requests.

- RATE_LIMIT "N/S": at most N requests to /api/ per client address (conflictmap.clients) in
  each window of S seconds; the next is answered 429 with Retry-After (the seconds left in the
  window). Empty or "off": no limit (`make loadtest` turns it off). Signed-in users (editors,
  whose map widgets read the API) are not limited. Should Redis be down, requests go through
  (logged): the limit protects the site, it must not take it down.
- PUBLIC_STATEMENT_TIMEOUT seconds: each SQL statement of a visitor's API request may run that
  long (PostgreSQL's statement_timeout on the request's connections, reset when the response has
  been sent, streamed exports included); past it the request is answered 503 with a JSON error
  instead of holding a web worker. 0: no limit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import request_finished
from django.db import OperationalError, connections
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

from conflictmap import replica
from conflictmap.clients import client_address

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
_redis: redis.Redis | None = None


def rate_limit() -> tuple[int, int] | None:
    """RATE_LIMIT as (requests, seconds); None when off."""
    value = (settings.RATE_LIMIT or "").strip().lower()
    if value in ("", "off", "0"):
        return None
    count, _, seconds = value.partition("/")
    try:
        limit = int(count), int(seconds or 60)
    except ValueError:
        limit = (0, 0)
    if limit[0] < 1 or limit[1] < 1:
        raise ImproperlyConfigured(
            f"RATE_LIMIT={settings.RATE_LIMIT!r} is not requests/seconds (e.g. 600/60) or off"
        )
    return limit


def _client() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5
        )
    return _redis


def over_limit(client: str, limit: tuple[int, int]) -> int | None:
    """Count this request of `client` in the current window; the seconds until the window ends
    when it is over the limit, else None. One round trip (INCR and EXPIRE in a pipeline)."""
    count, seconds = limit
    now = time.time()
    window = int(now // seconds)
    key = f"conflictmap:ratelimit:{seconds}:{window}:{client}"
    pipe = _client().pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, seconds + 1)
    used, _ = pipe.execute()
    if used <= count:
        return None
    return max(1, int((window + 1) * seconds - now + 0.999))


def too_many(retry_after: int, limit: tuple[int, int]) -> JsonResponse:
    response = JsonResponse(
        {
            "error": f"Too many requests: at most {limit[0]} every {limit[1]} s from one "
            f"address. Try again in {retry_after} s.",
            "parameter": None,
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def query_too_long() -> JsonResponse:
    seconds = settings.PUBLIC_STATEMENT_TIMEOUT
    response = JsonResponse(
        {
            "error": f"The query took longer than {seconds} s and was stopped: ask for less "
            "(a shorter period, a smaller bbox, fewer types) or try again later.",
            "parameter": None,
        },
        status=503,
    )
    response["Retry-After"] = "30"
    return response


def _timed_connections() -> list:
    names = ["default"]
    if replica.replica_configured():
        names.append(replica.REPLICA)
    return [connections[name] for name in names]


# Whether this thread's request set statement_timeout (connections are per thread, and a
# WSGI request finishes in the thread that served it).
_timed = threading.local()


def _set_timeout(milliseconds: int) -> None:
    _timed.on = True
    for connection in _timed_connections():
        with connection.cursor() as cursor:
            # A session setting (not SET LOCAL): a streamed export runs its statements after the
            # view has returned, outside any transaction the view could open.
            cursor.execute("SELECT set_config('statement_timeout', %s, false)", [str(milliseconds)])


@receiver(request_finished, dispatch_uid="conflictmap.api.guard.reset_timeout")
def _reset_timeout(**kwargs) -> None:
    """After the response has been sent (a stream's last chunk included), the connections go
    back to no limit for whatever this thread serves next (the admin, a worker's command)."""
    if not getattr(_timed, "on", False):
        return
    _timed.on = False
    for connection in _timed_connections():
        if connection.connection is None:
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")
        except Exception:  # a broken connection is closed and replaced by Django anyway
            log.warning("could not reset statement_timeout", exc_info=True)


def is_query_canceled(error: BaseException) -> bool:
    cause = getattr(error, "__cause__", None)
    return getattr(cause, "sqlstate", None) == "57014"  # query_canceled


class PublicApiGuard:
    """Middleware: the rate limit and the statement time limit of visitors' API requests (after
    AuthenticationMiddleware, which says who is signed in)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX) or request.user.is_authenticated:
            return self.get_response(request)
        limit = rate_limit()
        if limit:
            try:
                retry_after = over_limit(client_address(request), limit)
            except redis.RedisError:
                log.warning("rate limit not applied: Redis is unreachable", exc_info=True)
                retry_after = None
            if retry_after is not None:
                return too_many(retry_after, limit)
        timeout = settings.PUBLIC_STATEMENT_TIMEOUT
        if not timeout:
            return self.get_response(request)
        _set_timeout(timeout * 1000)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A statement stopped at the limit: 503 with the reason, not a 500."""
        canceled = isinstance(exception, OperationalError) and is_query_canceled(exception)
        return query_too_long() if canceled and request.path.startswith(API_PREFIX) else None


def private_when_signed_in(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Middleware: a response made for a signed-in user is `Cache-Control: private` and varies
    by Cookie, whatever the view said, since it may hold drafts the user may see: a shared cache
    (the proxy, a CDN) must never hand it to a visitor. Visitors' responses are left cacheable."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if request.user.is_authenticated:
            if "public" in response.get("Cache-Control", ""):
                del response["Cache-Control"]
            patch_cache_control(response, private=True)
            patch_vary_headers(response, ["Cookie"])
        return response

    return middleware
