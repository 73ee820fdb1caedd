"""The editors' side: runs with counts and rejections, uploads, pasted reports, the review queue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from conflictmap.events.models import Event
from conflictmap.ingest import pipeline
from conflictmap.ingest.models import Candidate, Feed, ImportRun, Report

from .conftest import queued_messages


def paste(admin_client, text: str, published: str = "2024-12-02"):
    return admin_client.post(
        reverse("admin:ingest_upload"),
        {"kind": "report", "text": text, "published": published, "confidence": "confirmed"},
    )


def test_an_acled_file_uploaded_in_the_admin_is_imported_and_its_run_shows_counts_and_rejections(
    admin_client, factions, sample
):
    upload = SimpleUploadedFile("acled.csv", sample("acled_sample.csv"), content_type="text/csv")
    response = admin_client.post(
        reverse("admin:ingest_upload"), {"kind": "acled", "file": upload, "confidence": "confirmed"}
    )
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:ingest_importrun_change", args=[run.pk])
    assert (run.state, run.created, run.rejected) == ("done", 7, 5)
    page = admin_client.get(response.url).content.decode()
    assert "7 / 7 (100%)" in page
    assert "coordinates (latitude 48.8566, longitude 2.3522) are outside Syria" in page
    listing = admin_client.get(reverse("admin:ingest_importrun_changelist")).content.decode()
    assert "acled.csv" in listing


def test_a_running_import_refreshes_its_page_to_show_progress(admin_client, db):
    run = pipeline.create_run("acled", b"x", filename="big.csv")
    ImportRun.objects.filter(pk=run.pk).update(state="running", total=1000, processed=250)
    page = admin_client.get(
        reverse("admin:ingest_importrun_change", args=[run.pk])
    ).content.decode()
    assert "250 / 1,000 (25%)" in page
    assert 'http-equiv="refresh"' in page


def test_the_upload_form_says_what_is_missing(admin_client, db):
    response = admin_client.post(
        reverse("admin:ingest_upload"), {"kind": "zones", "confidence": "confirmed"}
    )
    page = response.content.decode()
    assert "Upload a file or paste a report" in page
    changelist = reverse("admin:ingest_importrun_changelist")
    assert f'&rsaquo; <a href="{changelist}">Import runs</a>' in page  # the breadcrumbs lead back
    assert ImportRun.objects.count() == 0


def test_pasted_report_text_becomes_a_report_with_candidates_in_the_review_queue(
    admin_client, gazetteer
):
    paste(admin_client, "HTS fighters captured Saraqib yesterday after clashes with regime forces.")
    report = Report.objects.get()
    assert report.state == "processed"
    candidate = report.candidates.get()
    assert candidate.date == dt.date(2024, 12, 1)
    queue = admin_client.get(reverse("admin:ingest_candidate_changelist")).content.decode()
    assert "HTS fighters captured Saraqib" in queue
    page = admin_client.get(
        reverse("admin:ingest_candidate_change", args=[candidate.pk])
    ).content.decode()
    assert "<mark>Saraqib</mark>" in page and "<mark>HTS</mark>" in page


def test_accepting_a_candidate_creates_a_draft_event_with_the_report_as_its_source(
    admin_client, gazetteer
):
    paste(admin_client, "HTS fighters captured Saraqib yesterday after clashes with regime forces.")
    candidate = Candidate.objects.get()
    admin_client.post(
        reverse("admin:ingest_candidate_changelist"),
        {"action": "accept", "_selected_action": [candidate.pk]},
    )
    candidate.refresh_from_db()
    event = candidate.event
    assert candidate.state == "accepted" and event.status == "draft"
    assert (event.event_type, event.sub_event_type) == (
        "Battles",
        "Non-state actor overtakes territory",
    )
    assert event.place.name == "Saraqib" and event.confidence == "claimed"
    assert set(event.event_actors.values_list("faction__slug", "role")) == {
        ("hts", "actor1"), ("syrian-government", "actor2"),
    }  # fmt: skip
    assert event.sources.get().excerpt == candidate.sentence
    queue = admin_client.get(reverse("admin:ingest_candidate_changelist")).content.decode()
    assert "HTS fighters captured Saraqib" not in queue  # the queue shows pending ones


def test_a_candidate_merges_into_the_nearest_event_within_10_km_and_3_days(
    admin_client, gazetteer, make_event
):
    far = make_event(date=dt.date(2024, 12, 1), geom=Point(36.95, 35.86, srid=4326))  # ~14 km east
    late = make_event(date=dt.date(2024, 12, 6), geom=Point(36.80, 35.86, srid=4326))
    near = make_event(date=dt.date(2024, 11, 29), geom=Point(36.85, 35.88, srid=4326))  # ~5 km
    paste(admin_client, "Regime artillery shelled Saraqib yesterday.")
    candidate = Candidate.objects.get()
    assert [e.pk for e in pipeline.suggest_events(candidate)] == [near.pk]
    admin_client.post(
        reverse("admin:ingest_candidate_changelist"),
        {"action": "merge", "_selected_action": [candidate.pk]},
    )
    candidate.refresh_from_db()
    assert (candidate.state, candidate.event_id) == ("merged", near.pk)
    assert near.sources.count() == 1 and far.sources.count() == 0 and late.sources.count() == 0
    assert Event.objects.count() == 3


def test_merging_with_no_event_nearby_says_so_and_leaves_the_candidate_pending(
    admin_client, gazetteer
):
    paste(admin_client, "Regime artillery shelled Saraqib yesterday.")
    candidate = Candidate.objects.get()
    response = admin_client.post(
        reverse("admin:ingest_candidate_changelist"),
        {"action": "merge", "_selected_action": [candidate.pk]},
        follow=True,
    )
    assert "no event within 10 km and 3 days" in response.content.decode().lower()
    candidate.refresh_from_db()
    assert candidate.state == "pending"


def test_a_rejected_candidate_leaves_the_queue_and_cannot_be_accepted_later(
    admin_client, gazetteer
):
    paste(admin_client, "Regime artillery shelled Saraqib yesterday.")
    candidate = Candidate.objects.get()
    url = reverse("admin:ingest_candidate_changelist")
    admin_client.post(url, {"action": "reject", "_selected_action": [candidate.pk]})
    response = admin_client.post(
        url + "?state=all", {"action": "accept", "_selected_action": [candidate.pk]}, follow=True
    )
    assert f"candidate {candidate.pk} was already rejected" in response.content.decode().lower()
    assert Event.objects.count() == 0


def test_feed_and_report_lists_render(admin_client, gazetteer):
    paste(admin_client, "Regime artillery shelled Saraqib yesterday.")
    assert admin_client.get(reverse("admin:ingest_feed_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:ingest_feed_add")).status_code == 200
    page = admin_client.get(reverse("admin:ingest_report_changelist")).content.decode()
    assert "Regime artillery shelled Saraqib" in page


def test_poll_now_queues_the_poll_for_a_worker_instead_of_fetching_in_the_request(
    admin_client, gazetteer, feed_server, django_capture_on_commit_callbacks
):
    url, hits = feed_server
    feed = Feed.objects.create(name="Wire", url=url, interval_minutes=60)
    Feed.objects.filter(pk=feed.pk).update(next_poll_at=timezone.now() + dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:ingest_feed_changelist"),
            {"action": "poll_now", "_selected_action": [feed.pk]},
            follow=True,
        )
    assert "1 feed(s) queued for polling" in response.content.decode()
    assert hits == [] and ImportRun.objects.count() == 0  # nothing fetched in the web request
    assert queued_messages() == [("conflictmap.ingest.tasks.poll_feed", [feed.pk])]
    assert pipeline.due_feeds() == [feed.pk]  # due now: a lost message is polled by beat
    run = pipeline.poll_feed(feed.pk, inline=True)  # what the worker does with the message
    assert len(hits) == 1 and run.created == 2


# --- size limits -----------------------------------------------------------------------------


def test_an_upload_over_the_size_limit_is_stopped_and_the_form_says_so(
    admin_client, factions, sample, settings
):
    settings.INGEST_MAX_UPLOAD_BYTES = 1000
    big = SimpleUploadedFile("acled.csv", sample("acled_sample.csv"), content_type="text/csv")
    assert big.size > 1000
    response = admin_client.post(
        reverse("admin:ingest_upload"), {"kind": "acled", "file": big, "confidence": "confirmed"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "acled.csv is larger than that: files of at most 1,000 bytes" in page
    assert "INGEST_MAX_UPLOAD_BYTES" in page
    assert ImportRun.objects.count() == 0
    settings.INGEST_MAX_UPLOAD_BYTES = big.size  # at the limit: taken
    big.seek(0)
    admin_client.post(
        reverse("admin:ingest_upload"), {"kind": "acled", "file": big, "confidence": "confirmed"}
    )
    assert ImportRun.objects.get().created == 7


def test_the_size_limit_handler_never_passes_on_more_than_the_limit(rf, settings):
    from django.core.files.uploadhandler import SkipFile

    from conflictmap.ingest.uploads import SizeLimitHandler

    request = rf.post("/")
    handler = SizeLimitHandler(request, 100)
    handler.new_file("file", "a.csv", "text/csv", None)
    assert handler.receive_data_chunk(b"x" * 60, 0) == b"x" * 60
    with pytest.raises(SkipFile):
        handler.receive_data_chunk(b"x" * 60, 60)
    assert request.refused_uploads == {"file": "a.csv"}


def test_pasted_text_over_djangos_limit_is_sent_back_with_a_message(admin_client, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = paste(admin_client, "Clashes in Saraqib. " * 100)
    assert response.status_code == 302 and response.url == reverse("admin:ingest_upload")
    page = admin_client.get(response.url).content.decode()
    assert "The form&#x27;s text is larger than 1,000 bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)" in page
    assert ImportRun.objects.count() == 0 and Report.objects.count() == 0


def test_the_upload_page_still_checks_csrf(admin_user, db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:ingest_upload"), {"kind": "report", "text": "Clashes in Saraqib."}
    )
    assert response.status_code == 403
    assert ImportRun.objects.count() == 0


def test_items_that_gave_up_are_listed_with_their_reason_and_can_be_filtered(admin_client, db):
    reason = "gave up after 5 attempts; the last one failed with OperationalError: gone"
    failed = pipeline.create_run("acled", b"x", filename="failed.csv")
    ImportRun.objects.filter(pk=failed.pk).update(state="failed", attempts=5, error=reason)
    pipeline.create_run("acled", b"x", filename="waiting.csv")
    page = admin_client.get(
        reverse("admin:ingest_importrun_changelist") + "?state__exact=failed"
    ).content.decode()
    assert "failed.csv" in page and reason in page and "waiting.csv" not in page
    Report.objects.create(content_hash="a", text="x", state="failed", attempts=5, error=reason)
    page = admin_client.get(
        reverse("admin:ingest_report_changelist") + "?state__exact=failed"
    ).content.decode()
    assert reason in page
    Feed.objects.create(name="Dead wire", url="https://dead.example.org/rss", attempts=5,
                        failed_at=timezone.now(), last_error=reason)  # fmt: skip
    Feed.objects.create(name="Live wire", url="https://live.example.org/rss")
    page = admin_client.get(
        reverse("admin:ingest_feed_changelist") + "?polling=gave_up"
    ).content.decode()
    assert "Dead wire" in page and reason in page and "Live wire" not in page
