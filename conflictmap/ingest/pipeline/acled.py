"""ACLED exports into events: upserts keyed by event_id_cnty, in batches written with COPY, each
batch in a transaction that first checks the run's claim; unknown actors become factions marked
for review."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from conflictmap.events.models import Event, EventActor, Source
from conflictmap.slugs import unique_slug
from conflictmap.territory.models import Confidence, Faction

from ..models import ImportRun
from ..parsers import acled as acled_parser
from .claims import hold_run
from .progress import finish_run, record_parse_results

BATCH = 2000

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
            slug = unique_slug(Faction, name, fallback="actor")
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
    record_parse_results(run, token, problems, len(records))
    status = run.record_status
    resolver = FactionResolver()
    source = _acled_source(run)
    through = Event.sources.through
    for offset, batch in _batches(records, run.processed):
        with transaction.atomic():
            hold_run(run, token)
            created, updated, unchanged = _apply_acled_batch(
                batch, resolver, source, status, through, reason=run.reason("ACLED import")
            )
            ImportRun.objects.filter(pk=run.pk).update(
                processed=offset + len(batch),
                created=F("created") + created,
                updated=F("updated") + updated,
                unchanged=F("unchanged") + unchanged,
                heartbeat_at=timezone.now(),
            )
    options = {**run.options, "new_factions": resolver.created}
    finish_run(run, token, options=options)


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
