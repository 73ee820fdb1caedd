"""Handing stored work to the Celery workers: a task carries an id only, is published once the
transaction that stored its row commits, and a broker that is down leaves the row to the sweep."""

from __future__ import annotations

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def send(task_name: str, pk: int) -> bool:
    """Publish a task; if the broker is down, log and leave it to the sweep."""
    from .. import tasks

    task = getattr(tasks, task_name)
    try:
        task.apply_async(
            args=[pk],
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception as exc:  # broker unreachable: the row is stored, the sweep will re-queue it
        log.warning("could not queue %s(%s): %s; the sweep will re-queue it", task_name, pk, exc)
        return False
    return True


def queue_on_commit(task_name: str, pk: int) -> None:
    transaction.on_commit(lambda: send(task_name, pk))


def queue_backlog() -> int | None:
    """Messages waiting in the default queue, or None when the broker cannot say."""
    from conflictmap.celery import app

    if app.conf.task_always_eager:
        return None
    try:
        with app.connection_for_write() as conn:
            queue = app.conf.task_default_queue or "celery"
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
    except Exception:  # broker down or a transport without counts: the sweep goes ahead
        return None
