-- Fills events_daycount and events_dayfaction from every event at once (migration
-- events/0008_event_day_counts; tests compare them with counts from the events).
INSERT INTO events_daycount (day, event_type, status, events)
SELECT date, event_type, status, count(*) FROM events_event GROUP BY 1, 2, 3;
INSERT INTO events_dayfaction (day, faction_id, status, events)
SELECT e.date, ea.faction_id, e.status, count(*)
FROM events_event e
JOIN (SELECT DISTINCT event_id, faction_id FROM events_eventactor) ea ON ea.event_id = e.id
GROUP BY 1, 2, 3;
ANALYZE events_daycount;
ANALYZE events_dayfaction;
