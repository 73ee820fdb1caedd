"""The map in Chromium: a user with the view permission sees a draft zone marked "Not public";
a visitor does not see it at all."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission

from conflictmap.territory.models import Status
from tests.conftest import square


def in_browser(test):
    """Chromium against the live server, whose database it must be able to flush."""
    return pytest.mark.browser(pytest.mark.django_db(transaction=True)(test))


SPOT = (36.3, 37.3)  # lat, lng inside the draft square
QUERY = "?date=2024-12-01&lat=36.3000&lng=37.3000&z=9&layers=zones"


@pytest.fixture
def draft_zone(transactional_db, make_version, make_zone, make_faction):
    faction = make_faction(slug="draft-side", name="Draft side", colour="#aa3377")
    return make_version(
        zone=make_zone(name="Drafted pocket"), faction=faction, geom=square(37.2, 36.2, 0.2),
        valid_from=dt.date(2024, 11, 26), status=Status.DRAFT,
    )  # fmt: skip


def sign_in(map_page, django_user_model) -> None:
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_zoneversion"))
    page = map_page.page
    page.goto(f"{map_page.base_url}/admin/login/")
    page.fill("#id_username", "viewer")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_url(f"{map_page.base_url}/admin/")


@in_browser
def test_a_viewer_sees_the_draft_zone_marked_not_public(map_page, draft_zone, django_user_model):
    sign_in(map_page, django_user_model)
    map_page.open(QUERY)
    assert map_page.faction_at(*SPOT) == "draft-side"
    x, y = map_page.pixel(*SPOT)
    map_page.page.mouse.click(x, y)
    popup = map_page.page.locator(".zone-popup")
    popup.wait_for()
    assert "Not public: draft" in popup.inner_text()
    assert map_page.errors == []


@in_browser
def test_a_visitor_does_not_see_the_draft_zone(map_page, draft_zone):
    map_page.open(QUERY)
    assert map_page.faction_at(*SPOT) is None
    assert map_page.errors == []
