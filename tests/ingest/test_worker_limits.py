"""Time limits in a real Celery worker (prefork: time limits need a process pool) on a private
Redis: a task stopped at its soft limit says so on its item and the worker goes on; a task
killed at its hard limit is counted by the next claim, and when the attempts run out the item is
marked failed with the reason instead of being tried forever.

The task that hangs is a feed poll of a server that accepts the connection and says nothing,
with the fetch's own deadline (INGEST_FETCH_TIMEOUT) set past the task's limits."""

from __future__ import annotations

import pytest
from django.utils import timezone

from conflictmap.ingest import pipeline
from conflictmap.ingest.models import Feed, ImportRun
from conflictmap.ingest.pipeline import queueing

from .conftest import wait_for
from .servers import Server, ok, say_nothing
from .test_worker import Worker, broker, redis_server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.worker

RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><item>'
    b"<title>Clashes near Manbij</title><link>https://wire.example.org/m</link>"
    b"<description>Clashes near Manbij yesterday.</description></item></channel></rss>"
)
LIMITED = {"INGEST_FETCH_TIMEOUT": "60", "INGEST_FETCH_ALLOW": "127.0.0.1/32"}


@pytest.fixture
def servers():
    started: list[Server] = []

    def start(answer) -> Server:
        started.append(Server(answer))
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture
def start_worker(transactional_db, broker, tmp_path, settings):  # noqa: F811
    settings.INGEST_FETCH_ALLOW = ["127.0.0.1/32"]
    workers: list[Worker] = []

    def start(**env: str) -> Worker:
        workers.append(Worker(broker, tmp_path / "worker.log", **LIMITED, **env))
        workers[-1].start()
        return workers[-1]

    yield start
    for w in workers:
        w.kill()


def log_of(worker: Worker) -> str:
    return worker.log.read_text(errors="replace")


def poll_next_slot(feed: Feed) -> None:
    """What beat does when the feed is due again."""
    Feed.objects.filter(pk=feed.pk).update(next_poll_at=timezone.now())
    queueing.send(queueing.POLL_FEED, feed.pk)


def test_a_task_stopped_at_its_soft_time_limit_says_so_and_the_worker_goes_on(
    start_worker, servers
):
    worker = start_worker(CELERY_TASK_SOFT_TIME_LIMIT="2", CELERY_TASK_TIME_LIMIT="30")
    silent = Feed.objects.create(name="Silent", url=f"{servers(say_nothing).origin}/rss")
    pipeline.poll_soon([silent.pk])
    assert wait_for(lambda: Feed.objects.get(pk=silent.pk).last_error, 45), log_of(worker)
    silent.refresh_from_db()
    assert silent.last_error == (
        "stopped at the task's soft time limit of 2 s (CELERY_TASK_SOFT_TIME_LIMIT)"
    ), log_of(worker)
    assert (silent.attempts, silent.failed_at) == (1, None)  # one attempt of five
    assert "Soft time limit (2s) exceeded for conflictmap.ingest.tasks.poll_feed" in log_of(worker)
    # The same worker process goes on with the next task.
    wire = Feed.objects.create(name="Wire", url=f"{servers(ok(RSS)).origin}/rss")
    pipeline.poll_soon([wire.pk])
    assert wait_for(lambda: ImportRun.objects.filter(feed=wire, state="done").exists(), 30)
    assert "SIGKILL" not in log_of(worker)


def test_a_task_killed_at_its_hard_time_limit_is_counted_until_its_item_is_marked_failed(
    start_worker, servers
):
    worker = start_worker(
        CELERY_TASK_SOFT_TIME_LIMIT="0", CELERY_TASK_TIME_LIMIT="2", INGEST_MAX_ATTEMPTS="2"
    )
    feed = Feed.objects.create(name="Silent", url=f"{servers(say_nothing).origin}/rss")

    def kills() -> int:
        return log_of(worker).count("Hard time limit (2s) exceeded for conflictmap.ingest.tasks")

    pipeline.poll_soon([feed.pk])
    assert wait_for(lambda: kills() == 1, 45), log_of(worker)
    poll_next_slot(feed)
    assert wait_for(lambda: kills() == 2, 30), log_of(worker)
    feed.refresh_from_db()
    assert (feed.attempts, feed.failed_at, feed.last_error) == (2, None, "")
    poll_next_slot(feed)  # its attempts ran out: the claim marks it failed instead of polling
    assert wait_for(lambda: Feed.objects.get(pk=feed.pk).failed_at is not None, 30)
    feed.refresh_from_db()
    assert feed.last_error == (
        "gave up after 2 attempts: none of them finished (the worker stopped or was killed, "
        "e.g. at the task's hard time limit, CELERY_TASK_TIME_LIMIT)"
    )
    assert "SIGKILL" in log_of(worker) and kills() == 2
    assert pipeline.due_feeds() == []
