-- api_datastamp, version 2: a public stamp beside each all-changes stamp, moved only by changes
-- a visitor can see, and an all-changes stamp of the events. Applied by migration
-- api/0002_public_stamps, which documents the design. This file is part of the migration's
-- history: never edit it (tests/api/test_map_state.py pins its checksum); a change goes in
-- data_stamps_v3.sql with a migration of its own.
--
--   zones          every committed change of zone data (v1)
--   zones_public   a change to a published zone version, or one that was published before the
--                  change (published, retracted or deleted), its sources or its zone; any
--                  change of factions or alliances, any change of a source but its creation
--   events         every committed change of event data
--   events_public  the same rule for events, their actors, sources and external ids; any change
--                  of factions, any change of a source or place but its creation
INSERT INTO api_datastamp (name) VALUES ('zones_public'), ('events'), ('events_public');

-- Statement-level, with transition tables (so a bulk import pays once per statement, not per
-- row): queue TG_ARGV[0] when a row the statement wrote or removed (`r`, from stamp_old or
-- stamp_new) meets TG_ARGV[1], an SQL condition saying the row is, or belongs to, a published
-- record. Both the rows before and after an update are looked at: publishing and retracting
-- move the stamp, editing a draft (or a retracted record) does not.
CREATE FUNCTION api_datastamp_queue_published() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    published boolean := false;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM stamp_old r WHERE %s)', TG_ARGV[1])
            INTO published;
    END IF;
    IF NOT published AND TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM stamp_new r WHERE %s)', TG_ARGV[1])
            INTO published;
    END IF;
    IF published THEN
        INSERT INTO api_datastamp_pending (name) VALUES (TG_ARGV[0]);
    END IF;
    RETURN NULL;
END
$fn$;

-- Zone versions carry their own status. (PostgreSQL allows transition tables on a trigger of one
-- event only: three triggers per table.)
CREATE TRIGGER api_datastamp_zones_public_ins AFTER INSERT ON territory_zoneversion
    REFERENCING NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('zones_public', $c$r.status = 'published'$c$);
CREATE TRIGGER api_datastamp_zones_public_upd AFTER UPDATE ON territory_zoneversion
    REFERENCING OLD TABLE AS stamp_old NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('zones_public', $c$r.status = 'published'$c$);
CREATE TRIGGER api_datastamp_zones_public_del AFTER DELETE ON territory_zoneversion
    REFERENCING OLD TABLE AS stamp_old FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('zones_public', $c$r.status = 'published'$c$);
-- A version's sources: public when the version is published. (Deleting a version deletes its
-- links first, while it is still published; the version's own delete moves the stamp anyway.)
CREATE TRIGGER api_datastamp_zones_public_ins AFTER INSERT ON territory_zoneversion_sources
    REFERENCING NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('zones_public', $c$EXISTS (
        SELECT 1 FROM territory_zoneversion v
        WHERE v.id = r.zoneversion_id AND v.status = 'published')$c$);
CREATE TRIGGER api_datastamp_zones_public_upd AFTER UPDATE ON territory_zoneversion_sources
    REFERENCING OLD TABLE AS stamp_old NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('zones_public', $c$EXISTS (
        SELECT 1 FROM territory_zoneversion v
        WHERE v.id = r.zoneversion_id AND v.status = 'published')$c$);
CREATE TRIGGER api_datastamp_zones_public_del AFTER DELETE ON territory_zoneversion_sources
    REFERENCING OLD TABLE AS stamp_old FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('zones_public', $c$EXISTS (
        SELECT 1 FROM territory_zoneversion v
        WHERE v.id = r.zoneversion_id AND v.status = 'published')$c$);
-- A zone (its name and slug are in its versions' features): public when one of its versions is.
CREATE TRIGGER api_datastamp_zones_public_ins AFTER INSERT ON territory_zone
    REFERENCING NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('zones_public', $c$EXISTS (
        SELECT 1 FROM territory_zoneversion v
        WHERE v.zone_id = r.id AND v.status = 'published')$c$);
CREATE TRIGGER api_datastamp_zones_public_upd AFTER UPDATE ON territory_zone
    REFERENCING OLD TABLE AS stamp_old NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('zones_public', $c$EXISTS (
        SELECT 1 FROM territory_zoneversion v
        WHERE v.zone_id = r.id AND v.status = 'published')$c$);

-- Events carry their own status; actors, sources and external ids belong to an event.
CREATE TRIGGER api_datastamp_events_public_ins AFTER INSERT ON events_event
    REFERENCING NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('events_public', $c$r.status = 'published'$c$);
CREATE TRIGGER api_datastamp_events_public_upd AFTER UPDATE ON events_event
    REFERENCING OLD TABLE AS stamp_old NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('events_public', $c$r.status = 'published'$c$);
CREATE TRIGGER api_datastamp_events_public_del AFTER DELETE ON events_event
    REFERENCING OLD TABLE AS stamp_old FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('events_public', $c$r.status = 'published'$c$);

CREATE TRIGGER api_datastamp_events_public_ins AFTER INSERT ON events_eventactor
    REFERENCING NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('events_public', $c$EXISTS (
        SELECT 1 FROM events_event e WHERE e.id = r.event_id AND e.status = 'published')$c$);
CREATE TRIGGER api_datastamp_events_public_upd AFTER UPDATE ON events_eventactor
    REFERENCING OLD TABLE AS stamp_old NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('events_public', $c$EXISTS (
        SELECT 1 FROM events_event e WHERE e.id = r.event_id AND e.status = 'published')$c$);
CREATE TRIGGER api_datastamp_events_public_del AFTER DELETE ON events_eventactor
    REFERENCING OLD TABLE AS stamp_old FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('events_public', $c$EXISTS (
        SELECT 1 FROM events_event e WHERE e.id = r.event_id AND e.status = 'published')$c$);

CREATE TRIGGER api_datastamp_events_public_ins AFTER INSERT ON events_event_sources
    REFERENCING NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('events_public', $c$EXISTS (
        SELECT 1 FROM events_event e WHERE e.id = r.event_id AND e.status = 'published')$c$);
CREATE TRIGGER api_datastamp_events_public_upd AFTER UPDATE ON events_event_sources
    REFERENCING OLD TABLE AS stamp_old NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('events_public', $c$EXISTS (
        SELECT 1 FROM events_event e WHERE e.id = r.event_id AND e.status = 'published')$c$);
CREATE TRIGGER api_datastamp_events_public_del AFTER DELETE ON events_event_sources
    REFERENCING OLD TABLE AS stamp_old FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('events_public', $c$EXISTS (
        SELECT 1 FROM events_event e WHERE e.id = r.event_id AND e.status = 'published')$c$);

CREATE TRIGGER api_datastamp_events_public_ins AFTER INSERT ON events_externalid
    REFERENCING NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('events_public', $c$EXISTS (
        SELECT 1 FROM events_event e WHERE e.id = r.event_id AND e.status = 'published')$c$);
CREATE TRIGGER api_datastamp_events_public_upd AFTER UPDATE ON events_externalid
    REFERENCING OLD TABLE AS stamp_old NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('events_public', $c$EXISTS (
        SELECT 1 FROM events_event e WHERE e.id = r.event_id AND e.status = 'published')$c$);
CREATE TRIGGER api_datastamp_events_public_del AFTER DELETE ON events_externalid
    REFERENCING OLD TABLE AS stamp_old FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue_published('events_public', $c$EXISTS (
        SELECT 1 FROM events_event e WHERE e.id = r.event_id AND e.status = 'published')$c$);

-- A truncate may remove published rows, and a deleted zone's versions are gone before its own
-- row is (nothing left to look at): both move the public stamp. (A stamp moving more often than
-- needed costs a revalidation, never a stale answer.)
CREATE TRIGGER api_datastamp_zones_public AFTER TRUNCATE ON territory_zoneversion
    FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('zones_public');
CREATE TRIGGER api_datastamp_zones_public AFTER TRUNCATE ON territory_zoneversion_sources
    FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('zones_public');
CREATE TRIGGER api_datastamp_zones_public AFTER DELETE OR TRUNCATE ON territory_zone
    FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('zones_public');
CREATE TRIGGER api_datastamp_events_public AFTER TRUNCATE ON events_event
    FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events_public');
CREATE TRIGGER api_datastamp_events_public AFTER TRUNCATE ON events_eventactor
    FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events_public');
CREATE TRIGGER api_datastamp_events_public AFTER TRUNCATE ON events_event_sources
    FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events_public');
CREATE TRIGGER api_datastamp_events_public AFTER TRUNCATE ON events_externalid
    FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events_public');

-- Shared by published and unpublished records alike (factions, alliances, sources, places): a
-- change moves the public stamps of what shows them. Not a new source or place: nothing cites
-- it yet (citing it is a change of the record that does).
CREATE TRIGGER api_datastamp_zones_public AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON territory_faction FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('zones_public');
CREATE TRIGGER api_datastamp_zones_public AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON territory_faction_backed_by FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue('zones_public');
CREATE TRIGGER api_datastamp_zones_public AFTER UPDATE OR DELETE OR TRUNCATE
    ON events_source FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('zones_public');
CREATE TRIGGER api_datastamp_events_public AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON territory_faction FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events_public');
CREATE TRIGGER api_datastamp_events_public AFTER UPDATE OR DELETE OR TRUNCATE
    ON events_source FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events_public');
CREATE TRIGGER api_datastamp_events_public AFTER UPDATE OR DELETE OR TRUNCATE
    ON events_place FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events_public');

-- The events payloads (GeoJSON, CSV, tiles, counts) read events, their actors, sources and
-- external ids, factions, sources and places: every change moves 'events'.
CREATE TRIGGER api_datastamp_events AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON events_event FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events');
CREATE TRIGGER api_datastamp_events AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON events_eventactor FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events');
CREATE TRIGGER api_datastamp_events AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON events_event_sources FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events');
CREATE TRIGGER api_datastamp_events AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON events_externalid FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events');
CREATE TRIGGER api_datastamp_events AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON territory_faction FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events');
CREATE TRIGGER api_datastamp_events AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON events_source FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events');
CREATE TRIGGER api_datastamp_events AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON events_place FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('events');
