"""The territory engine in SQL: zones at a date, front lines, gains and losses (the area over
time is in conflictmap.territory.series).

Every function returns SQL for PostGIS; geometry never passes through Python. Feature queries
return one text column, a GeoJSON Feature (RFC 7946: lon/lat, exterior rings counter-clockwise
via ST_ForcePolygonCCW, coordinates rounded to ZONE_DECIMALS).

Periods: a version is in force on day D when valid_from <= D < valid_to (valid_to NULL = open);
unpublished (draft, retracted) versions are left out unless `staff` is true, i.e. the user may view
them (territory.models.sees_drafts; the SQL of both rules: in_force, visible).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from conflictmap.geojson import Query, query_cursor, render_features
from conflictmap.gis import Bbox, bbox_sql
from conflictmap.replica import reading
from conflictmap.territory.models import in_force, in_force_during, visible

# 6 decimals = 0.11 m at the equator: coordinates are rounded, never simplified.
ZONE_DECIMALS = 6
# Zones of opposing factions closer than this (metres, on the geography type) make a front.
FRONT_TOLERANCE_M = 500.0
# Degrees by which a bounding box is grown before the exact ST_DWithin test; 0.02 degrees of
# longitude is more than 500 m up to latitude 75 (Syria lies at 32-37 N).
FRONT_TOLERANCE_DEG = 0.02

IN_FORCE = f"{in_force('v', '%(day)s')} AND {visible('v')}"

FACTION_JSON = "json_build_object('slug', f.slug, 'name', f.name, 'colour', f.colour)"


def _bbox_filter(alias: str, bbox: Bbox | None, params: dict[str, Any]) -> str:
    return "" if bbox is None else " AND " + bbox_sql(alias, bbox, params)


# A zone feature is built by concatenation (to_json() quotes strings): json_build_object() would
# re-parse the geometry text, which cost more than a third of the zones-at-date time. It is
# written as a head and a tail around the value of "contested", the one property that depends
# on the day (the map state caches each version's two parts: conflictmap.api.state).
_ZONE_HEAD = """'{{"type":"Feature","id":' || v.id
    || ',"geometry":' || {geometry}
    || ',"properties":{{"version":' || v.id
    || ',"zone":' || to_json(z.slug)
    || ',"zone_name":' || to_json(z.name)
    || ',"faction":{{"slug":' || to_json(f.slug) || ',"name":' || to_json(f.name)
    || ',"colour":' || to_json(f.colour)
    || '}},"valid_from":"' || v.valid_from
    || '","valid_to":' || COALESCE('"' || v.valid_to || '"', 'null')
    || ',"confidence":' || to_json(v.confidence)
    || ',"status":' || to_json(v.status)
    || ',"contested":'"""
_ZONE_TAIL = """',"note":' || to_json(v.note)
    || ',"sources":' || COALESCE((
        SELECT json_agg(json_build_object(
            'url', s.url, 'publisher', s.publisher, 'title', s.title) ORDER BY s.id)
        FROM territory_zoneversion_sources vs
        JOIN events_source s ON s.id = vs.source_id
        WHERE vs.zoneversion_id = v.id)::text, '[]')
    || '}}'"""
_ZONE_FROM = """
    FROM territory_zoneversion v
    JOIN territory_zone z ON z.id = v.zone_id
    JOIN territory_faction f ON f.id = v.faction_id
"""


# Zones for a map at a zoom level: every vertex snapped to one grid, a power of ten of degrees
# chosen per zoom (so coordinates print short), which moves a vertex by at most 0.4 pixel at
# Syria's latitudes. Snapping is the one generalisation that keeps a coverage a coverage: a vertex
# two neighbours share lands on the same grid point in both, so their shared edge stays shared and
# no gap opens between them, while each zone is left with at most one vertex per grid cell.
# (ST_SimplifyPreserveTopology simplifies each polygon on its own and opens gaps along shared
# edges; ST_CoverageSimplify needs PostGIS 3.4, these machines have 3.3.) A zone smaller than a
# grid cell, which snapping would erase, keeps its full geometry.
ZOOM_DECIMALS = ((6, 2), (9, 3), (12, 4), (15, 5))  # (up to zoom, decimals of its grid)
MAX_ZOOM = 22


def zoom_decimals(zoom: int | None) -> int:
    """The decimals of the grid that zones are snapped to at `zoom` (None: full detail)."""
    if zoom is not None:
        for top, decimals in ZOOM_DECIMALS:
            if zoom <= top:
                return decimals
    return ZONE_DECIMALS


def zoom_range(zoom: int) -> tuple[int, int]:
    """The zooms that share `zoom`'s grid (a client keeps one answer for all of them)."""
    low = 0
    for top, _decimals in ZOOM_DECIMALS:
        if zoom <= top:
            return low, top
        low = top + 1
    return low, MAX_ZOOM


def _zone_geometry(decimals: int) -> str:
    if decimals >= ZONE_DECIMALS:
        return f"ST_AsGeoJSON(ST_ForcePolygonCCW(v.geom), {ZONE_DECIMALS})"
    return (
        "ST_AsGeoJSON(ST_ForcePolygonCCW((SELECT CASE WHEN ST_IsEmpty(g) THEN v.geom ELSE g END"
        f" FROM ST_SnapToGrid(v.geom, 1e-{decimals}) AS g)), {decimals})"
    )


def _zone_feature(contested_sql: str) -> str:
    head = _ZONE_HEAD.format(geometry=_zone_geometry(ZONE_DECIMALS))
    return f"SELECT {head} || ({contested_sql})::text || {_ZONE_TAIL}" + _ZONE_FROM


def zone_feature_parts(ids: list[int], decimals: int = ZONE_DECIMALS) -> Query:
    """Rows (version id, head, tail) of these versions: the feature of a version is
    head + "true" or "false" (contested that day) + tail; geometry on the grid of `decimals`
    (zoom_decimals)."""
    head = _ZONE_HEAD.format(geometry=_zone_geometry(decimals))
    sql = f"SELECT v.id, {head}, {_ZONE_TAIL}" + _ZONE_FROM + " WHERE v.id = ANY(%(ids)s)"
    return Query(sql, {"ids": ids})


# Overlaps smaller than this are slivers left where neighbouring zones were drawn or rounded
# separately along a shared edge, not ground two sides hold: they do not make a zone contested.
CONTESTED_MIN_M2 = 10_000  # one hectare
_REAL_OVERLAP = f"ST_Area(ST_Intersection({{a}}.geom, {{b}}.geom)::geography) > {CONTESTED_MIN_M2}"

# Contested: another faction's zone in force the same day whose interior meets this one's
# (DE-9IM T********: the interiors intersect) over more than CONTESTED_MIN_M2.
CONTESTED = (
    f"""EXISTS (
    SELECT 1 FROM territory_zoneversion o
    WHERE o.geom && v.geom AND o.faction_id <> v.faction_id
      AND {in_force("o", "%(day)s")} AND {visible("o")}
      AND ST_Relate(o.geom, v.geom, 'T********')
      AND """
    + _REAL_OVERLAP.format(a="o", b="v")
    + ")"
)


def in_force_ids_sql(bbox: Bbox | None, params: dict[str, Any]) -> str:
    """SQL of one row (ids, shown): the ids of the versions in force on %(day)s that the user may
    see (%(staff)s), ascending, and those of them whose box meets `bbox` (all when None). The
    map (zones, contested flags, front lines) is the same on every day with the same ids,
    whatever the date."""
    shown = "" if bbox is None else " FILTER (WHERE " + bbox_sql("v", bbox, params) + ")"
    return (
        "SELECT COALESCE(array_agg(v.id ORDER BY v.id), '{}') AS ids,"
        f" COALESCE(array_agg(v.id ORDER BY v.id){shown}, '{{}}') AS shown"
        f" FROM territory_zoneversion v WHERE {IN_FORCE}"
    )


def state_period_sql() -> str:
    """SQL of one row (state_from, state_to): the days around %(day)s over which the versions in
    force that the user may see (%(staff)s) stay the same, as a period [state_from, state_to):
    state_from is the last day on or before %(day)s on which a version starts or ends (NULL: none
    ever did), state_to the first after it (NULL: none will). Four index look-ups
    (zoneversion_valid_from, zoneversion_valid_to)."""
    v = visible("v")
    table = "territory_zoneversion v"
    return (
        f"SELECT GREATEST((SELECT max(v.valid_from) FROM {table}"
        f" WHERE v.valid_from <= %(day)s AND {v}),"
        f" (SELECT max(v.valid_to) FROM {table} WHERE v.valid_to <= %(day)s AND {v}))"
        " AS state_from,"
        f" LEAST((SELECT min(v.valid_from) FROM {table} WHERE v.valid_from > %(day)s AND {v}),"
        f" (SELECT min(v.valid_to) FROM {table} WHERE v.valid_to > %(day)s AND {v}))"
        " AS state_to"
    )


# Pairs of versions of different factions whose periods overlap and whose interiors intersect
# over more than CONTESTED_MIN_M2: on a day when both are in force, both are contested.
OVERLAP_PAIRS_SQL = """
    SELECT a.id, b.id FROM territory_zoneversion a
    JOIN territory_zoneversion b
      ON a.id < b.id AND a.faction_id <> b.faction_id AND a.geom && b.geom
     AND a.period && b.period
    WHERE ST_Relate(a.geom, b.geom, 'T********')
      AND """ + _REAL_OVERLAP.format(a="a", b="b")


def overlapping_versions() -> dict[int, list[int]]:
    """For each version, the versions of other factions it overlaps (see OVERLAP_PAIRS_SQL)."""
    partners: dict[int, list[int]] = {}
    with query_cursor() as cursor:
        cursor.execute(OVERLAP_PAIRS_SQL)
        for a, b in cursor.fetchall():
            partners.setdefault(a, []).append(b)
            partners.setdefault(b, []).append(a)
    return partners


def contested_among(ids: list[int], partners: dict[int, list[int]]) -> list[int]:
    """The versions of `ids` (one day's map) that overlap another version of that day."""
    present = set(ids)
    return [v for v in ids if any(o in present for o in partners.get(v, ()))]


def zones_at(
    day: dt.date,
    *,
    bbox: Bbox | None = None,
    staff: bool = False,
    contested: list[int] | None = None,
) -> Query:
    """Zone versions in force on `day` (valid_from inclusive, valid_to exclusive).

    `contested`: the ids known to be contested that day (from `contested_among`); when None,
    PostGIS works it out per zone (CONTESTED). Both give the same answer."""
    params: dict[str, Any] = {"day": day, "staff": staff}
    if contested is None:
        flag = CONTESTED
    else:
        flag = "v.id = ANY(%(contested)s)"
        params["contested"] = contested
    sql = _zone_feature(flag) + " WHERE " + IN_FORCE + _bbox_filter("v", bbox, params)
    return Query(sql + " ORDER BY v.id", params)


def zones_between(
    start: dt.date, end: dt.date, *, bbox: Bbox | None = None, staff: bool = False
) -> Query:
    """Versions in force on any day of [start, end], both inclusive; contested is false."""
    params: dict[str, Any] = {"start": start, "end": end, "staff": staff}
    sql = (
        _zone_feature("false")
        + f" WHERE {in_force_during('v', '%(start)s', '%(end)s')} AND {visible('v')}"
        + _bbox_filter("v", bbox, params)
    )
    return Query(sql + " ORDER BY v.id", params)


def frontlines_at(day: dt.date, *, bbox: Bbox | None = None, staff: bool = False) -> Query:
    """Front lines on `day`: one MultiLineString per pair of non-allied factions.

    Two zones of different factions make a front when they are within FRONT_TOLERANCE_M of each
    other (ST_DWithin on geography). Allies make none: the same faction, or one backing the other
    (backed_by, either direction). The line is
    - for zones that touch or overlap: their exact contact, boundary(a) ∩ b ∪ boundary(b) ∩ a
      (the shared edge; for an overlap, the outline of the contested ground);
    - for zones apart but within the tolerance: the stretch of the lower-id zone's boundary that
      lies within FRONT_TOLERANCE_M of the other (geography buffer).
    length_km is measured on the geography type.
    """
    params: dict[str, Any] = {
        "day": day,
        "staff": staff,
        "tol": FRONT_TOLERANCE_M,
        "deg": FRONT_TOLERANCE_DEG,
    }
    bbox_where = _bbox_filter("fr", bbox, params)
    sql = f"""
    WITH inforce AS MATERIALIZED (
        SELECT v.id, v.faction_id, v.geom FROM territory_zoneversion v
        WHERE {IN_FORCE}
    ),
    allied AS (
        SELECT from_faction_id AS a, to_faction_id AS b FROM territory_faction_backed_by
        UNION SELECT to_faction_id, from_faction_id FROM territory_faction_backed_by
    ),
    candidates AS MATERIALIZED (
        SELECT a.faction_id AS fa, b.faction_id AS fb, a.geom AS ga, b.geom AS gb,
               ST_Intersects(a.geom, b.geom) AS touching
        FROM inforce a
        JOIN inforce b ON a.id < b.id AND a.faction_id <> b.faction_id
             AND a.geom && ST_Expand(b.geom, %(deg)s)
        WHERE NOT EXISTS (SELECT 1 FROM allied WHERE allied.a = a.faction_id
                                                  AND allied.b = b.faction_id)
    ),
    -- The geography distance (costly) only for pairs that do not touch.
    pairs AS (
        SELECT * FROM candidates
        WHERE touching OR ST_DWithin(ga::geography, gb::geography, %(tol)s)
    ),
    lines AS MATERIALIZED (
        SELECT LEAST(fa, fb) AS f1, GREATEST(fa, fb) AS f2,
            ST_CollectionExtract(CASE WHEN touching THEN
                ST_Union(ST_Intersection(ST_Boundary(ga), gb), ST_Intersection(ST_Boundary(gb), ga))
            ELSE
                ST_Intersection(ST_Boundary(ga), ST_Buffer(gb::geography, %(tol)s)::geometry)
            END, 2) AS geom
        FROM pairs
    ),
    fronts AS (
        SELECT f1, f2, ST_Multi(ST_LineMerge(ST_Union(geom))) AS geom
        FROM lines WHERE NOT ST_IsEmpty(geom)
        GROUP BY f1, f2
    )
    SELECT json_build_object(
        'type', 'Feature',
        'geometry', ST_AsGeoJSON(fr.geom, {ZONE_DECIMALS})::json,
        'properties', json_build_object(
            'factions', json_build_array(
                json_build_object('slug', a.slug, 'name', a.name, 'colour', a.colour),
                json_build_object('slug', b.slug, 'name', b.name, 'colour', b.colour)),
            'length_km', round((ST_Length(fr.geom::geography) / 1000)::numeric, 3)
        )
    )::text
    FROM fronts fr
    JOIN territory_faction a ON a.id = fr.f1
    JOIN territory_faction b ON b.id = fr.f2
    WHERE NOT ST_IsEmpty(fr.geom) {bbox_where}
    ORDER BY a.slug, b.slug
    """
    return Query(sql, params)


# The unions take their versions by id: the same data gives the same bytes, whichever plan
# (index or sequential scan) reads the rows.
CHANGES_SQL = f"""
WITH a AS (
    SELECT v.faction_id, ST_Union(v.geom ORDER BY v.id) AS g FROM territory_zoneversion v
    WHERE {in_force("v", "%(a)s")} AND {visible("v")}
    GROUP BY v.faction_id
),
b AS (
    SELECT v.faction_id, ST_Union(v.geom ORDER BY v.id) AS g FROM territory_zoneversion v
    WHERE {in_force("v", "%(b)s")} AND {visible("v")}
    GROUP BY v.faction_id
),
both_days AS (
    SELECT faction_id, a.g AS ga, b.g AS gb FROM a FULL JOIN b USING (faction_id)
),
diffs AS (
    SELECT faction_id, 'gained' AS kind,
        CASE WHEN gb IS NULL THEN NULL WHEN ga IS NULL THEN gb ELSE ST_Difference(gb, ga) END AS g
    FROM both_days
    UNION ALL
    SELECT faction_id, 'lost',
        CASE WHEN ga IS NULL THEN NULL WHEN gb IS NULL THEN ga ELSE ST_Difference(ga, gb) END
    FROM both_days
),
polys AS (
    SELECT faction_id, kind, ST_Multi(ST_CollectionExtract(g, 3)) AS g FROM diffs
),
measured AS (
    SELECT faction_id, kind, g,
        COALESCE(ST_Area(g::geography), 0) / 1e6 AS km2 FROM polys
)
SELECT f.slug, f.name, f.colour, m.kind, m.km2,
    CASE WHEN m.km2 > 0 THEN json_build_object(
        'type', 'Feature',
        'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(m.g), {ZONE_DECIMALS})::json,
        'properties', json_build_object(
            'faction', {FACTION_JSON},
            'kind', m.kind,
            'area_km2', round(m.km2::numeric, 3)
        ))::text END
FROM measured m JOIN territory_faction f ON f.id = m.faction_id
ORDER BY f.slug, m.kind
"""


def changes_between(
    start: dt.date, end: dt.date, *, staff: bool = False
) -> tuple[list[str], list[dict[str, Any]]]:
    """Ground each faction gained and lost from `start` to `end`.

    gained = union of its zones on `end` minus union on `start`; lost = the reverse. Areas are
    km² on the geography type (spheroid). Returns (features, summary) where summary is sorted by
    |net| descending and lists every faction holding ground on either day.
    """
    with query_cursor() as cursor:
        cursor.execute(CHANGES_SQL, {"a": start, "b": end, "staff": staff})
        rows = cursor.fetchall()
    features = [r[5] for r in rows if r[5] is not None]
    summary: dict[str, dict[str, Any]] = {}
    for slug, name, colour, kind, km2, _feature in rows:
        entry = summary.setdefault(
            slug,
            {
                "faction": {"slug": slug, "name": name, "colour": colour},
                "gained_km2": 0.0,
                "lost_km2": 0.0,
            },
        )
        entry[f"{kind}_km2"] = round(km2, 3)
    for entry in summary.values():
        entry["net_km2"] = round(entry["gained_km2"] - entry["lost_km2"], 3)
    ordered = sorted(summary.values(), key=lambda e: (-abs(e["net_km2"]), e["faction"]["slug"]))
    return features, ordered


def changes_collection(start: dt.date, end: dt.date, *, staff: bool = False) -> bytes:
    """`changes_between` as a FeatureCollection, its period and summary as foreign members (the
    bytes of /changes and of export_geojson changes)."""
    features, summary = changes_between(start, end, staff=staff)
    head = {"from": start.isoformat(), "to": end.isoformat(), "summary": summary}
    return render_features(features, head=head)


# --- reference data ------------------------------------------------------------------------------

FACTIONS_SQL = """
    SELECT COALESCE(json_agg(json_build_object(
        'slug', f.slug, 'name', f.name, 'name_ar', f.name_ar,
        'short_name', f.short_name, 'colour', f.colour, 'kind', f.kind,
        'aliases', to_json(f.aliases),
        'backed_by', COALESCE((
            SELECT json_agg(b.slug ORDER BY b.slug)
            FROM territory_faction_backed_by bb
            JOIN territory_faction b ON b.id = bb.to_faction_id
            WHERE bb.from_faction_id = f.id), '[]'::json)
    ) ORDER BY f.name), '[]'::json)::text
    FROM territory_faction f
"""


def factions_json() -> bytes:
    """Every faction, by name, with the slugs of its backers: a JSON array."""
    with reading().cursor() as cursor:
        cursor.execute(FACTIONS_SQL)
        return cursor.fetchone()[0].encode()


def regions(level: str | None = None) -> Query:
    """Regions of `level` (all when None) as GeoJSON Features, by level and name."""
    return Query(
        f"""
        SELECT json_build_object(
            'type', 'Feature', 'id', r.id,
            'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(r.geom), {ZONE_DECIMALS})::json,
            'properties', json_build_object('slug', r.slug, 'name', r.name,
                'name_ar', r.name_ar, 'level', r.level, 'approximate', r.approximate,
                'source', r.source)
        )::text
        FROM territory_region r
        WHERE %(level)s::text IS NULL OR r.level = %(level)s
        ORDER BY r.level, r.name
        """,
        {"level": level},
    )
