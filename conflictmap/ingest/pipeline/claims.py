"""Claims: work is taken with a conditional update, so two workers never do one job; a claim whose
worker went quiet for INGEST_CLAIM_TIMEOUT seconds is taken again, and a write first checks that
the claim is still ours."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from ..models import ImportRun, Report


class ClaimLost(Exception):
    """Our claim was taken over by another worker after we looked stale; stop quietly."""


def claim_timeout() -> int:
    return int(getattr(settings, "INGEST_CLAIM_TIMEOUT", 300))


def stale_before(now: dt.datetime) -> dt.datetime:
    """A claim whose worker has given no sign of life since this moment may be taken again."""
    return now - dt.timedelta(seconds=claim_timeout())


def _claim(rows: QuerySet, claimable: Q, now: dt.datetime, **update) -> dt.datetime | None:
    """The conditional update that takes a row: only the caller whose update hits it holds the
    claim, and `now` is the claim's token."""
    taken = rows.filter(claimable).update(claimed_at=now, attempts=F("attempts") + 1, **update)
    return now if taken == 1 else None


def claim_run(pk: int) -> dt.datetime | None:
    now = timezone.now()
    pending_or_stale = Q(state=ImportRun.State.PENDING) | Q(
        state=ImportRun.State.RUNNING, heartbeat_at__lt=stale_before(now)
    )
    return _claim(
        ImportRun.objects.filter(pk=pk), pending_or_stale, now,
        state=ImportRun.State.RUNNING, heartbeat_at=now, started_at=now,
    )  # fmt: skip


def hold_run(run: ImportRun, token: dt.datetime) -> None:
    """Lock the run row for this transaction and check the claim is still ours."""
    current = ImportRun.objects.select_for_update().filter(pk=run.pk).values("claimed_at", "state")
    row = current.first()
    if row is None or row["claimed_at"] != token or row["state"] != ImportRun.State.RUNNING:
        raise ClaimLost(f"import run {run.pk} was taken over")


def claim_report(pk: int) -> dt.datetime | None:
    now = timezone.now()
    pending_or_stale = Q(state=Report.State.PENDING) | Q(
        state=Report.State.PROCESSING, claimed_at__lt=stale_before(now)
    )
    return _claim(
        Report.objects.filter(pk=pk), pending_or_stale, now, state=Report.State.PROCESSING
    )
