-- Fills events_event.related for every event at once, each table aggregated in one sorted
-- pass (migration events/0003_events_related_cache; tests compare it with the triggers).
SELECT set_config('conflictmap.related_refresh', 'on', true);
UPDATE events_event e SET related = ARRAY[
        '[' || COALESCE(a.j, '') || ']', '[' || COALESCE(s.j, '') || ']',
        '{' || COALESCE(x.j, '') || '}']
FROM events_event e2
LEFT JOIN (
    SELECT event_id, string_agg(j, ',') AS j FROM (
        SELECT ea.event_id, '{"slug":' || to_json(f.slug) || ',"name":' || to_json(f.name)
               || ',"role":' || to_json(ea.role) || '}' AS j
        FROM events_eventactor ea JOIN territory_faction f ON f.id = ea.faction_id
        ORDER BY ea.event_id, ea.role, f.slug
    ) sorted GROUP BY event_id
) a ON a.event_id = e2.id
LEFT JOIN (
    SELECT event_id, string_agg(j, ',') AS j FROM (
        SELECT es.event_id, '{"url":' || to_json(s.url) || ',"publisher":'
               || to_json(s.publisher) || ',"title":' || to_json(s.title) || '}' AS j
        FROM events_event_sources es JOIN events_source s ON s.id = es.source_id
        ORDER BY es.event_id, s.id
    ) sorted GROUP BY event_id
) s ON s.event_id = e2.id
LEFT JOIN (
    SELECT event_id, string_agg(j, ',') AS j FROM (
        SELECT x.event_id, to_json(x.system) || ':' || to_json(x.value) AS j
        FROM events_externalid x ORDER BY x.event_id, x.system, x.value
    ) sorted GROUP BY event_id
) x ON x.event_id = e2.id
WHERE e.id = e2.id AND (a.j IS NOT NULL OR s.j IS NOT NULL OR x.j IS NOT NULL);
SELECT set_config('conflictmap.related_refresh', 'off', true);
