"""The review page: the report with what extraction matched marked (as text, whatever the report
holds), the candidate's map data (nearby events, zones of its date), and accept / merge / reject
posted with the CSRF token, each moving on to the next candidate of the queue."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest
from django.contrib.gis.geos import Point
from django.test import Client
from django.urls import reverse

from conflictmap.events.models import Event
from conflictmap.ingest import extract
from conflictmap.ingest.marks import marked_report
from conflictmap.ingest.models import Candidate, Report
from conflictmap.ingest.pipeline import review

SARAQIB = Point(36.80, 35.8643, srid=4326)


def paste(client, text: str, published: str = "2024-12-02") -> None:
    client.post(
        reverse("admin:ingest_upload"),
        {"kind": "report", "text": text, "published": published, "confidence": "confirmed"},
    )


def review_url(candidate: Candidate) -> str:
    return reverse("admin:ingest_candidate_review", args=[candidate.pk])


def json_script(page: str, element_id: str) -> dict:
    found = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, f"no #{element_id} on the page"
    return json.loads(found.group(1))


def marks(page: str) -> list[tuple[str, str]]:
    """(kind, text) of every match marked in the report."""
    text = re.search(r'<div id="cm-review-text"[^>]*>(.*?)</div>', page, re.S).group(1)
    return [
        (kind, html.unescape(inner))
        for kind, inner in re.findall(
            r'<mark class="cm-mark cm-mark-(\w+)"[^>]*>(.*?)</mark>', text
        )
    ]


def pending(sentence: str, *, report_text: str | None = None, **fields) -> Candidate:
    report = Report.objects.create(
        text=report_text or sentence, content_hash=str(Report.objects.count()).rjust(64, "0")
    )
    defaults = {"sentence_index": 0, "sentence": sentence, "geom": SARAQIB,
                "date": dt.date(2024, 12, 1), "event_type": "Battles",
                "sub_event_type": "Armed clash", "confidence": 0.5}  # fmt: skip
    return Candidate.objects.create(report=report, **{**defaults, **fields})


# --- the marks -----------------------------------------------------------------------------------


def test_extraction_records_the_span_of_the_fatalities_and_where_the_sentence_starts(gazetteer):
    text = "Fighting went on in the north. HTS fighters shelled Saraqib on Sunday, killing at least eight people."
    [found] = extract.extract(text, dt.date(2024, 12, 2))
    number = next(s for s in found.spans if s["kind"] == "number")
    assert found.sentence[number["start"] : number["end"]] == number["text"]
    assert number["text"] == "killing at least eight"
    assert text[found.start :].startswith(found.sentence)


def test_an_arabic_number_with_marks_is_spanned_in_the_text_as_written(gazetteer):
    # The diacritics are folded away before the rules read the sentence: the span must still
    # cover the words as written.
    sentence = "قصفت قوات النظام مدينة سراقب أمس ما أدى إلى مقتلِ سبعةِ مدنيين على الأقل."
    [found] = extract.extract(sentence, dt.date(2024, 12, 2))
    number = next(s for s in found.spans if s["kind"] == "number")
    assert number["text"] == found.sentence[number["start"] : number["end"]]
    assert number["text"].startswith("مقتلِ سبعةِ")
    assert found.fatalities == 7


def test_the_page_shows_the_whole_report_with_the_candidates_matches_marked(
    admin_client, gazetteer
):
    paste(
        admin_client,
        "Fighting went on in the north.\n\nHTS fighters captured Saraqib yesterday after clashes "
        "with regime forces, killing at least eight soldiers. Residents fled.",
    )
    candidate = Candidate.objects.get()
    text = candidate.report.text  # as the text parser keeps it (paragraphs and all)
    assert text[candidate.sentence_start :].startswith("HTS fighters captured Saraqib")
    page = admin_client.get(review_url(candidate)).content.decode()
    found = marks(page)
    assert ("actor", "HTS") in found and ("type", "captured") in found
    assert ("place", "Saraqib") in found and ("date", "yesterday") in found
    assert ("number", "killing at least eight") in found
    assert 'title="place of the event: Saraqib, exact"' in page
    # The sentences around it are there too, as text, and the sentence is set apart.
    before = text[: candidate.sentence_start]
    assert f'{before}<span id="cm-review-sentence"' in page and "north." in before
    assert "</span> Residents fled.</div>" in page
    # What each mark means, for the editor.
    assert '<mark class="cm-mark cm-mark-number">fatalities</mark>' in page


def test_hostile_text_in_a_report_stays_text(admin_client, db):
    hostile = "<script>alert(1)</script>"
    sentence = f"Clashes near {hostile} killed <img src=x onerror=alert(2)> two."
    candidate = pending(
        sentence,
        report_text=f"<b>Intro</b> {hostile}. {sentence} After <i>{hostile}</i>",
        places=[
            {
                "place_id": 1,
                "name": '"><script>alert(3)</script>',
                "start": 13,
                "end": 13 + len(hostile),
                "precision": "exact",
            }
        ],  # fmt: skip
        spans=[{"kind": "number", "start": sentence.index("killed"), "end": len(sentence) - 1}],
        fatalities=2,
    )
    page = admin_client.get(review_url(candidate)).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>Intro" not in page
    assert "&lt;b&gt;Intro&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;. " in page
    # The marked hostile text is escaped inside its mark, and so is the place's name in the title.
    assert (
        '<mark class="cm-mark cm-mark-place" title="place named: &quot;&gt;&lt;script&gt;alert(3)'
        '&lt;/script&gt;, exact">&lt;script&gt;alert(1)&lt;/script&gt;</mark>' in page
    )
    assert ("number", "killed <img src=x onerror=alert(2)> two") in marks(page)
    # No inline script or style anywhere on the page (the CSP would refuse them).
    assert re.findall(r"<script(?![^>]*\b(?:src|type=\"application/json\"))", page) == []
    assert " style=" not in page


def test_spans_that_do_not_fit_the_sentence_are_left_out_and_a_moved_sentence_is_found(db):
    candidate = pending(
        "Shelling hit Saraqib.",
        report_text="Headline. Shelling hit Saraqib. More.",
        sentence_start=None,  # extracted before the offset was kept: found in the text
        spans=[
            {"kind": "type", "start": 0, "end": 8},
            {"kind": "date", "start": 15, "end": 99},
            {"kind": "date", "start": "x", "end": 3},
        ],  # fmt: skip
        places=[
            {"name": "Saraqib", "start": 13, "end": 20},
            {"name": "Sara", "start": 13, "end": 17},
        ],
    )
    marked = marked_report(candidate)
    assert (marked.before, marked.after, marked.located) == ("Headline. ", " More.", True)
    assert [(p.kind, p.text) for p in marked.sentence] == [
        ("type", "Shelling"), ("", " hit "), ("place", "Saraqib"), ("", "."),
    ]  # fmt: skip
    Report.objects.filter(pk=candidate.report_id).update(text="Rewritten entirely.")
    candidate.refresh_from_db()
    assert marked_report(candidate).located is False


# --- the map's data ------------------------------------------------------------------------------


def test_the_map_gets_the_events_within_25_km_and_7_days_and_the_zones_of_the_candidates_date(
    admin_client, db, make_event
):
    near = make_event(date=dt.date(2024, 12, 1), geom=Point(36.82, 35.87, srid=4326))  # ~2 km
    draft = make_event(
        date=dt.date(2024, 11, 26), geom=Point(36.95, 35.86, srid=4326), status="draft"
    )
    make_event(date=dt.date(2024, 11, 20), geom=Point(36.82, 35.87, srid=4326))  # 11 days before
    make_event(date=dt.date(2024, 12, 1), geom=Point(37.16, 36.20, srid=4326))  # Aleppo, ~50 km
    retracted = make_event(date=dt.date(2024, 12, 1), geom=SARAQIB, status="retracted")
    candidate = pending("Clashes in Saraqib.")
    page = admin_client.get(review_url(candidate)).content.decode()
    config = json_script(page, "cm-review-config")
    assert config["candidate"] == {
        "lon": 36.80,
        "lat": 35.8643,
        "label": f"Candidate {candidate.pk}",
    }
    assert config["radiusKm"] == 25
    shown = {f["properties"]["id"]: f["properties"] for f in config["events"]["features"]}
    assert set(shown) == {near.pk, draft.pk}  # published and drafts; not retracted
    assert retracted.pk not in shown
    assert shown[near.pk]["mergeable"] is True and shown[draft.pk]["mergeable"] is False
    assert shown[draft.pk]["status"] == "draft" and shown[draft.pk]["days"] == 5
    context = json_script(page, "cm-admin-map-context")
    assert context["neighbours"] == {"date": "2024-12-01", "version": None}
    assert context["zones"] == "/api/v1/zones"
    assert 'id="cm-review-map"' in page and "data-leaflet-options" in page
    # The scripts: Leaflet, then context.js and review.js, which must hear map:init, then the
    # starter that fires it.
    order = [page.index(s) for s in ("leaflet/leaflet.js", "js/admin/context.js",
                                     "js/admin/review.js", "js/shared/leaflet-maps.js")]  # fmt: skip
    assert order == sorted(order)
    assert f'id="cm-merge-{near.pk}"' in page and f'id="cm-merge-{draft.pk}"' not in page


# --- the actions ---------------------------------------------------------------------------------


@pytest.fixture
def queue(db):
    """Three pending candidates, most confident first."""
    return [
        pending(f"Clashes number {i} in Saraqib.", confidence=c)
        for i, c in enumerate((0.9, 0.7, 0.5))
    ]


def test_the_queue_goes_most_confident_first_and_j_k_follow_it(admin_client, queue):
    first, second, third = queue
    assert list(review.review_queue().values_list("pk", flat=True)) == [c.pk for c in queue]
    assert review.queue_neighbours(second) == (first.pk, third.pk)
    assert review.queue_neighbours(first) == (None, second.pk)
    response = admin_client.get(reverse("admin:ingest_candidate_review_first"))
    assert response.url == review_url(first)
    page = admin_client.get(review_url(second)).content.decode()
    assert f'href="{review_url(third)}" id="cm-review-next" data-cm-key="j"' in page
    assert f'href="{review_url(first)}" id="cm-review-previous" data-cm-key="k"' in page
    for key, action in (("a", "accept"), ("m", "merge"), ("r", "reject")):
        assert re.search(rf'value="{action}"[^>]*data-cm-key="{key}"', page), action
    assert "<kbd>a</kbd> accept" in page and "3 awaiting review" in page
    listing = admin_client.get(reverse("admin:ingest_candidate_changelist")).content.decode()
    assert reverse("admin:ingest_candidate_review_first") in listing


def test_rejecting_moves_on_to_the_next_candidate(admin_client, queue):
    first, second, _ = queue
    response = admin_client.post(review_url(first), {"action": "reject"})
    assert response.status_code == 302 and response.url == review_url(second)
    first.refresh_from_db()
    assert first.state == "rejected" and first.reviewed_by.username == "admin"
    # Reviewed, it shows what became of it and no buttons; j/k still lead on.
    page = admin_client.get(review_url(first)).content.decode()
    assert "Already rejected by admin" in page and 'id="cm-review-form"' not in page


def test_accepting_goes_through_the_review_pipeline_and_the_last_one_leads_back_to_the_list(
    admin_client, queue
):
    last = queue[-1]
    response = admin_client.post(review_url(last), {"action": "accept"}, follow=True)
    last.refresh_from_db()
    assert last.state == "accepted" and last.event.status == "draft"
    assert last.event.sources.get().excerpt == last.sentence
    # Nothing after the last: back to the first still waiting.
    assert response.redirect_chain[-1][0] == review_url(queue[0])
    assert (
        f"Candidate {last.pk} accepted as draft event {last.event_id}." in response.content.decode()
    )
    for c in queue[:2]:
        admin_client.post(review_url(c), {"action": "reject"})
    response = admin_client.post(review_url(last), {"action": "reject"}, follow=True)
    assert f"candidate {last.pk} was already accepted" in response.content.decode().lower()
    response = admin_client.get(reverse("admin:ingest_candidate_review_first"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:ingest_candidate_changelist")
    assert "No candidate awaits review." in response.content.decode()


def test_merging_takes_the_chosen_suggestion_and_refuses_any_other_event(
    admin_client, queue, make_event
):
    first, second, _ = queue
    near = make_event(date=dt.date(2024, 12, 1), geom=Point(36.82, 35.87, srid=4326))
    nearer = make_event(date=dt.date(2024, 12, 1), geom=SARAQIB)
    far = make_event(date=dt.date(2024, 12, 1), geom=Point(37.16, 36.20, srid=4326))
    page = admin_client.get(review_url(first)).content.decode()
    assert re.search(rf'value="{nearer.pk}" id="cm-merge-{nearer.pk}" checked', page)
    response = admin_client.post(review_url(first), {"action": "merge", "event": str(far.pk)})
    assert response.url == review_url(first)  # refused: stays on the page
    first.refresh_from_db()
    assert first.state == "pending" and far.sources.count() == 0
    message = admin_client.get(review_url(first)).content.decode()
    assert f"event {far.pk} is not among the events suggested for it" in html.unescape(message)
    response = admin_client.post(review_url(first), {"action": "merge", "event": str(near.pk)})
    assert response.url == review_url(second)
    first.refresh_from_db()
    assert (first.state, first.event_id) == ("merged", near.pk)
    assert Event.objects.get(pk=near.pk).sources.count() == 1
    # No choice sent: the nearest suggestion, as the list's merge action does.
    admin_client.post(review_url(second), {"action": "merge"})
    second.refresh_from_db()
    assert (second.state, second.event_id) == ("merged", nearer.pk)


def test_bad_actions_change_nothing_and_say_why(admin_client, queue):
    first = queue[0]
    for data, said in (
        ({"action": "publish"}, "action='publish': expected accept, merge or reject"),
        ({"action": "merge", "event": "x"}, "event='x' is not an event id"),
        ({"action": "merge"}, "no event within 10 km and 3 days"),
    ):
        response = admin_client.post(review_url(first), data, follow=True)
        assert said.lower() in html.unescape(response.content.decode()).lower(), data
        first.refresh_from_db()
        assert first.state == "pending"
    assert (
        admin_client.get(reverse("admin:ingest_candidate_review", args=[99999])).status_code == 404
    )


def test_the_actions_need_the_csrf_token_and_the_change_permission(
    admin_user, queue, django_user_model
):
    first = queue[0]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(review_url(first), {"action": "reject"}).status_code == 403
    page = strict.get(review_url(first))
    token = page.cookies["csrftoken"].value
    response = strict.post(review_url(first), {"action": "reject", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    # Staff without the candidates' permissions cannot review.
    clerk = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    other = Client()
    other.force_login(clerk)
    second = queue[1]
    assert other.post(review_url(second), {"action": "reject"}).status_code in (302, 403)
    second.refresh_from_db()
    assert second.state == "pending"


def test_a_candidate_without_place_or_date_still_gets_its_page_and_says_what_is_missing(
    admin_client, db
):
    candidate = pending("Clashes somewhere.", geom=None, date=None)
    page = admin_client.get(review_url(candidate)).content.decode()
    config = json_script(page, "cm-review-config")
    assert config["candidate"] is None and config["events"]["features"] == []
    assert json_script(page, "cm-admin-map-context")["neighbours"]["date"] is None
    assert "No location" in page and "no date, so no zones" in page
    # Accepting needs both: refused, said, nothing changes.
    response = admin_client.post(review_url(candidate), {"action": "accept"}, follow=True)
    assert "has no location; set one before accepting" in response.content.decode()
    candidate.refresh_from_db()
    assert candidate.state == "pending"
