"""export_geojson and generate_synthetic: GDAL opens every export; memory stays flat."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from conflictmap.events.models import Event
from conflictmap.territory.models import Zone, ZoneVersion, new_version_from
from tests.conftest import square

ROOT = Path(__file__).resolve().parents[2]
D = dt.date(2024, 12, 1)


@pytest.fixture
def territory(make_version, make_faction, make_event):
    a, b = make_faction(), make_faction()
    va = make_version(faction=a, geom=square(36.0, 35.0, 0.1))
    make_version(faction=b, geom=square(36.1, 35.0, 0.1))
    new_version_from(va, D + dt.timedelta(days=5), geom=square(36.0, 35.0, 0.2))
    make_event()


@pytest.mark.parametrize(
    ("kind", "args", "geometry"),
    [
        ("events", [], "Point"),
        ("zones", ["--date", "2024-12-01"], "Multi Polygon"),
        ("zones", ["--from", "2024-12-01", "--to", "2024-12-31"], "Multi Polygon"),
        ("frontlines", ["--date", "2024-12-01"], "Multi Line String"),
        ("changes", ["--from", "2024-12-01", "--to", "2024-12-10"], "Multi Polygon"),
    ],
)
def test_gdal_opens_every_kind_of_export(territory, tmp_path, kind, args, geometry):
    out = tmp_path / f"{kind}.geojson"

    call_command("export_geojson", kind, *args, "-o", str(out))

    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(out)], capture_output=True, text=True, check=True
    ).stdout
    assert f"Geometry: {geometry}" in info
    count = json.loads(out.read_text())["count"]
    assert count > 0
    assert f"Feature Count: {count}" in info


def test_export_rejects_a_bad_date_naming_the_option(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--date"):
        call_command("export_geojson", "zones", "--date", "1 Dec 2024")
    with pytest.raises(CommandError, match="--from"):
        call_command("export_geojson", "changes", "--from", "2024-12-05", "--to", "2024-12-01")


def test_generate_synthetic_marks_everything_it_makes(db):
    call_command("generate_synthetic", "--events", "300", "--zones", "4", "--versions", "10")

    assert Event.objects.count() == 300
    assert not Event.objects.filter(synthetic=False).exists()
    assert not Event.objects.exclude(sources__title__startswith="SYNTHETIC").exists()
    assert not Event.objects.filter(event_actors__isnull=True).exists()
    assert Zone.objects.count() == 4
    assert not Zone.objects.exclude(name__startswith="SYNTHETIC").exists()
    versions = ZoneVersion.objects.all()
    assert versions.count() == 10
    assert not versions.filter(sources__isnull=True).exists()
    assert versions.filter(valid_to__isnull=True).count() == 4  # the last of each zone is open


def _run_export(args: list[str], out: Path) -> int:
    """Run export_geojson in a child process; return its peak RSS in kB (from wait4)."""
    settings = connection.settings_dict
    url = (
        f"postgis://{settings['USER']}:{settings['PASSWORD'] or ''}@{settings['HOST']}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": url}
    cmd = [sys.executable, "manage.py", "export_geojson", "events", *args, "-o", str(out)]
    child = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, child.stderr.read()
    child.stderr.close()
    return usage.ru_maxrss


@pytest.mark.django_db(transaction=True)
def test_an_export_of_100k_events_streams_with_flat_memory(tmp_path):
    call_command("generate_synthetic", "--events", "100000")
    empty, full = tmp_path / "empty.geojson", tmp_path / "all.geojson"
    one_connection = tmp_path / "one.geojson"

    idle_kb = _run_export(["--from", "1900-01-01", "--to", "1900-01-01"], empty)
    peak_kb = _run_export([], full)  # two connections, the second half spooled to a file
    _run_export(["--jobs", "1"], one_connection)

    # The output is ~70 MB; a process that held it would grow by that much. An idle Django
    # process with GDAL and psycopg loaded is already ~95 MB here, so the bound is on growth.
    assert full.stat().st_size > 50_000_000
    assert peak_kb - idle_kb < 20_000, (idle_kb, peak_kb)
    with full.open("rb") as f:
        f.seek(-60, os.SEEK_END)
        assert f.read().endswith(b'],"count":100000,"complete":true}\n')
    assert json.loads(empty.read_text())["count"] == 0
    assert full.read_bytes() == one_connection.read_bytes()
