-- Undoes tile_cells_v1.sql (migration events/0004_event_tile_cells backwards).
DROP TRIGGER IF EXISTS events_tilecell_truncate ON events_event;
DROP TRIGGER IF EXISTS events_tilecell_del ON events_event;
DROP TRIGGER IF EXISTS events_tilecell_upd ON events_event;
DROP TRIGGER IF EXISTS events_tilecell_ins ON events_event;
DROP FUNCTION IF EXISTS events_tilecell_truncate();
DROP FUNCTION IF EXISTS events_tilecell_queue();
DROP TABLE IF EXISTS events_tilecell_pending;
DROP FUNCTION IF EXISTS events_tilecell_flush_at_commit();
DROP FUNCTION IF EXISTS events_tilecell_flush();
DROP TABLE IF EXISTS events_tilecell;
DROP FUNCTION IF EXISTS events_tile_cell(double precision, int);
DROP FUNCTION IF EXISTS events_mercator_y(geometry);
DROP FUNCTION IF EXISTS events_mercator_x(geometry);
