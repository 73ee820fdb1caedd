"""The sweep (beat runs it every two minutes): work left pending or claimed by a worker that went
quiet is queued again, so a lost broker message delays work but never loses it; work whose
attempts ran out is marked failed with the reason instead of being queued again forever."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import ImportRun, Report
from .claims import REPORT_FAILED, RUN_FAILED, give_up_exhausted, stale_before
from .queueing import PROCESS_REPORT, PROCESS_RUN, queue_backlog, send


def sweep_min_age() -> int:
    return int(getattr(settings, "INGEST_SWEEP_MIN_AGE", 60))


def sweep(*, min_age: int | None = None, limit: int = 5000) -> dict:
    """Re-queue reports and runs left pending (not queued for min_age seconds) or claimed by a
    worker that went quiet. Pending items are left alone while the queue still holds messages:
    theirs are likely among them. The conditional claims make a duplicate message harmless."""
    now = timezone.now()
    old = now - dt.timedelta(seconds=sweep_min_age() if min_age is None else min_age)
    stale = stale_before(now)
    report_stale = Q(state=Report.State.PROCESSING, claimed_at__lt=stale)
    run_stale = Q(state=ImportRun.State.RUNNING, heartbeat_at__lt=stale)
    gave_up = give_up_exhausted(
        Report, report_stale | Q(state=Report.State.PENDING), REPORT_FAILED
    ) + give_up_exhausted(ImportRun, run_stale | Q(state=ImportRun.State.PENDING), RUN_FAILED)
    backlog = queue_backlog()
    pending_too = not backlog  # 0 (drained) or None (unknown)
    report_q, run_q = report_stale, run_stale
    if pending_too:
        report_q |= Q(state=Report.State.PENDING, last_queued__lte=old)
        run_q |= Q(state=ImportRun.State.PENDING, last_queued__lte=old)
    reports = list(
        Report.objects.annotate(last_queued=Coalesce("queued_at", "received_at"))
        .filter(report_q)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    runs = list(
        ImportRun.objects.annotate(last_queued=Coalesce("queued_at", "created_at"))
        .filter(run_q)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    Report.objects.filter(pk__in=reports).update(queued_at=now)
    ImportRun.objects.filter(pk__in=runs).update(queued_at=now)
    sent = 0
    result = {"reports": len(reports), "runs": len(runs), "backlog": backlog}
    if gave_up:
        result["gave_up"] = len(gave_up)
    for name, pks in ((PROCESS_RUN, runs), (PROCESS_REPORT, reports)):
        for pk in pks:
            if not send(name, pk):
                return {**result, "queued": sent, "broker": "down"}
            sent += 1
    return {**result, "queued": sent}
