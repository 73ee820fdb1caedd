-- Undoes related_cache_v1.sql (migration events/0003_events_related_cache backwards).
DROP TRIGGER IF EXISTS territory_faction_related_upd ON territory_faction;
DROP TRIGGER IF EXISTS events_source_related_upd ON events_source;
DROP TRIGGER IF EXISTS events_eventactor_related_ins ON events_eventactor;
DROP TRIGGER IF EXISTS events_eventactor_related_upd ON events_eventactor;
DROP TRIGGER IF EXISTS events_eventactor_related_del ON events_eventactor;
DROP TRIGGER IF EXISTS events_event_sources_related_ins ON events_event_sources;
DROP TRIGGER IF EXISTS events_event_sources_related_upd ON events_event_sources;
DROP TRIGGER IF EXISTS events_event_sources_related_del ON events_event_sources;
DROP TRIGGER IF EXISTS events_externalid_related_ins ON events_externalid;
DROP TRIGGER IF EXISTS events_externalid_related_upd ON events_externalid;
DROP TRIGGER IF EXISTS events_externalid_related_del ON events_externalid;
DROP TRIGGER IF EXISTS events_related_keep ON events_event;

DROP TABLE IF EXISTS events_related_pending;
DROP FUNCTION IF EXISTS events_related_flush_at_commit();
DROP FUNCTION IF EXISTS events_related_flush();
DROP FUNCTION IF EXISTS events_related_sources();
DROP FUNCTION IF EXISTS events_related_factions();
DROP FUNCTION IF EXISTS events_related_links();
DROP FUNCTION IF EXISTS events_related_keep();
DROP FUNCTION IF EXISTS events_related_refresh(bigint[], int);
