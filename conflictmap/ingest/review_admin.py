"""The review page: one candidate at a time, fast (issue 12).

The report's text with what extraction matched marked (conflictmap.ingest.marks), the candidate
on a small map with the events near it and the zones in force on its date, and accept / merge /
reject as buttons with keyboard shortcuts (static/js/admin/review.js). The actions are the
review pipeline's (pipeline.review: accept_candidate, merge_candidate, reject_candidate), posted
with the CSRF token; each one moves on to the next candidate of the queue
(pipeline.review.review_queue).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse

from conflictmap.events.models import Event
from conflictmap.territory.models import Status, ZoneVersion, sees_drafts

from . import marks, pipeline
from .models import Candidate
from .pipeline import review

#: The events drawn around the candidate: this far and this many days either side of its date.
NEARBY_KM = 25
NEARBY_DAYS = 7
NEARBY_LIMIT = 200


def event_feature(event: Event, mergeable: bool) -> dict:
    """A nearby event as the review map draws it (text only: the script sets it as text)."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [event.geom.x, event.geom.y]},
        "properties": {
            "id": event.pk,
            "date": event.date.isoformat(),
            "type": event.event_type,
            "sub_type": event.sub_event_type,
            "status": event.status,
            "place": event.location_name,
            "km": round(event.km, 1),
            "days": event.days,
            "mergeable": mergeable,
        },
    }


class ReviewPageMixin:
    """Adds admin/ingest/candidate/review/ (the first candidate of the queue) and
    admin/ingest/candidate/<id>/review/ (GET: the page; POST: accept, merge or reject it)."""

    def get_urls(self):
        first = self.admin_site.admin_view(self.review_first_view)
        page = self.admin_site.admin_view(self.review_view)
        return [
            path("review/", first, name="ingest_candidate_review_first"),
            path("<int:pk>/review/", page, name="ingest_candidate_review"),
            *super().get_urls(),
        ]

    def review_first_view(self, request: HttpRequest) -> HttpResponse:
        first = review.review_queue().values_list("id", flat=True).first()
        if first is None:
            messages.info(request, "No candidate awaits review.")
            return HttpResponseRedirect(reverse("admin:ingest_candidate_changelist"))
        return HttpResponseRedirect(reverse("admin:ingest_candidate_review", args=[first]))

    def review_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        candidate = (
            Candidate.objects.select_related("report", "place", "lead", "event")
            .filter(pk=pk)
            .first()
        )
        if candidate is None:
            raise Http404(f"no candidate {pk}")
        if request.method == "POST":
            if not self.has_change_permission(request, candidate):
                return HttpResponseRedirect(reverse("admin:index"))
            return self._review_action(request, candidate)
        return render(
            request, "admin/ingest/candidate/review.html", self._review_context(request, candidate)
        )

    def _review_action(self, request: HttpRequest, c: Candidate) -> HttpResponse:
        """Accept, merge (into the event chosen, by default the nearest suggestion) or reject,
        through the review pipeline; then on to the next candidate, or back on refusal."""
        action = request.POST.get("action", "")
        here = reverse("admin:ingest_candidate_review", args=[c.pk])
        try:
            if action == "accept":
                event = pipeline.accept_candidate(c, user=request.user)
                done = f"accepted as draft event {event.pk}"
            elif action == "merge":
                chosen = request.POST.get("event", "")
                if chosen and not chosen.isdigit():
                    messages.error(
                        request, f"event={chosen!r} is not an event id; nothing changed."
                    )
                    return HttpResponseRedirect(here)
                event = pipeline.merge_candidate(c, int(chosen) if chosen else None, request.user)
                done = f"merged into event {event.pk}"
            elif action == "reject":
                pipeline.reject_candidate(c, user=request.user)
                done = "rejected"
            else:
                messages.error(
                    request,
                    f"action={action!r}: expected accept, merge or reject; nothing changed.",
                )
                return HttpResponseRedirect(here)
        except pipeline.ReviewError as exc:
            messages.error(request, f"{str(exc)[0].upper()}{str(exc)[1:]}.")
            return HttpResponseRedirect(here)
        messages.info(request, f"Candidate {c.pk} {done}.")
        _, following = review.queue_neighbours(c)
        if following is None:
            following = review.review_queue().values_list("id", flat=True).first()
        if following is None:
            messages.info(request, "That was the last candidate awaiting review.")
            return HttpResponseRedirect(reverse("admin:ingest_candidate_changelist"))
        return HttpResponseRedirect(reverse("admin:ingest_candidate_review", args=[following]))

    def _review_context(self, request: HttpRequest, c: Candidate) -> dict:
        pending = c.state == Candidate.State.PENDING
        suggestions = review.suggest_events(c) if pending else []
        mergeable = {e.pk for e in suggestions}
        statuses = (
            (Status.PUBLISHED, Status.DRAFT)
            if sees_drafts(request.user, Event)
            else (Status.PUBLISHED,)
        )
        nearby = review.suggest_events(
            c, km=NEARBY_KM, days=NEARBY_DAYS, limit=NEARBY_LIMIT, statuses=statuses
        )
        # The lead's event first: the event this report's story became through another report.
        lead_event = c.lead.event_id if c.lead_id and c.lead.event_id in mergeable else None
        chosen = lead_event or (suggestions[0].pk if suggestions else None)
        previous, following = review.queue_neighbours(c)
        map_config = {
            "candidate": (
                {"lon": c.geom.x, "lat": c.geom.y, "label": f"Candidate {c.pk}"} if c.geom else None
            ),
            "radiusKm": NEARBY_KM,
            "events": {
                "type": "FeatureCollection",
                "features": [event_feature(e, e.pk in mergeable) for e in nearby],
            },
        }
        # For static/js/admin/context.js: outlines, places and the zones in force on the date.
        map_context = {
            "regions": reverse("api-regions"),
            "places": reverse("api-places"),
            "zones": reverse("api-zones"),
            "placesMode": "labels",
            "neighbours": {"date": c.date.isoformat() if c.date else None, "version": None},
        }
        grouped = list(
            c.grouped.select_related("report").order_by("pk") if c.lead_id is None else []
        )
        return {
            **self.admin_site.each_context(request),
            "title": f"Review candidate {c.pk}",
            "opts": self.model._meta,
            "candidate": c,
            "report": c.report,
            "marked": marks.marked_report(c),
            "pending": pending,
            "may_change": self.has_change_permission(request, c),
            "suggestions": suggestions,
            "chosen": chosen,
            "previous": previous,
            "following": following,
            "waiting": review.review_queue().count(),
            "grouped": grouped,
            "nearby_count": len(nearby),
            "nearby_km": NEARBY_KM,
            "nearby_days": NEARBY_DAYS,
            "merge_km": review.MERGE_KM,
            "merge_days": review.MERGE_DAYS,
            "zones_drafts": sees_drafts(request.user, ZoneVersion),
            "map_config": map_config,
            "map_context": map_context,
        }
