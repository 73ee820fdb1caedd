"""events_tilecell: the cell pyramid that aggregated event tiles read, kept by triggers.

An aggregated tile (zoom below 9, or no time window) shows one point per cell of a 64 x 64 grid
over the tile: how many events, their known fatalities, at the mean position of its events.
Computing that from the events at each request read every event under the tile (0.4-0.8 s for
the tiles over Syria at zoom 5-8 at a million events). The table keeps the answer for every cell
of zooms 0-8, per event type and status, so such a tile reads at most 66 x 66 cells (with its
buffer) per type and status, whatever the number of events:

    (zoom, cx, cy, event_type, status) -> events, fatalities (sum of the known values),
                                           sum_x, sum_y (sums of Web Mercator coordinates)

Types and statuses stay apart so that a tile still filters by type and shows each user what they
may see (territory.models.visible, on the status column, as for the events themselves). The mean
position is sum / events, exactly what averaging the events gives.

Only the database writes it:
- statement-level AFTER triggers with transition tables on events_event (insert, update,
  delete) queue each change (+1 for a row as it is now, -1 as it was; an update only when its
  point, type, status or fatalities changed) in events_tilecell_pending: COPY (the ACLED
  import), bulk INSERTs (generate_synthetic), Django saves and deletes (admin, accepted
  candidates) all pass through them;
- a deferred constraint trigger applies a transaction's changes when it commits, in one upsert
  sorted by key (a writer locks pyramid rows only while it commits, always in the same order),
  and deletes the cells left empty; a tile read inside that still open transaction applies them
  first (events_tilecell_flush()); a rolled-back transaction leaves no trace;
- TRUNCATE of events_event empties the table.
Not followed: writes with triggers disabled. After such, `TRUNCATE events_tilecell` and the
backfill (sql/tile_cells_v1_backfill.sql) rebuild it.

The SQL lives in sql/tile_cells_v1*.sql beside this file, as this migration first ran it (the
files are versioned: they never change; a new version gets a new file and migration).
"""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent / "sql"
FORWARD = (SQL / "tile_cells_v1.sql").read_text(encoding="utf-8")
REVERSE = (SQL / "tile_cells_v1_reverse.sql").read_text(encoding="utf-8")
BACKFILL = (SQL / "tile_cells_v1_backfill.sql").read_text(encoding="utf-8")


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_events_related_cache"),
    ]

    operations = [
        migrations.RunSQL(FORWARD, REVERSE),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
