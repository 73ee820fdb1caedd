"""Series over steps of days, in SQL: the area each faction holds on each step.

A version is in force on day D when valid_from <= D < valid_to (valid_to NULL = open); drafts and
retracted versions are left out unless `staff` (sees_drafts) is true (territory.models.in_force,
visible).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from conflictmap.geojson import query_cursor
from conflictmap.replica import reading
from conflictmap.territory.models import in_force, in_force_during, visible

STEP_INTERVAL = {"day": "1 day", "week": "1 week", "month": "1 month"}


def step_days(start: dt.date, end: dt.date, step: str) -> list[dt.date]:
    with reading().cursor() as cursor:
        cursor.execute(
            "SELECT d::date FROM generate_series(%(a)s::date, %(b)s::date, %(interval)s::interval)"
            " AS d ORDER BY d",
            {"a": start, "b": end, "interval": STEP_INTERVAL[step]},
        )
        return [r[0] for r in cursor.fetchall()]


# Versions in force on step day s.day, with the index of the step.
_HELD = f"""
    steps AS (
        SELECT (ordinality - 1)::int AS i, day FROM unnest(%(days)s::date[]) WITH ORDINALITY day
    ),
    held AS MATERIALIZED (
        SELECT s.i, v.id, v.faction_id, v.area_km2
        FROM steps s
        JOIN territory_zoneversion v
          ON {in_force("v", "s.day")} AND {visible("v")}
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


# Inclusion-exclusion goes this deep (versions of one faction stacked on one spot); where more
# are stacked, the stacked versions of that faction and step are unioned instead.
MAX_STACK = 6

AREA_SERIES_SQL = f"""
    WITH RECURSIVE versions AS MATERIALIZED (
        SELECT v.id, v.faction_id, v.area_km2::numeric AS km2,
            {_covered("v.valid_from", "v.valid_to")}
        FROM territory_zoneversion v
        WHERE {visible("v")} AND {in_force_during("v", "%(first)s", "%(last)s")}
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
        JOIN versions a ON a.id = va.id
        JOIN versions b ON b.id = vb.id
        WHERE GREATEST(a.lo, b.lo) < LEAST(a.hi, b.hi)
          -- Periods meet, then interiors (costly). In a CASE: the planner has no estimate of
          -- && between two columns, took it for rare and joined `versions` by nested loops
          -- (3x slower).
          AND CASE WHEN va.period && vb.period
                   THEN ST_Relate(va.geom, vb.geom, 'T********') END
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
