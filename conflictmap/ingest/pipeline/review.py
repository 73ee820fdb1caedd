"""Review: candidates into events. An editor accepts a candidate as a draft event, merges it into
an existing event suggested near it in space and time, or rejects it; each under a row lock, and
only once."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from conflictmap.events.models import Event, EventActor, LocationPrecision, Source
from conflictmap.territory.models import Confidence, Faction, Status

from ..models import Candidate, Report

MERGE_KM = 10
MERGE_DAYS = 3
# Candidates of different reports about one event (issue 12): same sub-type, this close in
# space and time, and an actor in common.
GROUP_KM = 10
GROUP_DAYS = 2


class ReviewError(ValueError):
    pass


def suggest_events(
    candidate: Candidate,
    *,
    km: float = MERGE_KM,
    days: int = MERGE_DAYS,
    limit: int = 10,
    statuses: tuple[str, ...] | None = None,
) -> list:
    """Existing events within `km` kilometres and `days` days of the candidate, nearest first
    (distance on the geography type, in PostGIS), at most `limit`; with `statuses`, only
    events of those statuses."""
    if candidate.geom is None or candidate.date is None:
        return []
    status_sql = " AND e.status = ANY(%s)" if statuses is not None else ""
    params = [candidate.pk, km * 1000.0, days, days]
    params += [list(statuses)] if statuses is not None else []
    events = Event.objects.raw(
        "SELECT e.*, ST_Distance(e.geom::geography, c.geom::geography) / 1000.0 AS km,"
        " abs(e.date - c.date) AS days"
        " FROM events_event e, ingest_candidate c"
        " WHERE c.id = %s AND ST_DWithin(e.geom::geography, c.geom::geography, %s)"
        " AND e.date BETWEEN c.date - %s AND c.date + %s" + status_sql +
        " ORDER BY ST_Distance(e.geom::geography, c.geom::geography), abs(e.date - c.date), e.id"
        " LIMIT %s",
        [*params, limit],
    )  # fmt: skip
    return list(events)


# --- the review queue: pending candidates, one page each, in this order ------------------------

#: Most confident first, then newest; the id keeps the order total (j/k never skip or repeat).
QUEUE_ORDER = ("-confidence", "-created_at", "-id")


def review_queue():
    """The candidates awaiting review, in QUEUE_ORDER. Those grouped under a lead that still
    awaits review are left out: they are reviewed with it (their reports become its sources)."""
    from django.db.models import Q

    return (
        Candidate.objects.filter(state=Candidate.State.PENDING)
        .filter(Q(lead__isnull=True) | ~Q(lead__state=Candidate.State.PENDING))
        .order_by(*QUEUE_ORDER)
    )


def queue_neighbours(candidate: Candidate) -> tuple[int | None, int | None]:
    """The ids of the pending candidates just before and just after `candidate` in the queue
    (QUEUE_ORDER), whatever its own state: after a review, "after" is where the editor goes."""
    from django.db.models import Q

    c, t, pk = candidate.confidence, candidate.created_at, candidate.pk
    after = (
        Q(confidence__lt=c)
        | Q(confidence=c, created_at__lt=t)
        | Q(confidence=c, created_at=t, id__lt=pk)
    )
    before = (
        Q(confidence__gt=c)
        | Q(confidence=c, created_at__gt=t)
        | Q(confidence=c, created_at=t, id__gt=pk)
    )
    queue = review_queue()
    following = queue.filter(after).values_list("id", flat=True).first()
    previous = queue.filter(before).order_by("confidence", "created_at", "id")
    return previous.values_list("id", flat=True).first(), following


def _report_source(report: Report, excerpt: str) -> Source:
    published = report.published_at.date() if report.published_at else None
    if report.url:
        source, _ = Source.objects.get_or_create(
            url=report.url,
            defaults={
                "publisher": report.publisher[:200],
                "title": report.title[:500],
                "published": published,
                "language": report.language[:12],
                "excerpt": excerpt,
            },
        )
        return source
    return Source.objects.create(
        publisher=report.publisher[:200],
        title=(report.title or f"Report {report.pk}")[:500],
        published=published,
        language=report.language[:12],
        excerpt=excerpt,
    )


def _lock_pending(candidate: Candidate) -> Candidate:
    """The candidate's row, locked for this transaction; refused unless it awaits review."""
    locked = Candidate.objects.select_for_update().select_related("report").get(pk=candidate.pk)
    if locked.state != Candidate.State.PENDING:
        raise ReviewError(f"candidate {locked.pk} was already {locked.get_state_display().lower()}")
    return locked


def group_report_candidates(report_id: int) -> int:
    """Attach each pending candidate of a report to the lead candidate of another report that
    tells the same event (GROUP_KM, GROUP_DAYS, same sub-type, an actor in common or none named
    on either side), so editors review each event once; returns how many were attached. One
    statement, in the caller's transaction; the bounding box lets the spatial index narrow the
    search before distances are measured on the geography type."""
    from django.db import connection

    # A degree of longitude is shortest at Syria's northern edge (37.5 N): 88 km.
    degrees = GROUP_KM / 88.0
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE ingest_candidate AS c SET lead_id = m.lead FROM ("
            " SELECT DISTINCT ON (c.id) c.id, o.id AS lead"
            " FROM ingest_candidate c JOIN ingest_candidate o"
            "  ON o.report_id <> c.report_id AND o.state = 'pending' AND o.lead_id IS NULL"
            "  AND o.sub_event_type = c.sub_event_type"
            "  AND o.date BETWEEN c.date - %(days)s AND c.date + %(days)s"
            "  AND o.geom && ST_Expand(c.geom, %(degrees)s)"
            "  AND ST_DWithin(o.geom::geography, c.geom::geography, %(metres)s)"
            " WHERE c.report_id = %(report)s AND c.state = 'pending' AND c.lead_id IS NULL"
            "  AND c.sub_event_type <> ''"
            "  AND (EXISTS (SELECT 1 FROM jsonb_array_elements(c.actors) a,"
            "               jsonb_array_elements(o.actors) b WHERE a->>'slug' = b->>'slug')"
            "       OR (jsonb_array_length(c.actors) = 0 AND jsonb_array_length(o.actors) = 0))"
            " ORDER BY c.id, ST_Distance(o.geom::geography, c.geom::geography),"
            "  abs(o.date - c.date), o.id"
            ") AS m WHERE c.id = m.id",
            {"days": GROUP_DAYS, "degrees": degrees, "metres": GROUP_KM * 1000.0,
             "report": report_id},
        )  # fmt: skip
        return cur.rowcount


def _review_group(c: Candidate, state: str, user, event: Event | None = None) -> None:
    """The candidates grouped under a lead follow its review; accepted or merged, their reports
    become sources of the event too."""
    for g in Candidate.objects.select_for_update().filter(lead=c, state=Candidate.State.PENDING):
        if event is not None:
            event.sources.add(_report_source(g.report, g.sentence))
        _mark_reviewed(g, state, user, event=event)


def _mark_reviewed(c: Candidate, state: str, user, event: Event | None = None) -> None:
    Candidate.objects.filter(pk=c.pk).update(
        state=state,
        event=event,
        reviewed_by=user if getattr(user, "pk", None) else None,
        reviewed_at=timezone.now(),
    )


def accept_candidate(candidate: Candidate, user=None) -> Event:
    """Create a draft Event from the candidate, with its report as the source."""
    with transaction.atomic():
        c = _lock_pending(candidate)
        if c.geom is None:
            raise ReviewError(f"candidate {c.pk} has no location; set one before accepting")
        if not c.event_type or not c.date:
            raise ReviewError(f"candidate {c.pk} needs an event type and a date")
        event = Event(
            date=c.date,
            event_type=c.event_type,
            sub_event_type=c.sub_event_type,
            geom=c.geom,
            place=c.place,
            location_name=(c.place.name if c.place_id else "")[:200],
            location_precision=c.location_precision or LocationPrecision.EXACT,
            fatalities=c.fatalities,
            confidence=Confidence.CLAIMED,
            status=Status.DRAFT,
            summary=c.sentence,
        )
        # Read by django-simple-history for this save and the source added below.
        event._change_reason = f"Accepted candidate {c.pk} (report {c.report_id})"
        if getattr(user, "pk", None):
            event._history_user = user
        event.save()
        roles = [EventActor.Role.ACTOR1, EventActor.Role.ACTOR2]
        slugs = [a.get("slug") for a in c.actors]
        factions = {f.slug: f for f in Faction.objects.filter(slug__in=slugs)}
        given = {a.get("slug"): a.get("role") for a in c.actors if a.get("role")}
        for i, slug in enumerate(s for s in slugs if s in factions):
            # Extraction names each actor's ACLED role (a protest has no actor1); older
            # candidates without roles take actor1, actor2, then associates in order.
            role = given.get(slug) or (roles[i] if i < 2 else EventActor.Role.ASSOC2)
            if role not in EventActor.Role.values:
                role = EventActor.Role.ASSOC2
            EventActor.objects.get_or_create(event=event, faction=factions[slug], role=role)
        event.sources.add(_report_source(c.report, c.sentence))
        _mark_reviewed(c, Candidate.State.ACCEPTED, user, event=event)
        _review_group(c, Candidate.State.ACCEPTED, user, event=event)
    return event


def merge_candidate(candidate: Candidate, event: Event | int | None = None, user=None) -> Event:
    """Add the candidate's report as a source of an event suggested for it (`suggest_events`):
    `event` (an Event or its id), or by default the nearest suggestion. The candidate is locked
    first, so its state and its suggestions are checked as they are now; an event that is not
    among the suggestions raises ReviewError and nothing changes. The event's history records
    the merge."""
    with transaction.atomic():
        c = _lock_pending(candidate)
        suggestions = suggest_events(c)
        if event is None:
            if not suggestions:
                raise ReviewError(
                    f"no event within {MERGE_KM} km and {MERGE_DAYS} days of candidate {c.pk}"
                )
            chosen = suggestions[0]
        else:
            chosen_pk = event.pk if isinstance(event, Event) else int(event)
            chosen = next((e for e in suggestions if e.pk == chosen_pk), None)
            if chosen is None:
                raise ReviewError(
                    f"candidate {c.pk}: event {chosen_pk} is not among the events suggested for "
                    f"it (within {MERGE_KM} km and {MERGE_DAYS} days); nothing was merged"
                )
        # Read by django-simple-history for the record the new source writes.
        chosen._change_reason = f"Merged candidate {c.pk} (report {c.report_id})"
        if getattr(user, "pk", None):
            chosen._history_user = user
        chosen.sources.add(_report_source(c.report, c.sentence))
        _mark_reviewed(c, Candidate.State.MERGED, user, event=chosen)
        _review_group(c, Candidate.State.MERGED, user, event=chosen)
    return chosen


def reject_candidate(candidate: Candidate, user=None) -> None:
    with transaction.atomic():
        c = _lock_pending(candidate)
        _mark_reviewed(c, Candidate.State.REJECTED, user)
        _review_group(c, Candidate.State.REJECTED, user)
