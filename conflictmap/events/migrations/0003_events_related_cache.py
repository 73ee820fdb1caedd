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
  a statement of 500 rows or more (an import batch) only queues its events, recomputed at
  commit in one UPDATE each (see events_related_pending in the SQL);
- a BEFORE UPDATE OF related trigger on events_event keeps the old value unless the refresh
  function is the writer, so a Django save() of an event loaded before its actors changed
  cannot put a stale value back.
TRUNCATE of the related tables is not followed; after raw changes that bypass the triggers,
`SELECT events_related_refresh(ARRAY(SELECT id FROM events_event))` recomputes everything.

The SQL lives in sql/related_cache_v1*.sql beside this file, as this migration first ran it
(the files are versioned: they never change; a new version gets a new file and migration).
"""

from pathlib import Path

import django.contrib.postgres.fields
from django.db import migrations, models

SQL = Path(__file__).resolve().parent / "sql"
FORWARD = (SQL / "related_cache_v1.sql").read_text(encoding="utf-8")
REVERSE = (SQL / "related_cache_v1_reverse.sql").read_text(encoding="utf-8")
BACKFILL = (SQL / "related_cache_v1_backfill.sql").read_text(encoding="utf-8")


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
