"""The commit of a 20-place move writes in bulk: the versions it closes in one UPDATE, those it
opens in one INSERT, their sources, event links and history rows (with the reason and the
sources, as simple_history keeps them) one statement each. Its number of queries is pinned
here, a count rather than a time, so that a per-version write slipping back in shows without a
benchmark (bench/transfer_bench.py times it on 5,000 versions)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conflictmap.events.models import Place, Source
from conflictmap.territory.models import FrontMove, ZoneVersion
from conflictmap.territory.transfer import Move, apply, revert
from tests.territory.test_transfer import BEFORE, DAY, box, state

# What this commit took when the bound was set (193 before the writes were made in bulk, 45
# after; savepoints count). A bound: fewer is fine.
MAX_COMMIT_QUERIES = 45


@pytest.fixture
def wide_front(db, make_faction, make_version):
    """The government west of 36.5 E; HTS east of it in four zones (two by two); twenty HTS
    towns on a grid from the front eastwards, so that their ground cuts all four HTS zones,
    extends the government's zone and leaves a piece that touches none of its zones (a new
    zone)."""
    gov = make_faction(name="Government", slug="gov")
    hts = make_faction(name="HTS", slug="hts")
    make_version(faction=gov, geom=box(36.0, 35.0, 36.5, 35.6), valid_from=BEFORE)
    old = Source.objects.create(url="https://example.org/old-map")
    for w, s in [(36.5, 35.0), (36.8, 35.0), (36.5, 35.3), (36.8, 35.3)]:
        make_version(faction=hts, geom=box(w, s, w + 0.3, s + 0.3), valid_from=BEFORE)
    for version in ZoneVersion.objects.all():
        version.sources.add(old)
    places = [
        Place.objects.create(
            name=f"Town {i}",
            geom=f"SRID=4326;POINT({36.53 + 0.065 * (i % 5)} {35.21 + 0.05 * (i // 5)})",
            population=1000 + i,
        )
        for i in range(20)
    ]
    return {"gov": gov, "hts": hts, "places": places, "old": old}


def test_a_20_place_commit_takes_a_bounded_number_of_queries(wide_front):
    before = state()
    move = Move(
        wide_front["gov"], DAY, places=wide_front["places"], radius_km=5,
        sources=["https://example.org/a", "https://example.org/b"], reason="Twenty towns",
    )  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        outcome = apply(move)
    summary = outcome.summary()
    assert len(summary["places"]) == 20
    assert len(summary["closed"]) == 5 and len(summary["opened"]) == 6  # 5 successors, 1 new
    assert len(queries.captured_queries) <= MAX_COMMIT_QUERIES, "\n".join(
        q["sql"][:120] for q in queries.captured_queries
    )

    # What the bulk writes leave is what saving one by one did: every closed version ends on
    # the day, with a history row saying why and keeping its sources; every new version has
    # the old sources and the move's, and a history row with the reason and those sources.
    urls = {"https://example.org/a", "https://example.org/b"}
    for version in ZoneVersion.objects.filter(pk__in=summary["closed"]):
        assert version.valid_to == DAY
        row = version.history.latest()
        assert (row.history_type, row.history_change_reason, row.valid_to) == (
            "~", "Twenty towns", DAY
        )  # fmt: skip
        assert [s.source_id for s in row.sources.all()] == [wide_front["old"].pk]
    for version in ZoneVersion.objects.filter(pk__in=summary["opened"]):
        assert version.valid_from == DAY and version.valid_to is None
        have = {s.url for s in version.sources.all()}
        assert have == urls | ({wide_front["old"].url} if version.zone_id != summary[
            "zones_created"][0] else set())  # fmt: skip
        rows = list(version.history.all())
        assert [(r.history_type, r.history_change_reason) for r in rows] == [("+", "Twenty towns")]
        assert {s.source_id for s in rows[0].sources.all()} == {s.pk for s in version.sources.all()}
    # The covers (territory_placecover, kept by triggers) follow: the towns are the taker's.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT place_id) FROM territory_placecover"
            " WHERE period @> %s::date AND faction_id = %s",
            [DAY, wide_front["gov"].pk],
        )
        assert cursor.fetchone()[0] == 20
    # And the move reverts to what was there before.
    revert(FrontMove.objects.get(pk=outcome.move.pk), reason="test")
    assert state() == before
