"""Event.related: each event's actors, sources and external ids as JSON text, kept by triggers.

The GeoJSON export writes these three lists for every event; aggregating them from four tables
cost as much as the rest of the export (3.0 s of 6.7 s per million events). The column holds
them already written, as three JSON texts in the export's exact bytes:

    related[1]  actors        [{"slug":..,"name":..,"role":..}, ...]  by role, then slug
    related[2]  sources       [{"url":..,"publisher":..,"title":..}, ...]  by source id
    related[3]  external ids  {"acled":"SYR1", ...}  by system, then value

(text, not jsonb: jsonb would reorder keys and add spaces, and re-writing it costs what the
column saves.) Only the database writes it:
- statement-level AFTER triggers with transition tables on events_eventactor,
  events_event_sources and events_externalid (insert, update, delete), on territory_faction
  (update of name or slug) and events_source (update of url, publisher or title) recompute the
  events concerned once per statement, so a bulk COPY pays per statement, not per row;
  a statement of BULK_ROWS rows or more (an import batch) only queues its events, recomputed
  at commit in one UPDATE each (see events_related_pending below);
- a BEFORE UPDATE OF related trigger on events_event keeps the old value unless the refresh
  function is the writer, so a Django save() of an event loaded before its actors changed
  cannot put a stale value back.
TRUNCATE of the related tables is not followed; after raw changes that bypass the triggers,
`SELECT events_related_refresh(ARRAY(SELECT id FROM events_event))` recomputes everything.
"""

import django.contrib.postgres.fields
from django.db import migrations, models

ACTORS = """'[' || COALESCE((
    SELECT string_agg('{"slug":' || to_json(f.slug) || ',"name":' || to_json(f.name)
                      || ',"role":' || to_json(ea.role) || '}', ',' ORDER BY ea.role, f.slug)
    FROM (SELECT * FROM events_eventactor WHERE event_id = {id} OFFSET 0) ea
    JOIN territory_faction f ON f.id = ea.faction_id), '') || ']'"""
SOURCES = """'[' || COALESCE((
    SELECT string_agg('{"url":' || to_json(s.url) || ',"publisher":' || to_json(s.publisher)
                      || ',"title":' || to_json(s.title) || '}', ',' ORDER BY s.id)
    FROM (SELECT * FROM events_event_sources WHERE event_id = {id} OFFSET 0) es
    JOIN events_source s ON s.id = es.source_id), '') || ']'"""
IDS = """'{' || COALESCE((
    SELECT string_agg(to_json(x.system) || ':' || to_json(x.value), ','
                      ORDER BY x.system, x.value)
    FROM events_externalid x WHERE x.event_id = {id}), '') || '}'"""

PARTS = {1: ACTORS, 2: SOURCES, 3: IDS}
# Statements on the link tables touching this many rows or more are applied at commit.
BULK_ROWS = 500


def _refresh_part(part: int) -> str:
    return f"""
    ELSIF part = {part} THEN
        UPDATE events_event e SET related[{part}] = {PARTS[part].replace("{id}", "e.id")}
        WHERE e.id = ANY(ids);"""


# events_related_refresh(ids, part): recompute part 1 (actors), 2 (sources), 3 (external ids)
# or 0 (all three) of these events. Each trigger recomputes only the part its table feeds (an
# ACLED batch writes ids, actors and sources in three statements). Each event is found by its
# primary key (a hash join on the events table grew with the table: quadratic over an import,
# so sequential scans are off here); JIT is off (its compile time, 0.4 s, dwarfed these
# statements).
FORWARD = f"""
CREATE FUNCTION events_related_refresh(ids bigint[], part int DEFAULT 0) RETURNS void
LANGUAGE plpgsql SET jit = off SET enable_seqscan = off AS $fn$
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    PERFORM set_config('conflictmap.related_refresh', 'on', true);
    IF part = 0 THEN
        UPDATE events_event e SET related = ARRAY[{", ".join(PARTS[p].replace("{id}", "e.id") for p in PARTS)}]
        WHERE e.id = ANY(ids);
    {"".join(_refresh_part(p) for p in PARTS)}
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

-- Bulk statements (BULK_ROWS rows or more) leave their events in events_related_pending; they
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
    IF cardinality(ids) >= {BULK_ROWS} THEN
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
"""

LINK_TABLES = ["events_eventactor", "events_event_sources", "events_externalid"]
for table in LINK_TABLES:
    FORWARD += f"""
CREATE TRIGGER {table}_related_ins AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS related_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_links();
CREATE TRIGGER {table}_related_upd AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS related_old NEW TABLE AS related_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_links();
CREATE TRIGGER {table}_related_del AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS related_old
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_links();
"""
FORWARD += """
CREATE TRIGGER territory_faction_related_upd AFTER UPDATE ON territory_faction
    REFERENCING OLD TABLE AS related_old NEW TABLE AS related_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_factions();
CREATE TRIGGER events_source_related_upd AFTER UPDATE ON events_source
    REFERENCING OLD TABLE AS related_old NEW TABLE AS related_new
    FOR EACH STATEMENT EXECUTE FUNCTION events_related_sources();
"""

# Backfill: every event at once, each table aggregated in one sorted pass (as the export did).
BACKFILL = """
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
"""

REVERSE_TRIGGERS = [
    ("territory_faction_related_upd", "territory_faction"),
    ("events_source_related_upd", "events_source"),
    *[(f"{t}_related_{op}", t) for t in LINK_TABLES for op in ("ins", "upd", "del")],
    ("events_related_keep", "events_event"),
]
REVERSE = "".join(
    f"DROP TRIGGER IF EXISTS {name} ON {table};\n" for name, table in REVERSE_TRIGGERS
)
REVERSE += """
DROP TABLE IF EXISTS events_related_pending;
DROP FUNCTION IF EXISTS events_related_flush_at_commit();
DROP FUNCTION IF EXISTS events_related_flush();
DROP FUNCTION IF EXISTS events_related_sources();
DROP FUNCTION IF EXISTS events_related_factions();
DROP FUNCTION IF EXISTS events_related_links();
DROP FUNCTION IF EXISTS events_related_keep();
DROP FUNCTION IF EXISTS events_related_refresh(bigint[], int);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0002_initial"),
        ("territory", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="related",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.TextField(),
                db_default=["[]", "[]", "{}"],
                editable=False,
                help_text="Maintained by the database (triggers), never by Django: the event's"
                " actors, sources and external ids as the GeoJSON export writes them (three JSON"
                " texts, see migration 0003_events_related_cache). Writes from Django are ignored.",
                size=3,
            ),
        ),
        migrations.RunSQL(FORWARD, REVERSE),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
