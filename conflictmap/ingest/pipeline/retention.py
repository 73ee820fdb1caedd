"""How long the bytes of an import run are kept: INGEST_KEEP_CONTENT_DAYS after the run ended,
then they are deleted (beat runs `prune_content` daily; `manage.py ingest prune` is its twin).

A pruned run keeps everything that says what came of it (its hash and size, its counts and each
rejection with its reason) and says when its bytes were deleted. Runs still pending or running
keep their bytes whatever their age: a worker may need them."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import ImportRun


def keep_content_days() -> int:
    return int(getattr(settings, "INGEST_KEEP_CONTENT_DAYS", 90))


def prune_content(days: int | None = None, now: dt.datetime | None = None) -> dict:
    """Delete the stored bytes of runs that ended more than `days` days ago (0: keep them all).
    Idempotent: a pruned run is not pruned again."""
    days = keep_content_days() if days is None else days
    if days <= 0:
        return {"pruned": 0, "bytes": 0, "kept": "forever (INGEST_KEEP_CONTENT_DAYS=0)"}
    now = now or timezone.now()
    before = now - dt.timedelta(days=days)
    ended = (
        ImportRun.objects.annotate(ended=Coalesce("finished_at", "created_at"))
        .filter(state__in=[ImportRun.State.DONE, ImportRun.State.FAILED], pruned_at__isnull=True)
        .filter(ended__lt=before)
    )
    pks = list(ended.values_list("pk", flat=True))
    freed = ImportRun.objects.filter(pk__in=pks).aggregate(n=Sum("size"))["n"] or 0
    pruned = ImportRun.objects.filter(pk__in=pks, pruned_at__isnull=True).update(
        content=b"", pruned_at=now
    )
    return {"pruned": pruned, "bytes": freed, "ended_before": before.isoformat()}
