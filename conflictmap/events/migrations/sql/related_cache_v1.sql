-- events_event.related, version 1: the functions and triggers that keep each event's actors,
-- sources and external ids as the GeoJSON export writes them (three JSON texts). Applied by
-- migration events/0003_events_related_cache, which documents the design. This file is part of
-- the migration's history: never edit it (tests/events/test_sql_files.py pins its checksum);
-- a change goes in related_cache_v2.sql with a migration of its own.

-- events_related_refresh(ids, part): recompute part 1 (actors), 2 (sources), 3 (external ids)
-- or 0 (all three) of these events. Each trigger recomputes only the part its table feeds (an
-- ACLED batch writes ids, actors and sources in three statements). Each event is found by its
-- primary key (a hash join on the events table grew with the table: quadratic over an import,
-- so sequential scans are off here); JIT is off (its compile time, 0.4 s, dwarfed these
-- statements).
CREATE FUNCTION events_related_refresh(ids bigint[], part int DEFAULT 0) RETURNS void
LANGUAGE plpgsql SET jit = off SET enable_seqscan = off AS $fn$
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    PERFORM set_config('conflictmap.related_refresh', 'on', true);
    IF part = 0 THEN
        UPDATE events_event e SET related = ARRAY['[' || COALESCE((
    SELECT string_agg('{"slug":' || to_json(f.slug) || ',"name":' || to_json(f.name)
                      || ',"role":' || to_json(ea.role) || '}', ',' ORDER BY ea.role, f.slug)
    FROM (SELECT * FROM events_eventactor WHERE event_id = e.id OFFSET 0) ea
    JOIN territory_faction f ON f.id = ea.faction_id), '') || ']', '[' || COALESCE((
    SELECT string_agg('{"url":' || to_json(s.url) || ',"publisher":' || to_json(s.publisher)
                      || ',"title":' || to_json(s.title) || '}', ',' ORDER BY s.id)
    FROM (SELECT * FROM events_event_sources WHERE event_id = e.id OFFSET 0) es
    JOIN events_source s ON s.id = es.source_id), '') || ']', '{' || COALESCE((
    SELECT string_agg(to_json(x.system) || ':' || to_json(x.value), ','
                      ORDER BY x.system, x.value)
    FROM events_externalid x WHERE x.event_id = e.id), '') || '}']
        WHERE e.id = ANY(ids);
    
    ELSIF part = 1 THEN
        UPDATE events_event e SET related[1] = '[' || COALESCE((
    SELECT string_agg('{"slug":' || to_json(f.slug) || ',"name":' || to_json(f.name)
                      || ',"role":' || to_json(ea.role) || '}', ',' ORDER BY ea.role, f.slug)
    FROM (SELECT * FROM events_eventactor WHERE event_id = e.id OFFSET 0) ea
    JOIN territory_faction f ON f.id = ea.faction_id), '') || ']'
        WHERE e.id = ANY(ids);
    ELSIF part = 2 THEN
        UPDATE events_event e SET related[2] = '[' || COALESCE((
    SELECT string_agg('{"url":' || to_json(s.url) || ',"publisher":' || to_json(s.publisher)
                      || ',"title":' || to_json(s.title) || '}', ',' ORDER BY s.id)
    FROM (SELECT * FROM events_event_sources WHERE event_id = e.id OFFSET 0) es
    JOIN events_source s ON s.id = es.source_id), '') || ']'
        WHERE e.id = ANY(ids);
    ELSIF part = 3 THEN
        UPDATE events_event e SET related[3] = '{' || COALESCE((
    SELECT string_agg(to_json(x.system) || ':' || to_json(x.value), ','
                      ORDER BY x.system, x.value)
    FROM events_externalid x WHERE x.event_id = e.id), '') || '}'
        WHERE e.id = ANY(ids);
    END IF;
    PERFORM set_config('conflictmap.related_refresh', 'off', true);
END
$fn$;

-- Only events_related_refresh() writes the column: any other UPDATE keeps the old value.
CREATE FUNCTION events_related_keep() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.related := OLD.related;
    RETURN NEW;
END
$fn$;
CREATE TRIGGER events_related_keep BEFORE UPDATE OF related ON events_event
    FOR EACH ROW
    WHEN (current_setting('conflictmap.related_refresh', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION events_related_keep();

-- Bulk statements (500 rows or more) leave their events in events_related_pending; they
-- are recomputed once, all parts in one UPDATE, when the transaction commits (a deferred
-- constraint trigger on the NULL row each such statement adds), or before that by
-- events_related_flush() (the events export calls it when it runs inside an open
-- transaction). An ACLED batch thereby rewrites each new event once instead of three times.
-- Only this transaction's rows are ever visible there: every transaction empties it before
-- it commits.
CREATE UNLOGGED TABLE events_related_pending (event_id bigint);

CREATE FUNCTION events_related_flush() RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    ids bigint[];
BEGIN
    WITH gone AS (DELETE FROM events_related_pending RETURNING event_id)
    SELECT array_agg(DISTINCT event_id) FILTER (WHERE event_id IS NOT NULL) INTO ids FROM gone;
    PERFORM events_related_refresh(ids, 0);
END
$fn$;

CREATE FUNCTION events_related_flush_at_commit() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM events_related_flush();
    RETURN NULL;
END
$fn$;
CREATE CONSTRAINT TRIGGER events_related_flush AFTER INSERT ON events_related_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.event_id IS NULL)
    EXECUTE FUNCTION events_related_flush_at_commit();

-- Rows of events_eventactor, events_event_sources, events_externalid (all have event_id).
CREATE FUNCTION events_related_links() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    part int := CASE TG_TABLE_NAME WHEN 'events_eventactor' THEN 1
                                   WHEN 'events_event_sources' THEN 2 ELSE 3 END;
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        ids := ARRAY(SELECT event_id FROM related_new);
    ELSIF TG_OP = 'DELETE' THEN
        ids := ARRAY(SELECT event_id FROM related_old);
    ELSE
        ids := ARRAY(SELECT event_id FROM related_new UNION SELECT event_id FROM related_old);
    END IF;
    IF cardinality(ids) >= 500 THEN
        INSERT INTO events_related_pending (event_id) SELECT unnest(ids);
        INSERT INTO events_related_pending (event_id) VALUES (NULL);
    ELSE
        PERFORM events_related_refresh(ids, part);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION events_related_factions() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM events_related_refresh(ARRAY(
        SELECT DISTINCT ea.event_id
        FROM related_new n JOIN related_old o ON o.id = n.id
        JOIN events_eventactor ea ON ea.faction_id = n.id
        WHERE n.name IS DISTINCT FROM o.name OR n.slug IS DISTINCT FROM o.slug), 1);
    RETURN NULL;
END
$fn$;

CREATE FUNCTION events_related_sources() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM events_related_refresh(ARRAY(
        SELECT DISTINCT es.event_id
        FROM related_new n JOIN related_old o ON o.id = n.id
        JOIN events_event_sources es ON es.source_id = n.id
        WHERE n.url IS DISTINCT FROM o.url OR n.publisher IS DISTINCT FROM o.publisher
           OR n.title IS DISTINCT FROM o.title), 2);
    RETURN NULL;
END
$fn$;

CREATE TRIGGER events_eventactor_related_ins AFTER INSERT ON events_eventactor
    REFERENCING NEW TABLE AS related_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_links();
CREATE TRIGGER events_eventactor_related_upd AFTER UPDATE ON events_eventactor
    REFERENCING OLD TABLE AS related_old NEW TABLE AS related_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_links();
CREATE TRIGGER events_eventactor_related_del AFTER DELETE ON events_eventactor
    REFERENCING OLD TABLE AS related_old
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_links();

CREATE TRIGGER events_event_sources_related_ins AFTER INSERT ON events_event_sources
    REFERENCING NEW TABLE AS related_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_links();
CREATE TRIGGER events_event_sources_related_upd AFTER UPDATE ON events_event_sources
    REFERENCING OLD TABLE AS related_old NEW TABLE AS related_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_links();
CREATE TRIGGER events_event_sources_related_del AFTER DELETE ON events_event_sources
    REFERENCING OLD TABLE AS related_old
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_links();

CREATE TRIGGER events_externalid_related_ins AFTER INSERT ON events_externalid
    REFERENCING NEW TABLE AS related_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_links();
CREATE TRIGGER events_externalid_related_upd AFTER UPDATE ON events_externalid
    REFERENCING OLD TABLE AS related_old NEW TABLE AS related_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_links();
CREATE TRIGGER events_externalid_related_del AFTER DELETE ON events_externalid
    REFERENCING OLD TABLE AS related_old
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_links();

CREATE TRIGGER territory_faction_related_upd AFTER UPDATE ON territory_faction
    REFERENCING OLD TABLE AS related_old NEW TABLE AS related_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_factions();
CREATE TRIGGER events_source_related_upd AFTER UPDATE ON events_source
    REFERENCING OLD TABLE AS related_old NEW TABLE AS related_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_sources();
