-- Undoes data_stamps_v1.sql (migration api/0001_data_stamps backwards).
DROP TRIGGER IF EXISTS api_datastamp_zones ON territory_zoneversion;
DROP TRIGGER IF EXISTS api_datastamp_zones ON territory_zoneversion_sources;
DROP TRIGGER IF EXISTS api_datastamp_zones ON territory_zone;
DROP TRIGGER IF EXISTS api_datastamp_zones ON territory_faction;
DROP TRIGGER IF EXISTS api_datastamp_zones ON territory_faction_backed_by;
DROP TRIGGER IF EXISTS api_datastamp_zones ON events_source;
DROP FUNCTION IF EXISTS api_datastamp_queue();
DROP TABLE IF EXISTS api_datastamp_pending;
DROP FUNCTION IF EXISTS api_datastamp_move();
DROP TABLE IF EXISTS api_datastamp;
