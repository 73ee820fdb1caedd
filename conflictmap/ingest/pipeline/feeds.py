"""Feeds: which are due, one poll per due slot however many workers ask, and a changed feed
stored as an import run before anything else happens."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Feed, ImportRun
from .fetching import fetch
from .queueing import POLL_FEED, queue_on_commit
from .retry import FetchError
from .runs import create_run, process_run


def due_feeds(now: dt.datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        Feed.objects.filter(active=True)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .values_list("pk", flat=True)
    )


def claim_feed(pk: int, now: dt.datetime | None = None) -> bool:
    """Move the feed's next poll forward; only the caller that does so polls it now."""
    now = now or timezone.now()
    feed = Feed.objects.filter(pk=pk).values("next_poll_at", "interval_minutes").first()
    if feed is None:
        return False
    nxt = now + dt.timedelta(minutes=feed["interval_minutes"] or 60)
    qs = Feed.objects.filter(pk=pk, active=True)
    if feed["next_poll_at"] is None:
        qs = qs.filter(next_poll_at__isnull=True)
    else:
        qs = qs.filter(next_poll_at=feed["next_poll_at"], next_poll_at__lte=now)
    return qs.update(next_poll_at=nxt) == 1


def poll_soon(pks: list[int]) -> int:
    """An editor's "poll now": the feeds are made due and their polls queued for the workers,
    never fetched in the web request. Should the broker be down, beat's next poll_due_feeds
    finds them due. Returns how many feeds were queued."""
    with transaction.atomic():
        found = list(Feed.objects.filter(pk__in=pks).values_list("pk", flat=True))
        Feed.objects.filter(pk__in=found).update(next_poll_at=timezone.now())
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
    except (FetchError, ValueError) as exc:
        Feed.objects.filter(pk=pk).update(last_polled_at=now, last_error=str(exc)[:2000])
        raise
    if got.status == 304:
        Feed.objects.filter(pk=pk).update(last_polled_at=now, last_error="")
        return None
    with transaction.atomic():
        Feed.objects.filter(pk=pk).update(
            last_polled_at=now,
            last_error="",
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
