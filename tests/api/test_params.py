"""Bad parameters get 400 with a message naming the parameter; the OpenAPI document describes
every parameter the views validate."""

from __future__ import annotations

import pytest
from django.urls import resolve

from conflictmap.api.params import ENDPOINTS


@pytest.mark.parametrize(
    ("url", "parameter", "words"),
    [
        ("/api/v1/zones?date=01/12/2024", "date", "YYYY-MM-DD"),
        ("/api/v1/zones?date=2024-02-30", "date", "not a real date"),
        ("/api/v1/zones", "date", "required"),
        ("/api/v1/zones?date=2024-12-01&from=2024-12-01&to=2024-12-02", "date", "either"),
        ("/api/v1/zones?from=2024-12-01", "to", "required"),
        ("/api/v1/zones?from=2024-12-05&to=2024-12-01", "from", "after"),
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
        ("/api/v1/stats/area?from=2000-01-01&to=2024-02-01&step=day", "step", "steps"),
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
        described = {p["name"]: p for p in operation["parameters"]}
        assert set(described) == {p.name for p in endpoint.params}
        for param in endpoint.params:
            assert described[param.name]["description"]
            assert described[param.name]["in"] == param.location
        assert "400" in operation["responses"]


def test_every_endpoint_of_the_openapi_document_is_routed(db):
    for endpoint in ENDPOINTS.values():
        path = endpoint.path.replace("{z}", "1").replace("{x}", "0").replace("{y}", "0")
        path = path.replace("{id}", "1")
        assert resolve(path).url_name.startswith("api-"), path
