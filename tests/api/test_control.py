"""Who held each place when: /api/v1/control, /control/changes, /places/{id}/control and the
covers the database keeps, on hand-made squares with known answers (real PostGIS)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from conflictmap.events.models import Place, Source
from conflictmap.territory.models import (
    Confidence,
    PlaceCover,
    Status,
    ZoneVersion,
    new_version_from,
)
from tests.conftest import square

pytestmark = pytest.mark.django_db

NOV = dt.date(2024, 11, 1)
D29, D30 = dt.date(2024, 11, 29), dt.date(2024, 11, 30)


@pytest.fixture
def place(db):
    def make(x: float, y: float, name: str = "", **kwargs) -> Place:
        return Place.objects.create(
            name=name or f"Place {x} {y}", geom=Point(x, y, srid=4326), **kwargs
        )

    return make


def control(client, day, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in {"date": day, **params}.items())
    response = client.get(f"/api/v1/control?{query}")
    assert response.status_code == 200, response.content
    return {f["properties"]["name"]: f["properties"] for f in response.json()["features"]}


def test_a_place_changes_holder_on_the_day_the_new_version_starts(
    client, make_faction, make_version, place
):
    gov, hts = make_faction(slug="gov"), make_faction(slug="hts")
    old = make_version(faction=gov, geom=square(37.0, 36.0, 0.5), valid_from=NOV)
    new_version_from(old, D30, faction=hts)
    place(37.2, 36.2, "Aleppo")

    before = control(client, D29)["Aleppo"]
    after = control(client, D30)["Aleppo"]

    assert before["status"] == "held"
    assert before["holder"]["slug"] == "gov"
    assert before["since"] == NOV.isoformat()
    assert after["holder"]["slug"] == "hts"
    assert after["since"] == D30.isoformat()
    assert after["confidence"] == "confirmed"
    assert len(after["versions"]) == 1


def test_a_holder_keeps_its_since_across_versions_of_its_own(
    client, make_faction, make_version, place
):
    gov = make_faction(slug="gov")
    first = make_version(faction=gov, geom=square(37.0, 36.0, 0.5), valid_from=NOV)
    # The zone grows on the 20th: a new version of the same faction, the town still inside.
    new_version_from(first, dt.date(2024, 11, 20), geom=square(37.0, 36.0, 0.6))
    place(37.2, 36.2, "Aleppo")

    assert control(client, D30)["Aleppo"]["since"] == NOV.isoformat()


def test_two_factions_covering_a_place_make_it_contested_until_one_leaves(
    client, make_faction, make_version, place
):
    gov, sdf = make_faction(slug="gov"), make_faction(slug="sdf")
    make_version(faction=gov, geom=square(38.0, 36.0, 0.5), valid_from=NOV)
    make_version(
        faction=sdf,
        geom=square(38.1, 36.1, 0.5),
        valid_from=dt.date(2024, 11, 10),
        valid_to=dt.date(2024, 11, 25),
    )
    place(38.2, 36.2, "Manbij")

    contested = control(client, dt.date(2024, 11, 20))["Manbij"]
    assert contested["status"] == "contested"
    assert contested["holder"] is None
    assert [f["slug"] for f in contested["factions"]] == ["gov", "sdf"]
    assert contested["confidence"] == "contested"
    assert contested["since"] == "2024-11-10"

    # Held by the government again from the day the SDF's version ended.
    held = control(client, D30)["Manbij"]
    assert held["status"] == "held"
    assert held["holder"]["slug"] == "gov"
    assert held["since"] == "2024-11-25"


def test_a_version_marked_contested_makes_its_place_contested_with_one_holder(
    client, make_version, place
):
    v = make_version(geom=square(38.0, 35.0, 0.5), confidence=Confidence.CONTESTED)
    place(38.2, 35.2, "Raqqa")

    found = control(client, D30)["Raqqa"]
    assert found["status"] == "held"
    assert found["holder"]["slug"] == v.faction.slug
    assert found["confidence"] == "contested"


def test_a_place_outside_every_zone_is_unknown_and_says_since_when(client, make_version, place):
    make_version(geom=square(39.0, 35.0, 0.5), valid_from=NOV, valid_to=dt.date(2024, 11, 15))
    place(39.2, 35.2, "Left behind")
    place(41.0, 33.0, "Desert")

    found = control(client, D30)
    assert found["Left behind"]["status"] == "unknown"
    assert found["Left behind"]["holder"] is None
    assert found["Left behind"]["confidence"] is None
    assert found["Left behind"]["since"] == "2024-11-15"
    assert found["Desert"]["status"] == "unknown"
    assert found["Desert"]["since"] is None


def test_drafts_never_reach_anonymous_users_but_staff_see_them(
    client, admin_client, make_version, place
):
    make_version(geom=square(36.0, 34.0, 0.5), status=Status.DRAFT)
    place(36.2, 34.2, "Homs")

    assert control(client, D30)["Homs"]["status"] == "unknown"
    assert control(client, D30)["Homs"]["versions"] == []
    assert control(admin_client, D30)["Homs"]["status"] == "held"
    response = client.get(f"/api/v1/control?date={D30}&format=csv")
    assert b"draft" not in response.getvalue() and b",held," not in response.getvalue()


def test_a_retracted_version_holds_nothing_even_for_staff(
    client, admin_client, make_version, place
):
    make_version(geom=square(36.0, 34.0, 0.5), status=Status.RETRACTED)
    homs = place(36.2, 34.2, "Homs")

    for user in (client, admin_client):
        assert control(user, D30)["Homs"]["status"] == "unknown"
        assert user.get(f"/api/v1/places/{homs.pk}/control").json()["periods"] == []


def test_bbox_limits_the_places_and_csv_has_the_same_answer(
    client, make_faction, make_version, place
):
    gov = make_faction(slug="gov")
    make_version(faction=gov, geom=square(37.0, 36.0, 0.5))
    place(37.2, 36.2, "Aleppo", name_ar="حلب")
    place(40.0, 33.0, "Far")

    assert list(control(client, D30, bbox="36.5,35.5,37.8,36.8")) == ["Aleppo"]

    response = client.get(f"/api/v1/control?date={D30}&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    by_name = {r["name"]: r for r in rows}
    assert by_name["Aleppo"]["holder"] == "gov"
    assert by_name["Aleppo"]["name_ar"] == "حلب"
    assert by_name["Aleppo"]["status"] == "held"
    assert by_name["Far"]["status"] == "unknown"
    assert by_name["Far"]["holder"] == ""


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("", "date"),
        ("date=2024-13-01", "date"),
        ("date=2024-11-30&bbox=1,2,3", "bbox"),
        ("date=2024-11-30&bbox=40,30,36,37", "bbox"),
        ("date=2024-11-30&format=xml", "format"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(client, query, parameter):
    response = client.get(f"/api/v1/control?{query}")
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter


def test_a_place_timeline_lists_its_periods_with_sources(client, make_faction, make_version, place):
    gov, hts = make_faction(slug="gov", name="Government"), make_faction(slug="hts", name="HTS")
    old = make_version(faction=gov, geom=square(37.0, 36.0, 0.5), valid_from=NOV)
    src = Source.objects.create(url="https://example.org/aleppo", title="Aleppo falls")
    new_version_from(old, D30, faction=hts, sources=[src])
    aleppo = place(37.2, 36.2, "Aleppo")

    response = client.get(f"/api/v1/places/{aleppo.pk}/control")
    assert response.status_code == 200
    data = response.json()
    assert data["place"]["name"] == "Aleppo"
    periods = [(p["from"], p["to"], p["holder"]["slug"]) for p in data["periods"]]
    assert periods == [("2024-11-01", "2024-11-30", "gov"), ("2024-11-30", None, "hts")]
    assert [s["url"] for s in data["periods"][1]["sources"]] == ["https://example.org/aleppo"]
    assert data["periods"][1]["confidence"] == "confirmed"


def test_a_place_timeline_shows_contested_and_unknown_stretches(
    client, make_faction, make_version, place
):
    gov, sdf = make_faction(slug="gov"), make_faction(slug="sdf")
    make_version(faction=gov, geom=square(38.0, 36.0, 0.5), valid_from=NOV, valid_to=D29)
    make_version(
        faction=sdf,
        geom=square(38.1, 36.1, 0.5),
        valid_from=dt.date(2024, 11, 10),
        valid_to=dt.date(2024, 11, 20),
    )
    manbij = place(38.2, 36.2, "Manbij")

    data = client.get(f"/api/v1/places/{manbij.pk}/control").json()
    periods = [(p["from"], p["to"], p["status"]) for p in data["periods"]]
    assert periods == [
        ("2024-11-01", "2024-11-10", "held"),
        ("2024-11-10", "2024-11-20", "contested"),
        ("2024-11-20", "2024-11-29", "held"),
        ("2024-11-29", None, "unknown"),
    ]
    # The control at a date agrees with the timeline's period containing it.
    assert control(client, dt.date(2024, 11, 25))["Manbij"]["since"] == "2024-11-20"


def test_a_place_timeline_hides_drafts_from_anonymous_users(
    client, admin_client, make_version, place
):
    make_version(geom=square(36.0, 34.0, 0.5), status=Status.DRAFT)
    homs = place(36.2, 34.2, "Homs")

    assert client.get(f"/api/v1/places/{homs.pk}/control").json()["periods"] == []
    assert len(admin_client.get(f"/api/v1/places/{homs.pk}/control").json()["periods"]) == 1


def test_an_unknown_place_is_a_404_and_a_bad_id_a_400(client):
    response = client.get("/api/v1/places/999999/control")
    assert response.status_code == 404
    assert "999999" in response.json()["error"]
    assert client.get("/api/v1/places/0/control").status_code == 400


def test_control_changes_lists_only_the_places_that_changed_hands(
    client, make_faction, make_version, place
):
    gov, hts = make_faction(slug="gov"), make_faction(slug="hts")
    old = make_version(faction=gov, geom=square(37.0, 36.0, 0.5), valid_from=NOV)
    new_version_from(old, D30, faction=hts)
    make_version(faction=gov, geom=square(36.0, 33.0, 0.5), valid_from=NOV)
    place(37.2, 36.2, "Aleppo")
    place(36.2, 33.2, "Damascus")

    response = client.get(f"/api/v1/control/changes?from={D29}&to={D30}")
    assert response.status_code == 200
    data = response.json()
    assert data["from"] == D29.isoformat()
    (feature,) = data["features"]
    p = feature["properties"]
    assert p["name"] == "Aleppo"
    assert p["before"]["holder"]["slug"] == "gov"
    assert p["after"]["holder"]["slug"] == "hts"
    assert client.get(f"/api/v1/control/changes?from={D30}&to={D29}").status_code == 400


def test_the_covers_follow_versions_and_places_as_they_are_written(
    make_faction, make_version, place
):
    gov = make_faction()
    v = make_version(faction=gov, geom=square(37.0, 36.0, 0.5), status=Status.DRAFT)
    town = place(37.2, 36.2)

    def covers():
        return list(PlaceCover.objects.values_list("place_id", "version_id", "status"))

    assert covers() == [(town.pk, v.pk, "draft")]
    v.status = Status.PUBLISHED
    v.save()
    assert covers() == [(town.pk, v.pk, "published")]
    v.geom = square(39.0, 36.0, 0.5)  # the zone moves away from the town
    v.save()
    assert covers() == []
    town.geom = Point(39.2, 36.2, srid=4326)  # and the town follows it
    town.save()
    assert covers() == [(town.pk, v.pk, "published")]
    with connection.cursor() as cursor:  # raw SQL passes through the triggers too
        cursor.execute("UPDATE territory_zoneversion SET valid_to = %s", [D30])
    assert PlaceCover.objects.get().period.upper == D30
    v.delete()
    assert covers() == []


def test_the_covers_follow_statements_that_write_many_versions_at_once(
    make_faction, make_zone, make_version, place
):
    """The covers are kept once per statement (migration territory/0012): after one INSERT of
    several versions, one UPDATE that reshapes some and only publishes others, and one DELETE of
    several, they are exactly what a spatial join of every version with every place gives."""
    gov, hts = make_faction(), make_faction()
    towns = [place(37.0 + 0.5 * i + 0.2, 36.2) for i in range(4)]  # one in each square
    first = make_version(faction=gov, geom=square(37.0, 36.0, 0.5), valid_from=NOV, valid_to=D30)
    many = ZoneVersion.objects.bulk_create(
        [ZoneVersion(zone=first.zone, faction=hts, geom=square(37.0 + 0.5 * i, 36.0, 0.5),
                     valid_from=D29 + dt.timedelta(days=i), valid_to=D29 + dt.timedelta(days=i + 1))
         for i in (1, 2, 3)] + [ZoneVersion(zone=make_zone(), faction=hts,
                                             geom=square(37.0, 36.0, 2.0), valid_from=NOV)]
    )  # fmt: skip

    def covers():
        return sorted(PlaceCover.objects.values_list("place_id", "version_id", "faction_id",
                                                     "period", "status", "confidence"))  # fmt: skip

    def recomputed():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT p.id, v.id, v.faction_id, v.period, v.status, v.confidence"
                " FROM territory_zoneversion v JOIN events_place p"
                " ON p.geom && v.geom AND ST_Intersects(v.geom, p.geom)"
            )
            return sorted(cursor.fetchall())

    assert covers() == recomputed() and len(covers()) == 1 + 3 + 4
    with connection.cursor() as cursor:  # one statement: two reshaped, the others published
        cursor.execute(
            "UPDATE territory_zoneversion SET"
            " geom = CASE WHEN id = ANY(%(moved)s)"
            "   THEN ST_Multi(ST_Translate(geom, 5, 0)) ELSE geom END,"
            " status = 'published', valid_to = COALESCE(valid_to, %(end)s)",
            {"moved": [many[0].pk, many[3].pk], "end": dt.date(2025, 1, 1)},
        )
    assert covers() == recomputed() and len(covers()) == 3  # the moved ones cover nothing
    assert {c[4] for c in covers()} == {"published"}
    ZoneVersion.objects.filter(pk__in=[first.pk, many[1].pk]).delete()
    assert covers() == recomputed() == sorted(
        (towns[3].pk, many[2].pk, hts.pk, c[3], "published", "confirmed") for c in covers()
    )  # fmt: skip


def test_the_schema_documents_the_control_endpoints_and_their_errors(client):
    paths = client.get("/api/schema/").json()["paths"]
    assert "text/csv" in paths["/api/v1/control"]["get"]["responses"]["200"]["content"]
    assert "404" in paths["/api/v1/places/{id}/control"]["get"]["responses"]
    assert "/api/v1/control/changes" in paths
    assert "403" in paths["/api/v1/quality"]["get"]["responses"]


def test_since_is_where_the_place_timeline_period_begins_on_synthetic_data(client):
    """On generated zones that change hands every few months (random factions, overlapping
    neighbours), the control at a date and each place's timeline agree: same status, and
    `since` is the `from` of the period containing the date."""
    import random

    from django.core.management import call_command

    call_command("generate_synthetic", zones=12, versions=150, stdout=io.StringIO())
    rng = random.Random(5)
    for i in range(60):
        Place.objects.create(
            name=f"SYNTHETIC place {i}",
            geom=Point(rng.uniform(35.7, 42.4), rng.uniform(32.3, 37.3), srid=4326),
        )
    for day in ("2012-06-01", "2016-02-29", "2024-12-01"):
        for p in control(client, day).values():
            periods = client.get(f"/api/v1/places/{p['id']}/control").json()["periods"]
            now = [x for x in periods if x["from"] <= day and (x["to"] is None or day < x["to"])]
            if now:
                assert (p["status"], p["since"]) == (now[0]["status"], now[0]["from"]), p
            else:  # before the first cover, or never covered
                assert (p["status"], p["since"]) == ("unknown", None), p


def test_control_at_a_date_reads_the_covers_through_their_indexes(
    make_faction, make_version, place
):
    """Its plan, with sequential scans priced out (the test tables are too small for the planner
    to prefer an index on its own): territory_placecover is read through the indexes made for
    it (the covers in force, a holder's covers of a place, the ends of a place's covers), never
    by a scan of every cover up to the day."""
    from conflictmap.territory.control import control_at

    gov, hts = make_faction(slug="gov"), make_faction(slug="hts")
    old = make_version(faction=gov, geom=square(37.0, 36.0, 0.5), valid_from=NOV)
    new_version_from(old, D30, faction=hts)
    place(37.2, 36.2, "Aleppo")
    place(38.2, 36.2, "Outside")
    query = control_at(D30)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + query.sql, query.params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on territory_placecover" not in plan, plan
    for index in ("placecover_period", "placecover_place", "placecover_place_end"):
        assert re.search(rf"\b(using|on) {index}\b", plan), (index, plan)
