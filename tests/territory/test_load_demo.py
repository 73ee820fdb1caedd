"""`load_demo` is idempotent: a second run changes nothing and writes no history."""

from __future__ import annotations

import json
import time

import pytest
from django.apps import apps
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    labels = ["territory", "events"]
    return {
        m._meta.label: m.objects.count() for m in apps.get_models() if m._meta.app_label in labels
    }


def test_running_load_demo_twice_changes_nothing_and_adds_no_history(capsys):
    started = time.monotonic()
    call_command("load_demo")
    first_seconds = time.monotonic() - started
    first = json.loads(capsys.readouterr().out)
    assert first["counts"]["zoneversion.created"] >= 30
    counts = row_counts()

    call_command("load_demo")
    second = json.loads(capsys.readouterr().out)

    assert row_counts() == counts
    assert all(key.endswith(".unchanged") for key in second["counts"]), second["counts"]
    assert first_seconds < 20


def test_load_demo_writes_nothing_when_the_demo_data_is_broken(monkeypatch, tmp_path):
    from django.core.management.base import CommandError

    from conflictmap.events.models import Place
    from conflictmap.territory.demo import loader
    from conflictmap.territory.models import Faction

    bad = tmp_path / "demo"
    bad.mkdir()
    for path in loader.DEMO_DIR.iterdir():
        (bad / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    events = json.loads((bad / "events.json").read_text(encoding="utf-8"))
    events["events"][0]["place"] = "Atlantis"
    (bad / "events.json").write_text(json.dumps(events), encoding="utf-8")
    monkeypatch.setattr(loader, "DEMO_DIR", bad)

    with pytest.raises(CommandError, match="unknown place 'Atlantis'"):
        call_command("load_demo")
    assert Faction.objects.count() == 0 and Place.objects.count() == 0


def test_load_demo_leaves_zones_alone_that_editors_gave_new_versions(capsys):
    import datetime as dt

    from conflictmap.territory.models import ZoneVersion, new_version_from

    call_command("load_demo")
    capsys.readouterr()
    last = ZoneVersion.objects.get(zone__slug="manbij-pocket", valid_to__isnull=True)
    new_version_from(last, dt.date(2024, 12, 20), confidence="claimed")

    call_command("load_demo")
    summary = json.loads(capsys.readouterr().out)

    assert summary["counts"]["zoneversion.kept-edited"] == 1
    manbij = ZoneVersion.objects.filter(zone__slug="manbij-pocket").order_by("valid_from")
    assert [v.valid_to for v in manbij][-2:] == [dt.date(2024, 12, 20), None]


@pytest.mark.django_db
def test_load_demo_adopts_a_faction_an_import_created_under_the_same_name():
    from conflictmap.territory.demo import load_demo
    from conflictmap.territory.models import Faction

    met = Faction.objects.create(
        name="Civilians (Syria)", slug="civilians-syria", needs_review=True
    )
    load_demo()
    met.refresh_from_db()
    assert Faction.objects.filter(name="Civilians (Syria)").count() == 1
    assert (met.slug, met.needs_review) == ("civilians", False)
