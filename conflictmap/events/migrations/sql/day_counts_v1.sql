-- events_daycount and events_dayfaction, version 1: events per day that /stats/events sums
-- instead of reading the events, kept by the database as events and their actors change.
-- Applied by migration events/0008_event_day_counts, which documents the design. This file is
-- part of the migration's history: never edit it (tests/events/test_sql_files.py pins its
-- checksum); a change goes in day_counts_v2.sql with a migration of its own.

-- Events per day, ACLED type and status.
CREATE TABLE events_daycount (
    day date NOT NULL,
    event_type varchar(40) NOT NULL,
    status varchar(12) NOT NULL,
    events int NOT NULL,
    PRIMARY KEY (day, event_type, status)
) WITH (fillfactor = 80);

-- Events per day, faction among their actors and status: an event counts once for each faction
-- it has among its actors, whatever the roles (as /stats/events by actor counts). An (event,
-- faction) pair counts while the event exists and has at least one actor row of that faction.
CREATE TABLE events_dayfaction (
    day date NOT NULL,
    faction_id bigint NOT NULL,
    status varchar(12) NOT NULL,
    events int NOT NULL,
    PRIMARY KEY (day, faction_id, status)
) WITH (fillfactor = 80);
-- (No index but the key, and room left on each page: adding to a day is then a HOT update.)

-- Changes wait here until the transaction commits (as for events_tilecell: writers lock count
-- rows only while they commit, always in key order, and a bulk import pays once): `events` is
-- the change of a day's count, for a type (event_type set) or a faction (faction_id set); a row
-- with `events` NULL is a marker that makes the deferred trigger below fire. Only this
-- transaction's rows are ever visible here: every transaction empties it before it commits.
CREATE UNLOGGED TABLE events_daycount_pending (
    day date,
    event_type varchar(40),
    faction_id bigint,
    status varchar(12),
    events int
);

CREATE FUNCTION events_daycount_flush() RETURNS void
LANGUAGE plpgsql SET jit = off AS $fn$
DECLARE
    emptied_types events_daycount[];
    emptied_factions events_dayfaction[];
BEGIN
    WITH gone AS (
        DELETE FROM events_daycount_pending WHERE event_type IS NOT NULL RETURNING *
    ), added AS (
        INSERT INTO events_daycount AS c (day, event_type, status, events)
        SELECT day, event_type, status, sum(events) FROM gone
        GROUP BY 1, 2, 3 HAVING sum(events) <> 0
        ORDER BY 1, 2, 3
        ON CONFLICT (day, event_type, status) DO UPDATE SET events = c.events + excluded.events
        RETURNING c.*
    )
    SELECT array_agg(added::events_daycount) FILTER (WHERE added.events = 0) INTO emptied_types
    FROM added;

    WITH gone AS (
        DELETE FROM events_daycount_pending WHERE faction_id IS NOT NULL RETURNING *
    ), added AS (
        INSERT INTO events_dayfaction AS c (day, faction_id, status, events)
        SELECT day, faction_id, status, sum(events) FROM gone
        GROUP BY 1, 2, 3 HAVING sum(events) <> 0
        ORDER BY 1, 2, 3
        ON CONFLICT (day, faction_id, status) DO UPDATE SET events = c.events + excluded.events
        RETURNING c.*
    )
    SELECT array_agg(added::events_dayfaction) FILTER (WHERE added.events = 0)
    INTO emptied_factions
    FROM added;

    DELETE FROM events_daycount_pending;  -- the markers
    -- Days left with no event go.
    DELETE FROM events_daycount c USING unnest(emptied_types) e
    WHERE c.day = e.day AND c.event_type = e.event_type AND c.status = e.status
      AND c.events = 0;
    DELETE FROM events_dayfaction c USING unnest(emptied_factions) e
    WHERE c.day = e.day AND c.faction_id = e.faction_id AND c.status = e.status
      AND c.events = 0;
END
$fn$;

CREATE FUNCTION events_daycount_flush_at_commit() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM events_daycount_flush();
    RETURN NULL;
END
$fn$;
CREATE CONSTRAINT TRIGGER events_daycount_flush AFTER INSERT ON events_daycount_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.events IS NULL)
    EXECUTE FUNCTION events_daycount_flush_at_commit();

-- The factions among the actors of events `ids` now, one row per (event, faction), as
-- (event_id, faction_id). Each event is found by its key (as in related_cache_v1.sql: a hash
-- join over the whole actors table would grow with it, quadratic over an import).
CREATE FUNCTION events_daycount_factions_of(ids bigint[])
RETURNS TABLE (event_id bigint, faction_id bigint)
LANGUAGE sql STABLE SET enable_seqscan = off AS $fn$
    SELECT DISTINCT ea.event_id, ea.faction_id
    FROM events_eventactor ea
    WHERE ea.event_id = ANY(ids)
$fn$;

-- Queues the changes of events that moved: each counts `sign` (+1 as it is now, -1 as it
-- was) on its day for its type, and when `factions_moves` (its day or status changed, or it
-- came or went) for each of its factions among its actors. True when it queued anything.
CREATE FUNCTION events_daycount_queue(
    ids bigint[], days date[], types text[], statuses text[], signs int[],
    factions_moves boolean[]
) RETURNS boolean
LANGUAGE plpgsql SET jit = off AS $fn$
BEGIN
    WITH moved AS (
        SELECT * FROM unnest(ids, days, types, statuses, signs, factions_moves)
            AS m (id, day, event_type, status, sign, factions_move)
    )
    INSERT INTO events_daycount_pending (day, event_type, faction_id, status, events)
    SELECT day, event_type, NULL, status, sum(sign) FROM moved
    GROUP BY day, event_type, status HAVING sum(sign) <> 0
    UNION ALL
    SELECT m.day, NULL, f.faction_id, m.status, sum(m.sign)
    FROM moved m
    JOIN events_daycount_factions_of(ARRAY(SELECT id FROM moved WHERE factions_move)) f
      ON f.event_id = m.id
    WHERE m.factions_move
    GROUP BY m.day, f.faction_id, m.status HAVING sum(m.sign) <> 0;
    IF FOUND THEN
        INSERT INTO events_daycount_pending (events) VALUES (NULL);
        RETURN true;
    END IF;
    RETURN false;
END
$fn$;

-- What a statement on events_event changes in the day counts: inserted rows count +1, deleted
-- rows -1, an updated row -1 as it was and +1 as it is, but only when its day, type or status
-- changed (its factions only when its day or status did; the `related` cache's own updates
-- change none of them and are skipped by the triggers' WHEN).
CREATE FUNCTION events_daycount_queue_events() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_daycount_queue(array_agg(id), array_agg(date), array_agg(event_type),
                                      array_agg(status), array_agg(1), array_agg(true))
        FROM daycount_new;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_daycount_queue(array_agg(id), array_agg(date), array_agg(event_type),
                                      array_agg(status), array_agg(-1), array_agg(true))
        FROM daycount_old;
    ELSE
        PERFORM events_daycount_queue(array_agg(id), array_agg(day), array_agg(event_type),
                                      array_agg(status), array_agg(sign),
                                      array_agg(factions_move))
        FROM (
            SELECT o.id, o.date AS day, o.event_type, o.status, -1 AS sign,
                   n.id IS NULL OR (o.date, o.status) IS DISTINCT FROM (n.date, n.status)
                       AS factions_move
            FROM daycount_old o LEFT JOIN daycount_new n ON n.id = o.id
            WHERE n.id IS NULL OR (o.date, o.event_type, o.status)
                                  IS DISTINCT FROM (n.date, n.event_type, n.status)
            UNION ALL
            SELECT n.id, n.date, n.event_type, n.status, 1,
                   o.id IS NULL OR (o.date, o.status) IS DISTINCT FROM (n.date, n.status)
            FROM daycount_new n LEFT JOIN daycount_old o ON o.id = n.id
            WHERE o.id IS NULL OR (o.date, o.event_type, o.status)
                                  IS DISTINCT FROM (n.date, n.event_type, n.status)
        ) moved;
    END IF;
    RETURN NULL;
END
$fn$;

-- Queues what actor rows added (`rows_added` > 0) or took away (< 0) per (event, faction):
-- a pair starts counting when its first actor row comes, stops when its last one goes; the
-- day and status are the event's (a pair whose event is not there, or no longer, counts
-- nothing: the event's own trigger counts it when the event comes, or took it away when it
-- went). Each pair's rows are counted by index (see events_daycount_factions_of).
CREATE FUNCTION events_daycount_queue_pairs(event_ids bigint[], faction_ids bigint[],
                                            rows_added bigint[])
RETURNS void
LANGUAGE plpgsql SET jit = off SET enable_seqscan = off AS $fn$
BEGIN
    INSERT INTO events_daycount_pending (day, faction_id, status, events)
    SELECT e.date, p.faction_id, e.status,
           sum((now.n > 0)::int - ((now.n - p.added) > 0)::int)
    FROM unnest(event_ids, faction_ids, rows_added) AS p (event_id, faction_id, added)
    CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM events_eventactor ea
        WHERE ea.event_id = p.event_id AND ea.faction_id = p.faction_id
    ) now
    JOIN events_event e ON e.id = p.event_id
    WHERE (now.n > 0) <> ((now.n - p.added) > 0)
    GROUP BY 1, 2, 3;
    IF FOUND THEN
        INSERT INTO events_daycount_pending (events) VALUES (NULL);
    END IF;
END
$fn$;

-- What a statement on events_eventactor changes in the faction counts.
CREATE FUNCTION events_daycount_queue_actors() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_daycount_queue_pairs(array_agg(event_id), array_agg(faction_id),
                                            array_agg(n))
        FROM (SELECT event_id, faction_id, count(*) AS n FROM actors_new GROUP BY 1, 2) c;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_daycount_queue_pairs(array_agg(event_id), array_agg(faction_id),
                                            array_agg(-n))
        FROM (SELECT event_id, faction_id, count(*) AS n FROM actors_old GROUP BY 1, 2) c;
    ELSE
        PERFORM events_daycount_queue_pairs(array_agg(event_id), array_agg(faction_id),
                                            array_agg(n))
        FROM (
            SELECT event_id, faction_id, sum(k) AS n FROM (
                SELECT event_id, faction_id, 1 AS k FROM actors_new
                UNION ALL
                SELECT event_id, faction_id, -1 FROM actors_old
            ) changed
            GROUP BY 1, 2 HAVING sum(k) <> 0
        ) c;
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER events_daycount_ins AFTER INSERT ON events_event
    REFERENCING NEW TABLE AS daycount_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_daycount_queue_events();
CREATE TRIGGER events_daycount_upd AFTER UPDATE ON events_event
    REFERENCING OLD TABLE AS daycount_old NEW TABLE AS daycount_new
    FOR EACH STATEMENT
    WHEN (current_setting('conflictmap.related_refresh', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION events_daycount_queue_events();
CREATE TRIGGER events_daycount_del AFTER DELETE ON events_event
    REFERENCING OLD TABLE AS daycount_old
    FOR EACH STATEMENT EXECUTE FUNCTION events_daycount_queue_events();

CREATE TRIGGER events_dayfaction_ins AFTER INSERT ON events_eventactor
    REFERENCING NEW TABLE AS actors_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_daycount_queue_actors();
CREATE TRIGGER events_dayfaction_upd AFTER UPDATE ON events_eventactor
    REFERENCING OLD TABLE AS actors_old NEW TABLE AS actors_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_daycount_queue_actors();
CREATE TRIGGER events_dayfaction_del AFTER DELETE ON events_eventactor
    REFERENCING OLD TABLE AS actors_old
    FOR EACH STATEMENT EXECUTE FUNCTION events_daycount_queue_actors();

-- TRUNCATE of the events (Django's test flush, a wipe) empties the counts with them; of the
-- actors alone, the faction counts.
CREATE FUNCTION events_daycount_truncate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_TABLE_NAME = 'events_event' THEN
        TRUNCATE events_daycount;
        DELETE FROM events_daycount_pending WHERE event_type IS NOT NULL;
    END IF;
    TRUNCATE events_dayfaction;
    DELETE FROM events_daycount_pending WHERE faction_id IS NOT NULL;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER events_daycount_truncate AFTER TRUNCATE ON events_event
    FOR EACH STATEMENT EXECUTE FUNCTION events_daycount_truncate();
CREATE TRIGGER events_dayfaction_truncate AFTER TRUNCATE ON events_eventactor
    FOR EACH STATEMENT EXECUTE FUNCTION events_daycount_truncate();
