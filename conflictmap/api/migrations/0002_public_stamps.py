"""Public stamps: the validators a visitor gets do not move when only drafts change.

Version 1 (0001_data_stamps) moves the 'zones' stamp at every committed change of zone data,
a draft's included, and the events payloads were stamped by their history tables: an editor
saving a draft changed the ETag and Last-Modified of every visitor's zones, front lines, events,
counts and tiles, and emptied the per-process caches they are served from. This migration adds
three names to api_datastamp, moved by the same pending-then-commit mechanism:

    zones_public   only by changes a visitor can see: a zone version that is published, or was
                   before the change (publishing, editing a published version, retracting it,
                   deleting it), its sources and its zone; any change of factions or alliances;
                   any change of a source but its creation (a new source is cited by nothing)
    events         every committed change of event data (events, actors, sources, external
                   ids, factions, places): what users who see drafts are served from
    events_public  the events' twin of zones_public

The public triggers are statement-level with transition tables (one check per statement, not
per row: an import of thousands of rows pays once) and compare the rows before and after the
statement. The API picks the name by who asks (conflictmap.api.state.stamp_name).

The SQL lives in sql/data_stamps_v2*.sql beside this file, as this migration first ran it.
"""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent / "sql"
FORWARD = (SQL / "data_stamps_v2.sql").read_text(encoding="utf-8")
REVERSE = (SQL / "data_stamps_v2_reverse.sql").read_text(encoding="utf-8")


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_data_stamps"),
        ("territory", "0010_editorial_roles"),
        ("events", "0007_publish_permission"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
