"""Merging a candidate: the editor chooses among the events suggested near it in space and time;
a choice that is not among them, or a candidate already reviewed, changes nothing."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse
from django.utils.http import urlencode

from conflictmap.events.models import Event
from conflictmap.ingest import pipeline
from conflictmap.ingest.models import Candidate

SARAQIB = (36.80, 35.8643)


def paste(admin_client, text: str, published: str = "2024-12-02") -> Candidate:
    admin_client.post(
        reverse("admin:ingest_upload"),
        {"kind": "report", "text": text, "published": published, "confidence": "confirmed"},
    )
    return Candidate.objects.get()


@pytest.fixture
def scene(admin_client, gazetteer, make_event) -> dict:
    """A shelling of Saraqib reported for 1 Dec, two events near it and one too far away."""
    near = make_event(date=dt.date(2024, 12, 1), geom=Point(36.82, 35.87, srid=4326))  # ~2 km
    second = make_event(date=dt.date(2024, 11, 30), geom=Point(36.86, 35.88, srid=4326))  # ~6 km
    far = make_event(date=dt.date(2024, 12, 1), geom=Point(36.95, 35.86, srid=4326))  # ~14 km
    candidate = paste(admin_client, "Regime artillery shelled Saraqib yesterday.")
    assert candidate.date == dt.date(2024, 12, 1)
    return {"candidate": candidate, "near": near, "second": second, "far": far}


def merge_url(*candidates: Candidate) -> str:
    ids = ",".join(str(c.pk) for c in candidates)
    return reverse("admin:ingest_candidate_merge") + "?" + urlencode({"ids": ids})


def choose(admin_client, candidate: Candidate, event_id) -> str:
    response = admin_client.post(
        reverse("admin:ingest_candidate_merge"),
        {"ids": str(candidate.pk), f"event-{candidate.pk}": str(event_id)},
        follow=True,
    )
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_the_merge_action_lists_the_suggested_events_with_distance_and_days_to_choose_from(
    admin_client, scene
):
    candidate, near, second = scene["candidate"], scene["near"], scene["second"]
    response = admin_client.post(
        reverse("admin:ingest_candidate_changelist"),
        {"action": "merge", "_selected_action": [candidate.pk]},
    )
    assert response.status_code == 302 and response.url == merge_url(candidate)
    page = admin_client.get(response.url).content.decode()
    radios = re.findall(rf'<input type="radio" name="event-{candidate.pk}" value="(\d*)"', page)
    assert radios == [str(near.pk), str(second.pk), ""]  # nearest first, then "none of these"
    assert f'value="{near.pk}" id="event-{candidate.pk}-{near.pk}" checked' in page
    rows = re.findall(r'<td class="km">([\d.]+) km</td>\s*<td class="days">(\d+)</td>', page)
    kms = [float(km) for km, _ in rows]
    assert [days for _, days in rows] == ["0", "1"]
    assert 1.0 < kms[0] < 3.0 and 5.0 < kms[1] < 8.0
    assert str(scene["far"].pk) not in radios
    changelist = reverse("admin:ingest_candidate_changelist")
    assert f'&rsaquo; <a href="{changelist}">Candidates</a>' in page  # the breadcrumbs lead back
    candidate.refresh_from_db()
    assert candidate.state == "pending"  # showing the choice changes nothing


def test_choosing_the_second_suggestion_merges_into_it_and_records_the_events_history(
    admin_client, scene
):
    candidate, near, second = scene["candidate"], scene["near"], scene["second"]
    history_before = second.history.count()
    page = choose(admin_client, candidate, second.pk)
    assert "1 candidate(s) merged." in page
    candidate.refresh_from_db()
    assert (candidate.state, candidate.event_id) == ("merged", second.pk)
    assert candidate.reviewed_by.username == "admin" and candidate.reviewed_at is not None
    source = second.sources.get()
    assert source.excerpt == candidate.sentence
    assert near.sources.count() == 0 and scene["far"].sources.count() == 0
    assert second.history.count() == history_before + 1
    record = second.history.latest()
    assert record.history_type == "~"
    assert record.history_change_reason == (
        f"Merged candidate {candidate.pk} (report {candidate.report_id})"
    )
    assert record.history_user.username == "admin"
    assert list(record.sources.values_list("source_id", flat=True)) == [source.pk]
    assert Event.objects.count() == 3


def test_a_candidate_no_longer_pending_is_not_merged_again_and_the_editor_is_told(
    admin_client, scene
):
    candidate, near, second = scene["candidate"], scene["near"], scene["second"]
    # Shown the choice, then another editor merges it into the nearest event meanwhile.
    assert admin_client.get(merge_url(candidate)).status_code == 200
    pipeline.merge_candidate(candidate, near)
    page = choose(admin_client, candidate, second.pk)
    assert f"Candidate {candidate.pk} was already merged into an event." in page
    candidate.refresh_from_db()
    assert (candidate.state, candidate.event_id) == ("merged", near.pk)
    assert second.sources.count() == 0 and near.sources.count() == 1
    again = admin_client.get(merge_url(candidate)).content.decode()
    assert "Already merged into an event: nothing to merge." in again
    assert 'type="radio"' not in again


def test_a_rejected_candidate_cannot_be_merged_through_the_choice_page(admin_client, scene):
    candidate, second = scene["candidate"], scene["second"]
    pipeline.reject_candidate(candidate)
    page = choose(admin_client, candidate, second.pk)
    assert f"Candidate {candidate.pk} was already rejected." in page
    candidate.refresh_from_db()
    assert (candidate.state, candidate.event_id) == ("rejected", None)
    assert second.sources.count() == 0


def test_an_event_that_was_not_suggested_is_refused_and_nothing_changes(admin_client, scene):
    candidate, far = scene["candidate"], scene["far"]
    history_before = far.history.count()
    page = choose(admin_client, candidate, far.pk)
    assert (
        f"Candidate {candidate.pk}: event {far.pk} is not among the events suggested for it "
        "(within 10 km and 3 days); nothing was merged." in page
    )
    missing = choose(admin_client, candidate, 999999)
    assert "event 999999 is not among the events suggested for it" in missing
    garbage = choose(admin_client, candidate, "abc")
    assert (
        f"Candidate {candidate.pk}: event-{candidate.pk}='abc' is not an event id; nothing was merged."
        in garbage
    )
    candidate.refresh_from_db()
    assert (candidate.state, candidate.event_id) == ("pending", None)
    assert far.sources.count() == 0 and far.history.count() == history_before
    assert sum(e.sources.count() for e in Event.objects.all()) == 0


def test_merge_candidate_takes_an_event_or_its_id_only_among_the_suggestions(scene):
    candidate, second, far = scene["candidate"], scene["second"], scene["far"]
    refused = (
        rf"^candidate {candidate.pk}: event {far.pk} is not among the events suggested for it "
        r"\(within 10 km and 3 days\); nothing was merged$"
    )
    with pytest.raises(pipeline.ReviewError, match=refused):
        pipeline.merge_candidate(candidate, far)
    with pytest.raises(pipeline.ReviewError, match=refused):
        pipeline.merge_candidate(candidate, far.pk)
    candidate.refresh_from_db()
    assert (candidate.state, candidate.event_id) == ("pending", None)
    assert sum(e.sources.count() for e in Event.objects.all()) == 0
    assert pipeline.merge_candidate(candidate, second.pk).pk == second.pk
    candidate.refresh_from_db()
    assert (candidate.state, candidate.event_id) == ("merged", second.pk)
    record = second.history.latest()
    assert record.history_change_reason == (
        f"Merged candidate {candidate.pk} (report {candidate.report_id})"
    )


def test_choosing_none_of_the_suggestions_leaves_the_candidate_pending(admin_client, scene):
    candidate = scene["candidate"]
    page = choose(admin_client, candidate, "")
    assert f"Candidate {candidate.pk}: no event chosen; left as it was." in page
    candidate.refresh_from_db()
    assert candidate.state == "pending"


def test_the_candidate_page_links_to_the_choice(admin_client, scene):
    candidate = scene["candidate"]
    page = admin_client.get(
        reverse("admin:ingest_candidate_change", args=[candidate.pk])
    ).content.decode()
    assert html.escape(merge_url(candidate)) in page
    assert "Choose the event to merge into" in page


def test_several_candidates_are_merged_in_one_go_each_into_the_event_chosen_for_it(
    admin_client, scene
):
    first, near, second = scene["candidate"], scene["near"], scene["second"]
    admin_client.post(
        reverse("admin:ingest_upload"),
        {"kind": "report", "text": "Clashes were reported in Saraqib today.",
         "published": "2024-11-30", "confidence": "confirmed"},
    )  # fmt: skip
    other = Candidate.objects.exclude(pk=first.pk).get()
    response = admin_client.post(
        reverse("admin:ingest_candidate_changelist"),
        {"action": "merge", "_selected_action": [first.pk, other.pk]},
    )
    assert response.url == merge_url(first, other)
    page = admin_client.get(response.url).content.decode()
    assert f'name="event-{first.pk}"' in page and f'name="event-{other.pk}"' in page
    response = admin_client.post(
        reverse("admin:ingest_candidate_merge"),
        {"ids": f"{first.pk},{other.pk}", f"event-{first.pk}": near.pk,
         f"event-{other.pk}": second.pk},
        follow=True,
    )  # fmt: skip
    assert "2 candidate(s) merged." in response.content.decode()
    assert dict(Candidate.objects.values_list("pk", "event_id")) == {
        first.pk: near.pk,
        other.pk: second.pk,
    }
