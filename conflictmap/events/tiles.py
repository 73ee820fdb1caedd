"""Event vector tiles (Mapbox Vector Tiles, one layer "events"; contract: docs/api.md).

Three ways to build one, from the cheapest that gives the same answer:
- pyramid: an aggregated tile over all events (no time window, or one that holds every event's
  date) at a zoom below DETAIL_ZOOM reads the cells of events_tilecell, which the database keeps
  as events change (migration events/0004_event_tile_cells): at most 66 x 66 cells per type and
  status, whatever the number of events;
- aggregated from the events in a time window (zoom below DETAIL_ZOOM), or over all events at
  DETAIL_ZOOM and above, where a tile holds few of them;
- detail: one point per event (DETAIL_ZOOM and above, with a time window).
Both aggregated ways give the same cells, counts and points (tests/api/test_tile_cells.py).
"""

from __future__ import annotations

from conflictmap.events.queries import EventFilter
from conflictmap.geojson import query_cursor
from conflictmap.gis import WEB_MERCATOR_HALF_WIDTH_M
from conflictmap.replica import reading
from conflictmap.territory.models import visible

# At zoom < DETAIL_ZOOM, or with no time window, a tile aggregates events into grid cells (count
# and summed known fatalities per cell). The cells are those of the pyramid (events_tilecell):
# PYRAMID_CELLS a tile width at their own zoom, fixed by the migration's SQL. A tile of zoom z
# takes the cells of zoom z - 1, 32 across it (8 px at 256 px a tile): circles sized by count
# (radius 4 px and up) on 4-px cells only piled up, and a view of Syria at zoom 7 held ~20,000 of
# them, which took Chromium ~0.6 s to draw; a quarter as many draw in a quarter of the time.
DETAIL_ZOOM = 9
PYRAMID_CELLS = 64
TILE_EXTENT = 4096
TILE_BUFFER = 128
# Zooms kept in events_tilecell (0 .. DETAIL_ZOOM - 1): fixed by the migration's SQL.
PYRAMID_MAX_ZOOM = DETAIL_ZOOM - 1


def cell_zoom(z: int) -> int:
    """The zoom of the cells a tile of zoom z aggregates into (z - 1; zoom 0 has its own)."""
    return max(z - 1, 0)


def cells_across(z: int) -> int:
    """How many cells of cell_zoom(z) a tile of zoom z is wide (32; 64 at zoom 0)."""
    return PYRAMID_CELLS * 2 ** cell_zoom(z) // 2**z


def buffer_cells(z: int) -> int:
    """The tile's buffer in cells. A whole number of them, so that a tile's cells with its
    buffer are exactly the events in its buffered envelope, and the pyramid can serve them."""
    cells, rest = divmod(TILE_BUFFER * cells_across(z), TILE_EXTENT)
    assert rest == 0 and cells >= 1, "TILE_BUFFER must be a whole number of cells"
    return cells


# The tile, grown by its buffer and cut to the world (a buffer past the antimeridian would wrap
# to the other side and turn the box inside out), in lon/lat. Inlined, not a CTE: the planner
# then sees a constant box and weighs the GiST index on geom against the one on date (through a
# CTE it guessed 100 rows under any box and scanned half a million index entries for a 30-day
# tile at zoom 6).
_WORLD = (
    f"ST_MakeEnvelope(-{WEB_MERCATOR_HALF_WIDTH_M}, -{WEB_MERCATOR_HALF_WIDTH_M},"
    f" {WEB_MERCATOR_HALF_WIDTH_M}, {WEB_MERCATOR_HALF_WIDTH_M})"
)
_ENVELOPE_LL = f"""ST_Transform(ST_ClipByBox2D(ST_Expand(ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
    ({WEB_MERCATOR_HALF_WIDTH_M} * 2 / 2 ^ %(z)s) * %(buffer)s / %(extent)s), {_WORLD}), 4326)"""
_ENVELOPE = "ST_TileEnvelope(%(z)s, %(x)s, %(y)s)"
_MVT = "ST_AsMVT(agg, 'events', %(extent)s, 'geom') FROM agg WHERE geom IS NOT NULL"

FLUSH_CELLS = "SELECT events_tilecell_flush()"


def tile(z: int, x: int, y: int, flt: EventFilter) -> bytes:
    """A Mapbox vector tile with one layer, "events".

    Detail (z >= DETAIL_ZOOM and a start or end given): one point per event with id, date,
    type, sub_type, fatalities, status, count=1. Aggregated otherwise: one point per grid cell
    (mean position of its events) with count and fatalities (sum of known values),
    cluster=true, and for a user who sees drafts (flt.staff) `unpublished`, how many of the
    count are drafts or retracted; ordered by cell.
    """
    params = {"z": z, "x": x, "y": y, "extent": TILE_EXTENT, "buffer": TILE_BUFFER}
    windowed = flt.start is not None or flt.end is not None
    pyramid = False
    if z >= DETAIL_ZOOM and windowed:
        sql, more = _detail_sql(flt)
    elif cell_zoom(z) <= PYRAMID_MAX_ZOOM and (not windowed or _holds_every_date(flt)):
        sql, more = _pyramid_sql(x, y, z, flt)
        pyramid = True
    else:
        sql, more = _aggregated_sql(z, flt)
    params.update(more)
    outer = reading().in_atomic_block  # (never on a replica: reads there are not in one)
    with query_cursor() as cursor:
        if pyramid and outer:
            # Inside a caller's transaction: its own changes to events are not applied yet.
            cursor.execute(FLUSH_CELLS)
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def _holds_every_date(flt: EventFilter) -> bool:
    """True when the window [start, end] holds the date of every event the user may see
    (published ones, or any for flt.staff), so that it selects what no window selects. Two
    index look-ups. (Of any status, a draft dated after the last published day, say, sent a
    visitor's all-years tiles to the events: 0.4-1.1 s a tile at zoom 6-8 instead of 15-45 ms.)"""
    with reading().cursor() as cursor:
        cursor.execute(
            f"SELECT min(date), max(date) FROM events_event e WHERE {visible('e')}",
            {"staff": flt.staff},
        )
        first, last = cursor.fetchone()
    if first is None:
        return True
    return (flt.start is None or flt.start <= first) and (flt.end is None or flt.end >= last)


def _detail_sql(flt: EventFilter) -> tuple[str, dict]:
    where, params = flt.where()
    sql = f"""
    WITH agg AS (
        SELECT ST_AsMVTGeom(ST_Transform(e.geom, 3857), {_ENVELOPE}, %(extent)s, %(buffer)s,
                            true) AS geom,
               e.id, e.date::text AS date, e.event_type AS type,
               NULLIF(e.sub_event_type, '') AS sub_type, e.fatalities, e.status, 1 AS count
        FROM events_event e
        WHERE e.geom && {_ENVELOPE_LL} AND {where}
    )
    SELECT {_MVT}
    """
    return sql, params


# A cell's events that are drafts or retracted, for users who see them (`n` of each status is
# the cell's `events` column in the pyramid, 1 per event when aggregating events).
_UNPUBLISHED = "sum({n}) FILTER (WHERE {alias}.status <> 'published')"


def _cells_to_mvt(cells: str, staff: bool) -> str:
    """SQL of an aggregated tile from `cells`: rows (cx, cy, n, fatalities, mx, my, unpublished),
    one per non-empty cell, mx and my the mean Web Mercator position of its events; unpublished
    (their drafts and retracted ones) becomes an attribute for users who see drafts (`staff`)."""
    unpublished = ", COALESCE(unpublished, 0)::int AS unpublished" if staff else ""
    return f"""
    WITH cells AS ({cells}),
    agg AS (
        SELECT ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(mx, my), 3857), {_ENVELOPE}, %(extent)s,
                            %(buffer)s, true) AS geom,
               n::int AS count, fatalities::int AS fatalities, true AS cluster{unpublished}
        FROM cells ORDER BY cx, cy
    )
    SELECT {_MVT}
    """


def _aggregated_sql(z: int, flt: EventFilter) -> tuple[str, dict]:
    where, params = flt.where()
    params["cell_zoom"] = cell_zoom(z)
    # (OFFSET 0 keeps the projection a sub-query: the planner would otherwise compute x and y
    # twice per event, for the grouping and for the averages.)
    cells = f"""
        SELECT events_tile_cell(mx, %(cell_zoom)s) AS cx, events_tile_cell(my, %(cell_zoom)s)
                   AS cy,
               count(*) AS n, COALESCE(sum(fatalities), 0) AS fatalities,
               avg(mx) AS mx, avg(my) AS my, {_UNPUBLISHED.format(n=1, alias="projected")}
                   AS unpublished
        FROM (
            SELECT events_mercator_x(e.geom) AS mx, events_mercator_y(e.geom) AS my,
                   e.fatalities, e.status
            FROM events_event e
            WHERE e.geom && {_ENVELOPE_LL} AND {where}
            OFFSET 0
        ) projected
        GROUP BY 1, 2
    """
    return _cells_to_mvt(cells, flt.staff), params


def _pyramid_sql(x: int, y: int, z: int, flt: EventFilter) -> tuple[str, dict]:
    """The aggregated tile from events_tilecell: the tile's cells (of cell_zoom(z)), with the
    buffer.

    Cell columns count from 0 at the Web Mercator origin (the middle of the world); tile x
    starts 2^z / 2 tiles west of it, tile rows count down from the top."""
    level, across, buffer = cell_zoom(z), cells_across(z), buffer_cells(z)
    half = 2**level * PYRAMID_CELLS // 2  # cells from the world's west (or top) edge to the origin
    params = {
        "staff": flt.staff,
        "cell_zoom": level,
        "cx0": x * across - half - buffer,
        "cx1": (x + 1) * across - half - 1 + buffer,
        "cy0": half - (y + 1) * across - buffer,
        "cy1": half - y * across - 1 + buffer,
    }
    types = ""
    if flt.types:
        types = "AND c.event_type = ANY(%(types)s)"
        params["types"] = list(flt.types)
    cells = f"""
        SELECT c.cx, c.cy, sum(c.events) AS n, sum(c.fatalities) AS fatalities,
               sum(c.sum_x) / sum(c.events) AS mx, sum(c.sum_y) / sum(c.events) AS my,
               {_UNPUBLISHED.format(n="c.events", alias="c")} AS unpublished
        FROM events_tilecell c
        WHERE c.zoom = %(cell_zoom)s AND c.cx BETWEEN %(cx0)s AND %(cx1)s
          AND c.cy BETWEEN %(cy0)s AND %(cy1)s AND {visible("c")} {types}
        GROUP BY c.cx, c.cy
        HAVING sum(c.events) > 0
    """
    return _cells_to_mvt(cells, flt.staff), params
