"""Imports create drafts unless a publisher chooses to publish (recorded on the ImportRun):
ACLED and control maps, by command (`--publish`, `--reason`) and by upload in the admin."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from conflictmap.events.models import Event
from conflictmap.ingest.models import ImportRun
from conflictmap.territory.editorial import ensure_roles
from conflictmap.territory.models import ZoneVersion


def ingest(*args) -> dict:
    out = io.StringIO()
    with contextlib.suppress(SystemExit):  # the command exits 1 when it read nothing
        call_command("ingest", *args, stdout=out)
    return json.loads(out.getvalue())


def statuses(model) -> set[str]:
    return set(model.objects.values_list("status", flat=True))


def test_an_acled_import_creates_drafts_with_its_reason(factions, tmp_path, sample):
    path = tmp_path / "acled.csv"
    path.write_bytes(sample("acled_sample.csv"))
    ingest("acled", str(path), "--reason", "ACLED weekly update, week 48")

    assert Event.objects.count() == 7 and statuses(Event) == {"draft"}
    run = ImportRun.objects.get()
    assert run.publish is False
    reasons = set(Event.history.values_list("history_change_reason", flat=True))
    assert reasons == {"ACLED weekly update, week 48"}


def test_an_acled_import_with_publish_publishes_and_says_so_on_the_run(factions, tmp_path, sample):
    path = tmp_path / "acled.csv"
    path.write_bytes(sample("acled_sample.csv"))
    ingest("acled", str(path), "--publish")

    assert statuses(Event) == {"published"}
    run = ImportRun.objects.get()
    assert run.publish is True
    assert set(Event.history.values_list("history_change_reason", flat=True)) == {
        f"ACLED import #{run.pk}"
    }


def test_a_control_map_import_creates_draft_versions_unless_published(factions, sample, tmp_path):
    path = tmp_path / "map.geojson"
    path.write_bytes(sample("control_map.geojson"))
    ingest("zones", str(path), "--faction", "hts", "--date", "2024-11-30")
    assert ZoneVersion.objects.exists() and statuses(ZoneVersion) == {"draft"}
    assert ZoneVersion.history.filter(history_change_reason__startswith="Control map import #")

    ingest(
        "zones", str(path), "--faction", "sna", "--date", "2024-12-05", "--publish",
        "--reason", "HTS map of 5 Dec",
    )  # fmt: skip
    latest = ZoneVersion.objects.filter(valid_from="2024-12-05")
    assert latest.exists() and set(latest.values_list("status", flat=True)) == {"published"}
    assert ZoneVersion.history.filter(history_change_reason="HTS map of 5 Dec").exists()


@pytest.fixture
def role_client(client, django_user_model):
    def sign_in(role: str):
        ensure_roles()
        user = django_user_model.objects.create_user(role, password="pw", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        return client

    return sign_in


def upload(client, sample, **data):
    file = SimpleUploadedFile("acled.csv", sample("acled_sample.csv"), content_type="text/csv")
    return client.post(
        reverse("admin:ingest_upload"),
        {"kind": "acled", "file": file, "confidence": "confirmed", **data},
    )


def test_an_editor_cannot_publish_at_upload_and_nothing_is_stored(role_client, factions, sample):
    client = role_client("editor")
    response = upload(client, sample, publish="on")
    assert response.status_code == 200
    assert "Only publishers may publish at upload" in response.content.decode()
    assert not ImportRun.objects.exists() and not Event.objects.exists()

    response = upload(client, sample)  # unticked: drafts
    assert response.status_code == 302
    assert statuses(Event) == {"draft"} and ImportRun.objects.get().publish is False


def test_a_publisher_may_publish_at_upload_and_the_run_records_it(role_client, factions, sample):
    client = role_client("publisher")
    response = upload(client, sample, publish="on", reason="ACLED Syria, week 48")
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert run.publish is True and statuses(Event) == {"published"}
    assert set(Event.history.values_list("history_change_reason", flat=True)) == {
        "ACLED Syria, week 48"
    }
    page = client.get(reverse("admin:ingest_importrun_change", args=[run.pk])).content.decode()
    assert "Publish" in page


def test_an_accepted_candidate_is_a_draft_event_whose_history_says_why(db, admin_user):
    from django.contrib.gis.geos import Point

    from conflictmap.ingest import pipeline
    from conflictmap.ingest.models import Candidate, Report

    report = Report.objects.create(text="Clashes in Aleppo.", content_hash="y" * 64)
    candidate = Candidate.objects.create(
        report=report, sentence_index=0, sentence="Clashes in Aleppo.",
        geom=Point(37.16, 36.2, srid=4326), event_type="Battles", date="2024-12-01",
    )  # fmt: skip
    event = pipeline.accept_candidate(candidate, user=admin_user)
    assert event.status == "draft"
    rows = event.history.all()
    assert {r.history_change_reason for r in rows} == {
        f"Accepted candidate {candidate.pk} (report {report.pk})"
    }
    assert {r.history_user for r in rows} == {admin_user}
