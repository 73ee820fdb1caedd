"""The public changelog: every change to what the public map shows, read from the history tables
(simple-history) in one SQL query.

Listed changes, for zone versions and events alike:
- published: a history row in the published state whose previous row was not (or the first);
- corrected: published before and after, and a field the map shows changed (zones: faction,
  geometry, first day, confidence; events: date, type, sub-type, place, fatalities, confidence,
  summary);
- replaced (zone versions): published before and after, and its last day set: a newer version
  takes over from that date;
- retracted: published before, retracted now.

Nothing unpublished leaks: a draft that was never published has no entry; a record that is not
published today (retracted, or back to draft) shows only its retraction entries, which carry the
reason and the zone's name or the event's date and type, never its geometry, note or sources.
Editors' names are not shown. Each entry links to the map at its date (`/?date=YYYY-MM-DD`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from conflictmap.replica import reading
from conflictmap.territory.models import Status

MAX_ENTRIES = 500

_P = f"'{Status.PUBLISHED}'"
_R = f"'{Status.RETRACTED}'"

# One row per history row of the records with a row in [start, end], with the row before it.
_CHANGES = """
    SELECT h.*, md5(ST_AsBinary(h.geom)) AS geom_md5, {lags}
    FROM {table} h
    WHERE h.id IN (SELECT id FROM {table} WHERE history_date >= %(start)s AND history_date < %(end)s)
    WINDOW w AS (PARTITION BY h.id ORDER BY h.history_id)
"""


def _lags(columns: list[str]) -> str:
    def expr(c: str) -> str:
        return "md5(ST_AsBinary(h.geom))" if c == "geom_md5" else f"h.{c}"

    return ", ".join(f"lag({expr(c)}) OVER w AS prev_{c}" for c in ["status", *columns])


def _changed(columns: list[str]) -> str:
    return "(" + " OR ".join(f"c.{c} IS DISTINCT FROM c.prev_{c}" for c in columns) + ")"


_ZONE_FIELDS = ["faction_id", "geom_md5", "valid_from", "valid_to", "confidence"]
_ZONE_SHOWN = ["faction_id", "geom_md5", "valid_from", "confidence"]
_EVENT_FIELDS = [
    "date", "event_type", "sub_event_type", "geom_md5", "location_name", "fatalities",
    "confidence", "summary",
]  # fmt: skip

KIND_SQL = """CASE
    WHEN c.status = {P} AND c.prev_status IS DISTINCT FROM {P} THEN 'published'
    WHEN c.status = {R} AND c.prev_status = {P} THEN 'retracted'
    WHEN c.status = {P} AND c.prev_status = {P} AND {replaced} THEN 'replaced'
    WHEN c.status = {P} AND c.prev_status = {P} AND {corrected} THEN 'corrected'
    END"""

SQL = f"""
WITH zone_rows AS (
    SELECT c.* FROM (
        {_CHANGES.format(table="territory_historicalzoneversion", lags=_lags(_ZONE_FIELDS))}
    ) c
), zone_entries AS (
    SELECT c.history_id, c.history_date, c.history_change_reason AS reason, c.id,
        {
    KIND_SQL.format(
        P=_P,
        R=_R,
        replaced="c.valid_to IS NOT NULL AND c.valid_to IS DISTINCT FROM c.prev_valid_to",
        corrected=_changed(_ZONE_SHOWN),
    )
} AS change,
        c.valid_from, c.valid_to, c.zone_id, c.faction_id
    FROM zone_rows c
    WHERE c.history_date >= %(start)s AND c.history_date < %(end)s AND c.history_type <> '-'
), event_rows AS (
    SELECT c.* FROM (
        {_CHANGES.format(table="events_historicalevent", lags=_lags(_EVENT_FIELDS))}
    ) c
), event_entries AS (
    SELECT c.history_id, c.history_date, c.history_change_reason AS reason, c.id,
        {KIND_SQL.format(P=_P, R=_R, replaced="false", corrected=_changed(_EVENT_FIELDS))}
            AS change,
        c.date, c.event_type, c.sub_event_type, c.location_name
    FROM event_rows c
    WHERE c.history_date >= %(start)s AND c.history_date < %(end)s AND c.history_type <> '-'
)
SELECT * FROM (
    SELECT 'zone_version' AS kind, e.history_id, e.history_date, e.change, e.reason, e.id,
        CASE WHEN e.change = 'replaced' THEN e.valid_to ELSE e.valid_from END AS map_date,
        z.name || CASE WHEN e.change = 'retracted' THEN '' ELSE ' — ' || f.name END AS label,
        CASE WHEN e.change = 'retracted' THEN '[]'::json ELSE COALESCE((
            SELECT json_agg(json_build_object('url', s.url, 'publisher', s.publisher,
                'title', s.title) ORDER BY s.id)
            FROM territory_zoneversion_sources vs JOIN events_source s ON s.id = vs.source_id
            WHERE vs.zoneversion_id = e.id), '[]'::json) END AS sources
    FROM zone_entries e
    JOIN territory_zoneversion v ON v.id = e.id
    JOIN territory_zone z ON z.id = e.zone_id
    JOIN territory_faction f ON f.id = e.faction_id
    WHERE e.change IS NOT NULL
      AND (v.status = {_P} OR e.change = 'retracted')
    UNION ALL
    SELECT 'event', e.history_id, e.history_date, e.change, e.reason, e.id, e.date,
        e.date || ' ' || COALESCE(NULLIF(e.sub_event_type, ''), e.event_type)
            || CASE WHEN e.change = 'retracted' OR e.location_name = '' THEN ''
               ELSE ', ' || e.location_name END,
        CASE WHEN e.change = 'retracted' THEN '[]'::json ELSE COALESCE((
            SELECT json_agg(json_build_object('url', s.url, 'publisher', s.publisher,
                'title', s.title) ORDER BY s.id)
            FROM events_event_sources es JOIN events_source s ON s.id = es.source_id
            WHERE es.event_id = e.id), '[]'::json) END
    FROM event_entries e
    JOIN events_event ev ON ev.id = e.id
    WHERE e.change IS NOT NULL
      AND (ev.status = {_P} OR e.change = 'retracted')
) entries
ORDER BY history_date DESC, history_id DESC
LIMIT %(limit)s
"""


def entries(start: dt.date, end: dt.date, *, limit: int = MAX_ENTRIES) -> tuple[list[dict], bool]:
    """The changelog entries of the days `start` to `end` (both inclusive, UTC), newest first:
    (entries, truncated). Each: kind (zone_version, event), id, change (published, corrected,
    replaced, retracted), at (ISO time), reason, label, sources, map_date and map_url."""
    params: dict[str, Any] = {
        "start": dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC),
        "end": dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC),
        "limit": limit + 1,
    }
    with reading().cursor() as cursor:
        cursor.execute(SQL, params)
        columns = [c.name for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    found = []
    for row in rows[:limit]:
        day = row["map_date"]
        found.append(
            {
                "kind": row["kind"],
                "id": row["id"],
                "change": row["change"],
                "at": row["history_date"].isoformat(),
                "reason": row["reason"] or "",
                "label": row["label"],
                "sources": row["sources"],
                "map_date": day.isoformat() if day else None,
                "map_url": f"/?date={day.isoformat()}" if day else "/",
                "entry": f"{row['kind']}:{row['history_id']}",
            }
        )
    return found, len(rows) > limit
