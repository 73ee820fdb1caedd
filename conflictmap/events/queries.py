"""Events in SQL: GeoJSON features, CSV rows, counts per step; the gazetteer's places and the
extent of the published data (vector tiles: conflictmap.events.tiles).

Property names of an event (GeoJSON and CSV) are a documented interface (docs/api.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from conflictmap.geojson import Query, query_cursor
from conflictmap.gis import Bbox, bbox_sql
from conflictmap.replica import reading
from conflictmap.territory.models import visible
from conflictmap.territory.series import step_days

POINT_DECIMALS = 6


@dataclass
class EventFilter:
    """What a request or an export asks for; every field is optional."""

    start: dt.date | None = None
    end: dt.date | None = None
    bbox: Bbox | None = None
    types: list[str] = field(default_factory=list)
    actor_ids: list[int] = field(default_factory=list)
    q: str = ""
    staff: bool = False
    id_above: int | None = None  # id > id_above
    id_upto: int | None = None  # id <= id_upto

    def narrow(self) -> bool:
        """True when the filter likely selects a small part of the table."""
        return bool(self.start or self.end or self.bbox or self.actor_ids or self.q)

    def where(self) -> tuple[str, dict[str, Any]]:
        clauses = [visible("e")]
        params: dict[str, Any] = {"staff": self.staff}
        if self.start:
            clauses.append("e.date >= %(start)s")
            params["start"] = self.start
        if self.end:
            clauses.append("e.date <= %(end)s")
            params["end"] = self.end
        if self.bbox:
            clauses.append(bbox_sql("e", self.bbox, params))
        if self.types:
            clauses.append("e.event_type = ANY(%(types)s)")
            params["types"] = list(self.types)
        if self.actor_ids:
            clauses.append(
                "e.id IN (SELECT ea.event_id FROM events_eventactor ea"
                " WHERE ea.faction_id = ANY(%(actor_ids)s))"
            )
            params["actor_ids"] = list(self.actor_ids)
        if self.id_above is not None:
            clauses.append("e.id > %(id_above)s")
            params["id_above"] = self.id_above
        if self.id_upto is not None:
            clauses.append("e.id <= %(id_upto)s")
            params["id_upto"] = self.id_upto
        if self.q:
            escaped = self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("(e.summary ILIKE %(q)s OR e.location_name ILIKE %(q)s)")
            params["q"] = f"%{escaped}%"
        return " AND ".join(clauses), params


# Features are built by string concatenation in PostgreSQL (to_json() quotes every string):
# measured 2x faster than json_build_object(), which also re-parses ST_AsGeoJSON's output.
# An event's actors, sources and external ids are not aggregated here: the database keeps them
# already written in events_event.related (three JSON texts, by triggers: see migration
# events/0003_events_related_cache). Aggregating them per export cost 3.0 s per million events.
FEATURE_SQL = f"""
    '{{"type":"Feature","id":' || e.id
    || ',"geometry":' || ST_AsGeoJSON(e.geom, {POINT_DECIMALS})
    || ',"properties":{{"id":' || e.id
    || ',"date":"' || e.date
    || '","date_precision":' || to_json(e.date_precision)
    || ',"type":' || to_json(e.event_type)
    || ',"sub_type":' || COALESCE(to_json(NULLIF(e.sub_event_type, ''))::text, 'null')
    || ',"actors":' || e.related[1]
    || ',"fatalities":' || COALESCE(e.fatalities::text, 'null')
    || ',"confidence":' || to_json(e.confidence)
    || ',"status":' || to_json(e.status)
    || ',"location_precision":' || to_json(e.location_precision)
    || ',"place":' || CASE WHEN p.id IS NULL THEN 'null' ELSE
           '{{"name":' || to_json(p.name) || ',"name_ar":' || to_json(p.name_ar) || '}}' END
    || ',"location_name":' || to_json(e.location_name)
    || ',"summary":' || to_json(e.summary)
    || ',"sources":' || e.related[2]
    || ',"external_ids":' || e.related[3] || '}}}}'
"""


# Bulk changes to actors, sources or external ids reach `related` when their transaction
# commits; an export read inside that transaction applies them first.
FLUSH_RELATED = "SELECT events_related_flush()"


def _exported(columns: str, flt: EventFilter) -> Query:
    """`columns` of each event `flt` selects (`e` the event, `p` its place), ordered by id
    (stable across runs)."""
    where, params = flt.where()
    sql = f"""
    SELECT {columns}
    FROM events_event e
    LEFT JOIN events_place p ON p.id = e.place_id
    WHERE {where}
    ORDER BY e.id
    """
    return Query(sql, params, flush=FLUSH_RELATED)


def features(flt: EventFilter) -> Query:
    """One GeoJSON Feature per event (as text)."""
    return _exported(FEATURE_SQL, flt)


# Below this many events in the table, one connection is quicker than two.
PARALLEL_MIN_ROWS = 100_000


def halves(flt: EventFilter) -> tuple[Query, Query] | None:
    """The export of `flt` as two queries on two id ranges (for parallel_feature_batches), or
    None when the table is small or the filter narrow."""
    if flt.narrow():
        return None
    with query_cursor() as cursor:
        cursor.execute(
            "SELECT min(id), max(id), (SELECT reltuples FROM pg_class"
            " WHERE oid = 'events_event'::regclass) FROM events_event"
        )
        low, high, estimate = cursor.fetchone()
    if low is None or (estimate or 0) < PARALLEL_MIN_ROWS:
        return None
    middle = (low + high) // 2
    first = dataclasses.replace(flt, id_upto=middle)
    second = dataclasses.replace(flt, id_above=middle)
    return features(first), features(second)


CSV_COLUMNS = (
    "id",
    "date",
    "date_precision",
    "type",
    "sub_type",
    "longitude",
    "latitude",
    "actors",
    "fatalities",
    "confidence",
    "status",
    "location_precision",
    "place",
    "place_ar",
    "location_name",
    "summary",
    "sources",
    "external_ids",
)


# Lists are flattened from the JSON texts of `related` the features write, in their order.
CSV_SQL = f"""
    e.id, e.date::text, e.date_precision, e.event_type, e.sub_event_type,
    round(ST_X(e.geom)::numeric, {POINT_DECIMALS}), round(ST_Y(e.geom)::numeric, {POINT_DECIMALS}),
    (SELECT string_agg((a ->> 'slug') || ':' || (a ->> 'role'), ';' ORDER BY n)
       FROM json_array_elements(e.related[1]::json) WITH ORDINALITY AS actors (a, n)),
    e.fatalities, e.confidence, e.status, e.location_precision, p.name, p.name_ar, e.location_name,
    e.summary,
    (SELECT string_agg(s ->> 'url', '|' ORDER BY n)
       FROM json_array_elements(e.related[2]::json) WITH ORDINALITY AS sources (s, n)),
    -- json (not jsonb) keeps every pair, in order, when a system has several ids
    (SELECT string_agg(system || ':' || value, ';' ORDER BY n)
       FROM json_each_text(e.related[3]::json) WITH ORDINALITY AS ids (system, value, n))
"""


def csv_rows(flt: EventFilter) -> Query:
    """The same events as `features`, one row per event with CSV_COLUMNS: actors
    "slug:role;slug:role", sources "url|url", external ids "system:value;..."."""
    return _exported(CSV_SQL, flt)


# Day counts of a transaction's own changes to events reach events_daycount and
# events_dayfaction when it commits; counts read inside that transaction apply them first.
FLUSH_DAY_COUNTS = "SELECT events_daycount_flush()"


def counts(
    start: dt.date, end: dt.date, step: str, by: str, *, staff: bool = False
) -> dict[str, Any]:
    """Events per step (start, start + step, ... <= end; the last step ends with `end`),
    by ACLED type or by actor (an event counts once for each faction among its actors).

    Sums the day counts the database keeps as events change (events_daycount and
    events_dayfaction, migration events/0008_event_day_counts): one row per day, type (or
    faction) and status, so all the years cost about 30,000 rows where counting the events read
    a million of them (and their actors by index: 4 s). width_bucket() finds each day's step
    among the step days (a join of steps to date ranges was 5-10x slower)."""
    days = step_days(start, end, step)
    if by == "type":
        key_sql = "c.event_type AS key, c.event_type AS label"
        source = "events_daycount c"
        group = "c.event_type"
    else:
        key_sql = "f.slug AS key, f.name AS label"
        source = "events_dayfaction c JOIN territory_faction f ON f.id = c.faction_id"
        group = "f.slug, f.name"
    sql = f"""
    WITH counted AS (
        SELECT width_bucket(c.day, %(days)s::date[]) - 1 AS i, {key_sql}, sum(c.events) AS n
        FROM {source}
        WHERE c.day >= %(a)s AND c.day <= %(b)s AND {visible("c")}
        GROUP BY 1, {group}
        HAVING sum(c.events) <> 0
    )
    SELECT key, label, json_object_agg(i, n) FROM counted GROUP BY key, label ORDER BY key
    """
    params = {"a": start, "b": end, "days": days, "staff": staff}
    outer = reading().in_atomic_block  # (never on a replica: reads there are not in one)
    with query_cursor() as cursor:
        if outer:
            # Inside a caller's transaction: its own changes to events are not counted yet.
            cursor.execute(FLUSH_DAY_COUNTS)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    series = []
    for key, label, by_step in rows:
        n = [0] * len(days)
        for i, value in by_step.items():
            n[int(i)] = int(value)
        series.append({"key": key, "label": label, "counts": n})
    return {"steps": [d.isoformat() for d in days], "series": series}


# --- the gazetteer and the extent of the data ----------------------------------------------------


def places(min_population: int | None = None, bbox: Bbox | None = None) -> Query:
    """Places of the gazetteer as GeoJSON Features, the most populous first."""
    params: dict[str, Any] = {"minpop": min_population}
    where = "(%(minpop)s::int IS NULL OR p.population >= %(minpop)s)"
    if bbox:
        where += " AND " + bbox_sql("p", bbox, params)
    sql = f"""
    SELECT json_build_object(
        'type', 'Feature', 'id', p.id,
        'geometry', ST_AsGeoJSON(p.geom, {POINT_DECIMALS})::json,
        'properties', json_build_object('id', p.id, 'name', p.name, 'name_ar', p.name_ar,
            'kind', p.kind, 'population', p.population)
    )::text
    FROM events_place p WHERE {where}
    ORDER BY p.population DESC NULLS LAST, p.id
    """
    return Query(sql, params)


@dataclass(frozen=True)
class Extent:
    """The period and place of the published data: first and last day of the zones and events
    (None when there is none), and bounding boxes (W, S, E, N)."""

    first: dt.date | None
    last: dt.date | None
    zones_bbox: Bbox | None  # the published zones
    bbox: Bbox | None  # zones and events (events only when asked: see data_extent)


def data_extent(*, events_in_bbox: bool) -> Extent:
    """The Extent of the published zones and events.

    A closed version's last day is the day before its valid_to (exclusive). The events' box
    takes a scan of every published event, so it is only computed when `events_in_bbox`
    (otherwise `bbox` is the zones' box); their dates come from the index on date.
    """
    events_box = "ST_Extent(geom)" if events_in_bbox else "NULL::box2d"
    sql = f"""
    WITH z AS (
        SELECT min(valid_from) AS first, max(valid_from) AS last_from,
               max(valid_to) - 1 AS last_to, ST_Extent(geom) AS box
        FROM territory_zoneversion v WHERE {visible("v")}
    ), e AS (
        SELECT min(date) AS first, max(date) AS last, {events_box} AS box
        FROM events_event e WHERE {visible("e")}
    )
    SELECT LEAST(z.first, e.first), GREATEST(z.last_from, z.last_to, e.last),
           ARRAY[ST_XMin(z.box), ST_YMin(z.box), ST_XMax(z.box), ST_YMax(z.box)],
           ARRAY[ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)]
    FROM z, e, LATERAL (SELECT ST_Extent(g) AS b FROM (
        SELECT z.box::geometry AS g UNION ALL SELECT e.box::geometry) u) ext
    """
    with reading().cursor() as cursor:
        cursor.execute(sql, {"staff": False})
        first, last, zones_box, box = cursor.fetchone()
    return Extent(
        first,
        last,
        tuple(zones_box) if zones_box[0] is not None else None,
        tuple(box) if box[0] is not None else None,
    )
