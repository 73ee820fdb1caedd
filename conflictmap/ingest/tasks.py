"""Thin Celery wrappers around the pipeline: ids in, idempotent, late acks, retries on transport
errors. Each has a management-command twin (`manage.py ingest ...`). The pipeline queues them by
the names in pipeline.queueing and never imports this module."""

from __future__ import annotations

from celery import shared_task

from . import pipeline
from .pipeline import queueing

COMMON = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": pipeline.RETRYABLE,
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name=queueing.PROCESS_RUN, **COMMON)
def process_run(run_id: int) -> dict | None:
    run = pipeline.process_run(run_id)
    return None if run is None else {"run": run.pk, "state": run.state}


@shared_task(name=queueing.PROCESS_REPORT, **COMMON)
def process_report(report_id: int) -> bool:
    return pipeline.process_report(report_id)


@shared_task(name=queueing.POLL_FEED, bind=True, **COMMON)
def poll_feed(self, feed_id: int) -> int | None:
    # The first try claims the feed's slot; a retry after a network error polls it regardless.
    run = pipeline.poll_feed(feed_id, force=self.request.retries > 0)
    return run.pk if run else None


@shared_task(name=queueing.POLL_DUE_FEEDS, acks_late=True)
def poll_due_feeds() -> int:
    due = pipeline.due_feeds()
    for pk in due:
        poll_feed.delay(pk)
    return len(due)


@shared_task(name=queueing.SWEEP_PENDING, acks_late=True)
def sweep_pending() -> dict:
    return pipeline.sweep()
