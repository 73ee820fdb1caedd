-- Fills events_tilecell from every event at once (migration events/0004_event_tile_cells;
-- tests compare it with what the triggers keep).
INSERT INTO events_tilecell (zoom, cx, cy, event_type, status, events, fatalities, sum_x, sum_y)
SELECT z.zoom, events_tile_cell(p.x, z.zoom), events_tile_cell(p.y, z.zoom), p.event_type,
       p.status, count(*), COALESCE(sum(p.fatalities), 0), sum(p.x), sum(p.y)
FROM (
    SELECT events_mercator_x(geom) AS x, events_mercator_y(geom) AS y, event_type, status,
           fatalities
    FROM events_event
) p CROSS JOIN generate_series(0, 8) AS z (zoom)
GROUP BY 1, 2, 3, 4, 5;
ANALYZE events_tilecell;
