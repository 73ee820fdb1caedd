"""The territory engine in SQL: zones at a date, front lines, gains and losses, area over time.

Every function returns SQL for PostGIS; geometry never passes through Python. Feature queries
return one text column, a GeoJSON Feature (RFC 7946: lon/lat, exterior rings counter-clockwise
via ST_ForcePolygonCCW, coordinates rounded to ZONE_DECIMALS).

Periods: a version is in force on day D when valid_from <= D < valid_to (valid_to NULL = open).
Drafts are left out unless `staff` is true.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection

from conflictmap.api.geojson import Query, query_cursor
from conflictmap.gis import Bbox, bbox_sql

# 6 decimals = 0.11 m at the equator: coordinates are rounded, never simplified.
ZONE_DECIMALS = 6
# Zones of opposing factions closer than this (metres, on the geography type) make a front.
FRONT_TOLERANCE_M = 500.0
# Degrees by which a bounding box is grown before the exact ST_DWithin test; 0.02 degrees of
# longitude is more than 500 m up to latitude 75 (Syria lies at 32-37 N).
FRONT_TOLERANCE_DEG = 0.02

IN_FORCE = """
    v.valid_from <= %(day)s AND (v.valid_to IS NULL OR v.valid_to > %(day)s)
    AND (%(staff)s OR v.status = 'published')
"""

FACTION_JSON = "json_build_object('slug', f.slug, 'name', f.name, 'colour', f.colour)"


def _bbox_filter(alias: str, bbox: Bbox | None, params: dict[str, Any]) -> str:
    return "" if bbox is None else " AND " + bbox_sql(alias, bbox, params)


def _zone_feature(contested_sql: str) -> str:
    # Built by concatenation (to_json() quotes strings): json_build_object() would re-parse
    # the geometry text, which cost more than a third of the zones-at-date time.
    return f"""
    SELECT '{{"type":"Feature","id":' || v.id
        || ',"geometry":' || ST_AsGeoJSON(ST_ForcePolygonCCW(v.geom), {ZONE_DECIMALS})
        || ',"properties":{{"version":' || v.id
        || ',"zone":' || to_json(z.slug)
        || ',"zone_name":' || to_json(z.name)
        || ',"faction":{{"slug":' || to_json(f.slug) || ',"name":' || to_json(f.name)
        || ',"colour":' || to_json(f.colour)
        || '}},"valid_from":"' || v.valid_from
        || '","valid_to":' || COALESCE('"' || v.valid_to || '"', 'null')
        || ',"confidence":' || to_json(v.confidence)
        || ',"status":' || to_json(v.status)
        || ',"contested":' || ({contested_sql})::text
        || ',"note":' || to_json(v.note)
        || ',"sources":' || COALESCE((
            SELECT json_agg(json_build_object(
                'url', s.url, 'publisher', s.publisher, 'title', s.title) ORDER BY s.id)
            FROM territory_zoneversion_sources vs
            JOIN events_source s ON s.id = vs.source_id
            WHERE vs.zoneversion_id = v.id)::text, '[]')
        || '}}}}'
    FROM territory_zoneversion v
    JOIN territory_zone z ON z.id = v.zone_id
    JOIN territory_faction f ON f.id = v.faction_id
    """


# Overlaps smaller than this are slivers left where neighbouring zones were drawn or rounded
# separately along a shared edge, not ground two sides hold: they do not make a zone contested.
CONTESTED_MIN_M2 = 10_000  # one hectare
_REAL_OVERLAP = f"ST_Area(ST_Intersection({{a}}.geom, {{b}}.geom)::geography) > {CONTESTED_MIN_M2}"

# Contested: another faction's zone in force the same day whose interior meets this one's
# (DE-9IM T********: the interiors intersect) over more than CONTESTED_MIN_M2.
CONTESTED = (
    """EXISTS (
    SELECT 1 FROM territory_zoneversion o
    WHERE o.geom && v.geom AND o.faction_id <> v.faction_id
      AND o.valid_from <= %(day)s AND (o.valid_to IS NULL OR o.valid_to > %(day)s)
      AND (%(staff)s OR o.status = 'published')
      AND ST_Relate(o.geom, v.geom, 'T********')
      AND """
    + _REAL_OVERLAP.format(a="o", b="v")
    + ")"
)


def in_force_ids(day: dt.date, *, staff: bool = False) -> list[int]:
    """Ids of the versions in force on `day`, ascending. The map (zones, contested flags, front
    lines) is the same on every day with the same set, whatever the date."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(array_agg(v.id ORDER BY v.id), '{}') FROM territory_zoneversion v"
            " WHERE " + IN_FORCE,
            {"day": day, "staff": staff},
        )
        return cursor.fetchone()[0]


# Pairs of versions of different factions whose periods overlap and whose interiors intersect
# over more than CONTESTED_MIN_M2: on a day when both are in force, both are contested.
OVERLAP_PAIRS_SQL = """
    SELECT a.id, b.id FROM territory_zoneversion a
    JOIN territory_zoneversion b
      ON a.id < b.id AND a.faction_id <> b.faction_id AND a.geom && b.geom
     AND a.valid_from < COALESCE(b.valid_to, 'infinity')
     AND b.valid_from < COALESCE(a.valid_to, 'infinity')
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
        + """ WHERE v.valid_from <= %(end)s AND (v.valid_to IS NULL OR v.valid_to > %(start)s)
              AND (%(staff)s OR v.status = 'published')"""
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


CHANGES_SQL = f"""
WITH a AS (
    SELECT v.faction_id, ST_Union(v.geom) AS g FROM territory_zoneversion v
    WHERE v.valid_from <= %(a)s AND (v.valid_to IS NULL OR v.valid_to > %(a)s)
      AND (%(staff)s OR v.status = 'published')
    GROUP BY v.faction_id
),
b AS (
    SELECT v.faction_id, ST_Union(v.geom) AS g FROM territory_zoneversion v
    WHERE v.valid_from <= %(b)s AND (v.valid_to IS NULL OR v.valid_to > %(b)s)
      AND (%(staff)s OR v.status = 'published')
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


STEP_INTERVAL = {"day": "1 day", "week": "1 week", "month": "1 month"}


def step_days(start: dt.date, end: dt.date, step: str) -> list[dt.date]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d::date FROM generate_series(%(a)s::date, %(b)s::date, %(interval)s::interval)"
            " AS d ORDER BY d",
            {"a": start, "b": end, "interval": STEP_INTERVAL[step]},
        )
        return [r[0] for r in cursor.fetchall()]


# Versions in force on step day s.day, with the index of the step.
_HELD = """
    steps AS (
        SELECT (ordinality - 1)::int AS i, day FROM unnest(%(days)s::date[]) WITH ORDINALITY day
    ),
    held AS MATERIALIZED (
        SELECT s.i, v.id, v.faction_id, v.area_km2
        FROM steps s
        JOIN territory_zoneversion v
          ON v.valid_from <= s.day AND (v.valid_to IS NULL OR v.valid_to > s.day)
         AND (%(staff)s OR v.status = 'published')
    )"""

_SERIES_SELECT = """
    SELECT f.slug, f.name, f.colour, json_object_agg(t.i, round(t.km2::numeric, 3))
    FROM totals t
    JOIN territory_faction f ON f.id = t.faction_id
    GROUP BY f.slug, f.name, f.colour
    ORDER BY f.name
"""


# Step indices a version (or a pair, or a triple) of period [since, until) covers: lo <= i < hi,
# where lo = number of step days before `since` and hi = number before `until` (width_bucket
# counts the thresholds <= its operand: a binary search in the sorted step days).
def _covered(since: str, until: str) -> str:
    return f"""width_bucket({since} - 1, %(days)s::date[]) AS lo,
        CASE WHEN {until} IS NULL OR {until} = 'infinity' THEN %(n)s
             ELSE width_bucket(({until})::date - 1, %(days)s::date[]) END AS hi"""


VISIBLE = "(%(staff)s OR {0}.status = 'published')"

# Inclusion-exclusion goes this deep (versions of one faction stacked on one spot); where more
# are stacked, the stacked versions of that faction and step are unioned instead.
MAX_STACK = 6

AREA_SERIES_SQL = f"""
    WITH RECURSIVE versions AS MATERIALIZED (
        SELECT v.id, v.faction_id, v.area_km2::numeric AS km2,
            {_covered("v.valid_from", "v.valid_to")}
        FROM territory_zoneversion v
        WHERE {VISIBLE.format("v")}
          AND v.valid_from <= %(last)s AND (v.valid_to IS NULL OR v.valid_to > %(first)s)
    ),
    -- Stacks: sets of versions of one faction in force on common steps [lo, hi) whose
    -- interiors all intersect (DE-9IM T********: a common part of non-zero area, `geom`).
    -- Pairs first, then each stack grown by a version of higher id that overlaps its part.
    stacks (faction_id, ids, last, lo, hi, size, geom) AS (
        SELECT a.faction_id, ARRAY[a.id, b.id], b.id,
            GREATEST(a.lo, b.lo), LEAST(a.hi, b.hi), 2,
            ST_CollectionExtract(ST_Intersection(va.geom, vb.geom), 3)
        FROM territory_zoneversion va
        JOIN territory_zoneversion vb
          ON vb.geom && va.geom AND vb.faction_id = va.faction_id AND vb.id > va.id
         -- periods meet (a cheap test PostgreSQL makes before ST_Relate)
         AND va.valid_from < COALESCE(vb.valid_to, 'infinity')
         AND vb.valid_from < COALESCE(va.valid_to, 'infinity')
        JOIN versions a ON a.id = va.id
        JOIN versions b ON b.id = vb.id
        WHERE GREATEST(a.lo, b.lo) < LEAST(a.hi, b.hi)
          AND ST_Relate(va.geom, vb.geom, 'T********')
        UNION ALL
        SELECT s.faction_id, s.ids || c.id, c.id,
            GREATEST(s.lo, c.lo), LEAST(s.hi, c.hi), s.size + 1,
            ST_CollectionExtract(ST_Intersection(s.geom, vc.geom), 3)
        FROM stacks s
        JOIN territory_zoneversion vc
          ON vc.geom && s.geom AND vc.faction_id = s.faction_id AND vc.id > s.last
        JOIN versions c ON c.id = vc.id
        WHERE s.size < {MAX_STACK} AND GREATEST(s.lo, c.lo) < LEAST(s.hi, c.hi)
          AND ST_Relate(s.geom, vc.geom, 'T********')
    ),
    -- area(a ∪ b ∪ ...) = Σ area(a) - Σ area(a ∩ b) + Σ area(a ∩ b ∩ c) - ...; every other
    -- term is zero (no common part of non-zero area).
    terms AS MATERIALIZED (
        SELECT faction_id, ids, lo, hi, size,
            (CASE WHEN size %% 2 = 0 THEN -1 ELSE 1 END)
                * ST_Area(geom::geography)::numeric / 1e6 AS km2
        FROM stacks
    ),
    -- What changes at each step: areas and counts of versions, terms of stacks.
    deltas AS (
        SELECT faction_id, i, sum(km2) AS km2, sum(n) AS n, sum(stacked) AS stacked FROM (
            SELECT faction_id, lo AS i, km2, 1 AS n, 0 AS stacked FROM versions WHERE lo < hi
            UNION ALL
            SELECT faction_id, hi, -km2, -1, 0 FROM versions WHERE lo < hi AND hi < %(n)s
            UNION ALL
            SELECT faction_id, lo, 0, 0, km2 FROM terms
            UNION ALL
            SELECT faction_id, hi, 0, 0, -km2 FROM terms WHERE hi < %(n)s
        ) d
        GROUP BY faction_id, i
    ),
    -- Running sums over the steps (numeric: exact, whatever the order).
    running AS (
        SELECT g.faction_id, g.i,
            sum(d.km2) OVER w AS km2, sum(d.n) OVER w AS n, sum(d.stacked) OVER w AS stacked
        FROM (SELECT DISTINCT faction_id FROM deltas) f
        CROSS JOIN LATERAL (
            SELECT f.faction_id, i FROM generate_series(0, %(n)s - 1) AS i
        ) g
        LEFT JOIN deltas d ON d.faction_id = g.faction_id AND d.i = g.i
        WINDOW w AS (PARTITION BY g.faction_id ORDER BY g.i)
    ),
    -- Stacks as deep as MAX_STACK might go deeper: there the versions in overlapping pairs
    -- that step are unioned, and their areas taken out of the sum.
    tangled AS (
        SELECT DISTINCT t.faction_id, i
        FROM terms t, generate_series(t.lo, t.hi - 1) AS i
        WHERE t.size = {MAX_STACK}
    ),
    involved AS (
        SELECT t.faction_id, t.i, array_agg(x.id ORDER BY x.id) AS ids, sum(v.km2) AS km2
        FROM tangled t
        CROSS JOIN LATERAL (
            SELECT DISTINCT x.id
            FROM terms p, unnest(p.ids) AS x (id)
            WHERE p.size = 2 AND p.faction_id = t.faction_id AND p.lo <= t.i AND t.i < p.hi
        ) x
        JOIN versions v ON v.id = x.id
        GROUP BY t.faction_id, t.i
    ),
    unions AS (
        SELECT faction_id, ids,
            (SELECT ST_Area(ST_Union(z.geom)::geography) FROM territory_zoneversion z
             WHERE z.id = ANY(u.ids))::numeric / 1e6 AS km2
        FROM (SELECT DISTINCT faction_id, ids FROM involved) u
    ),
    totals AS (
        SELECT r.i, r.faction_id,
            CASE WHEN inv.ids IS NULL THEN r.km2 + r.stacked ELSE r.km2 - inv.km2 + u.km2 END
                AS km2
        FROM running r
        LEFT JOIN involved inv ON inv.faction_id = r.faction_id AND inv.i = r.i
        LEFT JOIN unions u ON u.faction_id = inv.faction_id AND u.ids = inv.ids
        WHERE r.n > 0
    )
    {_SERIES_SELECT}
"""

# The reference: one union per faction and distinct set of versions in force.
AREA_SERIES_UNION_SQL = f"""
    WITH {_HELD},
    sets AS (
        SELECT i, faction_id, array_agg(id ORDER BY id) AS ids FROM held GROUP BY i, faction_id
    ),
    unions AS (
        SELECT faction_id, ids,
            (SELECT ST_Area(ST_Union(z.geom)::geography) FROM territory_zoneversion z
             WHERE z.id = ANY(u.ids)) / 1e6 AS km2
        FROM (SELECT DISTINCT faction_id, ids FROM sets) u
    ),
    totals AS (
        SELECT s.i, s.faction_id, u.km2 FROM sets s JOIN unions u USING (faction_id, ids)
    )
    {_SERIES_SELECT}
"""


def area_series(
    start: dt.date, end: dt.date, step: str, *, staff: bool = False, union_all: bool = False
) -> dict[str, Any]:
    """km² held by each faction on each step day (start, start + step, ... <= end).

    The area of a faction on a day is the geography area of the union of its zones in force
    that day, so its own overlapping zones are not counted twice. It is worked out without
    unions, by inclusion-exclusion: the stored areas of its versions (ZoneVersion.area_km2,
    computed by PostgreSQL), minus the areas of the overlaps of two of them, plus those of
    three, ... (only the few sets of versions with a common part of non-zero area count, and
    PostGIS finds them once for the whole period); each term enters a running sum over the
    steps when its versions come into force and leaves it when one of them ends. Where more
    than MAX_STACK versions of a faction pile up on one spot, that faction's overlapping
    versions on that step are unioned instead.

    This agrees with the union to ~1e-7 relative: PostGIS measures edges as geodesics, but a
    union puts crossing points on the plane's straight lines; on edges tens of km long the
    union loses or gains a sliver, and the sum of stored areas is the closer of the two to the
    exact geodesic union (tests/api/test_area_fast.py).

    `union_all`: the former computation, a union of every faction's versions on each step
    (one per distinct set): the reference of the tests, far slower on long periods.
    """
    days = step_days(start, end, step)
    sql = AREA_SERIES_UNION_SQL if union_all else AREA_SERIES_SQL
    if not days:
        return {"steps": [], "series": []}
    params = {"days": days, "staff": staff, "n": len(days), "first": days[0], "last": days[-1]}
    return {"steps": [d.isoformat() for d in days], "series": _series(sql, params, len(days))}


def _series(sql: str, params: dict[str, Any], n: int) -> list[dict[str, Any]]:
    import json

    with query_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    series = []
    for slug, name, colour, by_step in rows:
        values = json.loads(by_step) if isinstance(by_step, str) else by_step
        km2 = [0.0] * n
        for i, value in values.items():
            km2[int(i)] = float(value)
        series.append({"faction": {"slug": slug, "name": name, "colour": colour}, "km2": km2})
    return series
