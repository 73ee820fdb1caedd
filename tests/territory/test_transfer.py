"""Move the front (conflictmap.territory.transfer) in real PostGIS: by places, by area, by line;
the taker gains exactly what the loser loses, no overlap is left, the front line moves; refusals
change nothing; the same move twice changes nothing; a revert restores both sides."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from django.db import connection

from conflictmap.events.models import Place
from conflictmap.territory.models import Confidence, FrontMove, Status, ZoneVersion
from conflictmap.territory.queries import frontlines_at
from conflictmap.territory.transfer import Move, TransferRefused, apply, plan, revert

D = dt.date
BEFORE = D(2024, 11, 26)
DAY = D(2024, 12, 1)


def box(w: float, s: float, e: float, n: float) -> MultiPolygon:
    return MultiPolygon(Polygon(((w, s), (e, s), (e, n), (w, n), (w, s))), srid=4326)


@pytest.fixture
def front(db, make_faction, make_version):
    """Government holds 36.0-36.5 E, HTS 36.5-37.0 E (35.0-35.5 N), sharing the edge 36.5 E;
    towns in both."""
    gov = make_faction(name="Government", slug="gov", short_name="Gov")
    hts = make_faction(name="HTS", slug="hts")
    g = make_version(faction=gov, geom=box(36.0, 35.0, 36.5, 35.5), valid_from=BEFORE)
    h = make_version(faction=hts, geom=box(36.5, 35.0, 37.0, 35.5), valid_from=BEFORE)
    places = {
        name: Place.objects.create(name=name, geom=Point(x, y, srid=4326), population=pop)
        for name, x, y, pop in [
            ("Saraqib", 36.55, 35.25, 30000),
            ("Afis", 36.60, 35.32, 3000),
            ("Sarmin", 36.72, 35.25, 14000),
            ("Binnish", 36.90, 35.40, 20000),
            ("Hama", 36.20, 35.20, 800000),
            ("Desert", 38.00, 35.20, None),
        ]
    }
    return {"gov": gov, "hts": hts, "g": g, "h": h, **places}


def in_force(day: dt.date) -> dict[str, float]:
    """km² per faction slug on `day` (the versions in force, drafts included)."""
    out: dict[str, float] = {}
    for v in ZoneVersion.objects.at(day).select_related("faction"):
        out[v.faction.slug] = out.get(v.faction.slug, 0.0) + v.area_km2
    return out


def overlap_m2(day: dt.date) -> float:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0)"
            " FROM territory_zoneversion a JOIN territory_zoneversion b"
            " ON a.id < b.id AND a.faction_id <> b.faction_id AND a.geom && b.geom"
            " WHERE a.period @> %(d)s::date AND b.period @> %(d)s::date",
            {"d": day},
        )
        return cursor.fetchone()[0]


def front_lines(day: dt.date) -> list[dict]:
    query = frontlines_at(day, staff=True)
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.params)
        return [json.loads(r[0]) for r in cursor.fetchall()]


def east_edge(features: list[dict]) -> float:
    return max(c[0] for f in features for line in f["geometry"]["coordinates"] for c in line)


def state() -> list[tuple]:
    return sorted(
        (v.pk, v.zone_id, v.faction_id, v.valid_from, v.valid_to, v.status, v.geom.hexewkb)
        for v in ZoneVersion.objects.all()
    )


def assert_balanced(before: dict[str, float], after: dict[str, float], taker: str, loser: str):
    gained = after[taker] - before[taker]
    lost = before[loser] - after.get(loser, 0.0)
    assert gained > 0
    assert abs(gained - lost) <= 0.001 * lost, (gained, lost)


def test_a_move_by_places_gives_the_taker_exactly_the_ground_the_loser_loses(front):
    before = in_force(DAY)
    front_before = front_lines(DAY)
    outcome = apply(
        Move(
            front["gov"], DAY, places=[front["Saraqib"]], radius_km=5, sources=["https://x.test/1"]
        )
    )
    after = in_force(DAY)
    assert_balanced(before, after, "gov", "hts")
    # A disc of 5 km, cut at the edge 4.5 km west of the town and by Afis's cell: < 78.5 km².
    summary = outcome.summary()
    assert 20 < summary["moved_km2"] < 78.6
    assert summary["from"][0]["faction"] == "hts"
    assert abs(summary["from"][0]["km2"] - (after["gov"] - before["gov"])) < 0.01
    assert [p["name"] for p in summary["places"]] == ["Saraqib"]
    assert summary["places"][0]["from"] == ["hts"]
    assert summary["extended"] == [front["g"].zone.slug] and not summary["new_zone"]
    assert len(summary["closed"]) == 2 and len(summary["opened"]) == 2
    assert overlap_m2(DAY) < 1
    # The day before nothing moved; from the day on, the front bulges east of 36.5 E.
    assert in_force(DAY - dt.timedelta(days=1)) == before
    assert east_edge(front_before) == pytest.approx(36.5)
    assert east_edge(front_lines(DAY)) > 36.54
    # Every new version: draft, the source, the reason in its history.
    for v in ZoneVersion.objects.filter(pk__in=summary["opened"]):
        assert v.status == Status.DRAFT
        assert [s.url for s in v.sources.all()] == ["https://x.test/1"]
        assert v.history.latest().history_change_reason == "Government took Saraqib on 2024-12-01"


def test_the_cell_of_a_place_stops_half_way_to_its_neighbour(front):
    outcome = apply(Move(front["gov"], DAY, places=[front["Sarmin"]], radius_km=20))
    ground = FrontMove.objects.get(pk=outcome.move.pk).ground
    # Saraqib (36.55) and Sarmin (36.72) split the land between them at ~36.635 E.
    assert ground.extent[0] == pytest.approx(36.635, abs=0.003)
    assert "Saraqib" not in [p["name"] for p in outcome.summary()["places"]]
    # Not adjacent to the government's zone: a new zone holds it.
    assert outcome.summary()["new_zone"]


def test_a_move_by_area_cuts_only_what_the_loser_holds(front):
    before = in_force(DAY)
    outcome = apply(
        Move(
            front["gov"],
            DAY,
            area=box(36.45, 35.1, 36.6, 35.3).buffer(0),
            publish=True,
            sources=["https://example.org/a"],
        )
    )
    after = in_force(DAY)
    assert_balanced(before, after, "gov", "hts")
    # 0.1° x 0.2° on the loser's side of the edge, at ~35.2 N.
    assert outcome.summary()["moved_km2"] == pytest.approx(9.09 * 22.2, rel=0.01)
    assert overlap_m2(DAY) < 1
    assert {v.status for v in ZoneVersion.objects.at(DAY)} == {Status.PUBLISHED}


def test_a_move_by_line_gives_the_side_toward_the_taker(front):
    before = in_force(DAY)
    outcome = apply(Move(front["gov"], DAY, line=LineString((36.7, 34.9), (36.7, 35.6), srid=4326)))
    after = in_force(DAY)
    assert_balanced(before, after, "gov", "hts")
    assert after["hts"] == pytest.approx(before["hts"] * 0.6, rel=0.005)
    names = {p["name"] for p in outcome.summary()["places"]}
    assert names == {"Saraqib", "Afis"}
    assert overlap_m2(DAY) < 1
    assert east_edge(front_lines(DAY)) == pytest.approx(36.7)


@pytest.mark.parametrize(
    "line, message",
    [
        ([(36.7, 35.2), (36.7, 35.6)], "does not cross HTS"),
        ([(36.4, 35.25), (37.1, 35.25)], "Every side of the line"),
        ([(38.0, 34.0), (38.0, 35.0)], "crosses no zone"),
    ],
)
def test_an_ambiguous_line_is_refused(front, line, message):
    before = state()
    front["h"].zone.name = "HTS zone"
    front["h"].zone.save()
    with pytest.raises(TransferRefused, match=message):
        apply(Move(front["gov"], DAY, line=LineString(*line, srid=4326)))
    assert state() == before and not FrontMove.objects.exists()


@pytest.mark.parametrize(
    "ask, message",
    [
        (lambda f: {"places": [f["Hama"]]}, "Hama .* is already held by Government"),
        (lambda f: {"places": [f["Desert"]]}, "Desert .* lies outside every zone"),
        (lambda f: {"area": box(37.5, 35.0, 37.6, 35.1)}, "The area lies outside every zone"),
        (lambda f: {"area": box(36.1, 35.1, 36.2, 35.2)}, "already held by Government"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(front, ask, message):
    before = state()
    with pytest.raises(TransferRefused, match=message):
        apply(Move(front["gov"], DAY, **ask(front)))
    assert state() == before and not FrontMove.objects.exists()


def test_a_move_dated_before_a_later_version_is_refused(front, make_version):
    front["h"].valid_to = D(2024, 12, 10)
    front["h"].save()
    make_version(
        zone=front["h"].zone, faction=front["hts"], geom=front["h"].geom, valid_from=D(2024, 12, 10)
    )
    before = state()
    with pytest.raises(TransferRefused, match="has a version from 2024-12-10, after 2024-12-01"):
        apply(Move(front["gov"], DAY, places=[front["Saraqib"]]))
    assert state() == before


def test_the_same_move_twice_changes_nothing(front):
    first = apply(Move(front["gov"], DAY, places=[front["Saraqib"]]))
    after_first = state()
    again = apply(Move(front["gov"], DAY, places=[front["Saraqib"]], reason="again"))
    assert again.move.pk == first.move.pk and again.summary()["changed"] is False
    assert state() == after_first
    assert FrontMove.objects.count() == 1


def test_a_revert_restores_both_sides(front):
    before = state()
    outcome = apply(Move(front["gov"], DAY, places=[front["Saraqib"], front["Sarmin"]]))
    assert state() != before
    result = revert(outcome.move, reason="wrong town")
    assert state() == before
    assert result["reverted"] and len(result["deleted"]) == len(outcome.summary()["opened"])
    assert FrontMove.objects.get().state == FrontMove.State.REVERTED
    h = ZoneVersion.objects.get(pk=front["h"].pk)
    assert h.history.latest().history_change_reason == "wrong town"
    # Reverted, the same move may be made again.
    again = apply(Move(front["gov"], DAY, places=[front["Saraqib"], front["Sarmin"]]))
    assert again.summary()["changed"] is True
    with pytest.raises(TransferRefused, match="already reverted"):
        revert(outcome.move)


def test_two_moves_on_one_day_reshape_the_new_versions_and_revert_in_order(front):
    before = state()
    first = apply(Move(front["gov"], DAY, places=[front["Saraqib"]]))
    areas = in_force(DAY)
    second = apply(Move(front["gov"], DAY, area=box(36.6, 35.0, 36.65, 35.5)))
    assert second.summary()["reshaped"] and not second.summary()["closed"]
    assert_balanced(areas, in_force(DAY), "gov", "hts")
    assert ZoneVersion.objects.at(DAY).count() == 2
    with pytest.raises(TransferRefused, match="revert the later change first"):
        revert(first.move)
    revert(second.move)
    assert in_force(DAY) == pytest.approx(areas)
    revert(first.move)
    assert state() == before


def test_a_contested_move_keeps_the_losers_ground_and_marks_the_new_zone(front):
    before = in_force(DAY)
    outcome = apply(Move(front["gov"], DAY, places=[front["Saraqib"]], contested=True))
    summary = outcome.summary()
    assert summary["contested_zones"] == [front["h"].zone.slug] and summary["new_zone"]
    after = in_force(DAY)
    assert after["hts"] == before["hts"]
    assert after["gov"] - before["gov"] == pytest.approx(summary["moved_km2"], rel=1e-3)
    new = ZoneVersion.objects.get(pk__in=summary["opened"])
    assert new.confidence == Confidence.CONTESTED
    assert overlap_m2(DAY) == pytest.approx(summary["moved_km2"] * 1e6, rel=1e-3)


def test_a_plan_changes_nothing(front):
    before = state()
    the_plan = plan(Move(front["gov"], DAY, places=[front["Saraqib"], front["Afis"]]))
    assert {p["name"] for p in the_plan.places} == {"Saraqib", "Afis"}
    assert the_plan.summary()["from"][0]["faction"] == "hts"
    assert state() == before and not FrontMove.objects.exists()


def test_allies_of_the_taker_lose_nothing(front, make_faction, make_version):
    russia = make_faction(name="Russia", slug="ru")
    front["gov"].backed_by.add(russia)
    base = make_version(faction=russia, geom=box(36.56, 35.2, 36.58, 35.22))
    apply(Move(front["gov"], DAY, places=[front["Saraqib"]]))
    assert ZoneVersion.objects.get(pk=base.pk).valid_to is None


def test_the_admin_lists_moves_and_reverts_them(front, admin_client):
    before = state()
    outcome = apply(Move(front["gov"], DAY, places=[front["Saraqib"]]))
    page = admin_client.get("/admin/territory/frontmove/")
    assert page.status_code == 200 and "Government took" in page.content.decode()
    assert (
        admin_client.get(f"/admin/territory/frontmove/{outcome.move.pk}/change/").status_code == 200
    )
    response = admin_client.post(
        "/admin/territory/frontmove/",
        {"action": "revert_moves", "_selected_action": [outcome.move.pk]},
        follow=True,
    )
    assert "Reverted move" in response.content.decode()
    assert state() == before


def test_a_retracted_version_holds_nothing_and_is_left_alone(front, make_version):
    retracted = make_version(
        faction=front["hts"], geom=box(36.1, 35.1, 36.3, 35.3), status=Status.RETRACTED
    )
    with pytest.raises(TransferRefused, match="Hama .* is already held by Government"):
        apply(Move(front["gov"], DAY, places=[front["Hama"]]))
    before = in_force(DAY)
    apply(Move(front["gov"], DAY, area=box(36.2, 35.1, 36.6, 35.3)))
    after = in_force(DAY)
    assert after["hts"] - before["hts"] == pytest.approx(-(after["gov"] - before["gov"]), rel=1e-3)
    kept = ZoneVersion.objects.get(pk=retracted.pk)
    assert kept.valid_to is None and kept.geom.equals(retracted.geom)


def test_publishing_a_move_needs_a_source(front):
    before = state()
    with pytest.raises(TransferRefused, match="Cannot publish without at least one source"):
        apply(Move(front["gov"], DAY, places=[front["Saraqib"]], publish=True))
    assert state() == before


def test_only_publishers_change_published_versions_or_publish(front, django_user_model):
    from django.contrib.auth.models import Permission

    editor = django_user_model.objects.create_user("ed", password="pw")
    editor.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_zoneversion", "change_zoneversion"])
    )
    before = state()
    with pytest.raises(TransferRefused, match="versions the public map shows: .*published"):
        apply(Move(front["gov"], DAY, places=[front["Saraqib"]]), user=editor)
    with pytest.raises(TransferRefused, match="Only publishers publish"):
        apply(Move(front["gov"], DAY, places=[front["Saraqib"]], publish=True), user=editor)
    assert state() == before
    # Drafts an editor may move.
    ZoneVersion.objects.update(status=Status.DRAFT)
    assert apply(Move(front["gov"], DAY, places=[front["Saraqib"]]), user=editor).plan
    publisher = django_user_model.objects.create_user("pub", password="pw")
    publisher.user_permissions.add(Permission.objects.get(codename="publish_zoneversion"))
    move = Move(
        front["gov"], DAY, places=[front["Sarmin"]], publish=True, sources=["https://x.test"]
    )
    assert apply(move, user=publisher).summary()["status"] == "published"


def test_only_publishers_revert_a_move_that_changed_published_versions(front, django_user_model):
    from django.contrib.auth.models import Permission

    editor = django_user_model.objects.create_user("ed2", password="pw")
    editor.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_zoneversion", "change_zoneversion"])
    )
    outcome = apply(Move(front["gov"], DAY, places=[front["Saraqib"]]))
    after = state()
    with pytest.raises(TransferRefused, match="only publishers revert it"):
        revert(outcome.move, user=editor)
    assert state() == after
