"""api_datastamp: a version per kind of data that the database moves at every commit changing it.

The API's caches (the map state per process, ETags) are keyed by a stamp of the data they were
made from. The stamp of the zone payloads used to be the latest history record of four tables
plus a count and max(updated_at) of the zone versions: a sequential scan of the versions on
every request (0.5-1 ms at 5,000 versions, growing with them), and blind to raw SQL updates that
leave updated_at alone. Now it is one row, api_datastamp 'zones', read by primary key in the
same query as the versions in force:

    name 'zones' -> version (moved by one per committed transaction that changed zone data),
                    changed_at (when that transaction committed)

Statement-level triggers on territory_zoneversion, its sources, territory_zone,
territory_faction, its backed_by and events_source (insert, update, delete, truncate) queue the
name; a deferred constraint trigger moves the stamp when the transaction commits, so readers see
the new stamp together with the new data (never before it), a writer holds the stamp's row lock
only while it commits, and a rolled-back transaction moves nothing. Every writer is covered:
Django saves, imports in bulk, raw SQL.

The SQL lives in sql/data_stamps_v1*.sql beside this file, as this migration first ran it.
"""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent / "sql"
FORWARD = (SQL / "data_stamps_v1.sql").read_text(encoding="utf-8")
REVERSE = (SQL / "data_stamps_v1_reverse.sql").read_text(encoding="utf-8")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("territory", "0003_zoneversion_period"),
        ("events", "0002_initial"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
