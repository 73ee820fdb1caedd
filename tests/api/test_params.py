"""Bad parameters get 400 with a message naming the parameter; the OpenAPI document describes
every parameter the views validate."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import resolve

from conflictmap.api.params import ENDPOINTS, MAX_BBOX_DEG2, MAX_PERIOD_DAYS


@pytest.mark.parametrize(
    ("url", "parameter", "words"),
    [
        ("/api/v1/zones?date=01/12/2024", "date", "YYYY-MM-DD"),
        ("/api/v1/zones?date=2024-02-30", "date", "not a real date"),
        ("/api/v1/zones", "date", "required"),
        ("/api/v1/zones?date=2024-12-01&from=2024-12-01&to=2024-12-02", "date", "either"),
        ("/api/v1/zones?from=2024-12-01", "to", "required"),
        ("/api/v1/zones?from=2024-12-05&to=2024-12-01", "from", "after"),
        ("/api/v1/zones?to=2024-12-01", "from", "from is required with to"),
        ("/api/v1/zones?zoom=5", "date", "date is required with zoom"),
        ("/api/v1/zones?from=2024-12-01&to=2024-12-02&zoom=5", "zoom", "goes with date"),
        ("/api/v1/zones?bbox=36,35,37,36", "date", "date is required (or from and to"),
        ("/api/v1/zones?date=2024-12-01&bbox=36,35,37", "bbox", "four numbers"),
        ("/api/v1/zones?date=2024-12-01&bbox=36,35,190,36", "bbox", "-180..180"),
        ("/api/v1/zones?date=2024-12-01&bbox=36,-95,37,36", "bbox", "-90..90"),
        ("/api/v1/zones?date=2024-12-01&bbox=38,35,37,36", "bbox", "west"),
        ("/api/v1/zones?date=2024-12-01&bbox=36,36,37,35", "bbox", "south"),
        ("/api/v1/zones?date=2024-12-01&bbox=a,b,c,d", "bbox", "numbers"),
        ("/api/v1/frontlines", "date", "required"),
        ("/api/v1/changes?from=2024-12-02&to=2024-12-01", "from", "after"),
        ("/api/v1/changes?from=2024-12-02", "to", "required"),
        ("/api/v1/stats/area?from=2024-01-01&to=2024-02-01&step=year", "step", "day, week"),
        ("/api/v1/stats/area?from=2010-01-01&to=2024-02-01&step=day", "step", "steps"),
        ("/api/v1/stats/events?from=2024-01-01&to=2024-02-01&by=colour", "by", "type, actor"),
        ("/api/v1/events?start=2024-12-02&end=2024-12-01", "start", "after"),
        ("/api/v1/events?type=Picnics", "type", "Unknown type"),
        ("/api/v1/events?actor=nobody-at-all", "actor", "Unknown actor"),
        ("/api/v1/events?format=xml", "format", "geojson, csv"),
        ("/api/v1/events?download=maybe", "download", "true/false"),
        ("/api/v1/tiles/events/3/8/1.mvt", "x", "2^z"),
        ("/api/v1/tiles/events/3/1/9.mvt", "y", "2^z"),
        ("/api/v1/tiles/events/23/1/1.mvt", "z", "at most 22"),
        ("/api/v1/regions?level=planet", "level", "country"),
        ("/api/v1/places?min_population=many", "min_population", "integer"),
        ("/api/v1/places?min_population=20301169111113998008320", "min_population", "at most"),
        ("/api/v1/places/99999999999999999999/control", "id", "at most"),
    ],
)
def test_a_bad_parameter_gets_400_naming_it(client, db, url, parameter, words):
    response = client.get(url)

    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == parameter
    assert words in body["error"]


def test_only_safe_methods_are_allowed(client, db):
    assert client.post("/api/v1/zones?date=2024-12-01").status_code == 405


def test_the_openapi_document_describes_every_declared_parameter_of_every_endpoint(client, db):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    for endpoint in ENDPOINTS.values():
        operation = doc["paths"][endpoint.path]["get"]
        described = described_parameters(operation)
        assert set(described) == {p.name for p in endpoint.params}
        for param in endpoint.params:
            assert described[param.name]["description"]
            assert described[param.name]["in"] == param.location
        assert "400" in operation["responses"]


def described_parameters(operation: dict) -> dict[str, dict]:
    """Each parameter a client sends, by name: an exploded form object (a oneOf of modes, such as
    zones' date or from+to) stands for its properties."""
    found = {}
    for parameter in operation["parameters"]:
        branches = parameter["schema"].get("oneOf")
        if branches and parameter.get("explode") and parameter.get("style") == "form":
            for branch in branches:
                for name, schema in branch["properties"].items():
                    found[name] = {"in": parameter["in"], "description": schema["description"]}
        else:
            found[parameter["name"]] = parameter
    return found


def test_zones_says_that_it_takes_a_date_or_a_period(client, db):
    operation = client.get("/api/schema/").json()["paths"]["/api/v1/zones"]["get"]
    [mode] = [p for p in operation["parameters"] if "oneOf" in p["schema"]]
    assert mode["required"] is True and mode["in"] == "query"
    assert [(b["required"], sorted(b["properties"])) for b in mode["schema"]["oneOf"]] == [
        (["date"], ["base", "date", "zoom"]),
        (["from", "to"], ["from", "to"]),
    ]
    assert all(b["additionalProperties"] is False for b in mode["schema"]["oneOf"])
    assert "exactly one of `date` or `from` and `to`" in operation["description"]


def test_every_endpoint_of_the_openapi_document_is_routed(db):
    for endpoint in ENDPOINTS.values():
        path = endpoint.path.replace("{z}", "1").replace("{x}", "0").replace("{y}", "0")
        path = path.replace("{id}", "1")
        assert resolve(path).url_name.startswith("api-"), path


# --- bounds that keep each request cheap -------------------------------------------------------

FIRST = dt.date(2000, 1, 1)
# Each endpoint with a period, as a URL missing only its period (its names come from the
# endpoint's declaration).
PERIOD_URLS = {
    "zones": "/api/v1/zones?",
    "changes": "/api/v1/changes?",
    "control_changes": "/api/v1/control/changes?",
    "stats_area": "/api/v1/stats/area?step=month&",
    "stats_events": "/api/v1/stats/events?step=month&",
    "events": "/api/v1/events?",
    "tiles": "/api/v1/tiles/events/0/0/0.mvt?",
}


def test_every_endpoint_with_a_period_has_its_bound_tested():
    assert set(PERIOD_URLS) == {e.name for e in ENDPOINTS.values() if e.period}
    assert set(MAX_PERIOD_DAYS) == set(PERIOD_URLS)


def period_url(name: str, days: int) -> str:
    first, last = ENDPOINTS[name].period
    end = FIRST + dt.timedelta(days=days - 1)  # both ends counted
    return f"{PERIOD_URLS[name]}{first}={FIRST}&{last}={end}"


@pytest.mark.parametrize("name", sorted(PERIOD_URLS))
def test_a_period_up_to_the_bound_is_answered_and_one_day_more_is_refused(client, db, name):
    limit = MAX_PERIOD_DAYS[name]
    assert client.get(period_url(name, limit)).status_code == 200

    response = client.get(period_url(name, limit + 1))

    assert response.status_code == 400
    assert response.json() == {
        "error": f"The period from {ENDPOINTS[name].period[0]} to {ENDPOINTS[name].period[1]}"
        f" is {limit + 1} days; at most {limit} are answered here: ask for a shorter one.",
        "parameter": ENDPOINTS[name].period[1],
    }


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/zones?date=2024-12-01&bbox={}",
        "/api/v1/frontlines?date=2024-12-01&bbox={}",
        "/api/v1/events?bbox={}",
        "/api/v1/places?bbox={}",
        "/api/v1/control?date=2024-12-01&bbox={}",
    ],
)
def test_a_bbox_up_to_the_largest_area_is_answered_and_a_larger_one_is_refused(client, db, url):
    assert MAX_BBOX_DEG2 == 2500  # the boxes below: 50 x 50 degrees, then a little more
    assert client.get(url.format("10,0,60,50")).status_code == 200

    response = client.get(url.format("10,0,60,50.5"))

    assert response.status_code == 400
    assert response.json() == {
        "error": "bbox covers 2525 square degrees; at most 2500 are answered (leave bbox out"
        " to ask for everywhere).",
        "parameter": "bbox",
    }


def test_the_openapi_document_states_the_bounds(client, db):
    doc = client.get("/api/schema/").json()
    for endpoint in ENDPOINTS.values():
        operation = doc["paths"][endpoint.path]["get"]
        described = {n: p["description"] for n, p in described_parameters(operation).items()}
        if endpoint.period:
            first, last = endpoint.period
            limit = f"at most {MAX_PERIOD_DAYS[endpoint.name]} days from `{first}` to `{last}`"
            assert limit in described[last], endpoint.name
            assert limit in operation["description"], endpoint.name
        if "bbox" in described:
            assert f"at most {MAX_BBOX_DEG2} square degrees" in described["bbox"], endpoint.name
