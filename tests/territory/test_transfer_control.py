"""Move the front, then ask who held the place: the control endpoints follow a move (the
database keeps the place covers as the engine writes versions) and its revert."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point

from conflictmap.events.models import Place
from conflictmap.territory.transfer import Move, apply, revert

from .test_transfer import BEFORE, DAY, box

pytestmark = pytest.mark.django_db


def holder(client, place: Place, day: dt.date) -> tuple[str | None, str | None]:
    response = client.get(f"/api/v1/control?date={day}&bbox=35,34,38,36")
    assert response.status_code == 200
    (p,) = [f["properties"] for f in response.json()["features"] if f["id"] == place.pk]
    return (p["holder"] or {}).get("slug"), p["since"]


def test_the_control_shows_a_moved_place_from_the_day_of_the_move_and_a_revert_undoes_it(
    admin_client, make_faction, make_version
):
    gov, hts = make_faction(slug="gov"), make_faction(slug="hts")
    make_version(faction=gov, geom=box(36.0, 35.0, 36.5, 35.5), valid_from=BEFORE)
    make_version(faction=hts, geom=box(36.5, 35.0, 37.0, 35.5), valid_from=BEFORE)
    saraqib = Place.objects.create(name="Saraqib", geom=Point(36.55, 35.25, srid=4326))

    outcome = apply(Move(gov, DAY, places=[saraqib], sources=["https://x.test/saraqib"]))

    # Drafts: the staff client sees them.
    assert holder(admin_client, saraqib, DAY - dt.timedelta(days=1)) == ("hts", "2024-11-26")
    assert holder(admin_client, saraqib, DAY) == ("gov", DAY.isoformat())
    periods = admin_client.get(f"/api/v1/places/{saraqib.pk}/control").json()["periods"]
    assert [(p["from"], p["holder"]["slug"]) for p in periods] == [
        ("2024-11-26", "hts"),
        (DAY.isoformat(), "gov"),
    ]
    assert "https://x.test/saraqib" in [s["url"] for s in periods[1]["sources"]]
    changes = admin_client.get(f"/api/v1/control/changes?from={BEFORE}&to={DAY}").json()
    assert [f["id"] for f in changes["features"]] == [saraqib.pk]

    revert(outcome.move, reason="wrong town")
    assert holder(admin_client, saraqib, DAY) == ("hts", "2024-11-26")
