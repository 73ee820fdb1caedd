-- api_datastamp, version 1: a version number per kind of data, moved by the database whenever a
-- transaction that changed such data commits. Applied by migration api/0001_data_stamps, which
-- documents the design. This file is part of the migration's history: never edit it
-- (tests/api/test_map_state.py pins its checksum); a change goes in data_stamps_v2.sql with a
-- migration of its own.
CREATE TABLE api_datastamp (
    name text PRIMARY KEY,
    version bigint NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO api_datastamp (name) VALUES ('zones');

-- Statements that change a stamped table leave its name here; when the transaction commits, a
-- deferred trigger moves the stamp once (so a writer locks the stamp's row only while it
-- commits, and an import of many statements moves it once). Only this transaction's rows are
-- ever visible here: every transaction empties it before it commits.
CREATE UNLOGGED TABLE api_datastamp_pending (name text NOT NULL);

CREATE FUNCTION api_datastamp_move() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM api_datastamp_pending WHERE name = NEW.name;
    IF FOUND THEN
        UPDATE api_datastamp SET version = version + 1, changed_at = clock_timestamp()
        WHERE name = NEW.name;
    END IF;
    RETURN NULL;
END
$fn$;
CREATE CONSTRAINT TRIGGER api_datastamp_move AFTER INSERT ON api_datastamp_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION api_datastamp_move();

-- TG_ARGV[0]: the stamp a statement on this table moves.
CREATE FUNCTION api_datastamp_queue() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO api_datastamp_pending (name) VALUES (TG_ARGV[0]);
    RETURN NULL;
END
$fn$;

-- The zone payloads (zones at a date or in a period, front lines, changes, the area series)
-- read versions, zones, factions (names, colours, alliances) and the sources versions cite.
CREATE TRIGGER api_datastamp_zones AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON territory_zoneversion FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('zones');
CREATE TRIGGER api_datastamp_zones AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON territory_zoneversion_sources FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue('zones');
CREATE TRIGGER api_datastamp_zones AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON territory_zone FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('zones');
CREATE TRIGGER api_datastamp_zones AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON territory_faction FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('zones');
CREATE TRIGGER api_datastamp_zones AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON territory_faction_backed_by FOR EACH STATEMENT
    EXECUTE FUNCTION api_datastamp_queue('zones');
CREATE TRIGGER api_datastamp_zones AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON events_source FOR EACH STATEMENT EXECUTE FUNCTION api_datastamp_queue('zones');
