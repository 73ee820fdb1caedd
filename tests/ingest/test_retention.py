"""Stored import bytes: never loaded by the admin's lists and pages, deleted INGEST_KEEP_CONTENT_DAYS
after a run ended, and a pruned run still says what came of it and that its bytes are gone."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from io import StringIO

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conflictmap.ingest import pipeline, tasks
from conflictmap.ingest.models import ImportRun

CONTENT_COLUMN = '"ingest_importrun"."content"'


def finished_days_ago(run: ImportRun, days: int) -> None:
    ImportRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - dt.timedelta(days=days))


def test_runs_that_ended_long_ago_lose_their_bytes_and_keep_what_came_of_them(
    factions, sample, settings
):
    settings.INGEST_KEEP_CONTENT_DAYS = 90
    data = sample("acled_sample.csv")
    old = pipeline.process_run(pipeline.create_run("acled", data, filename="old.csv").pk)
    recent = pipeline.process_run(pipeline.create_run("acled", data, filename="new.csv").pk)
    waiting = pipeline.create_run("acled", data, filename="waiting.csv")
    ImportRun.objects.filter(pk=waiting.pk).update(
        created_at=timezone.now() - dt.timedelta(days=400)
    )
    finished_days_ago(old, 91)
    finished_days_ago(recent, 89)
    before = pipeline.summary(old)
    result = tasks.prune_content()  # what beat runs daily
    assert (result["pruned"], result["bytes"]) == (1, len(data))
    old.refresh_from_db()
    assert bytes(ImportRun.objects.get(pk=old.pk).content) == b""
    assert old.pruned_at is not None and old.size == len(data)
    assert old.content_hash == hashlib.sha256(data).hexdigest()
    after = pipeline.summary(old)
    assert after.pop("pruned_at") == old.pruned_at.isoformat()
    assert after == before  # counts, problems, hash and size as they were
    assert old.rejections.count() == 6
    for kept in (recent, waiting):  # too recent, or not finished: a worker may need them
        assert bytes(ImportRun.objects.get(pk=kept.pk).content) == data
    assert pipeline.prune_content()["pruned"] == 0  # once is enough


def test_keeping_content_forever_prunes_nothing_and_the_command_takes_a_number_of_days(
    db, settings
):
    run = pipeline.create_run("report", b"Clashes in Saraqib.", filename="a.txt")
    ImportRun.objects.filter(pk=run.pk).update(state="done")
    finished_days_ago(run, 10)
    settings.INGEST_KEEP_CONTENT_DAYS = 0
    assert pipeline.prune_content()["pruned"] == 0
    out = StringIO()
    call_command("ingest", "prune", "--days", "7", stdout=out)
    assert json.loads(out.getvalue())["pruned"] == 1
    assert ImportRun.objects.get(pk=run.pk).pruned_at is not None


def test_the_admin_never_loads_the_bytes_and_a_pruned_run_says_so(admin_client, db):
    big = pipeline.create_run("acled", b"x" * 1_000_000, filename="big.csv")
    ImportRun.objects.filter(pk=big.pk).update(state="done")
    finished_days_ago(big, 200)
    with CaptureQueriesContext(connection) as listed:
        page = admin_client.get(reverse("admin:ingest_importrun_changelist")).content.decode()
    assert "big.csv" in page
    change = reverse("admin:ingest_importrun_change", args=[big.pk])
    with CaptureQueriesContext(connection) as shown:
        page = admin_client.get(change).content.decode()
    assert "1,000,000 bytes, stored" in page
    queries = [q["sql"] for q in listed.captured_queries + shown.captured_queries]
    assert not [sql for sql in queries if CONTENT_COLUMN in sql]
    pipeline.prune_content(days=90)
    page = admin_client.get(change).content.decode()
    assert "1,000,000 bytes, deleted on" in page
    assert "their hash, the counts and the rejections are kept" in page


def test_reading_a_run_or_its_summary_leaves_its_bytes_in_the_database(db):
    run = pipeline.create_run("report", b"Clashes in Saraqib.", filename="a.txt")
    with CaptureQueriesContext(connection) as queries:
        run.refresh_from_db()
        pipeline.summary(run)
        list(ImportRun.objects.all())
    assert not [q for q in queries.captured_queries if CONTENT_COLUMN in q["sql"]]
