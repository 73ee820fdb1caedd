"""Handing stored work to the Celery workers: a task carries an id only, is published once the
transaction that stored its row commits, and a broker that is down leaves the row to the sweep.

Tasks are queued by name, so the pipeline never imports tasks.py (which imports the pipeline)."""

from __future__ import annotations

import logging

from django.db import transaction

from conflictmap.celery import app as celery_app

log = logging.getLogger(__name__)

# The names tasks.py registers its tasks under; beat's schedule (settings) names the last three.
PROCESS_RUN = "conflictmap.ingest.tasks.process_run"
PROCESS_REPORT = "conflictmap.ingest.tasks.process_report"
POLL_FEED = "conflictmap.ingest.tasks.poll_feed"
POLL_DUE_FEEDS = "conflictmap.ingest.tasks.poll_due_feeds"
SWEEP_PENDING = "conflictmap.ingest.tasks.sweep_pending"
PRUNE_CONTENT = "conflictmap.ingest.tasks.prune_content"

# Publishing waits under a second for the broker before leaving the work to the sweep.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}


def send(task_name: str, pk: int) -> bool:
    """Publish a task; if the broker is down, log and leave it to the sweep."""
    try:
        # No time limits in the message: a publisher that has the task registered would put its
        # own settings' limits there, and a message's limits override the worker's settings.
        celery_app.send_task(
            task_name, args=[pk], retry=True, retry_policy=PUBLISH_RETRY_POLICY,
            time_limit=None, soft_time_limit=None,
        )  # fmt: skip
    except Exception as exc:  # broker unreachable: the row is stored, the sweep will re-queue it
        log.warning("could not queue %s(%s): %s; the sweep will re-queue it", task_name, pk, exc)
        return False
    return True


def queue_on_commit(task_name: str, pk: int) -> None:
    transaction.on_commit(lambda: send(task_name, pk))


def queue_backlog() -> int | None:
    """Messages waiting in the default queue, or None when the broker cannot say."""
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0)  # one try: a broker that is down cannot say
            queue = celery_app.conf.task_default_queue or "celery"
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
    except Exception:  # broker down or a transport without counts: the sweep goes ahead
        return None
