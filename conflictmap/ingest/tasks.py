"""Thin Celery wrappers around the pipeline: ids in, idempotent, late acks, retries on transport
errors. Each has a management-command twin (`manage.py ingest ...`). The pipeline queues them by
the names in pipeline.queueing and never imports this module.

Every task runs under the soft and hard time limits of settings (CELERY_TASK_SOFT_TIME_LIMIT,
CELERY_TASK_TIME_LIMIT). A task that meets an error worth a retry (pipeline.RETRYABLE, the soft
time limit included) is retried with backoff; the item it works on counts its attempts and is
marked failed when they run out (pipeline.claims), so a retry never loops forever."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init, worker_process_init
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from . import pipeline
from .pipeline import queueing

COMMON = {"acks_late": True, "reject_on_worker_lost": True, "max_retries": 8}


@worker_init.connect
@worker_process_init.connect
def warm_extraction(**_kwargs) -> None:
    """Load spaCy and its matcher when a worker starts (about a second, several on a busy
    machine), in the parent before the pool forks so its processes share it, rather than
    inside the first report's task and its time limit."""
    from .extraction import triggers

    triggers.matcher()


BACKOFF_MAX = 600


def backoff(retries: int) -> int:
    """Seconds before the next retry: INGEST_RETRY_BACKOFF doubled per retry, up to ten minutes,
    with full jitter so that workers that failed together do not retry together."""
    factor = int(getattr(settings, "INGEST_RETRY_BACKOFF", 5))
    if factor <= 0:
        return 0
    return get_exponential_backoff_interval(
        factor=factor, retries=retries, maximum=BACKOFF_MAX, full_jitter=True
    )


@contextmanager
def retried_with_backoff(task: Task) -> Iterator[None]:
    try:
        yield
    except pipeline.RETRYABLE as exc:
        raise task.retry(exc=exc, countdown=backoff(task.request.retries)) from exc


@shared_task(name=queueing.PROCESS_RUN, bind=True, **COMMON)
def process_run(self, run_id: int) -> dict | None:
    with retried_with_backoff(self):
        run = pipeline.process_run(run_id)
    return None if run is None else {"run": run.pk, "state": run.state}


@shared_task(name=queueing.PROCESS_REPORT, bind=True, **COMMON)
def process_report(self, report_id: int) -> bool:
    with retried_with_backoff(self):
        return pipeline.process_report(report_id)


@shared_task(name=queueing.POLL_FEED, acks_late=True, reject_on_worker_lost=True)
def poll_feed(feed_id: int) -> int | None:
    # A failed poll is written on the feed (and counted); its next due slot is the retry.
    try:
        run = pipeline.poll_feed(feed_id)
    except (pipeline.FetchError, ValueError, SoftTimeLimitExceeded):
        return None
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


@shared_task(name=queueing.PRUNE_CONTENT, acks_late=True)
def prune_content() -> dict:
    return pipeline.prune_content()
