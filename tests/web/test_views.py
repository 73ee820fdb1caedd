"""The map page's server side: the configuration it hands to the browser with json_script."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import translation

from conflictmap.territory.models import Status

pytestmark = pytest.mark.django_db


def config_of(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="map-config" type="application/json">') + len(
        '<script id="map-config" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_the_page_hands_factions_with_backers_and_the_data_period_to_the_browser(
    client, make_faction, make_version, make_event
):
    turkey = make_faction(slug="turkey", name="Turkey")
    sna = make_faction(slug="sna", name="Syrian National Army", colour="#88aa33")
    sna.backed_by.add(turkey)
    make_version(faction=sna, valid_from=dt.date(2024, 11, 26), valid_to=dt.date(2024, 12, 9))
    make_event(date=dt.date(2024, 12, 15))
    # Unpublished records before and after the published period, elsewhere: they would move the
    # period and the box if the page counted them.
    make_version(faction=sna, valid_from=dt.date(2024, 10, 1), status=Status.DRAFT)
    make_version(faction=sna, valid_from=dt.date(2024, 9, 1), status=Status.RETRACTED)
    make_event(date=dt.date(2025, 1, 10), status=Status.DRAFT)
    make_event(date=dt.date(2025, 2, 10), status=Status.RETRACTED)

    response = client.get("/?date=2024-12-01")

    assert response.status_code == 200
    config = config_of(response)
    assert config["extent"]["first_date"] == "2024-11-26"
    assert config["extent"]["last_date"] == "2024-12-15"
    assert len(config["extent"]["bbox"]) == 4
    sna_config = next(f for f in config["factions"] if f["slug"] == "sna")
    assert sna_config["backed_by"] == ["turkey"]
    assert sna_config["colour"] == "#88aa33"
    assert {t["value"] for t in config["eventTypes"]} >= {"Battles", "Protests"}
    # Twenty days: the charts step by day (area) and week (events).
    assert config["steps"] == {"area": "day", "events": "week"}
    assert "Demo data" in response.content.decode()


def test_the_charts_step_by_week_or_month_over_longer_periods():
    from conflictmap.web.mapdata import chart_steps

    assert chart_steps("2024-01-01", "2024-04-30") == {"area": "day", "events": "week"}
    assert chart_steps("2024-01-01", "2024-05-01") == {"area": "week", "events": "week"}
    assert chart_steps("2020-01-01", "2024-01-01") == {"area": "month", "events": "week"}
    assert chart_steps("2000-01-01", "2024-01-01") == {"area": "month", "events": "month"}


def test_a_closed_version_counts_up_to_the_day_before_it_ends(client, make_version):
    make_version(valid_from=dt.date(2024, 11, 26), valid_to=dt.date(2024, 12, 9))
    assert config_of(client.get("/"))["extent"]["last_date"] == "2024-12-08"


def test_an_empty_database_still_serves_the_map_at_today(client):
    config = config_of(client.get("/"))
    today = dt.date.today().isoformat()
    assert config["extent"] == {"first_date": today, "last_date": today, "bbox": None}


def test_the_page_turns_right_to_left_for_arabic(rf):
    from conflictmap.web.views import map_page

    with translation.override("ar"):
        html = map_page(rf.get("/")).content.decode()
    assert '<html lang="ar" dir="rtl">' in html
