"""Data quality of the territory for editors: what the zones say about places that is likely a
mistake, on a date, in SQL (the admin page and the staff API both read `report`).

- places inside no zone: no version in force covers the place (a town on a border left outside
  every polygon);
- places in zones of two opposing factions without a contested mark: versions of two factions
  neither of which backs the other (backed_by, as for front lines) cover the place and none of
  them has the confidence "contested";
- captures not on the map: events of the capture sub-types whose place (the event's gazetteer
  place, else its point) is still covered, `days` after the event, by a zone of a faction the
  event names as actor 2 (the side that lost it).

The holders are read as territory.control reads them (territory_placecover, in_force, visible);
`drafts` counts draft versions and events as staff see them on the map.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from conflictmap.geojson import query_cursor
from conflictmap.territory.control import holds
from conflictmap.territory.models import in_force, visible

# ACLED's sub-event types that say ground changed hands.
CAPTURE_SUB_TYPES = (
    "Non-state actor overtakes territory",
    "Government regains territory",
    "Non-violent transfer of territory",
)
DEFAULT_DAYS = 3

_PLACE = """json_build_object('id', p.id, 'name', p.name, 'name_ar', p.name_ar, 'kind', p.kind,
    'population', p.population, 'longitude', round(ST_X(p.geom)::numeric, 6),
    'latitude', round(ST_Y(p.geom)::numeric, 6))"""
_FACTION = "json_build_object('slug', f.slug, 'name', f.name)"

OUTSIDE_SQL = f"""
SELECT COALESCE(json_agg({_PLACE} ORDER BY p.population DESC NULLS LAST, p.id), '[]')::text
FROM events_place p
WHERE NOT EXISTS (
    SELECT 1 FROM territory_placecover c
    WHERE c.place_id = p.id AND {in_force("c", "%(day)s")} AND {holds("c")})
"""

OVERLAP_SQL = f"""
WITH here AS (
    SELECT c.place_id,
        array_agg(DISTINCT c.faction_id) AS factions,
        array_agg(c.version_id ORDER BY c.version_id) AS versions,
        bool_or(c.confidence = 'contested') AS marked
    FROM territory_placecover c
    WHERE {in_force("c", "%(day)s")} AND {holds("c")}
    GROUP BY c.place_id
)
SELECT COALESCE(json_agg(json_build_object(
    'place', {_PLACE},
    'factions', (SELECT json_agg({_FACTION} ORDER BY f.slug) FROM territory_faction f
                 WHERE f.id = ANY(h.factions)),
    'versions', to_json(h.versions)
) ORDER BY p.population DESC NULLS LAST, p.id), '[]')::text
FROM here h JOIN events_place p ON p.id = h.place_id
WHERE cardinality(h.factions) > 1 AND NOT h.marked
  -- two of them opposing: neither backs the other (allies may share ground, as for front lines)
  AND EXISTS (
      SELECT 1 FROM unnest(h.factions) a, unnest(h.factions) b
      WHERE a < b AND NOT EXISTS (
          SELECT 1 FROM territory_faction_backed_by bb
          WHERE (bb.from_faction_id = a AND bb.to_faction_id = b)
             OR (bb.from_faction_id = b AND bb.to_faction_id = a)))
"""

STALE_CAPTURES_SQL = f"""
WITH captures AS (
    SELECT e.id, e.date, e.sub_event_type, e.location_name, e.place_id,
        COALESCE(pl.geom, e.geom) AS point, e.date + %(days)s::int AS checked
    FROM events_event e
    LEFT JOIN events_place pl ON pl.id = e.place_id
    WHERE e.sub_event_type = ANY(%(sub_types)s) AND {visible("e")}
),
stale AS (
    SELECT c.*, (
        SELECT array_agg(DISTINCT v.faction_id) FROM territory_zoneversion v
        WHERE {in_force("v", "c.checked")} AND {holds("v")}
          AND v.geom && c.point AND ST_Intersects(v.geom, c.point)
          AND v.faction_id IN (
              SELECT ea.faction_id FROM events_eventactor ea
              WHERE ea.event_id = c.id AND ea.role = 'actor2')
    ) AS losers
    FROM captures c
)
SELECT COALESCE(json_agg(json_build_object(
    'event', s.id, 'date', s.date, 'sub_type', s.sub_event_type,
    'place', (SELECT json_build_object('id', p.id, 'name', p.name, 'name_ar', p.name_ar)
              FROM events_place p WHERE p.id = s.place_id),
    'location_name', s.location_name,
    'longitude', round(ST_X(s.point)::numeric, 6), 'latitude', round(ST_Y(s.point)::numeric, 6),
    'takers', COALESCE((SELECT json_agg({_FACTION} ORDER BY f.slug)
        FROM territory_faction f JOIN events_eventactor ea ON ea.faction_id = f.id
        WHERE ea.event_id = s.id AND ea.role = 'actor1'), '[]'),
    'checked_on', s.checked,
    'held_by', (SELECT json_agg({_FACTION} ORDER BY f.slug) FROM territory_faction f
                WHERE f.id = ANY(s.losers))
) ORDER BY s.date, s.id), '[]')::text
FROM stale s WHERE s.losers IS NOT NULL
"""


def report(day: dt.date, *, days: int = DEFAULT_DAYS, drafts: bool = False) -> dict[str, Any]:
    """The three lists on `day` (the captures: every capture event, checked `days` after its
    date), with the parameters they were made with."""
    params = {"day": day, "staff": drafts, "days": days, "sub_types": list(CAPTURE_SUB_TYPES)}
    found: dict[str, Any] = {"date": day.isoformat(), "days": days, "drafts": drafts}
    with query_cursor() as cursor:
        for name, sql in (
            ("outside", OUTSIDE_SQL),
            ("uncontested_overlaps", OVERLAP_SQL),
            ("stale_captures", STALE_CAPTURES_SQL),
        ):
            cursor.execute(sql, params)
            found[name] = json.loads(cursor.fetchone()[0])
    return found
