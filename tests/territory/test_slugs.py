"""conflictmap.slugs.unique_slug: one rule for the slugs of rows that imports create."""

from __future__ import annotations

import pytest

from conflictmap.slugs import unique_slug
from conflictmap.territory.models import Faction, Zone

pytestmark = pytest.mark.django_db


def test_a_free_name_gives_its_plain_slug():
    assert unique_slug(Zone, "Manbij pocket", fallback="zone") == "manbij-pocket"


def test_a_taken_slug_gets_the_first_free_number(make_zone):
    make_zone(slug="manbij-pocket")
    make_zone(slug="manbij-pocket-2")
    make_zone(slug="manbij-pocket-north")  # starts alike, takes no number
    assert unique_slug(Zone, "Manbij Pocket", fallback="zone") == "manbij-pocket-3"


def test_a_name_without_latin_letters_takes_the_fallback(make_faction):
    assert unique_slug(Faction, "هيئة تحرير الشام", fallback="actor") == "actor"
    make_faction(slug="actor")
    assert unique_slug(Faction, "هيئة تحرير الشام", fallback="actor") == "actor-2"


def test_a_long_name_leaves_room_for_the_number_within_the_field(make_faction):
    name = "Military Forces of a very long named state " * 4
    slug = unique_slug(Faction, name, fallback="actor")
    assert len(slug) == 70  # the field holds 80
    make_faction(slug=slug)
    again = unique_slug(Faction, name, fallback="actor")
    assert again == f"{slug}-2"
    assert len(again) <= Faction._meta.get_field("slug").max_length
