"""What a claimed import run writes about itself: its parse problems and total once, then its end.
Each write first checks, under a row lock, that the claim is still ours."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from ..models import ImportRun, Rejection
from ..parsers import Problem
from .claims import hold_run


def save_problems(run: ImportRun, problems: Iterable[Problem]) -> tuple[int, int]:
    rows = [
        Rejection(run=run, row=p.row[:100], reason=p.reason, raw=p.raw[:4000], repaired=p.repaired)
        for p in problems
    ]
    Rejection.objects.bulk_create(rows, batch_size=1000)
    rejected = sum(1 for r in rows if not r.repaired)
    return rejected, len(rows) - rejected


def record_parse_results(
    run: ImportRun, token: dt.datetime, problems: list[Problem], total: int
) -> None:
    """Record parse problems and the total once (a resumed run finds them there)."""
    with transaction.atomic():
        hold_run(run, token)
        if not run.options.get("parsed"):
            rejected, _ = save_problems(run, problems)
            run.options = {**run.options, "parsed": True}
            ImportRun.objects.filter(pk=run.pk).update(
                total=total, rejected=rejected, options=run.options, heartbeat_at=timezone.now()
            )
    run.refresh_from_db()


def finish_run(run: ImportRun, token: dt.datetime, **fields) -> None:
    with transaction.atomic():
        hold_run(run, token)
        fields.setdefault("state", ImportRun.State.DONE)
        fields.setdefault("error", "")  # what an earlier attempt met is over
        ImportRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), **fields)
