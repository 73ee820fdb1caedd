"""Review: candidates into events. An editor accepts a candidate as a draft event, merges it into
an existing event suggested near it in space and time, or rejects it; each under a row lock, and
only once."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from conflictmap.events.models import Event, EventActor, Source
from conflictmap.territory.models import Confidence, Faction, Status

from ..models import Candidate, Report

MERGE_KM = 10
MERGE_DAYS = 3


class ReviewError(ValueError):
    pass


def suggest_events(candidate: Candidate, *, km: float = MERGE_KM, days: int = MERGE_DAYS) -> list:
    """Existing events within `km` kilometres and `days` days of the candidate, nearest first
    (distance on the geography type, in PostGIS)."""
    if candidate.geom is None or candidate.date is None:
        return []
    events = Event.objects.raw(
        "SELECT e.*, ST_Distance(e.geom::geography, c.geom::geography) / 1000.0 AS km,"
        " abs(e.date - c.date) AS days"
        " FROM events_event e, ingest_candidate c"
        " WHERE c.id = %s AND ST_DWithin(e.geom::geography, c.geom::geography, %s)"
        " AND e.date BETWEEN c.date - %s AND c.date + %s"
        " ORDER BY ST_Distance(e.geom::geography, c.geom::geography), abs(e.date - c.date), e.id"
        " LIMIT 10",
        [candidate.pk, km * 1000.0, days, days],
    )
    return list(events)


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


def _claim_candidate(candidate: Candidate) -> Candidate:
    locked = Candidate.objects.select_for_update().select_related("report").get(pk=candidate.pk)
    if locked.state != Candidate.State.PENDING:
        raise ReviewError(f"candidate {locked.pk} was already {locked.get_state_display().lower()}")
    return locked


def accept_candidate(candidate: Candidate, user=None) -> Event:
    """Create a draft Event from the candidate, with its report as the source."""
    with transaction.atomic():
        c = _claim_candidate(candidate)
        if c.geom is None:
            raise ReviewError(f"candidate {c.pk} has no location; set one before accepting")
        if not c.event_type or not c.date:
            raise ReviewError(f"candidate {c.pk} needs an event type and a date")
        event = Event.objects.create(
            date=c.date,
            event_type=c.event_type,
            sub_event_type=c.sub_event_type,
            geom=c.geom,
            place=c.place,
            location_name=(c.place.name if c.place_id else "")[:200],
            fatalities=c.fatalities,
            confidence=Confidence.CLAIMED,
            status=Status.DRAFT,
            summary=c.sentence,
        )
        roles = [EventActor.Role.ACTOR1, EventActor.Role.ACTOR2]
        slugs = [a.get("slug") for a in c.actors]
        factions = {f.slug: f for f in Faction.objects.filter(slug__in=slugs)}
        for i, slug in enumerate(s for s in slugs if s in factions):
            role = roles[i] if i < 2 else EventActor.Role.ASSOC2
            EventActor.objects.get_or_create(event=event, faction=factions[slug], role=role)
        event.sources.add(_report_source(c.report, c.sentence))
        Candidate.objects.filter(pk=c.pk).update(
            state=Candidate.State.ACCEPTED,
            event=event,
            reviewed_by=user if getattr(user, "pk", None) else None,
            reviewed_at=timezone.now(),
        )
    return event


def merge_candidate(candidate: Candidate, event: Event | None = None, user=None) -> Event:
    """Add the candidate's report as a source of `event` (default: the nearest suggestion)."""
    with transaction.atomic():
        c = _claim_candidate(candidate)
        if event is None:
            suggestions = suggest_events(c)
            if not suggestions:
                raise ReviewError(
                    f"no event within {MERGE_KM} km and {MERGE_DAYS} days of candidate {c.pk}"
                )
            event = suggestions[0]
        event.sources.add(_report_source(c.report, c.sentence))
        Candidate.objects.filter(pk=c.pk).update(
            state=Candidate.State.MERGED,
            event=event,
            reviewed_by=user if getattr(user, "pk", None) else None,
            reviewed_at=timezone.now(),
        )
    return event


def reject_candidate(candidate: Candidate, user=None) -> None:
    with transaction.atomic():
        c = _claim_candidate(candidate)
        Candidate.objects.filter(pk=c.pk).update(
            state=Candidate.State.REJECTED,
            reviewed_by=user if getattr(user, "pk", None) else None,
            reviewed_at=timezone.now(),
        )
