"""Store and apply: every write of ingestion happens here, in transactions.

The flow is the same in process (`manage.py ingest`) and in Celery workers (tasks.py):
  1. the bytes as received are stored (ImportRun, Report) before any task is queued;
  2. work is claimed with a conditional update, so two workers never do one job, and a claim
     whose worker died (no heartbeat for INGEST_CLAIM_TIMEOUT seconds) is taken again;
  3. results are written in a transaction that first checks the claim is still ours;
  4. sweep() re-queues whatever is left pending, so a lost broker message delays but loses nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from conflictmap.events.models import Event, EventActor, Source
from conflictmap.territory.models import Confidence, Faction, Status, Zone, ZoneVersion

from . import extract as extraction
from .models import Candidate, Feed, ImportRun, Rejection, Report
from .parsers import Problem
from .parsers import acled as acled_parser
from .parsers import feed as feed_parser
from .parsers import geojson as geojson_parser
from .parsers import kml as kml_parser
from .parsers import text as text_parser

log = logging.getLogger(__name__)

BATCH = 2000
MAX_FETCH_BYTES = 20 * 1024 * 1024
USER_AGENT = "conflictmap-ingest/0.1 (+https://github.com/conflictmap)"


class FetchError(Exception):
    """A network failure worth retrying (the tasks retry these with backoff)."""


class ClaimLost(Exception):
    """Our claim was taken over by another worker after we looked stale; stop quietly."""


# Errors of the database connection or the network: worth a retry, not a failure.
RETRYABLE = (FetchError, OperationalError, InterfaceError)


def claim_timeout() -> int:
    return int(getattr(settings, "INGEST_CLAIM_TIMEOUT", 300))


def sweep_min_age() -> int:
    return int(getattr(settings, "INGEST_SWEEP_MIN_AGE", 60))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- queueing ------------------------------------------------------------------------------------


def _send(task_name: str, pk: int) -> bool:
    """Publish a task; if the broker is down, log and leave it to the sweep."""
    from . import tasks

    task = getattr(tasks, task_name)
    try:
        task.apply_async(
            args=[pk],
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception as exc:  # broker unreachable: the row is stored, the sweep will re-queue it
        log.warning("could not queue %s(%s): %s; the sweep will re-queue it", task_name, pk, exc)
        return False
    return True


def queue_on_commit(task_name: str, pk: int) -> None:
    transaction.on_commit(lambda: _send(task_name, pk))


# --- runs ----------------------------------------------------------------------------------------


def create_run(
    kind: str,
    content: bytes,
    *,
    filename: str = "",
    url: str = "",
    options: dict | None = None,
    user=None,
    feed: Feed | None = None,
    queue: bool = False,
) -> ImportRun:
    """Store the bytes as received; with queue=True hand the run to a worker once committed."""
    with transaction.atomic():
        run = ImportRun.objects.create(
            kind=kind,
            content=content,
            content_hash=sha256(content),
            filename=filename[:500],
            url=url[:2000],
            options=options or {},
            created_by=user if getattr(user, "pk", None) else None,
            feed=feed,
        )
        if queue:
            queue_on_commit("process_run", run.pk)
    return run


def claim_run(pk: int) -> dt.datetime | None:
    now = timezone.now()
    stale = now - dt.timedelta(seconds=claim_timeout())
    taken = (
        ImportRun.objects.filter(pk=pk)
        .filter(
            Q(state=ImportRun.State.PENDING)
            | Q(state=ImportRun.State.RUNNING, heartbeat_at__lt=stale)
        )
        .update(
            state=ImportRun.State.RUNNING,
            claimed_at=now,
            heartbeat_at=now,
            started_at=now,
            attempts=F("attempts") + 1,
        )
    )
    return now if taken == 1 else None


def _hold(run: ImportRun, token: dt.datetime) -> None:
    """Lock the run row for this transaction and check the claim is still ours."""
    current = ImportRun.objects.select_for_update().filter(pk=run.pk).values("claimed_at", "state")
    row = current.first()
    if row is None or row["claimed_at"] != token or row["state"] != ImportRun.State.RUNNING:
        raise ClaimLost(f"import run {run.pk} was taken over")


def _save_problems(run: ImportRun, problems: Iterable[Problem]) -> tuple[int, int]:
    rows = [
        Rejection(run=run, row=p.row[:100], reason=p.reason, raw=p.raw[:4000], repaired=p.repaired)
        for p in problems
    ]
    Rejection.objects.bulk_create(rows, batch_size=1000)
    rejected = sum(1 for r in rows if not r.repaired)
    return rejected, len(rows) - rejected


def process_run(pk: int, *, inline: bool = False) -> ImportRun | None:
    """Claim and apply one import run. inline=True also extracts its reports here and now."""
    token = claim_run(pk)
    if token is None:
        return None
    run = ImportRun.objects.get(pk=pk)
    content = bytes(run.content)
    try:
        handler = {
            ImportRun.Kind.ACLED: apply_acled,
            ImportRun.Kind.ZONES: apply_zones,
            ImportRun.Kind.FEED: apply_feed,
            ImportRun.Kind.REPORT: apply_report,
        }[run.kind]
        handler(run, content, token, inline=inline)
    except ClaimLost:
        log.info("run %s taken over by another worker", pk)
        return None
    except RETRYABLE:
        # Hand the run back so the task's retry (or the sweep) can claim it again.
        ImportRun.objects.filter(pk=pk, claimed_at=token).update(state=ImportRun.State.PENDING)
        raise
    except Exception as exc:
        log.exception("import run %s failed", pk)
        ImportRun.objects.filter(pk=pk, claimed_at=token).update(
            state=ImportRun.State.FAILED,
            error=f"{exc.__class__.__name__}: {exc}"[:4000],
            finished_at=timezone.now(),
        )
        raise
    run.refresh_from_db()
    return run


def _finish(run: ImportRun, token: dt.datetime, **fields) -> None:
    with transaction.atomic():
        _hold(run, token)
        fields.setdefault("state", ImportRun.State.DONE)
        ImportRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), **fields)


def _start(run: ImportRun, token: dt.datetime, problems: list[Problem], total: int) -> None:
    """Record parse problems and the total once (a resumed run finds them there)."""
    with transaction.atomic():
        _hold(run, token)
        if not run.options.get("parsed"):
            rejected, _ = _save_problems(run, problems)
            run.options = {**run.options, "parsed": True}
            ImportRun.objects.filter(pk=run.pk).update(
                total=total, rejected=rejected, options=run.options, heartbeat_at=timezone.now()
            )
    run.refresh_from_db()


def summary(run: ImportRun, *, limit: int = 200) -> dict:
    run.refresh_from_db()
    rejections = list(run.rejections.all()[:limit])
    out = {
        "run": run.pk,
        "kind": run.kind,
        "state": run.state,
        "file": run.filename or run.url,
        "total": run.total,
        "processed": run.processed,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "rejected": run.rejected,
        "repaired": run.rejections.filter(repaired=True).count(),
        "problems": [
            {"row": r.row, "reason": r.reason, "repaired": r.repaired} for r in rejections
        ],
        "error": run.error,
    }
    if run.options.get("new_factions"):
        out["new_factions"] = run.options["new_factions"]  # unknown actors, marked for review
    if run.options.get("closed_versions") is not None:
        out["closed_versions"] = run.options["closed_versions"]
    if run.kind in (ImportRun.Kind.REPORT, ImportRun.Kind.FEED):
        out["reports"] = [report_summary(r) for r in run.report_set.order_by("pk")[:limit]]
    return out


def report_summary(report: Report) -> dict:
    return {
        "report": report.pk,
        "url": report.url,
        "title": report.title,
        "state": report.state,
        "candidates": [
            {
                "id": c.pk,
                "sentence": c.sentence,
                "places": [
                    {k: p.get(k) for k in ("name", "matched", "start", "end", "lon", "lat")}
                    for p in c.places
                ],
                "coordinates": [c.geom.x, c.geom.y] if c.geom else None,
                "actors": [
                    {k: a.get(k) for k in ("slug", "name", "matched", "start", "end")}
                    for a in c.actors
                ],
                "date": c.date.isoformat() if c.date else None,
                "event_type": c.event_type,
                "sub_event_type": c.sub_event_type,
                "fatalities": c.fatalities,
                "confidence": c.confidence,
            }
            for c in report.candidates.order_by("sentence_index")
        ],
    }


# --- ACLED ---------------------------------------------------------------------------------------

YEARS_SUFFIX = re.compile(r"\s*\(\d{4}-(\d{4})?\)\s*$")


def _actor_key(name: str) -> str:
    return " ".join(name.lower().split())


class FactionResolver:
    """ACLED actor names to faction ids through names, short names and aliases; unknown actors
    become factions marked for review."""

    def __init__(self) -> None:
        self.by_key: dict[str, int] = {}
        for fid, name, short, aliases in Faction.objects.values_list(
            "id", "name", "short_name", "aliases"
        ):
            for n in [name, short, *(aliases or [])]:
                if n:
                    self.by_key.setdefault(_actor_key(n), fid)
        self.created: list[str] = []

    def resolve(self, name: str) -> int:
        key = _actor_key(name)
        fid = self.by_key.get(key) or self.by_key.get(_actor_key(YEARS_SUFFIX.sub("", name)))
        if fid:
            return fid
        faction = Faction.objects.filter(name=name[:200]).first()
        if faction is None:
            base = slugify(name)[:70] or "actor"
            slug, n = base, 1
            while Faction.objects.filter(slug=slug).exists():
                n += 1
                slug = f"{base}-{n}"
            kind = Faction.Kind.CIVILIAN if key.startswith("civilians") else Faction.Kind.OTHER
            with transaction.atomic():
                faction, made = Faction.objects.get_or_create(
                    name=name[:200],
                    defaults={
                        "slug": slug,
                        "needs_review": True,
                        "kind": kind,
                        "aliases": [name[:300]],
                        "description": "Created from an unknown ACLED actor during import.",
                    },
                )
            if made:
                self.created.append(name)
        self.by_key[key] = faction.pk
        return faction.pk


def _acled_values(r: acled_parser.AcledRecord) -> dict:
    summary = r.notes
    if r.source:
        summary = f"{summary}\n\nSources cited by ACLED: {r.source}".strip()
    return {
        "date": r.date,
        "date_precision": r.date_precision,
        "event_type": r.event_type,
        "sub_event_type": r.sub_event_type,
        "location_precision": r.location_precision,
        "location_name": r.location,
        "fatalities": r.fatalities,
        "summary": summary,
    }


def _same(existing: dict, values: dict, lon: float, lat: float, actors: set) -> bool:
    for key, value in values.items():
        if existing[key] != value:
            return False
    if abs(existing["lon"] - lon) > 1e-9 or abs(existing["lat"] - lat) > 1e-9:
        return False
    return existing["actors"] == actors


def _copy(table: str, columns: list[str], rows: Iterable[tuple]) -> None:
    """COPY rows into a table (psycopg 3): the fast path for large imports."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cur, cur.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _next_ids(table: str, n: int) -> list[int]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, n],
        )
        return [row[0] for row in cur.fetchall()]


def _acled_source(run: ImportRun) -> Source:
    title = f"ACLED export {run.filename or 'upload'} (sha256 {run.content_hash[:16]})"[:500]
    source = Source.objects.filter(publisher="ACLED", title=title).first()
    if source is None:
        source = Source.objects.create(
            publisher="ACLED",
            title=title,
            url=run.url if run.url and not Source.objects.filter(url=run.url).exists() else "",
            published=timezone.now().date(),
            excerpt="Armed Conflict Location & Event Data (ACLED) export, imported as received.",
        )
    return source


def _batches(records: list, start: int) -> Iterable[tuple[int, list]]:
    """Consecutive batches from `start`; a batch never holds one event id twice, so a later row
    for the same id is applied after (and updates) the earlier one."""
    batch: list = []
    ids: set[str] = set()
    offset = start
    for i in range(start, len(records)):
        r = records[i]
        if len(batch) >= BATCH or r.event_id in ids:
            yield offset, batch
            batch, ids, offset = [], set(), i
        batch.append(r)
        ids.add(r.event_id)
    if batch:
        yield offset, batch


def apply_acled(
    run: ImportRun, content: bytes, token: dt.datetime, *, inline: bool = False
) -> None:
    records, problems = acled_parser.parse(content)
    _start(run, token, problems, len(records))
    status = run.options.get("status", Status.PUBLISHED)
    resolver = FactionResolver()
    source = _acled_source(run)
    through = Event.sources.through
    for offset, batch in _batches(records, run.processed):
        with transaction.atomic():
            _hold(run, token)
            created, updated, unchanged = _apply_acled_batch(
                batch, resolver, source, status, through, reason=f"ACLED import #{run.pk}"
            )
            ImportRun.objects.filter(pk=run.pk).update(
                processed=offset + len(batch),
                created=F("created") + created,
                updated=F("updated") + updated,
                unchanged=F("unchanged") + unchanged,
                heartbeat_at=timezone.now(),
            )
    options = {**run.options, "new_factions": resolver.created}
    _finish(run, token, options=options)


VALUE_FIELDS = [
    "date", "date_precision", "event_type", "sub_event_type", "location_precision",
    "location_name", "fatalities", "summary",
]  # fmt: skip


def _existing_events(ids: list[str]) -> dict[str, dict]:
    """The events already imported for these ACLED ids, with what an upsert compares."""
    existing: dict[str, dict] = {}
    with connection.cursor() as cur:
        cur.execute(
            "SELECT x.value, e.id, ST_X(e.geom), ST_Y(e.geom), "
            + ", ".join(f"e.{f}" for f in VALUE_FIELDS)
            + " FROM events_externalid x JOIN events_event e ON e.id = x.event_id"
            " WHERE x.system = 'acled' AND x.value = ANY(%s)",
            [ids],
        )
        for value, pk, lon, lat, *rest in cur.fetchall():
            existing[value] = {
                "id": pk,
                "lon": lon,
                "lat": lat,
                "actors": set(),
                **dict(zip(VALUE_FIELDS, rest, strict=True)),
            }
        if existing:
            by_pk = {row["id"]: row for row in existing.values()}
            cur.execute(
                "SELECT event_id, faction_id, role FROM events_eventactor WHERE event_id = ANY(%s)",
                [list(by_pk)],
            )
            for event_id, fid, role in cur.fetchall():
                by_pk[event_id]["actors"].add((fid, role))
    return existing


EVENT_COLUMNS = [
    "id", "date", "date_precision", "event_type", "sub_event_type", "geom", "location_precision",
    "location_name", "fatalities", "confidence", "status", "summary", "synthetic", "created_at",
    "updated_at", "place_id",
]  # fmt: skip


def _history(ids: list[int], kind: str, reason: str) -> None:
    """Historical records for events written in bulk, as simple_history writes them one by one
    (kind "+" created, "~" changed), so editors see where an event came from."""
    columns = ", ".join(EVENT_COLUMNS)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO events_historicalevent ({columns}, history_date,"
            " history_change_reason, history_type, history_user_id)"
            f" SELECT {columns}, now(), %s, %s, NULL FROM events_event WHERE id = ANY(%s)",
            [reason[:100], kind, ids],
        )


def _apply_acled_batch(
    batch, resolver, source, status, through, reason: str = "ACLED import"
) -> tuple[int, int, int]:
    existing = _existing_events([r.event_id for r in batch])
    new, changed = [], []
    unchanged = 0
    for r in batch:
        values = _acled_values(r)
        actors = {(resolver.resolve(name), role) for role, name in r.actors}
        old = existing.get(r.event_id)
        if old is None:
            new.append((r, values, actors))
        elif _same(old, values, r.lon, r.lat, actors):
            unchanged += 1
        else:
            changed.append((old["id"], r, values, actors))
    now = timezone.now()
    links: list[tuple] = []
    source_links: list[tuple] = []
    if new:
        ids = _next_ids("events_event", len(new))
        _copy(
            "events_event",
            ["id", "geom", "status", "confidence", "synthetic", "created_at", "updated_at", *VALUE_FIELDS],
            (
                (pk, f"SRID=4326;POINT({r.lon!r} {r.lat!r})", status, Confidence.CONFIRMED, False, now, now,
                 *(values[f] for f in VALUE_FIELDS))
                for pk, (r, values, _) in zip(ids, new, strict=True)
            ),
        )  # fmt: skip
        _copy(
            "events_externalid",
            ["event_id", "system", "value"],
            ((pk, "acled", r.event_id) for pk, (r, _, _) in zip(ids, new, strict=True)),
        )
        links += [
            (pk, fid, role)
            for pk, (_, _, actors) in zip(ids, new, strict=True)
            for fid, role in actors
        ]
        source_links += [(pk, source.pk) for pk in ids]
    if changed:
        updates = [
            Event(pk=pk, geom=Point(r.lon, r.lat, srid=4326), updated_at=now, **values)
            for pk, r, values, _ in changed
        ]
        Event.objects.bulk_update(updates, ["geom", "updated_at", *VALUE_FIELDS], batch_size=BATCH)
        EventActor.objects.filter(event_id__in=[c[0] for c in changed]).delete()
        links += [(pk, fid, role) for pk, _, _, actors in changed for fid, role in actors]
        through.objects.bulk_create(
            [through(event_id=c[0], source_id=source.pk) for c in changed],
            ignore_conflicts=True,
        )
    if new:
        _history(ids, "+", reason)
    if changed:
        _history([c[0] for c in changed], "~", reason)
    if links:
        _copy("events_eventactor", ["event_id", "faction_id", "role"], links)
    if source_links:
        _copy(through._meta.db_table, ["event_id", "source_id"], source_links)
    return len(new), len(changed), unchanged


# --- control maps --------------------------------------------------------------------------------

REPAIR_TOLERANCE = 0.01  # a repair may change the area by at most 1%


def repair_geometry(geom: MultiPolygon) -> tuple[MultiPolygon | None, str]:
    """ST_MakeValid in PostGIS; safe when the result is polygonal and keeps the area within 1%."""
    with connection.cursor() as cur:
        cur.execute(
            "WITH g AS (SELECT ST_GeomFromEWKB(%s) AS g),"
            " v AS (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3)) AS v, g FROM g)"
            " SELECT ST_AsEWKB(v), ST_Area(v), ST_Area(g), ST_IsEmpty(v) FROM v",
            [bytes(geom.ewkb)],
        )
        wkb, area_after, area_before, empty = cur.fetchone()
    if empty or not area_after:
        return None, "ST_MakeValid leaves no polygon"
    change = abs(area_after - area_before) / max(area_before, area_after)
    if change > REPAIR_TOLERANCE:
        return None, f"ST_MakeValid would change its area by {change:.0%}"
    return GEOSGeometry(memoryview(bytes(wkb)), srid=4326), f"area changed by {change:.2%}"


def _zone_for(name: str) -> Zone:
    zone = Zone.objects.filter(Q(name=name) | Q(slug=slugify(name)[:120])).first()
    if zone:
        return zone
    base = slugify(name)[:110] or "zone"
    slug, n = base, 1
    while Zone.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return Zone.objects.create(name=name, slug=slug)


def _equal_geoms(a: MultiPolygon, b: MultiPolygon) -> bool:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_Equals(ST_GeomFromEWKB(%s), ST_GeomFromEWKB(%s))",
            [bytes(a.ewkb), bytes(b.ewkb)],
        )
        return bool(cur.fetchone()[0])


def _union(geoms: list[MultiPolygon]) -> MultiPolygon:
    if len(geoms) == 1:
        return geoms[0]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_AsEWKB(ST_Multi(ST_CollectionExtract(ST_Union(h::geometry), 3)))"
            " FROM unnest(%s::text[]) AS t(h)",
            [[g.hexewkb.decode() for g in geoms]],
        )
        return GEOSGeometry(memoryview(bytes(cur.fetchone()[0])), srid=4326)


def parse_zones(content: bytes, filename: str) -> tuple[list, list[Problem]]:
    head = content.lstrip()[:200].lower()
    if filename.lower().endswith(".kml") or head.startswith(b"<?xml") or b"<kml" in head:
        return kml_parser.parse(content)
    return geojson_parser.parse(content)


def apply_zones(
    run: ImportRun, content: bytes, token: dt.datetime, *, inline: bool = False
) -> None:
    features, problems = parse_zones(content, run.filename)
    opts = run.options
    faction = Faction.objects.filter(slug=opts.get("faction", "")).first()
    if faction is None:
        problems.append(Problem("options", f"no faction with slug {opts.get('faction')!r}"))
        features = []
    try:
        day = dt.date.fromisoformat(opts.get("date", ""))
    except (TypeError, ValueError):
        problems.append(Problem("options", f"date {opts.get('date')!r} is not YYYY-MM-DD"))
        features = []
    groups: dict[str, list] = {}
    for f in features:
        if f.invalid_reason:
            fixed, how = repair_geometry(f.geom)
            if fixed is None:
                problems.append(
                    Problem(
                        f.label,
                        f"self-intersecting or invalid polygon ({f.invalid_reason}); rejected: {how}",
                    )
                )
                continue
            problems.append(
                Problem(
                    f.label,
                    f"invalid polygon ({f.invalid_reason}) repaired with ST_MakeValid; {how}",
                    repaired=True,
                )
            )
            f.geom = fixed
        name = opts.get("zone") or f.name
        if not name:
            problems.append(Problem(f.label, "has no name or zone property; pass --zone NAME"))
            continue
        groups.setdefault(name, []).append(f)
    _start(run, token, problems, len(groups))
    if not groups:
        _finish(run, token)
        return
    confidence = opts.get("confidence", Confidence.CONFIRMED)
    status = opts.get("status", Status.PUBLISHED)
    created = updated = unchanged = closed = 0
    with transaction.atomic():
        _hold(run, token)
        source, _ = Source.objects.get_or_create(
            publisher=opts.get("publisher", ""),
            title=f"Control map {run.filename or 'upload'} (sha256 {run.content_hash[:16]})"[:500],
            defaults={
                "published": day,
                "excerpt": f"Imported as the control of {faction.name} from {day.isoformat()}.",
            },
        )
        for name, group in groups.items():
            geom = _union([f.geom for f in group])
            zone = _zone_for(name)
            current = zone.versions.at(day).first()
            if current and current.faction_id == faction.pk and _equal_geoms(current.geom, geom):
                unchanged += 1
            elif current and current.valid_from == day:
                current.faction, current.geom, current.confidence = faction, geom, confidence
                current.full_clean()
                current.save()
                current.sources.add(source)
                updated += 1
            elif current:
                from conflictmap.territory.models import new_version_from

                new_version_from(
                    current, day, sources=[source], faction=faction, geom=geom,
                    confidence=confidence, status=current.status,
                )  # fmt: skip
                created += 1
                closed += 1
            else:
                later = zone.versions.filter(valid_from__gt=day).order_by("valid_from").first()
                version = ZoneVersion(
                    zone=zone, faction=faction, geom=geom, valid_from=day,
                    valid_to=later.valid_from if later else None,
                    confidence=confidence, status=status,
                    note=f"Imported from {run.filename or 'an upload'}.",
                )  # fmt: skip
                version.full_clean()
                version.save()
                version.sources.add(source)
                created += 1
        ImportRun.objects.filter(pk=run.pk).update(
            processed=len(groups), created=created, updated=updated, unchanged=unchanged
        )
    _finish(run, token, options={**run.options, "closed_versions": closed})


# --- reports -------------------------------------------------------------------------------------

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
    return sha256(" ".join(text.split()).lower().encode("utf-8"))


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
                queue_on_commit("process_report", report.pk)
    except IntegrityError:  # another worker stored it a moment ago
        return StoreResult(Report.objects.filter(match).first(), False)
    return StoreResult(report, True)


def claim_report(pk: int) -> dt.datetime | None:
    now = timezone.now()
    stale = now - dt.timedelta(seconds=claim_timeout())
    taken = (
        Report.objects.filter(pk=pk)
        .filter(
            Q(state=Report.State.PENDING) | Q(state=Report.State.PROCESSING, claimed_at__lt=stale)
        )
        .update(state=Report.State.PROCESSING, claimed_at=now, attempts=F("attempts") + 1)
    )
    return now if taken == 1 else None


def report_date(report: Report) -> dt.date:
    when = report.published_at or report.received_at or timezone.now()
    return when.date()


def process_report(pk: int) -> bool:
    """Claim, extract and store the candidates of one report; False when there was nothing to do
    (done already, or another worker has it)."""
    token = claim_report(pk)
    if token is None:
        return False
    try:
        return _process_claimed_report(pk, token)
    except RETRYABLE:
        Report.objects.filter(pk=pk, claimed_at=token).update(state=Report.State.PENDING)
        raise


def _process_claimed_report(pk: int, token: dt.datetime) -> bool:
    report = Report.objects.get(pk=pk)
    try:
        found = extraction.extract(report.text, report_date(report))
    except RETRYABLE:
        raise
    except Exception as exc:
        log.exception("extraction failed for report %s", pk)
        Report.objects.filter(pk=pk, claimed_at=token).update(
            state=Report.State.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:4000]
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
                    sentence=c.sentence,
                    places=c.places,
                    actors=c.actors,
                    spans=c.spans,
                    geom=Point(c.lon, c.lat, srid=4326) if c.lon is not None else None,
                    place_id=c.place_id,
                    date=c.date,
                    event_type=c.event_type,
                    sub_event_type=c.sub_event_type,
                    fatalities=c.fatalities,
                    confidence=c.confidence,
                )
                for c in found
            ],
            ignore_conflicts=True,  # a candidate already reviewed for that sentence stays
        )
        Report.objects.filter(pk=pk).update(
            state=Report.State.PROCESSED, processed_at=timezone.now(), error=""
        )
    return True


def _reports_done(run: ImportRun, reports: list[Report], inline: bool) -> None:
    if inline:
        for report in reports:
            process_report(report.pk)


def _store_reports(run: ImportRun, token: dt.datetime, items: list[dict], *, inline: bool) -> None:
    """Store each item as a Report (deduplicated) in one transaction, then extract or queue."""
    new: list[Report] = []
    created = unchanged = 0
    with transaction.atomic():
        _hold(run, token)
        for fields in items:
            result = store_report(**fields, run=run, queue=not inline)
            if result.created:
                created += 1
                new.append(result.report)
            else:
                unchanged += 1
        ImportRun.objects.filter(pk=run.pk).update(
            processed=len(items), created=created, unchanged=unchanged
        )
    _reports_done(run, new, inline)
    _finish(run, token)


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
    _start(run, token, problems + date_problems, len(docs))
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
    _start(run, token, problems, len(entries))
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


# --- fetching and feeds --------------------------------------------------------------------------


@dataclass
class Fetched:
    status: int
    content: bytes
    etag: str
    last_modified: str
    url: str


def fetch(url: str, *, etag: str = "", last_modified: str = "", timeout: float = 20) -> Fetched:
    """GET with a conditional request when we have validators; 304 comes back as status 304."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"only http(s) URLs can be fetched, not {url[:80]!r}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if etag:
        request.add_header("If-None-Match", etag)
    if last_modified:
        request.add_header("If-Modified-Since", last_modified)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            content = response.read(MAX_FETCH_BYTES + 1)
            if len(content) > MAX_FETCH_BYTES:
                raise ValueError(f"{url[:80]} is larger than {MAX_FETCH_BYTES} bytes")
            return Fetched(
                response.status,
                content,
                response.headers.get("ETag", ""),
                response.headers.get("Last-Modified", ""),
                response.geturl(),
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(304, b"", etag, last_modified, url)
        if exc.code >= 500 or exc.code == 429:
            raise FetchError(f"{url[:200]}: HTTP {exc.code}") from exc
        raise ValueError(f"{url[:200]}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise FetchError(f"{url[:200]}: {exc}") from exc


def due_feeds(now: dt.datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        Feed.objects.filter(active=True)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .values_list("pk", flat=True)
    )


def claim_feed(pk: int, now: dt.datetime | None = None) -> bool:
    """Move the feed's next poll forward; only the caller that does so polls it now."""
    now = now or timezone.now()
    feed = Feed.objects.filter(pk=pk).values("next_poll_at", "interval_minutes").first()
    if feed is None:
        return False
    nxt = now + dt.timedelta(minutes=feed["interval_minutes"] or 60)
    qs = Feed.objects.filter(pk=pk, active=True)
    if feed["next_poll_at"] is None:
        qs = qs.filter(next_poll_at__isnull=True)
    else:
        qs = qs.filter(next_poll_at=feed["next_poll_at"], next_poll_at__lte=now)
    return qs.update(next_poll_at=nxt) == 1


def poll_feed(pk: int, *, inline: bool = False, force: bool = False) -> ImportRun | None:
    """Fetch one feed with its validators; a changed feed becomes an ImportRun (stored first)."""
    if not force and not claim_feed(pk):
        return None
    feed = Feed.objects.get(pk=pk)
    now = timezone.now()
    try:
        got = fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
    except (FetchError, ValueError) as exc:
        Feed.objects.filter(pk=pk).update(last_polled_at=now, last_error=str(exc)[:2000])
        raise
    if got.status == 304:
        Feed.objects.filter(pk=pk).update(last_polled_at=now, last_error="")
        return None
    with transaction.atomic():
        Feed.objects.filter(pk=pk).update(
            last_polled_at=now,
            last_error="",
            etag=got.etag[:500],
            last_modified=got.last_modified[:100],
        )
        run = create_run(
            ImportRun.Kind.FEED, got.content, url=feed.url, feed=feed, queue=not inline
        )
    if inline:
        process_run(run.pk, inline=True)
        run.refresh_from_db()
    return run


# --- the sweep -----------------------------------------------------------------------------------


def queue_backlog() -> int | None:
    """Messages waiting in the default queue, or None when the broker cannot say."""
    from conflictmap.celery import app

    if app.conf.task_always_eager:
        return None
    try:
        with app.connection_for_write() as conn:
            queue = app.conf.task_default_queue or "celery"
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
    except Exception:  # broker down or a transport without counts: the sweep goes ahead
        return None


def sweep(*, min_age: int | None = None, limit: int = 5000) -> dict:
    """Re-queue reports and runs left pending (not queued for min_age seconds) or claimed by a
    worker that went quiet. Pending items are left alone while the queue still holds messages:
    theirs are likely among them. The conditional claims make a duplicate message harmless."""
    from django.db.models.functions import Coalesce

    now = timezone.now()
    old = now - dt.timedelta(seconds=sweep_min_age() if min_age is None else min_age)
    stale = now - dt.timedelta(seconds=claim_timeout())
    backlog = queue_backlog()
    pending_too = not backlog  # 0 (drained) or None (unknown)
    report_q = Q(state=Report.State.PROCESSING, claimed_at__lt=stale)
    run_q = Q(state=ImportRun.State.RUNNING, heartbeat_at__lt=stale)
    if pending_too:
        report_q |= Q(state=Report.State.PENDING, last_queued__lte=old)
        run_q |= Q(state=ImportRun.State.PENDING, last_queued__lte=old)
    reports = list(
        Report.objects.annotate(last_queued=Coalesce("queued_at", "received_at"))
        .filter(report_q)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    runs = list(
        ImportRun.objects.annotate(last_queued=Coalesce("queued_at", "created_at"))
        .filter(run_q)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    Report.objects.filter(pk__in=reports).update(queued_at=now)
    ImportRun.objects.filter(pk__in=runs).update(queued_at=now)
    sent = 0
    result = {"reports": len(reports), "runs": len(runs), "backlog": backlog}
    for name, pks in (("process_run", runs), ("process_report", reports)):
        for pk in pks:
            if not _send(name, pk):
                return {**result, "queued": sent, "broker": "down"}
            sent += 1
    return {**result, "queued": sent}


# --- review: candidates into events --------------------------------------------------------------

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
