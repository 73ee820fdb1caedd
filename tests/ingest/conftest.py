"""Ingestion fixtures: a small gazetteer and the demo's faction slugs, as tests need them."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.gis.geos import Point

DATA = Path(__file__).resolve().parent.parent / "data" / "ingest"

FACTIONS = [
    ("syrian-government", "Syrian government", "Military Forces of Syria (2000-2024)", "state"),
    ("russia", "Russia", "Military Forces of Russia (2000-)", "foreign_state"),
    ("iran", "Iran", "Islamic Revolutionary Guard Corps", "foreign_state"),
    ("hezbollah", "Hezbollah", "Hezbollah", "militia"),
    ("hts", "Hayat Tahrir al-Sham", "Hayat Tahrir al Sham", "jihadist"),
    (
        "sna",
        "Syrian National Army",
        "SNA: Syrian National Army",
        "rebel",
    ),
    ("turkey", "Turkey", "Military Forces of Turkey (2016-)", "foreign_state"),
    ("sdf", "Syrian Democratic Forces", "SDF: Syrian Democratic Forces", "militia"),
    ("isis", "Islamic State", "Islamic State (Syria)", "jihadist"),
    (
        "us-coalition",
        "US-led coalition",
        "Military Forces of the United States (2021-)",
        "coalition",
    ),
    ("israel", "Israel", "Military Forces of Israel (2022-)", "foreign_state"),
    ("southern-groups", "Southern groups", "Southern Operations Room", "rebel"),
]

PLACES = [
    ("Manbij", "منبج", [], 37.9495, 36.5281, 100000),
    ("Idlib", "إدلب", [], 36.6339, 35.9306, 165000),
    ("Tal Rifaat", "تل رفعت", [], 37.0978, 36.4728, 20000),
    ("Aleppo", "حلب", ["Halab"], 37.1612, 36.2021, 2000000),
    ("Hama", "حماة", [], 36.7500, 35.1318, 700000),
    ("Saraqib", "سراقب", ["Sarakeb"], 36.8000, 35.8643, 30000),
    ("Deir ez-Zor", "دير الزور", ["Deir Ezzor"], 40.1408, 35.3359, 200000),
    ("Ma‘arrat an Nu‘mān", "معرة النعمان", [], 36.6717, 35.6440, 60000),  # GeoNames spelling
    ("Al Qāmishlī", "القامشلي", [], 41.2264, 37.0525, 180000),
]


@pytest.fixture(autouse=True)
def no_broker_outside_worker_tests(request):
    """Tasks run eagerly in tests that do not start a worker: nothing reaches a shared Redis."""
    from conflictmap.celery import app

    eager = request.node.get_closest_marker("worker") is None
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def factions(db):
    from conflictmap.territory.models import Faction

    return {
        slug: Faction.objects.create(slug=slug, name=name, aliases=[acled], kind=kind)
        for slug, name, acled, kind in FACTIONS
    }


@pytest.fixture
def gazetteer(db, factions):
    from conflictmap.events.models import Place
    from conflictmap.ingest import extract

    places = {
        name: Place.objects.create(
            name=name, name_ar=ar, alternate_names=alt, geom=Point(lon, lat, srid=4326),
            population=pop,
        )
        for name, ar, alt, lon, lat, pop in PLACES
    }  # fmt: skip
    extract.invalidate()
    yield places
    extract.invalidate()


@pytest.fixture
def sample():
    def read(name: str) -> bytes:
        return (DATA / name).read_bytes()

    return read
