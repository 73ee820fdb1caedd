"""The database code in conflictmap/events/migrations/sql/ is versioned: a file a migration has
run never changes (databases migrated before the change would differ from those migrated after);
a new version is a new file read by a new migration."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

SQL = Path(__file__).resolve().parents[2] / "conflictmap" / "events" / "migrations" / "sql"

# sha256 of each file
RUN_BY_MIGRATIONS = {
    "day_counts_v1.sql": "e13caf18cdb0b457a3ad717ac68137bdd3bf9119d9fedec69770e5a83c752b25",
    "day_counts_v1_reverse.sql": (
        "b9245bb0ef7ce8ebb374c820a0ffcd79d9a3a0621afc537fc2cbe39ca6e81904"
    ),
    "day_counts_v1_backfill.sql": (
        "352e0e6fbe33494dd706d1ef36453758097517f09ac83d597b0ba8d9f0fd7f65"
    ),
    "related_cache_v1.sql": "5a342543f1c951176d659070c21bf97d190e01d2ecd850e4fd2cb7679a62b68e",
    "related_cache_v1_reverse.sql": (
        "cae80b149cd9726d56a8b5c4c7f79bd8cf5c61c53b2bc31ea2177b45084212ef"
    ),
    "related_cache_v1_backfill.sql": (
        "8b3d413c930d6249654328e48bba4c509430c34e3cd0987e030949238b1d207b"
    ),
    "tile_cells_v1.sql": "45d5ec23e4a43d7b6cec76c3468ed3371ae919dd6d0375e19f19eb50e6bd3952",
    "tile_cells_v1_reverse.sql": (
        "7d40b8e87302ce022ea971271f35f8b3dacf6b35228721762ad94d0368b3e3cc"
    ),
    "tile_cells_v1_backfill.sql": (
        "6a927923fd4a1baa7667460b1031ac4c323274785b0552ab2fb88e934b44c5a9"
    ),
}


@pytest.mark.parametrize("name", sorted(RUN_BY_MIGRATIONS))
def test_a_sql_file_a_migration_ran_is_unchanged(name):
    digest = hashlib.sha256((SQL / name).read_bytes()).hexdigest()
    assert digest == RUN_BY_MIGRATIONS[name], f"{name} changed: put the change in a new version"


def test_every_sql_file_is_pinned():
    assert {p.name for p in SQL.glob("*.sql")} == set(RUN_BY_MIGRATIONS)
