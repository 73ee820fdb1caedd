"""events_daycount and events_dayfaction: events per day that /stats/events sums, kept by
triggers.

/stats/events counted the events of its window at each request: a pass over a million events
for a window of all the years (0.6-0.7 s by type, 3.5-4.5 s by actor, which joins each event's
actors). These tables keep the answer per day, so a series sums at most one row per day, type
(or faction) and status, whatever the number of events:

    (day, event_type, status) -> events
    (day, faction_id, status) -> events (an event counts once per faction among its actors)

Statuses stay apart so that each user is shown what they may see (territory.models.visible, on
the status column, as for the events themselves).

Only the database writes them, as for events_tilecell (migration 0004):
- statement-level AFTER triggers with transition tables on events_event (insert, update,
  delete; an update only when its date, type or status changed) and on events_eventactor
  (insert, update, delete) queue each change in events_daycount_pending. An (event, faction)
  pair counts while the event exists and has at least one actor row of that faction: each
  table's trigger looks the other table up as it is, so actors written before or after their
  event (the foreign keys are deferred), or deleted before or after it, count once;
- a deferred constraint trigger applies a transaction's changes when it commits, in one upsert
  per table sorted by key, and deletes the days left empty; a read inside that still open
  transaction applies them first (events_daycount_flush()); a rolled-back transaction leaves
  no trace;
- TRUNCATE of events_event empties both tables, of events_eventactor the faction counts.
Not followed: writes with triggers disabled. After such, `TRUNCATE events_daycount,
events_dayfaction` and the backfill (sql/day_counts_v1_backfill.sql) rebuild them.

The SQL lives in sql/day_counts_v1*.sql beside this file, as this migration first ran it (the
files are versioned: they never change; a new version gets a new file and migration).
"""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent / "sql"
FORWARD = (SQL / "day_counts_v1.sql").read_text(encoding="utf-8")
REVERSE = (SQL / "day_counts_v1_reverse.sql").read_text(encoding="utf-8")
BACKFILL = (SQL / "day_counts_v1_backfill.sql").read_text(encoding="utf-8")


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0007_publish_permission"),
    ]

    operations = [
        migrations.RunSQL(FORWARD, REVERSE),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
