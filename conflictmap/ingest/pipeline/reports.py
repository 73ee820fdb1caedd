"""Reports: each document kept once (same URL or same text), its extraction claimed and written as
candidates for review; report and feed runs store their documents as reports."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import urllib.parse
from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .. import extract as extraction
from ..models import Candidate, Feed, ImportRun, Report
from ..parsers import Problem
from ..parsers import feed as feed_parser
from ..parsers import text as text_parser
from .claims import REPORT_FAILED, claim_report, hand_back, hold_run
from .progress import finish_run, record_parse_results
from .queueing import PROCESS_REPORT, queue_on_commit
from .retry import RETRYABLE, error_text
from .review import group_report_candidates

log = logging.getLogger(__name__)

TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|mc_)")


def normalise_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    parts = urllib.parse.urlsplit(url)
    query = [
        (k, v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if not TRACKING.match(k)
    ]
    return urllib.parse.urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path, urllib.parse.urlencode(query), "")
    )[:2000]


def text_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).lower().encode("utf-8")).hexdigest()


@dataclass
class StoreResult:
    report: Report
    created: bool


def store_report(
    text: str,
    *,
    url: str = "",
    title: str = "",
    raw: str = "",
    published_at: dt.datetime | None = None,
    language: str = "",
    publisher: str = "",
    feed: Feed | None = None,
    run: ImportRun | None = None,
    queue: bool = False,
) -> StoreResult:
    """Keep a report once: the same URL or the same text (whitespace and case aside) is the same
    report. With queue=True its extraction is queued when the transaction commits."""
    url = normalise_url(url)
    digest = text_hash(text)
    match = Q(content_hash=digest) | Q(url=url) if url else Q(content_hash=digest)
    existing = Report.objects.filter(match).first()
    if existing:
        return StoreResult(existing, False)
    try:
        with transaction.atomic():
            report = Report.objects.create(
                url=url,
                content_hash=digest,
                title=title[:1000],
                text=text,
                raw=raw,
                published_at=published_at,
                language=language[:12],
                publisher=publisher[:200],
                feed=feed,
                run=run,
            )
            if queue:
                queue_on_commit(PROCESS_REPORT, report.pk)
    except IntegrityError:  # another worker stored it a moment ago
        return StoreResult(Report.objects.filter(match).first(), False)
    return StoreResult(report, True)


def report_date(report: Report) -> dt.date | None:
    """The report's own date (feed entry or --published), or None: extraction then reads a
    dateline, else leaves relative dates unknown. Never the day it was received."""
    return report.published_at.date() if report.published_at else None


def process_report(pk: int) -> bool:
    """Claim, extract and store the candidates of one report; False when there was nothing to do
    (done already, or another worker has it)."""
    token = claim_report(pk)
    if token is None:
        return False
    try:
        return _process_claimed_report(pk, token)
    except RETRYABLE as exc:
        ours = Report.objects.filter(pk=pk, claimed_at=token)
        if hand_back(ours, exc, pending={"state": Report.State.PENDING}, failed=REPORT_FAILED):
            raise
        log.warning("report %s failed: its attempts ran out (%s)", pk, error_text(exc))
        return False


def _process_claimed_report(pk: int, token: dt.datetime) -> bool:
    report = Report.objects.get(pk=pk)
    try:
        found = extraction.extract(report.text, report_date(report))
    except RETRYABLE:
        raise
    except Exception as exc:
        log.exception("extraction failed for report %s", pk)
        Report.objects.filter(pk=pk, claimed_at=token).update(
            state=Report.State.FAILED, error=error_text(exc)
        )
        return False
    with transaction.atomic():
        mine = (
            Report.objects.select_for_update()
            .filter(pk=pk, state=Report.State.PROCESSING, claimed_at=token)
            .exists()
        )
        if not mine:
            return False
        Candidate.objects.filter(report_id=pk, state=Candidate.State.PENDING).delete()
        Candidate.objects.bulk_create(
            [
                Candidate(
                    report_id=pk,
                    sentence_index=c.sentence_index,
                    part=c.part,
                    sentence=c.sentence,
                    sentence_start=c.start,
                    places=c.places,
                    actors=c.actors,
                    spans=c.spans,
                    geom=Point(c.lon, c.lat, srid=4326) if c.lon is not None else None,
                    place_id=c.place_id,
                    location_precision=c.location_precision,
                    suggested_place=c.suggested_place[:200],
                    date=c.date,
                    date_source=c.date_source,
                    event_type=c.event_type,
                    sub_event_type=c.sub_event_type,
                    fatalities=c.fatalities,
                    fatalities_qualifier=c.fatalities_qualifier,
                    confidence=c.confidence,
                )
                for c in found
            ],
            ignore_conflicts=True,  # a candidate already reviewed for that sentence part stays
        )
        group_report_candidates(pk)
        Report.objects.filter(pk=pk).update(
            state=Report.State.PROCESSED, processed_at=timezone.now(), error=""
        )
    return True


def _store_reports(run: ImportRun, token: dt.datetime, items: list[dict], *, inline: bool) -> None:
    """Store each item as a Report (deduplicated) in one transaction, then extract or queue.
    The reports that were stored already are named in the run's options["already_stored"], so
    its summary can show what became of them (their candidates)."""
    new: list[Report] = []
    known: list[int] = []
    created = unchanged = 0
    with transaction.atomic():
        hold_run(run, token)
        for fields in items:
            result = store_report(**fields, run=run, queue=not inline)
            if result.created:
                created += 1
                new.append(result.report)
            else:
                unchanged += 1
                if result.report.pk not in known:
                    known.append(result.report.pk)
        ImportRun.objects.filter(pk=run.pk).update(
            processed=len(items), created=created, unchanged=unchanged
        )
    if inline:
        for report in new:
            process_report(report.pk)
    if known:
        finish_run(run, token, options={**run.options, "already_stored": known})
    else:
        finish_run(run, token)


def _published_option(value: str) -> tuple[dt.datetime | None, list[Problem]]:
    if not value:
        return None, []
    try:
        published = dt.datetime.fromisoformat(value)
    except ValueError:
        return None, [
            Problem(
                "options",
                f"report date {value!r} is not YYYY-MM-DD; the text's own date is kept",
                repaired=True,
            )
        ]
    return (published if published.tzinfo else published.replace(tzinfo=dt.UTC)), []


def apply_report(
    run: ImportRun, content: bytes, token: dt.datetime, *, inline: bool = False
) -> None:
    docs, problems = text_parser.parse(content)
    opts = run.options
    published, date_problems = _published_option(opts.get("published", ""))
    record_parse_results(run, token, problems + date_problems, len(docs))
    items = [
        {
            "text": doc.text,
            "url": run.url,
            "title": opts.get("title") or doc.title,
            "raw": content.decode("utf-8", "replace") if doc.is_html else "",
            "published_at": published or doc.published,
            "language": opts.get("language") or doc.language,
            "publisher": opts.get("publisher", ""),
        }
        for doc in docs
    ]
    _store_reports(run, token, items, inline=inline)


def apply_feed(run: ImportRun, content: bytes, token: dt.datetime, *, inline: bool = False) -> None:
    entries, problems = feed_parser.parse(content)
    record_parse_results(run, token, problems, len(entries))
    feed = run.feed
    items = [
        {
            "text": entry.text,
            "url": entry.url,
            "title": entry.title,
            "raw": entry.raw,
            "published_at": entry.published,
            "language": entry.language or (feed.language if feed else ""),
            "publisher": entry.publisher or (feed.name if feed else ""),
            "feed": feed,
        }
        for entry in entries
    ]
    _store_reports(run, token, items, inline=inline)
