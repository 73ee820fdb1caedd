"""Claims: work is taken with a conditional update, so two workers never do one job; a claim whose
worker went quiet for INGEST_CLAIM_TIMEOUT seconds is taken again, and a write first checks that
the claim is still ours."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from ..models import ImportRun, Report


class ClaimLost(Exception):
    """Our claim was taken over by another worker after we looked stale; stop quietly."""


def claim_timeout() -> int:
    return int(getattr(settings, "INGEST_CLAIM_TIMEOUT", 300))


def claim_run(pk: int) -> dt.datetime | None:
    now = timezone.now()
    stale = now - dt.timedelta(seconds=claim_timeout())
    taken = (
        ImportRun.objects.filter(pk=pk)
        .filter(
            Q(state=ImportRun.State.PENDING)
            | Q(state=ImportRun.State.RUNNING, heartbeat_at__lt=stale)
        )
        .update(
            state=ImportRun.State.RUNNING,
            claimed_at=now,
            heartbeat_at=now,
            started_at=now,
            attempts=F("attempts") + 1,
        )
    )
    return now if taken == 1 else None


def hold_run(run: ImportRun, token: dt.datetime) -> None:
    """Lock the run row for this transaction and check the claim is still ours."""
    current = ImportRun.objects.select_for_update().filter(pk=run.pk).values("claimed_at", "state")
    row = current.first()
    if row is None or row["claimed_at"] != token or row["state"] != ImportRun.State.RUNNING:
        raise ClaimLost(f"import run {run.pk} was taken over")


def claim_report(pk: int) -> dt.datetime | None:
    now = timezone.now()
    stale = now - dt.timedelta(seconds=claim_timeout())
    taken = (
        Report.objects.filter(pk=pk)
        .filter(
            Q(state=Report.State.PENDING) | Q(state=Report.State.PROCESSING, claimed_at__lt=stale)
        )
        .update(state=Report.State.PROCESSING, claimed_at=now, attempts=F("attempts") + 1)
    )
    return now if taken == 1 else None
