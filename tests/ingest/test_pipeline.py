"""The pipeline against real PostGIS: ACLED upserts, control maps, reports, feeds, claims, sweep."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from conflictmap.events.models import Event, EventActor, ExternalId
from conflictmap.ingest import pipeline
from conflictmap.ingest.models import Candidate, Feed, ImportRun, Report
from conflictmap.territory.models import Faction, ZoneVersion

from .conftest import queued_messages, wait_for
from .test_parsers import HEADER, acled_row


def run_file(kind: str, content: bytes, **options) -> ImportRun:
    run = pipeline.create_run(
        kind, content, filename=options.pop("filename", f"x.{kind}"), options=options
    )
    return pipeline.process_run(run.pk, inline=True)


# --- ACLED -----------------------------------------------------------------------------------------


def test_it_imports_the_acled_sample_and_records_each_rejection_on_the_run(factions, sample):
    run = run_file("acled", sample("acled_sample.csv"))
    assert (run.state, run.total, run.created, run.updated, run.unchanged, run.rejected) == (
        "done", 7, 7, 0, 0, 5,
    )  # fmt: skip
    assert run.rejections.filter(repaired=True).count() == 1
    assert run.rejections.get(row="8 (SYR129007)").reason.endswith("are outside Syria")
    event = ExternalId.objects.get(system="acled", value="SYR129003").event
    assert event.date_precision == "week" and event.location_precision == "near"
    assert event.fatalities is None
    roles = set(EventActor.objects.filter(event=event).values_list("faction__slug", "role"))
    assert ("hts", "actor1") in roles and ("syrian-government", "actor2") in roles
    assert ("hezbollah", "assoc_actor_2") in roles
    assert event.sources.get().publisher == "ACLED"
    swapped = ExternalId.objects.get(value="SYR129006").event
    assert (swapped.geom.x, swapped.geom.y) == (36.75, 35.1318)


def test_unknown_actors_become_factions_to_review(factions, sample):
    run_file("acled", sample("acled_sample.csv"))
    new = Faction.objects.filter(needs_review=True)
    assert set(new.values_list("name", flat=True)) == {
        "Islamist Militia (Syria)", "Civilians (Syria)", "Ahrar al Sham", "Jaysh al Izza",
        "Unidentified Armed Group (Syria)",
    }  # fmt: skip
    assert new.get(name="Civilians (Syria)").kind == "civilian"


def test_reimporting_the_same_file_changes_nothing(factions, sample):
    run_file("acled", sample("acled_sample.csv"))
    before = (Event.objects.count(), EventActor.objects.count(), Faction.objects.count())
    updated_at = dict(Event.objects.values_list("pk", "updated_at"))
    again = run_file("acled", sample("acled_sample.csv"))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 7)
    assert (Event.objects.count(), EventActor.objects.count(), Faction.objects.count()) == before
    assert dict(Event.objects.values_list("pk", "updated_at")) == updated_at


def test_a_later_row_for_the_same_event_id_updates_the_event(factions):
    run_file("acled", (HEADER + "\n" + acled_row(fatalities="3") + "\n").encode())
    later = run_file(
        "acled", (HEADER + "\n" + acled_row(fatalities="5", actor2="Hezbollah") + "\n").encode()
    )
    assert (later.created, later.updated, later.unchanged) == (0, 1, 0)
    event = ExternalId.objects.get(value="SYR1").event
    assert event.fatalities == 5
    history = list(
        event.history.order_by("history_id").values_list(
            "history_type", "fatalities", "history_change_reason"
        )
    )
    assert history == [
        ("+", 3, f"ACLED import #{later.pk - 1}"),
        ("~", 5, f"ACLED import #{later.pk}"),
    ]
    assert set(event.event_actors.values_list("role", flat=True)) == {"actor1", "actor2"}
    assert Event.objects.count() == 1


def test_the_same_id_twice_in_one_file_counts_the_second_as_an_update(factions):
    data = "\n".join([HEADER, acled_row(fatalities="1"), acled_row(fatalities="2")]).encode()
    run = run_file("acled", data)
    assert (run.created, run.updated) == (1, 1)
    assert ExternalId.objects.get(value="SYR1").event.fatalities == 2


def test_a_file_that_cannot_be_read_imports_nothing_and_says_why(factions):
    run = run_file("acled", b"a,b,c\n1,2,3\n")
    assert run.created == 0 and run.rejected == 1
    assert run.rejections.get().reason.startswith("missing required column(s): event_id_cnty")
    assert Event.objects.count() == 0


# --- control maps ----------------------------------------------------------------------------------


def test_a_control_map_makes_new_zone_versions_and_repairs_or_rejects_bad_polygons(
    factions, sample
):
    run = run_file(
        "zones",
        sample("control_map.geojson"),
        faction="hts",
        date="2024-11-30",
        filename="map.geojson",
    )
    assert (run.created, run.rejected) == (3, 4)
    reasons = {r.row: (r.reason, r.repaired) for r in run.rejections.all()}
    loop_reason, repaired = reasons["feature 3 (Test loop)"]
    assert repaired and "repaired with ST_MakeValid" in loop_reason
    assert (
        "rejected: ST_MakeValid would change its area by" in reasons["feature 4 (Test bowtie)"][0]
    )
    assert reasons["feature 5 (Test road)"][0] == "is a LineString, not a polygon"
    version = ZoneVersion.objects.get(zone__name="Test loop")
    assert version.geom.valid and version.valid_from == dt.date(2024, 11, 30)
    assert version.faction.slug == "hts"
    assert version.sources.get().title.startswith("Control map map.geojson")


def test_a_later_control_map_closes_the_versions_it_replaces(factions, sample):
    run_file(
        "zones",
        sample("control_map.geojson"),
        faction="sdf",
        date="2024-11-01",
        zone="Manbij pocket",
    )
    sna_from_9_december = {
        "faction": "sna", "date": "2024-12-09", "zone": "Manbij pocket", "filename": "m.kml"
    }  # fmt: skip
    run = run_file("zones", sample("control_map.kml"), **sna_from_9_december)
    assert (run.created, run.options["closed_versions"]) == (1, 1)
    old, new = ZoneVersion.objects.filter(zone__name="Manbij pocket").order_by("valid_from")
    assert (old.faction.slug, old.valid_to) == ("sdf", dt.date(2024, 12, 9))
    assert (new.faction.slug, new.valid_from, new.valid_to) == ("sna", dt.date(2024, 12, 9), None)
    again = run_file("zones", sample("control_map.kml"), **sna_from_9_december)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert ZoneVersion.objects.filter(zone__name="Manbij pocket").count() == 2


def test_a_truncated_control_map_is_rejected_with_its_reason(factions, sample):
    run = run_file("zones", sample("truncated.geojson"), faction="hts", date="2024-11-30")
    assert run.created == 0
    assert run.rejections.get().reason == (
        "x.zones: GDAL cannot open it as geojson: At line 8, character 175: Unterminated array;"
        " Failed to read GeoJSON data"
    )


# --- reports ---------------------------------------------------------------------------------------


def test_a_report_is_kept_once_by_url_and_by_text(gazetteer):
    first = pipeline.store_report(
        "Clashes broke out in Saraqib.", url="https://x.example/a?utm_source=rss#top"
    )
    by_url = pipeline.store_report("Other text.", url="https://X.example/a")
    by_text = pipeline.store_report("  clashes   broke out in SARAQIB. ", url="https://x.example/b")
    assert first.created and not by_url.created and not by_text.created
    assert by_url.report.pk == by_text.report.pk == first.report.pk
    assert first.report.url == "https://x.example/a"


def test_a_report_run_extracts_candidates_once(gazetteer, sample):
    run = run_file("report", sample("article.txt"), published="2024-12-02T12:00:00+00:00")
    report = run.report_set.get()
    assert report.state == "processed"
    assert report.candidates.count() == 4
    assert pipeline.process_report(report.pk) is False  # processed already: nothing to do
    again = run_file("report", sample("article.txt"))
    assert (again.created, again.unchanged) == (0, 1)
    assert Candidate.objects.count() == 4


def test_a_sentence_naming_two_places_taken_stores_one_candidate_per_place(gazetteer):
    published = dt.datetime(2024, 11, 29, 9, tzinfo=dt.UTC)
    text = "HTS captured Saraqib and the town of Idlib on Thursday, killing at least eight."
    report = pipeline.store_report(text, published_at=published).report
    assert pipeline.process_report(report.pk) is True
    stored = list(
        Candidate.objects.filter(report=report).order_by("part").values_list(
            "sentence_index", "part", "place__name", "date", "date_source", "location_precision",
            "fatalities", "fatalities_qualifier",
        )
    )  # fmt: skip
    thursday = dt.date(2024, 11, 28)
    assert stored == [
        (0, 0, "Saraqib", thursday, "text", "exact", 8, "at least"),
        (0, 1, "Idlib", thursday, "text", "exact", 8, "at least"),
    ]


def test_a_report_without_a_date_gives_candidates_of_unknown_date_not_the_import_day(gazetteer):
    report = pipeline.store_report("HTS captured Saraqib on Thursday.").report
    assert pipeline.process_report(report.pk) is True
    assert list(Candidate.objects.values_list("date", "date_source")) == [(None, "")]


def test_reports_of_the_same_event_are_grouped_into_one_candidate_with_every_report_as_source(
    gazetteer,
):
    from conflictmap.ingest.pipeline import review

    def ingest(text: str, day: int, url: str) -> Candidate:
        published = dt.datetime(2024, 11, day, 9, tzinfo=dt.UTC)
        report = pipeline.store_report(text, url=url, published_at=published).report
        assert pipeline.process_report(report.pk) is True
        return Candidate.objects.get(report=report)

    first = ingest("HTS captured Saraqib on Thursday.", 29, "https://a.example/1")
    # The same capture told a day later by another outlet, with the town's other spelling.
    second = ingest(
        "Hayat Tahrir al-Sham fighters took Sarakeb on Thursday.", 30, "https://b.example/2"
    )
    # Same place and day, but another sub-type; and the same sub-type by other actors.
    strike = ingest("Russian warplanes struck Saraqib on Thursday.", 29, "https://c.example/3")
    other = ingest("The SNA captured Saraqib on Thursday.", 29, "https://d.example/4")
    leads = dict(Candidate.objects.values_list("pk", "lead_id"))
    assert leads == {first.pk: None, second.pk: first.pk, strike.pk: None, other.pk: None}
    event = review.accept_candidate(first)
    assert sorted(event.sources.values_list("url", flat=True)) == [
        "https://a.example/1", "https://b.example/2",
    ]  # fmt: skip
    second.refresh_from_db()
    assert (second.state, second.event_id) == ("accepted", event.pk)
    review.reject_candidate(other)
    assert Candidate.objects.get(pk=strike.pk).state == "pending"


def test_a_claimed_report_is_not_taken_by_a_second_worker_until_the_claim_is_stale(
    gazetteer, settings
):
    report = pipeline.store_report("Clashes broke out in Saraqib on Tuesday.").report
    token = pipeline.claim_report(report.pk)
    assert token is not None
    assert pipeline.claim_report(report.pk) is None
    Report.objects.filter(pk=report.pk).update(
        claimed_at=timezone.now() - dt.timedelta(seconds=settings.INGEST_CLAIM_TIMEOUT + 1)
    )
    assert pipeline.process_report(report.pk) is True
    assert Report.objects.get(pk=report.pk).attempts == 2
    assert Candidate.objects.filter(report=report).count() == 1


def test_the_sweep_requeues_pending_and_stale_work(gazetteer, in_process_worker, settings):
    pending = pipeline.store_report("Clashes broke out in Saraqib.").report
    stale = pipeline.store_report("Airstrikes hit Idlib.").report
    old = timezone.now() - dt.timedelta(seconds=settings.INGEST_CLAIM_TIMEOUT + 5)
    Report.objects.filter(pk=stale.pk).update(state="processing", claimed_at=old)
    fresh = pipeline.store_report("Shelling hit Hama.").report
    Report.objects.filter(pk=fresh.pk).update(state="processing", claimed_at=timezone.now())
    result = pipeline.sweep(min_age=0)
    assert result == {"reports": 2, "runs": 0, "queued": 2, "backlog": 0}  # the worker's queue
    assert wait_for(lambda: Report.objects.filter(state="processed").count() == 2, 20)
    states = dict(Report.objects.values_list("pk", "state"))
    assert states == {pending.pk: "processed", stale.pk: "processed", fresh.pk: "processing"}


def test_the_sweep_leaves_recently_queued_work_alone(gazetteer):
    report = pipeline.store_report("Clashes broke out in Saraqib.").report
    assert pipeline.sweep(min_age=60)["reports"] == 0  # received just now: its message is due
    Report.objects.filter(pk=report.pk).update(received_at=timezone.now() - dt.timedelta(minutes=5))
    Report.objects.filter(pk=report.pk).update(state="failed")
    assert pipeline.sweep(min_age=60)["reports"] == 0  # failed work is for an editor to look at
    Report.objects.filter(pk=report.pk).update(state="pending", queued_at=timezone.now())
    assert pipeline.sweep(min_age=60)["reports"] == 0  # re-queued a moment ago by another sweep


def test_stored_work_is_queued_only_once_the_transaction_commits(
    gazetteer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = pipeline.store_report("Clashes broke out in Saraqib.", queue=True).report
    assert Report.objects.get(pk=report.pk).state == "pending"
    assert len(callbacks) == 1 and queued_messages() == []
    callbacks[0]()
    assert queued_messages() == [("conflictmap.ingest.tasks.process_report", [report.pk])]


def test_when_the_broker_is_down_the_work_stays_stored_and_the_sweep_says_so(
    gazetteer, use_broker, caplog, django_capture_on_commit_callbacks
):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    use_broker(f"redis://127.0.0.1:{port}/0")
    with django_capture_on_commit_callbacks(execute=True):
        report = pipeline.store_report("Clashes broke out in Saraqib.", queue=True).report
    assert Report.objects.get(pk=report.pk).state == "pending"
    assert "the sweep will re-queue it" in caplog.text
    result = pipeline.sweep(min_age=0)
    assert result == {"reports": 1, "runs": 0, "backlog": None, "queued": 0, "broker": "down"}


# --- feeds -----------------------------------------------------------------------------------------


def test_a_feed_is_polled_with_etag_and_last_modified_and_a_304_adds_nothing(
    gazetteer, feed_server
):
    url, hits = feed_server
    feed = Feed.objects.create(name="Test", url=url, interval_minutes=30)
    assert pipeline.due_feeds() == [feed.pk]
    run = pipeline.poll_feed(feed.pk, inline=True)
    assert (run.created, run.rejected) == (2, 1)
    feed.refresh_from_db()
    assert feed.etag == '"v1"' and feed.last_modified.startswith("Sun, 01 Dec 2024")
    assert feed.next_poll_at > timezone.now() + dt.timedelta(minutes=29)
    assert pipeline.due_feeds() == []
    assert Report.objects.filter(feed=feed, state="processed").count() == 2
    assert pipeline.poll_feed(feed.pk, inline=True, force=True) is None
    assert hits[-1]["If-None-Match"] == '"v1"'
    assert hits[-1]["If-Modified-Since"] == "Sun, 01 Dec 2024 10:00:00 GMT"
    assert Report.objects.count() == 2 and ImportRun.objects.count() == 1


def test_an_unreachable_feed_records_the_error_for_a_retry(db, settings):
    settings.INGEST_FETCH_ALLOW = ["127.0.0.1/32"]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    feed = Feed.objects.create(name="Down", url=f"http://127.0.0.1:{port}/none")
    with pytest.raises(pipeline.FetchError):
        pipeline.poll_feed(feed.pk, inline=True)
    feed.refresh_from_db()
    assert f"127.0.0.1:{port}" in feed.last_error


def test_a_feed_at_an_internal_address_is_refused_and_says_so(db, feed_server, settings):
    url, hits = feed_server
    settings.INGEST_FETCH_ALLOW = []
    feed = Feed.objects.create(name="Inside", url=url)
    with pytest.raises(pipeline.FetchRefused):
        pipeline.poll_feed(feed.pk, inline=True)
    feed.refresh_from_db()
    assert feed.last_error.startswith("refused: 127.0.0.1 is a loopback address; feeds and")
    assert hits == [] and ImportRun.objects.count() == 0


def test_the_report_command_refuses_a_metadata_url_with_a_clear_error(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError) as refused:
        command("report", "http://169.254.169.254/latest/meta-data/iam/security-credentials/")
    assert str(refused.value).startswith(
        "cannot fetch http://169.254.169.254/latest/meta-data/iam/security-credentials/: "
        "refused: 169.254.169.254 is a cloud metadata address"
    )
    assert ImportRun.objects.count() == 0


# --- the command -----------------------------------------------------------------------------------


def command(*args) -> dict:
    from io import StringIO

    out = StringIO()
    call_command("ingest", *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_report_command_lists_candidates_with_places_coordinates_actors_dates_and_types(
    gazetteer, sample, tmp_path
):
    path = tmp_path / "article.txt"
    path.write_bytes(sample("article.txt"))
    out = command("report", str(path), "--published", "2024-12-02")
    first = out["reports"][0]["candidates"][0]
    assert first["places"][1]["name"] == "Tal Rifaat"
    assert first["coordinates"] == [37.0978, 36.4728]
    assert [a["slug"] for a in first["actors"]] == ["hts", "sdf"]
    assert first["date"] == "2024-12-01"
    assert (first["event_type"], first["sub_event_type"]) == (
        "Battles",
        "Non-state actor overtakes territory",
    )


def test_reingesting_a_stored_report_prints_its_existing_candidates(gazetteer, tmp_path):
    path = tmp_path / "saraqib.txt"
    path.write_text("Regime artillery shelled Saraqib yesterday, killing at least three people.")
    first = command("report", str(path), "--published", "2024-12-02")["reports"][0]
    [made] = first["candidates"]
    Candidate.objects.filter(pk=made["id"]).update(state=Candidate.State.REJECTED)
    # The same text again, in another file with other spacing and case: the same report.
    again_path = tmp_path / "again.txt"
    again_path.write_text(
        "REGIME artillery  shelled Saraqib yesterday, killing at least three people."
    )
    out, err = StringIO(), StringIO()
    call_command("ingest", "report", str(again_path), stdout=out, stderr=err)
    again = json.loads(out.getvalue())
    assert (again["created"], again["unchanged"], again["reports"]) == (0, 1, [])
    [stored] = again["already_stored"]
    assert stored["report"] == first["report"]
    [existing] = stored["candidates"]
    assert (existing["id"], existing["state"], existing["place"], existing["date"]) == (
        made["id"], "rejected", "Saraqib", "2024-12-01",
    )  # fmt: skip
    said = err.getvalue()
    assert f"Report {first['report']} (Regime artillery shelled Saraqib" in said
    assert "was stored already (same URL or text): nothing new was stored" in said
    assert (
        f"#{made['id']} Explosions/Remote violence / Shelling/artillery/missile attack, "
        "2024-12-01, Saraqib, rejected" in said
    )
    assert Report.objects.count() == 1 and Candidate.objects.count() == 1


def test_the_acled_command_reads_a_folder_and_status_shows_a_run(factions, sample, tmp_path):
    (tmp_path / "a.csv").write_bytes(sample("acled_sample.csv"))
    (tmp_path / "b.csv").write_bytes(
        (HEADER + "\n" + acled_row(event_id_cnty="SYR9") + "\n").encode()
    )
    out = command("acled", str(tmp_path))
    assert [r["created"] for r in out] == [7, 1]
    status = command("status", str(out[0]["run"]))
    assert (status["state"], status["rejected"], status["total"]) == ("done", 5, 7)


def test_the_command_exits_non_zero_only_when_nothing_could_be_read(factions, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"nothing,useful\n")
    with pytest.raises(SystemExit) as exit_:
        command("acled", str(bad))
    assert exit_.value.code == 1


def test_the_zones_command_checks_its_options(factions, sample, tmp_path):
    from django.core.management import CommandError

    path = tmp_path / "m.geojson"
    path.write_bytes(sample("control_map.geojson"))
    with pytest.raises(CommandError, match="--faction: no faction with slug 'nobody'"):
        command("zones", str(path), "--faction", "nobody", "--date", "2024-12-01")
    with pytest.raises(CommandError, match="--date: '1 Dec' is not YYYY-MM-DD"):
        command("zones", str(path), "--faction", "hts", "--date", "1 Dec")
    out = command("zones", str(path), "--faction", "hts", "--date", "2024-12-01")
    assert out["created"] == 3


def test_the_queue_option_stores_the_run_and_prints_its_id(
    factions, sample, tmp_path, in_process_worker
):
    path = tmp_path / "a.csv"
    path.write_bytes(sample("acled_sample.csv"))
    out = command("acled", str(path), "--queue")
    assert out["queued"] is True
    assert wait_for(lambda: ImportRun.objects.get(pk=out["run"]).state == "done", 20)
    assert ImportRun.objects.get(pk=out["run"]).created == 7


def test_a_database_error_hands_the_report_back_for_a_retry_and_a_bug_marks_it_failed(
    gazetteer, monkeypatch
):
    from django.db import OperationalError

    from conflictmap.ingest import extract

    report = pipeline.store_report("Clashes broke out in Saraqib.").report

    def lost_connection(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(extract, "extract", lost_connection)
    with pytest.raises(OperationalError):
        pipeline.process_report(report.pk)
    assert Report.objects.get(pk=report.pk).state == "pending"

    def bug(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(extract, "extract", bug)
    assert pipeline.process_report(report.pk) is False
    report.refresh_from_db()
    assert (report.state, report.error) == ("failed", "KeyError: 'oops'")


def test_a_network_error_hands_the_run_back_for_a_retry_and_a_bug_marks_it_failed(
    factions, sample, monkeypatch
):
    from conflictmap.ingest.parsers import acled

    def run_meeting(error: Exception) -> ImportRun:
        def parse(content: bytes):
            raise error

        run = pipeline.create_run("acled", sample("acled_sample.csv"), filename="a.csv")
        with monkeypatch.context() as patched, pytest.raises(type(error)):
            patched.setattr(acled, "parse", parse)
            pipeline.process_run(run.pk)
        run.refresh_from_db()
        return run

    lost = run_meeting(ConnectionResetError("connection reset by peer"))
    assert (lost.state, lost.error) == ("pending", "ConnectionResetError: connection reset by peer")
    retried = pipeline.process_run(lost.pk)  # the retry claims it again
    assert (retried.state, retried.created, retried.error, retried.attempts) == ("done", 7, "", 2)
    broken = run_meeting(KeyError("oops"))
    assert (broken.state, broken.error) == ("failed", "KeyError: 'oops'")


def test_a_worker_retries_a_task_that_meets_a_transport_error_and_it_then_succeeds(
    gazetteer, in_process_worker, settings, monkeypatch
):
    from django.db import OperationalError

    from conflictmap.ingest import extract

    settings.INGEST_RETRY_BACKOFF = 0
    real, calls = extract.extract, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(extract, "extract", flaky)
    report = pipeline.store_report("Clashes broke out in Saraqib yesterday.", queue=True).report
    assert wait_for(lambda: Report.objects.get(pk=report.pk).state == "processed", 20)
    report.refresh_from_db()
    assert (report.attempts, report.error, len(calls)) == (2, "", 2)


def test_a_worker_gives_up_after_the_last_attempt_and_marks_the_item_failed_with_the_reason(
    gazetteer, in_process_worker, settings, monkeypatch
):
    from django.db import OperationalError

    from conflictmap.ingest import extract

    settings.INGEST_RETRY_BACKOFF = 0
    settings.INGEST_MAX_ATTEMPTS = 3
    calls = []

    def lost_connection(*args, **kwargs):
        calls.append(1)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(extract, "extract", lost_connection)
    report = pipeline.store_report("Clashes broke out in Saraqib yesterday.", queue=True).report
    assert wait_for(lambda: Report.objects.get(pk=report.pk).state == "failed", 20)
    report.refresh_from_db()
    assert report.attempts == 3 and len(calls) == 3
    assert report.error == (
        "gave up after 3 attempts; the last one failed with OperationalError: server closed "
        "the connection unexpectedly"
    )
    time.sleep(0.5)  # nothing was queued again: no fourth try comes
    assert len(calls) == 3 and queued_messages() == []
    assert pipeline.sweep(min_age=0)["reports"] == 0  # and the sweep leaves it to an editor


def test_a_claim_whose_attempts_ran_out_marks_the_item_failed_saying_none_finished(
    factions, sample, settings
):
    settings.INGEST_MAX_ATTEMPTS = 2
    run = pipeline.create_run("acled", sample("acled_sample.csv"), filename="a.csv")
    report = pipeline.store_report("Clashes broke out in Saraqib.").report
    long_ago = timezone.now() - dt.timedelta(hours=1)
    # Two workers took each and vanished (killed, or at the hard time limit) without a word.
    ImportRun.objects.filter(pk=run.pk).update(
        state="running", attempts=2, claimed_at=long_ago, heartbeat_at=long_ago
    )
    Report.objects.filter(pk=report.pk).update(state="processing", attempts=2, claimed_at=long_ago)
    assert pipeline.process_run(run.pk) is None
    assert pipeline.process_report(report.pk) is False
    reason = (
        "gave up after 2 attempts: none of them finished (the worker stopped or was killed, e.g. "
        "at the task's hard time limit, CELERY_TASK_TIME_LIMIT)"
    )
    run.refresh_from_db()
    report.refresh_from_db()
    assert (run.state, run.error, run.created) == ("failed", reason, 0)
    assert run.finished_at is not None
    assert (report.state, report.error) == ("failed", reason)


def test_the_sweep_marks_exhausted_work_failed_instead_of_queuing_it_again(gazetteer, settings):
    settings.INGEST_MAX_ATTEMPTS = 2
    exhausted = pipeline.store_report("Clashes broke out in Saraqib.").report
    fresh = pipeline.store_report("Airstrikes hit Idlib.").report
    long_ago = timezone.now() - dt.timedelta(hours=1)
    Report.objects.filter(pk=exhausted.pk).update(
        state="processing", attempts=2, claimed_at=long_ago, error="TimeoutError: timed out"
    )
    result = pipeline.sweep(min_age=0)
    assert (result["gave_up"], result["reports"]) == (1, 1)
    assert queued_messages() == [("conflictmap.ingest.tasks.process_report", [fresh.pk])]
    assert Report.objects.get(pk=exhausted.pk).error == (
        "gave up after 2 attempts; the last one failed with TimeoutError: timed out"
    )


def test_a_feed_that_keeps_failing_gives_up_until_an_editor_asks_again(db, settings):
    settings.INGEST_MAX_ATTEMPTS = 2
    settings.INGEST_FETCH_ALLOW = ["127.0.0.1/32"]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    feed = Feed.objects.create(name="Down", url=f"http://127.0.0.1:{port}/rss")
    for attempt in (1, 2):
        Feed.objects.filter(pk=feed.pk).update(next_poll_at=timezone.now())  # its next slot
        with pytest.raises(pipeline.FetchError):
            pipeline.poll_feed(feed.pk)
        feed.refresh_from_db()
        assert feed.attempts == attempt
    assert feed.failed_at is not None
    assert feed.last_error == (
        f"gave up after 2 attempts; the last one failed with 127.0.0.1:{port}: cannot connect "
        "(127.0.0.1: Connection refused)"
    )
    Feed.objects.filter(pk=feed.pk).update(next_poll_at=timezone.now())
    assert pipeline.due_feeds() == []  # no longer polled
    assert pipeline.poll_soon([feed.pk]) == 1  # an editor's "poll now" starts afresh
    feed.refresh_from_db()
    assert (feed.failed_at, feed.attempts, pipeline.due_feeds()) == (None, 0, [feed.pk])


def test_the_feed_command_reads_a_saved_atom_file_and_refuses_an_html_page(
    gazetteer, sample, tmp_path
):
    atom = tmp_path / "wire.atom"
    atom.write_bytes(sample("feed.atom"))
    out = command("feed", str(atom))
    assert (out["created"], out["rejected"]) == (2, 0)
    menbij = out["reports"][0]["candidates"][0]
    assert menbij["places"][0]["name"] == "Manbij" and menbij["date"] == "2024-12-05"
    assert [a["slug"] for a in menbij["actors"]] == ["sna", "sdf"]
    page = tmp_path / "site.xml"
    page.write_bytes(sample("not_a_feed.html"))
    with pytest.raises(SystemExit) as exit_:
        command("feed", str(page))
    assert exit_.value.code == 1
    run = ImportRun.objects.latest("pk")
    assert run.rejections.get().reason.startswith("this is an HTML page, not an RSS/Atom feed")


def test_a_bad_report_date_is_said_and_the_report_still_goes_in(db):
    from conflictmap.ingest import pipeline
    from conflictmap.ingest.models import ImportRun, Report

    run = ImportRun.objects.create(
        kind=ImportRun.Kind.REPORT,
        filename="note.txt",
        content=b"Clashes were reported near Saraqib.",
        options={"published": "31/12/2024"},
    )
    pipeline.process_run(run.pk, inline=True)
    run.refresh_from_db()
    assert (run.state, run.created, run.rejected) == ("done", 1, 0)
    assert Report.objects.count() == 1
    assert [r.reason for r in run.rejections.all()] == [
        "report date '31/12/2024' is not YYYY-MM-DD; the text's own date is kept"
    ]


def test_the_command_refuses_a_file_over_the_size_limit_before_storing_any(
    factions, sample, tmp_path, settings
):
    from django.core.management import CommandError

    (tmp_path / "a.csv").write_bytes((HEADER + "\n" + acled_row() + "\n").encode())
    (tmp_path / "b.csv").write_bytes(sample("acled_sample.csv"))
    settings.INGEST_MAX_UPLOAD_BYTES = 1000
    size = (tmp_path / "b.csv").stat().st_size
    with pytest.raises(CommandError) as refused:
        command("acled", str(tmp_path))
    assert str(refused.value) == (
        f"{tmp_path / 'b.csv'} is {size:,} bytes: files of at most 1,000 bytes "
        "(0.000953674 MiB, INGEST_MAX_UPLOAD_BYTES) are taken"
    )
    assert ImportRun.objects.count() == 0


def test_a_folder_of_snapshots_or_a_shapefile_is_held_to_the_limit_as_one_stored_file(
    factions, tmp_path, settings
):
    from django.core.management import CommandError

    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    for day in ("2024-11-01", "2024-11-02"):  # each under the limit, together over it
        (snapshots / f"map-{day}.geojson").write_bytes(
            b'{"type": "FeatureCollection"}' + b" " * 600
        )
    shapefile = tmp_path / "zones"
    shapefile.mkdir()
    (shapefile / "zones.shp").write_bytes(b"\0" * 100)
    (shapefile / "zones.dbf").write_bytes(b"\0" * 1000)  # the part that makes it too large
    settings.INGEST_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(CommandError, match=r"snapshots is 1,2\d\d bytes: files of at most 1,000"):
        command("snapshots", str(snapshots), "--faction-field", "control")
    with pytest.raises(CommandError, match=r"zones.shp is 1,100 bytes: files of at most 1,000"):
        command("zones", str(shapefile / "zones.shp"), "--faction", "hts", "--date", "2024-11-01")
    assert ImportRun.objects.count() == 0
