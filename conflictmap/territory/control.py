"""Who held each place when: locality control derived from the zones, in SQL.

Control is never stored: a place's holder on day D is read from the zone versions in force on D
whose geometry covers the place's point (territory.models.in_force and visible, the same rules
as the map), so it cannot disagree with the map.

- held: the versions covering the place on D are of one faction; confidence is "contested" when
  one of them is marked so, else "claimed" when one is claimed, else "confirmed";
- contested: versions of two or more factions cover it (opposing means different factions, as
  for the zones' `contested` flag); confidence "contested";
- unknown: no version covers it; no holder, no confidence.
Retracted versions hold nothing, whoever asks.

`since` is the first day of the place's current state without a break: the latest of the days
each holding faction began covering it continuously and of the days any other faction stopped
covering it (for unknown, the day the last cover ended; null when never covered). It is the
`from` of the period containing D in the place's timeline (`place_timeline`).

Which versions cover which place is a geometric index the database keeps as versions and places
are written (territory_placecover: territory.models.PlaceCover); holders, confidence and since
are worked out from it at each request, by the rules above, in one query.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from conflictmap.geojson import Query, query_cursor
from conflictmap.gis import Bbox, bbox_sql
from conflictmap.territory.models import Status, in_force, visible

POINT_DECIMALS = 6


def holds(alias: str) -> str:
    """SQL true where version (or cover) `alias` counts for who holds ground, as %(staff)s
    sees it: visible, and not retracted (a withdrawn claim holds nothing, even for staff, as
    for territory.transfer)."""
    return f"{visible(alias)} AND {alias}.status <> '{Status.RETRACTED}'"


FACTION_JSON = "json_build_object('slug', f.slug, 'name', f.name, 'colour', f.colour)"

# Confidence of a set of covering versions: factions (their ids) and confidences.
_CONFIDENCE = """CASE
    WHEN cardinality({factions}) = 0 THEN NULL
    WHEN cardinality({factions}) > 1 OR 'contested' = ANY({confidences}) THEN 'contested'
    WHEN 'claimed' = ANY({confidences}) THEN 'claimed'
    ELSE 'confirmed' END"""
_STATUS = """CASE
    WHEN cardinality({factions}) = 0 THEN 'unknown'
    WHEN cardinality({factions}) > 1 THEN 'contested'
    ELSE 'held' END"""


def _state_sql(place_filter: str) -> str:
    """Rows (place_id, geom, name, name_ar, kind, population, factions, versions, confidences,
    since) for every place of `place_filter` (SQL on alias p), on %(day)s as %(staff)s sees it.

    The state changed last either when one of its holders began covering the place without a
    break (the start of the range containing the day once that holder's covers are merged with
    range_agg) or when another faction stopped covering it (the latest end, on or before the
    day, of a cover of a faction that does not hold it now). `since` is the later of the two.

    Each part reads only the covers it needs, through territory_placecover's indexes: those in
    force on the day (placecover_period), the holders' covers of the places held
    (placecover_place) and, per place, the covers that ended after the holders' run began
    (placecover_place_end; for a place nobody holds, the latest that ended)."""
    in_places = (
        ""
        if place_filter == "TRUE"
        else f" AND c.place_id IN (SELECT p.id FROM events_place p WHERE {place_filter})"
    )
    return f"""
    WITH here AS MATERIALIZED (
        SELECT c.place_id,
            array_agg(DISTINCT c.faction_id ORDER BY c.faction_id) AS factions,
            array_agg(c.version_id ORDER BY c.version_id) AS versions,
            array_agg(c.confidence::text) AS confidences
        FROM territory_placecover c
        WHERE {in_force("c", "%(day)s")} AND {holds("c")}{in_places}
        GROUP BY c.place_id
    ),
    began AS (
        SELECT h.place_id, max(lower(run.r)) AS day
        FROM here h, unnest(h.factions) AS holder(id), LATERAL (
            SELECT unnest(range_agg(c.period)) AS r
            FROM territory_placecover c
            WHERE c.place_id = h.place_id AND c.faction_id = holder.id
              AND lower(c.period) <= (%(day)s)::date AND {holds("c")}) run
        WHERE run.r @> (%(day)s)::date
        GROUP BY h.place_id
    )
    SELECT p.id AS place_id, p.geom, p.name, p.name_ar, p.kind, p.population,
        COALESCE(here.factions, '{{}}') AS factions,
        COALESCE(here.versions, '{{}}') AS versions,
        COALESCE(here.confidences, '{{}}') AS confidences,
        GREATEST(began.day, ended.day) AS since
    FROM events_place p
    LEFT JOIN here ON here.place_id = p.id
    LEFT JOIN began ON began.place_id = p.id
    LEFT JOIN LATERAL (
        -- An end on or before the run's start changes nothing: only later ones are read.
        SELECT max(upper(c.period)) AS day
        FROM territory_placecover c
        WHERE c.place_id = p.id
          AND upper(c.period) <= (%(day)s)::date
          AND upper(c.period) > COALESCE(began.day, '-infinity'::date)
          AND NOT (c.faction_id = ANY(COALESCE(here.factions, '{{}}')))
          AND {holds("c")}) ended ON true
    WHERE {place_filter}
    """


def _place_filter(bbox: Bbox | None, params: dict[str, Any]) -> str:
    return "TRUE" if bbox is None else bbox_sql("p", bbox, params)


# Each faction's JSON once per query, not once per place.
_FACTIONS_CTE = f"""fj AS MATERIALIZED (
    SELECT f.id, f.slug, {FACTION_JSON}::text AS j FROM territory_faction f)"""


def control_at(day: dt.date, *, bbox: Bbox | None = None, staff: bool = False) -> Query:
    """Every place of the gazetteer (in `bbox` when given) as a GeoJSON Feature with who held
    it on `day`: status, holder, factions, confidence, since, versions. Ordered by place id.

    The feature is concatenated text (to_json quotes strings), as the zones' are: about half
    the time of json_build_object, which re-parses the geometry."""
    params: dict[str, Any] = {"day": day, "staff": staff}
    state = _state_sql(_place_filter(bbox, params))
    confidence = _CONFIDENCE.format(factions="s.factions", confidences="s.confidences")
    sql = f"""
    WITH state AS ({state}), {_FACTIONS_CTE}
    SELECT '{{"type":"Feature","id":' || s.place_id
        || ',"geometry":' || ST_AsGeoJSON(s.geom, {POINT_DECIMALS})
        || ',"properties":{{"id":' || s.place_id
        || ',"name":' || to_json(s.name) || ',"name_ar":' || to_json(s.name_ar)
        || ',"kind":' || to_json(s.kind)
        || ',"population":' || COALESCE(s.population::text, 'null')
        || ',"status":"' || {_STATUS.format(factions="s.factions")}
        || '","holder":' || COALESCE(CASE WHEN cardinality(s.factions) = 1 THEN (
            SELECT fj.j FROM fj WHERE fj.id = s.factions[1]) END, 'null')
        || ',"factions":[' || COALESCE((
            SELECT string_agg(fj.j, ',' ORDER BY fj.slug) FROM fj
            WHERE fj.id = ANY(s.factions)), '') || ']'
        || ',"confidence":' || COALESCE('"' || {confidence} || '"', 'null')
        || ',"since":' || COALESCE('"' || s.since || '"', 'null')
        || ',"versions":' || to_json(s.versions) || '}}}}'
    FROM state s
    ORDER BY s.place_id
    """
    return Query(sql, params)


CSV_COLUMNS = [
    "place_id",
    "name",
    "name_ar",
    "kind",
    "population",
    "longitude",
    "latitude",
    "status",
    "holder",
    "factions",
    "confidence",
    "since",
    "versions",
]


def control_csv_rows(day: dt.date, *, bbox: Bbox | None = None, staff: bool = False) -> Query:
    """The rows of control_at as CSV_COLUMNS: holder and factions as slugs (factions joined by
    ";"), versions as ids joined by ";"."""
    params: dict[str, Any] = {"day": day, "staff": staff}
    state = _state_sql(_place_filter(bbox, params))
    sql = f"""
    WITH state AS ({state})
    SELECT s.place_id, s.name, s.name_ar, s.kind, s.population,
        round(ST_X(s.geom)::numeric, {POINT_DECIMALS}), round(ST_Y(s.geom)::numeric, {POINT_DECIMALS}),
        {_STATUS.format(factions="s.factions")},
        CASE WHEN cardinality(s.factions) = 1 THEN (
            SELECT f.slug FROM territory_faction f WHERE f.id = s.factions[1]) ELSE '' END,
        COALESCE((SELECT string_agg(f.slug, ';' ORDER BY f.slug) FROM territory_faction f
                  WHERE f.id = ANY(s.factions)), ''),
        COALESCE({_CONFIDENCE.format(factions="s.factions", confidences="s.confidences")}, ''),
        s.since,
        array_to_string(s.versions, ';')
    FROM state s
    ORDER BY s.place_id
    """
    return Query(sql, params)


# The periods of one place: the days on which the set of versions covering it changes cut the
# time into segments; consecutive segments with the same factions make a period (its confidence
# is that of its last segment; `confidences` says from which day each held).
TIMELINE_SQL = f"""
WITH place AS (SELECT * FROM events_place WHERE id = %(place)s),
cov AS (
    SELECT c.version_id AS id, c.faction_id, c.period, c.confidence::text AS confidence
    FROM territory_placecover c
    WHERE c.place_id = %(place)s AND {holds("c")}
),
bounds AS (
    SELECT lower(period) AS b FROM cov
    UNION SELECT upper(period) FROM cov WHERE upper(period) IS NOT NULL
),
segments AS (SELECT b AS start, lead(b) OVER (ORDER BY b) AS stop FROM bounds),
states AS (
    SELECT s.start, s.stop,
        COALESCE(array_agg(DISTINCT c.faction_id ORDER BY c.faction_id)
                 FILTER (WHERE c.id IS NOT NULL), '{{}}') AS factions,
        COALESCE(array_agg(c.id ORDER BY c.id) FILTER (WHERE c.id IS NOT NULL), '{{}}') AS versions,
        COALESCE(array_agg(c.confidence) FILTER (WHERE c.id IS NOT NULL), '{{}}') AS confidences
    FROM segments s LEFT JOIN cov c ON c.period @> s.start
    GROUP BY s.start, s.stop
),
labelled AS (
    SELECT *, {_CONFIDENCE.format(factions="factions", confidences="confidences")} AS confidence
    FROM states
),
islands AS (
    SELECT *, sum(changed) OVER (ORDER BY start) AS run FROM (
        SELECT *, CASE WHEN lag(factions) OVER w IS NOT DISTINCT FROM factions
                  THEN 0 ELSE 1 END AS changed
        FROM labelled WINDOW w AS (ORDER BY start)) x
),
stages AS (
    -- within a period, the days its confidence changed
    SELECT *, lag(confidence) OVER (PARTITION BY run ORDER BY start)
              IS DISTINCT FROM confidence AS new_confidence
    FROM islands
),
periods AS (
    -- the factions are the same on every segment of a run; the confidence is the last one's
    SELECT g.*,
        ARRAY(SELECT DISTINCT x FROM islands i, unnest(i.versions) AS x
              WHERE i.run = g.run ORDER BY 1) AS versions,
        (SELECT i.confidence FROM islands i WHERE i.run = g.run
         ORDER BY i.start DESC LIMIT 1) AS confidence,
        (SELECT json_agg(json_build_object('from', st.start, 'confidence', st.confidence)
                         ORDER BY st.start)
         FROM stages st WHERE st.run = g.run AND st.new_confidence) AS confidences
    FROM (SELECT run, factions, min(start) AS start,
              CASE WHEN bool_or(stop IS NULL) THEN NULL ELSE max(stop) END AS stop
          FROM islands GROUP BY run, factions) g
)
SELECT json_build_object(
    'place', (SELECT json_build_object('id', p.id, 'name', p.name, 'name_ar', p.name_ar,
        'kind', p.kind, 'population', p.population,
        'geometry', ST_AsGeoJSON(p.geom, {POINT_DECIMALS})::json) FROM place p),
    'periods', COALESCE((SELECT json_agg(json_build_object(
        'from', pe.start, 'to', pe.stop,
        'status', {_STATUS.format(factions="pe.factions")},
        'holder', CASE WHEN cardinality(pe.factions) = 1 THEN (
            SELECT {FACTION_JSON} FROM territory_faction f WHERE f.id = pe.factions[1]) END,
        'factions', COALESCE((SELECT json_agg({FACTION_JSON} ORDER BY f.slug)
            FROM territory_faction f WHERE f.id = ANY(pe.factions)), '[]'::json),
        'confidence', pe.confidence,
        'confidences', pe.confidences,
        'versions', to_json(pe.versions),
        'sources', COALESCE((
            SELECT json_agg(json_build_object('url', s.url, 'publisher', s.publisher,
                'title', s.title, 'published', s.published) ORDER BY s.id)
            FROM events_source s WHERE s.id IN (
                SELECT vs.source_id FROM territory_zoneversion_sources vs
                WHERE vs.zoneversion_id = ANY(pe.versions))), '[]'::json)
    ) ORDER BY pe.start) FROM periods pe), '[]'::json)
)::text
"""


def place_timeline(place_id: int, *, staff: bool = False) -> dict[str, Any] | None:
    """The periods of control of place `place_id` (None when there is no such place): each with
    `from` (inclusive), `to` (exclusive, null: still so), status, holder, factions, confidence
    (its latest) and confidences ([{from, confidence}] as it changed), the versions covering it
    and their sources. A period with no version covering the place is
    "unknown"; nothing is listed before the first version that covers it."""
    with query_cursor() as cursor:
        cursor.execute("SELECT 1 FROM events_place WHERE id = %s", [place_id])
        if cursor.fetchone() is None:
            return None
        cursor.execute(TIMELINE_SQL, {"place": place_id, "staff": staff})
        return json.loads(cursor.fetchone()[0])


def _holders_sql(day_param: str) -> str:
    """Rows (place_id, factions) of the places covered on %(<day_param>)s, as %(staff)s sees."""
    return f"""
    SELECT c.place_id, array_agg(DISTINCT c.faction_id ORDER BY c.faction_id) AS factions
    FROM territory_placecover c
    WHERE {in_force("c", f"%({day_param})s")} AND {holds("c")}
    GROUP BY c.place_id"""


def _side_json(factions: str) -> str:
    return f"""json_build_object(
        'status', {_STATUS.format(factions=factions)},
        'holder', CASE WHEN cardinality({factions}) = 1 THEN (
            SELECT {FACTION_JSON} FROM territory_faction f WHERE f.id = ({factions})[1]) END,
        'factions', COALESCE((SELECT json_agg({FACTION_JSON} ORDER BY f.slug)
            FROM territory_faction f WHERE f.id = ANY({factions})), '[]'::json))"""


def control_changes(
    start: dt.date, end: dt.date, *, bbox: Bbox | None = None, staff: bool = False
) -> Query:
    """The places whose holders on `end` differ from those on `start` (a faction came or left,
    or the place became unknown or known), as GeoJSON Features with `before` and `after`
    ({status, holder, factions}). Ordered by place id."""
    params: dict[str, Any] = {"a": start, "b": end, "staff": staff}
    where = _place_filter(bbox, params)
    sql = f"""
    WITH a AS ({_holders_sql("a")}), b AS ({_holders_sql("b")}),
    changed AS (
        SELECT p.id, COALESCE(a.factions, '{{}}') AS fa, COALESCE(b.factions, '{{}}') AS fb
        FROM events_place p
        LEFT JOIN a ON a.place_id = p.id
        LEFT JOIN b ON b.place_id = p.id
        WHERE (a.place_id IS NOT NULL OR b.place_id IS NOT NULL) AND {where}
    )
    SELECT json_build_object(
        'type', 'Feature', 'id', p.id,
        'geometry', ST_AsGeoJSON(p.geom, {POINT_DECIMALS})::json,
        'properties', json_build_object(
            'id', p.id, 'name', p.name, 'name_ar', p.name_ar, 'kind', p.kind,
            'population', p.population,
            'before', {_side_json("ch.fa")},
            'after', {_side_json("ch.fb")}
        )
    )::text
    FROM changed ch JOIN events_place p ON p.id = ch.id
    WHERE ch.fa <> ch.fb
    ORDER BY p.population DESC NULLS LAST, p.id
    """
    return Query(sql, params)
