-- events_tilecell, version 1: the cell pyramid that aggregated event tiles read instead of the
-- events, kept by the database as events change. Applied by migration
-- events/0004_event_tile_cells, which documents the design. This file is part of the migration's
-- history: never edit it (tests/events/test_sql_files.py pins its checksum); a change goes in
-- tile_cells_v2.sql with a migration of its own.

-- Web Mercator (EPSG:3857) by formula, on the sphere of the WGS84 semi-major axis
-- (6378137 m; 20037508.342789244 = pi * 6378137): PROJ per point (ST_Transform) cost more
-- than the rest of a tile. Latitudes are clamped to Web Mercator's +-85.0511 degrees.
CREATE FUNCTION events_mercator_x(geom geometry) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ST_X(geom) * 20037508.342789244 / 180;

CREATE FUNCTION events_mercator_y(geom geometry) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ln(tan(radians(45 + LEAST(GREATEST(ST_Y(geom), -85.0511), 85.0511) / 2))) * 6378137;

-- The column (or row) of the cell holding Web Mercator coordinate `coord` among the cells of
-- zoom `zoom`: a tile of that zoom is 64 x 64 cells, the world 2^zoom tiles wide
-- (40075016.68557849 m), cell 0 starting at the coordinate 0.
CREATE FUNCTION events_tile_cell(coord double precision, zoom int) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN floor(coord / (40075016.68557849 / 2 ^ zoom / 64));

-- One row per cell of each zoom 0-8, event type and status holding events: how many, their
-- known fatalities summed, and the sums of their Web Mercator coordinates (the cell's point is
-- at their mean). A tile of zoom z reads its 66 x 66 cells (with the buffer) at zoom z.
CREATE TABLE events_tilecell (
    zoom smallint NOT NULL,
    cx int NOT NULL,
    cy int NOT NULL,
    event_type varchar(40) NOT NULL,
    status varchar(12) NOT NULL,
    events int NOT NULL,
    fatalities bigint NOT NULL,
    sum_x double precision NOT NULL,
    sum_y double precision NOT NULL,
    PRIMARY KEY (zoom, cx, cy, event_type, status)
) WITH (fillfactor = 80);
-- (No index but the key, and room left on each page: adding to a cell is then a HOT update,
-- which writes no index entry.)

-- Changes of events wait here, one row per event and sign (+1 added, -1 taken away, NULL: a
-- marker that makes the deferred trigger below fire), until the transaction commits; then
-- events_tilecell_flush() applies them all in one statement, in key order. Writers thereby
-- lock pyramid rows only while they commit, always in the same order (no deadlock between two
-- imports), and a bulk import pays once per transaction, not per statement. Only this
-- transaction's rows are ever visible here: every transaction empties it before it commits.
CREATE UNLOGGED TABLE events_tilecell_pending (
    x double precision,
    y double precision,
    event_type varchar(40),
    status varchar(12),
    fatalities bigint,
    sign smallint
);

CREATE FUNCTION events_tilecell_flush() RETURNS void
LANGUAGE plpgsql SET jit = off AS $fn$
DECLARE
    emptied events_tilecell[];
BEGIN
    WITH gone AS (
        DELETE FROM events_tilecell_pending RETURNING *
    ), deltas AS (
        SELECT z.zoom, events_tile_cell(g.x, z.zoom) AS cx, events_tile_cell(g.y, z.zoom) AS cy,
               g.event_type, g.status, sum(g.sign) AS events,
               sum(g.sign * COALESCE(g.fatalities, 0)) AS fatalities,
               sum(g.sign * g.x) AS sum_x, sum(g.sign * g.y) AS sum_y
        FROM gone g CROSS JOIN generate_series(0, 8) AS z (zoom)
        WHERE g.sign IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5
    ), added AS (
        INSERT INTO events_tilecell AS c
            (zoom, cx, cy, event_type, status, events, fatalities, sum_x, sum_y)
        SELECT * FROM deltas
        WHERE events <> 0 OR fatalities <> 0 OR sum_x <> 0 OR sum_y <> 0
        ORDER BY zoom, cx, cy, event_type, status
        ON CONFLICT (zoom, cx, cy, event_type, status) DO UPDATE
        SET events = c.events + excluded.events, fatalities = c.fatalities + excluded.fatalities,
            sum_x = c.sum_x + excluded.sum_x, sum_y = c.sum_y + excluded.sum_y
        RETURNING c.*
    )
    SELECT array_agg(added::events_tilecell) FILTER (WHERE added.events = 0) INTO emptied
    FROM added;
    -- Cells left with no event go.
    DELETE FROM events_tilecell c USING unnest(emptied) e
    WHERE e.events = 0 AND c.zoom = e.zoom AND c.cx = e.cx AND c.cy = e.cy
      AND c.event_type = e.event_type AND c.status = e.status AND c.events = 0;
END
$fn$;

CREATE FUNCTION events_tilecell_flush_at_commit() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM events_tilecell_flush();
    RETURN NULL;
END
$fn$;
CREATE CONSTRAINT TRIGGER events_tilecell_flush AFTER INSERT ON events_tilecell_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.sign IS NULL)
    EXECUTE FUNCTION events_tilecell_flush_at_commit();

-- What a statement on events_event changes in the pyramid: inserted rows count +1, deleted
-- rows -1, an updated row -1 as it was and +1 as it is, but only when its point, type, status or
-- fatalities changed (the `related` cache's own updates change none of them, and are skipped
-- by the triggers' WHEN).
CREATE FUNCTION events_tilecell_queue() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO events_tilecell_pending
        SELECT events_mercator_x(geom), events_mercator_y(geom), event_type, status,
               fatalities, 1
        FROM tilecell_new;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO events_tilecell_pending
        SELECT events_mercator_x(geom), events_mercator_y(geom), event_type, status,
               fatalities, -1
        FROM tilecell_old;
    ELSE
        INSERT INTO events_tilecell_pending
        SELECT events_mercator_x(o.geom), events_mercator_y(o.geom), o.event_type, o.status,
               o.fatalities, -1
        FROM tilecell_old o LEFT JOIN tilecell_new n ON n.id = o.id
        WHERE n.id IS NULL
           OR (o.geom, o.event_type, o.status, o.fatalities)
              IS DISTINCT FROM (n.geom, n.event_type, n.status, n.fatalities)
        UNION ALL
        SELECT events_mercator_x(n.geom), events_mercator_y(n.geom), n.event_type, n.status,
               n.fatalities, 1
        FROM tilecell_new n LEFT JOIN tilecell_old o ON o.id = n.id
        WHERE o.id IS NULL
           OR (o.geom, o.event_type, o.status, o.fatalities)
              IS DISTINCT FROM (n.geom, n.event_type, n.status, n.fatalities);
    END IF;
    IF FOUND THEN
        INSERT INTO events_tilecell_pending (sign) VALUES (NULL);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER events_tilecell_ins AFTER INSERT ON events_event
    REFERENCING NEW TABLE AS tilecell_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_tilecell_queue();
CREATE TRIGGER events_tilecell_upd AFTER UPDATE ON events_event
    REFERENCING OLD TABLE AS tilecell_old NEW TABLE AS tilecell_new
    FOR EACH STATEMENT
    WHEN (current_setting('conflictmap.related_refresh', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION events_tilecell_queue();
CREATE TRIGGER events_tilecell_del AFTER DELETE ON events_event
    REFERENCING OLD TABLE AS tilecell_old
    FOR EACH STATEMENT EXECUTE FUNCTION events_tilecell_queue();

-- TRUNCATE of the events (Django's test flush, a wipe) empties the pyramid with them.
CREATE FUNCTION events_tilecell_truncate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    TRUNCATE events_tilecell;
    DELETE FROM events_tilecell_pending;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER events_tilecell_truncate AFTER TRUNCATE ON events_event
    FOR EACH STATEMENT EXECUTE FUNCTION events_tilecell_truncate();
