"""publish_static reads one snapshot of the data (its own module: the tests of test_snapshot.py
run inside a transaction that the module holds open, where this could not be seen)."""

from __future__ import annotations

import datetime as dt
import json

from conflictmap.web import snapshot


def test_a_publication_reads_one_snapshot_of_the_data(
    transactional_db, make_version, tmp_path, monkeypatch
):
    """A change committed while the command runs waits for the next run: without one REPEATABLE
    READ transaction, the dates would say a version is in force and the zones file would lack it."""
    import psycopg
    from django.db import connection

    from conflictmap.territory.models import Status

    version = make_version(valid_from=dt.date(2024, 11, 26))
    settings = connection.settings_dict
    original = snapshot.change_dates

    def dates_then_an_editor_retracts(first: dt.date, last: dt.date) -> list[dt.date]:
        found = original(first, last)
        with psycopg.connect(
            dbname=settings["NAME"],
            user=settings["USER"],
            host=settings["HOST"],
            port=settings["PORT"] or 5432,
            password=settings["PASSWORD"] or None,
            autocommit=True,
        ) as other:
            other.execute(
                "UPDATE territory_zoneversion SET status = %s WHERE id = %s",
                (Status.RETRACTED, version.pk),
            )
        return found

    monkeypatch.setattr(snapshot, "change_dates", dates_then_an_editor_retracts)
    period = {"first": dt.date(2024, 11, 26), "last": dt.date(2024, 11, 30)}
    snapshot.publish(tmp_path / "site", **period)
    zones = json.loads((tmp_path / "site/data/zones/0-6/2024-11-26.geojson").read_text())
    assert [f["properties"]["version"] for f in zones["features"]] == [version.pk]
    # The next run sees the retraction.
    monkeypatch.setattr(snapshot, "change_dates", original)
    snapshot.publish(tmp_path / "site", **period)
    zones = json.loads((tmp_path / "site/data/zones/0-6/2024-11-26.geojson").read_text())
    assert zones["features"] == []
