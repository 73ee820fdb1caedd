"""Feeds: which are due, one poll per due slot however many workers ask, and a changed feed
stored as an import run before anything else happens.

A failed poll is not retried at once: the next due slot is the retry. INGEST_MAX_ATTEMPTS polls
in a row that fail (or never finish) mark the feed failed with the reason, and it is no longer
polled until an editor asks ("poll now") or gives it a new URL."""

from __future__ import annotations

import datetime as dt

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..models import Feed, ImportRun
from .claims import gave_up, max_attempts
from .fetching import fetch
from .queueing import POLL_FEED, queue_on_commit
from .retry import FetchError, error_text
from .runs import create_run, process_run


def due_feeds(now: dt.datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        Feed.objects.filter(active=True, failed_at__isnull=True)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .values_list("pk", flat=True)
    )


def claim_feed(pk: int, now: dt.datetime | None = None) -> bool:
    """Move the feed's next poll forward; only the caller that does so polls it now. Each claim
    is an attempt (a success resets them); a feed whose attempts ran out (failed polls, or polls
    that never finished) is marked failed instead, and is no longer due."""
    now = now or timezone.now()
    feed = Feed.objects.filter(pk=pk).values("next_poll_at", "interval_minutes").first()
    if feed is None:
        return False
    nxt = now + dt.timedelta(minutes=feed["interval_minutes"] or 60)
    qs = Feed.objects.filter(pk=pk, active=True, failed_at__isnull=True)
    if feed["next_poll_at"] is None:
        qs = qs.filter(next_poll_at__isnull=True)
    else:
        qs = qs.filter(next_poll_at=feed["next_poll_at"], next_poll_at__lte=now)
    under_cap = Q(attempts__lt=max_attempts())
    if qs.filter(under_cap).update(next_poll_at=nxt, attempts=F("attempts") + 1) == 1:
        return True
    qs.filter(~under_cap).update(failed_at=now, last_error=gave_up("last_error"))
    return False


def _record_failure(pk: int, exc: BaseException, now: dt.datetime) -> None:
    """The poll's error on the feed; when its attempts ran out, the feed is marked failed."""
    error = error_text(exc)
    Feed.objects.filter(pk=pk).update(last_polled_at=now, last_error=error)
    Feed.objects.filter(pk=pk, attempts__gte=max_attempts(), failed_at__isnull=True).update(
        failed_at=now, last_error=gave_up(last_error=error)
    )


def poll_soon(pks: list[int]) -> int:
    """An editor's "poll now": the feeds are made due and their polls queued for the workers,
    never fetched in the web request. Should the broker be down, beat's next poll_due_feeds
    finds them due. Returns how many feeds were queued."""
    with transaction.atomic():
        found = list(Feed.objects.filter(pk__in=pks).values_list("pk", flat=True))
        # An editor asking is a fresh start, also for a feed whose polling gave up.
        Feed.objects.filter(pk__in=found).update(
            next_poll_at=timezone.now(), failed_at=None, attempts=0
        )
        for pk in found:
            queue_on_commit(POLL_FEED, pk)
    return len(found)


def poll_feed(pk: int, *, inline: bool = False, force: bool = False) -> ImportRun | None:
    """Fetch one feed with its validators; a changed feed becomes an ImportRun (stored first)."""
    if not force and not claim_feed(pk):
        return None
    feed = Feed.objects.get(pk=pk)
    now = timezone.now()
    try:
        got = fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
    except (FetchError, ValueError, SoftTimeLimitExceeded) as exc:
        _record_failure(pk, exc, now)
        raise
    if got.status == 304:
        Feed.objects.filter(pk=pk).update(last_polled_at=now, last_error="", attempts=0)
        return None
    with transaction.atomic():
        Feed.objects.filter(pk=pk).update(
            last_polled_at=now,
            last_error="",
            attempts=0,
            etag=got.etag[:500],
            last_modified=got.last_modified[:100],
        )
        run = create_run(
            ImportRun.Kind.FEED, got.content, url=feed.url, feed=feed, queue=not inline
        )
    if inline:
        process_run(run.pk, inline=True)
        run.refresh_from_db()
    return run
