"""Import runs: the bytes of one upload or fetched source stored as received, then claimed and
applied by the handler of their kind; `summary` is the JSON that `manage.py ingest` prints."""

from __future__ import annotations

import hashlib
import logging

from django.db import transaction
from django.utils import timezone

from ..models import Feed, ImportRun, Report
from .acled import apply_acled
from .claims import RUN_FAILED, ClaimLost, claim_run, hand_back
from .queueing import PROCESS_RUN, queue_on_commit
from .reports import apply_feed, apply_report
from .retry import RETRYABLE, error_text
from .snapshots import apply_snapshots
from .zones import apply_zones

log = logging.getLogger(__name__)

HANDLERS = {
    ImportRun.Kind.ACLED: apply_acled,
    ImportRun.Kind.ZONES: apply_zones,
    ImportRun.Kind.SNAPSHOTS: apply_snapshots,
    ImportRun.Kind.FEED: apply_feed,
    ImportRun.Kind.REPORT: apply_report,
}


def create_run(
    kind: str,
    content: bytes,
    *,
    filename: str = "",
    url: str = "",
    options: dict | None = None,
    user=None,
    feed: Feed | None = None,
    queue: bool = False,
    publish: bool = False,
) -> ImportRun:
    """Store the bytes as received; with queue=True hand the run to a worker once committed.
    What it creates is a draft unless `publish` (ImportRun.record_status)."""
    with transaction.atomic():
        run = ImportRun.objects.create(
            kind=kind,
            content=content,
            content_hash=hashlib.sha256(content).hexdigest(),
            size=len(content),
            filename=filename[:500],
            url=url[:2000],
            options=options or {},
            created_by=user if getattr(user, "pk", None) else None,
            feed=feed,
            publish=publish,
        )
        if queue:
            queue_on_commit(PROCESS_RUN, run.pk)
    return run


def process_run(pk: int, *, inline: bool = False) -> ImportRun | None:
    """Claim and apply one import run. inline=True also extracts its reports here and now."""
    token = claim_run(pk)
    if token is None:
        return None
    run = ImportRun.objects.get(pk=pk)
    content = bytes(ImportRun.objects.filter(pk=pk).values_list("content", flat=True).get())
    try:
        HANDLERS[run.kind](run, content, token, inline=inline)
    except ClaimLost:
        log.info("run %s taken over by another worker", pk)
        return None
    except RETRYABLE as exc:
        # Hand the run back so the task's retry (or the sweep) can claim it again, unless that
        # was its last attempt.
        ours = ImportRun.objects.filter(pk=pk, claimed_at=token)
        if hand_back(ours, exc, pending={"state": ImportRun.State.PENDING}, failed=RUN_FAILED):
            raise
        log.warning("import run %s failed: its attempts ran out (%s)", pk, error_text(exc))
    except Exception as exc:
        log.exception("import run %s failed", pk)
        ImportRun.objects.filter(pk=pk, claimed_at=token).update(
            state=ImportRun.State.FAILED, error=error_text(exc), finished_at=timezone.now()
        )
        raise
    run.refresh_from_db()
    return run


def summary(run: ImportRun, *, limit: int = 200) -> dict:
    run.refresh_from_db()
    rejections = list(run.rejections.all()[:limit])
    out = {
        "run": run.pk,
        "kind": run.kind,
        "state": run.state,
        "file": run.filename or run.url,
        "size": run.size,
        "sha256": run.content_hash,
        "total": run.total,
        "processed": run.processed,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "rejected": run.rejected,
        "repaired": run.rejections.filter(repaired=True).count(),
        "problems": [
            {"row": r.row, "reason": r.reason, "repaired": r.repaired} for r in rejections
        ],
        "error": run.error,
    }
    if run.pruned_at:  # the bytes are gone; what came of them is all still here
        out["pruned_at"] = run.pruned_at.isoformat()
    if run.options.get("new_factions"):
        out["new_factions"] = run.options["new_factions"]  # unknown actors, marked for review
    if run.options.get("closed_versions") is not None:
        out["closed_versions"] = run.options["closed_versions"]
    if run.kind == ImportRun.Kind.SNAPSHOTS:
        out["snapshots"] = run.options.get("snapshots", [])  # one line per file, in date order
    if run.kind in (ImportRun.Kind.REPORT, ImportRun.Kind.FEED):
        out["reports"] = [report_summary(r) for r in run.report_set.order_by("pk")[:limit]]
        known = run.options.get("already_stored", [])[:limit]
        if known:
            # Received again (same URL or text): nothing new was stored; what it became is here.
            stored = Report.objects.in_bulk(known)
            out["already_stored"] = [report_summary(stored[pk]) for pk in known if pk in stored]
    return out


def report_summary(report: Report) -> dict:
    return {
        "report": report.pk,
        "url": report.url,
        "title": report.title,
        "state": report.state,
        "candidates": [
            {
                "id": c.pk,
                "state": c.state,
                "place": c.place.name if c.place_id else None,
                "sentence": c.sentence,
                "places": [
                    {k: p.get(k) for k in ("name", "matched", "start", "end", "lon", "lat")}
                    for p in c.places
                ],
                "coordinates": [c.geom.x, c.geom.y] if c.geom else None,
                "actors": [
                    {k: a.get(k) for k in ("slug", "name", "matched", "start", "end")}
                    for a in c.actors
                ],
                "date": c.date.isoformat() if c.date else None,
                "event_type": c.event_type,
                "sub_event_type": c.sub_event_type,
                "fatalities": c.fatalities,
                "confidence": c.confidence,
            }
            for c in report.candidates.select_related("place").order_by("sentence_index", "part")
        ],
    }
