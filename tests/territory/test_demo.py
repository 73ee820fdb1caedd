"""The demo loads the reported course of 26 Nov - 12 Dec 2024, sourced, approximate, idempotent."""

from __future__ import annotations

import datetime as dt

import pytest

from conflictmap.events.models import Event, Place, Source
from conflictmap.territory.models import Faction, Region, Status, Zone, ZoneVersion

pytestmark = pytest.mark.django_db

KEPT_SLUGS = [
    "syrian-government",
    "russia",
    "iran",
    "hezbollah",
    "hts",
    "sna",
    "turkey",
    "sdf",
    "isis",
    "us-coalition",
    "israel",
    "southern-groups",
]


def holder(zone_slug: str, day: str) -> ZoneVersion:
    versions = list(
        ZoneVersion.objects.published()
        .at(dt.date.fromisoformat(day))
        .filter(zone__slug=zone_slug)
        .select_related("faction")
    )
    assert len(versions) == 1, f"{zone_slug} has {len(versions)} versions on {day}"
    return versions[0]


@pytest.mark.parametrize(
    ("zone", "day", "faction", "confidence"),
    [
        ("aleppo-city", "2024-11-28", "syrian-government", "confirmed"),
        ("aleppo-city", "2024-11-29", "hts", "contested"),
        ("aleppo-city", "2024-12-02", "hts", "confirmed"),
        ("tal-rifaat-shahba", "2024-11-30", "sdf", "confirmed"),
        ("tal-rifaat-shahba", "2024-12-03", "sna", "confirmed"),
        ("manbij-pocket", "2024-12-08", "sdf", "contested"),
        ("manbij-pocket", "2024-12-10", "sna", "confirmed"),
        ("idlib-pocket", "2024-11-26", "hts", "confirmed"),
        ("sheikh-maqsoud", "2024-12-02", "sdf", "confirmed"),
    ],
)
def test_the_demo_shows_who_held_each_zone_on_the_reported_days(
    demo, zone, day, faction, confidence
):
    version = holder(zone, day)
    assert version.faction.slug == faction
    assert version.confidence == confidence


def test_the_last_version_of_every_demo_zone_is_open_ended(demo):
    for zone in Zone.objects.all():
        last = zone.versions.order_by("-valid_from").first()
        assert last.valid_to is None, zone.slug


def test_the_demo_has_versions_on_at_least_five_dates_of_the_fortnight(demo):
    dates = set(ZoneVersion.objects.values_list("valid_from", flat=True))
    assert len([d for d in dates if dt.date(2024, 11, 26) <= d <= dt.date(2024, 12, 12)]) >= 5


def test_every_published_demo_version_cites_a_source_and_says_it_is_approximate(demo):
    versions = ZoneVersion.objects.published().prefetch_related("sources")
    assert versions.count() >= 30
    for version in versions:
        assert version.sources.exists(), str(version)
        assert all(s.url.startswith("https://") for s in version.sources.all())
        assert "DEMO DATA" in version.note and "approximate" in version.note


def test_demo_zones_of_different_factions_do_not_overlap_on_any_version_date(demo):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.zone_id, b.zone_id, ST_Area(ST_Intersection(a.geom, b.geom)::geography)
            FROM territory_zoneversion a JOIN territory_zoneversion b
              ON a.id < b.id AND a.zone_id <> b.zone_id AND a.faction_id <> b.faction_id
             AND daterange(a.valid_from, a.valid_to) && daterange(b.valid_from, b.valid_to)
             AND ST_Intersects(a.geom, b.geom)
            WHERE ST_Area(ST_Intersection(a.geom, b.geom)::geography) > 1e4
            """
        )
        assert cursor.fetchall() == []


def test_the_demo_zones_cover_syria_without_gaps_before_the_golan_strip_is_taken(demo):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT ST_Area(ST_Difference(r.geom, u.geom)::geography) / 1e6
            FROM territory_region r,
                 (SELECT ST_Union(geom) AS geom FROM territory_zoneversion
                  WHERE valid_from <= '2024-12-10'
                    AND (valid_to IS NULL OR valid_to > '2024-12-10')) u
            WHERE r.slug = 'country-syria'
            """
        )
        (uncovered_km2,) = cursor.fetchone()
    assert uncovered_km2 < 1


def test_the_demo_has_the_twelve_named_factions_with_aliases_and_backers(demo):
    assert Faction.objects.count() >= 12
    slugs = set(Faction.objects.values_list("slug", flat=True))
    assert set(KEPT_SLUGS) <= slugs
    gov = Faction.objects.get(slug="syrian-government")
    assert {"russia", "iran", "hezbollah"} <= set(gov.backed_by.values_list("slug", flat=True))
    assert "Military Forces of Syria (2000-2024)" in gov.aliases
    assert "Hayat Tahrir al Sham" in Faction.objects.get(slug="hts").aliases
    assert Faction.objects.get(slug="sna").backed_by.filter(slug="turkey").exists()
    assert Faction.objects.get(slug="sdf").backed_by.filter(slug="us-coalition").exists()
    assert all(f.name_ar and f.colour.startswith("#") for f in Faction.objects.all())


def test_the_demo_has_syria_its_neighbours_and_fourteen_approximate_governorates(demo):
    syria = Region.objects.get(slug="country-syria")
    assert syria.level == Region.Level.COUNTRY and not syria.approximate
    assert 180_000 < syria.geom.transform(6933, clone=True).area / 1e6 < 195_000
    assert Region.objects.filter(level=Region.Level.COUNTRY).count() >= 6
    governorates = Region.objects.filter(level=Region.Level.GOVERNORATE)
    assert governorates.count() == 14
    assert all(g.approximate and g.name_ar and "Voronoi" in g.source for g in governorates)
    assert sorted(governorates.values_list("code", flat=True)) == [f"{n:02d}" for n in range(1, 15)]
    aleppo = governorates.get(code="09")
    assert aleppo.name == "Aleppo" and aleppo.geom.contains(
        Place.objects.get(geonameid=170063).geom
    )


def test_every_demo_source_is_a_public_url_with_a_title(demo):
    for source in Source.objects.all():
        assert source.url.startswith("https://") and source.title and source.publisher


def test_demo_statuses_are_published(demo):
    assert not ZoneVersion.objects.exclude(status=Status.PUBLISHED).exists()
    assert not Event.objects.exclude(status=Status.PUBLISHED).exists()
