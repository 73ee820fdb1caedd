"""Claims: work is taken with a conditional update, so two workers never do one job; a claim whose
worker went quiet for INGEST_CLAIM_TIMEOUT seconds is taken again, and a write first checks that
the claim is still ours.

Each claim is an attempt. An item whose attempts reached INGEST_MAX_ATTEMPTS is marked failed
with the reason (its last error, or that no attempt finished: a worker killed, or stopped at the
task's hard time limit) instead of being taken again, so nothing is re-queued forever."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Case, F, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from ..models import ImportRun, Report
from .retry import error_text

NONE_FINISHED = (
    ": none of them finished (the worker stopped or was killed, e.g. at the task's hard time "
    "limit, CELERY_TASK_TIME_LIMIT)"
)


class ClaimLost(Exception):
    """Our claim was taken over by another worker after we looked stale; stop quietly."""


def claim_timeout() -> int:
    return int(getattr(settings, "INGEST_CLAIM_TIMEOUT", 300))


def max_attempts() -> int:
    return int(getattr(settings, "INGEST_MAX_ATTEMPTS", 5))


def stale_before(now: dt.datetime) -> dt.datetime:
    """A claim whose worker has given no sign of life since this moment may be taken again."""
    return now - dt.timedelta(seconds=claim_timeout())


def gave_up(error_field: str = "error", last_error: str | None = None):
    """The reason written on an item whose attempts ran out, as an SQL expression of its attempts
    and its last recorded error (or `last_error`, the one that ended the last attempt)."""
    text = TextField()
    prefix = Concat(
        Value("gave up after "), Cast("attempts", text), Value(" attempts"), output_field=text
    )
    if last_error is not None:
        return Concat(prefix, Value(f"; the last one failed with {last_error}"), output_field=text)
    return Case(
        When(**{error_field: ""}, then=Concat(prefix, Value(NONE_FINISHED), output_field=text)),
        default=Concat(
            prefix, Value("; the last one failed with "), F(error_field), output_field=text
        ),
        output_field=text,
    )


RUN_FAILED = {"state": ImportRun.State.FAILED}
REPORT_FAILED = {"state": Report.State.FAILED}


def _finished(model) -> dict:
    return {"finished_at": timezone.now()} if model is ImportRun else {}


def _claim(
    rows: QuerySet, claimable: Q, now: dt.datetime, failed: dict, **update
) -> dt.datetime | None:
    """The conditional update that takes a row: only the caller whose update hits it holds the
    claim, and `now` is the claim's token. A row whose attempts ran out is marked failed."""
    under_cap = Q(attempts__lt=max_attempts())
    taken = rows.filter(claimable & under_cap).update(
        claimed_at=now, attempts=F("attempts") + 1, **update
    )
    if taken == 1:
        return now
    rows.filter(claimable & ~under_cap).update(error=gave_up(), **failed, **_finished(rows.model))
    return None


def claim_run(pk: int) -> dt.datetime | None:
    now = timezone.now()
    pending_or_stale = Q(state=ImportRun.State.PENDING) | Q(
        state=ImportRun.State.RUNNING, heartbeat_at__lt=stale_before(now)
    )
    return _claim(
        ImportRun.objects.filter(pk=pk), pending_or_stale, now, RUN_FAILED,
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
        Report.objects.filter(pk=pk), pending_or_stale, now, REPORT_FAILED,
        state=Report.State.PROCESSING,
    )  # fmt: skip


def hand_back(rows: QuerySet, exc: BaseException, *, pending: dict, failed: dict) -> bool:
    """After an error worth a retry, the claimed row (`rows`: it, while still ours) goes back to
    pending with the error noted, for the task's retry or the sweep; True. When that was its
    last attempt it is marked failed with the reason instead, and there is nothing to retry:
    False."""
    error = error_text(exc)
    under_cap = Q(attempts__lt=max_attempts())
    rows.filter(under_cap).update(error=error, **pending)
    given_up = rows.filter(~under_cap).update(
        error=gave_up(last_error=error), **failed, **_finished(rows.model)
    )
    return given_up == 0


def give_up_exhausted(model: type[ImportRun] | type[Report], waiting: Q, failed: dict) -> list[int]:
    """Mark failed the rows `waiting` (pending, or claimed by a worker that went quiet) whose
    attempts ran out, and return their ids: the sweep re-queues only work that may be tried."""
    exhausted = model.objects.filter(waiting, attempts__gte=max_attempts())
    pks = list(exhausted.values_list("pk", flat=True))
    exhausted.filter(pk__in=pks).update(error=gave_up(), **failed, **_finished(model))
    return pks
