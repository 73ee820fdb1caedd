"""Events through the HTTP API: streamed GeoJSON, CSV, filters, caching headers, vector tiles."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import jsonschema
import pytest
from django.contrib.gis.geos import Point

from conflictmap.events.models import EventActor, ExternalId, Place, Source
from conflictmap.territory.models import Status

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "data" / "geojson-rfc7946.schema.json").read_text()
)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def sourced_event(make_event, make_faction):
    hts = make_faction(slug="hts", name="Hayat Tahrir al-Sham")
    saa = make_faction(slug="saa", name="Syrian Arab Army")
    place = Place.objects.create(name="Aleppo", name_ar="حلب", geom=Point(37.16, 36.2, srid=4326))
    event = make_event(
        date=dt.date(2024, 11, 30),
        geom=Point(37.1612345678, 36.2023456789, srid=4326),
        fatalities=None,
        place=place,
        location_name="Aleppo city",
        summary='Clashes at the "western" edge; 50% of the area, C:\\path',
    )
    EventActor.objects.create(event=event, faction=hts, role="actor1")
    EventActor.objects.create(event=event, faction=saa, role="actor2")
    event.sources.add(
        Source.objects.create(url="https://example.org/1", publisher="SOHR", title="Report")
    )
    ExternalId.objects.create(event=event, system="acled", value="SYR123")
    return event


def test_events_stream_as_rfc7946_geojson_with_the_documented_properties(client, sourced_event):
    response = client.get("/api/v1/events?start=2024-11-30&end=2024-11-30")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/geo+json"
    data = json.loads(body(response))
    jsonschema.validate(data, SCHEMA)
    assert data["count"] == 1 and data["complete"] is True
    (feature,) = data["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [37.161235, 36.202346]}
    assert feature["properties"] == {
        "id": sourced_event.pk,
        "date": "2024-11-30",
        "date_precision": "day",
        "type": "Battles",
        "sub_type": "Armed clash",
        "actors": [
            {"slug": "hts", "name": "Hayat Tahrir al-Sham", "role": "actor1"},
            {"slug": "saa", "name": "Syrian Arab Army", "role": "actor2"},
        ],
        "fatalities": None,
        "confidence": "confirmed",
        "status": "published",
        "location_precision": "exact",
        "place": {"name": "Aleppo", "name_ar": "حلب"},
        "location_name": "Aleppo city",
        "summary": 'Clashes at the "western" edge; 50% of the area, C:\\path',
        "sources": [{"url": "https://example.org/1", "publisher": "SOHR", "title": "Report"}],
        "external_ids": {"acled": "SYR123"},
    }


def test_the_wide_and_narrow_queries_write_identical_features(client, sourced_event, make_event):
    make_event(date=dt.date(2024, 12, 3))

    everything = json.loads(body(client.get("/api/v1/events")))
    window = json.loads(body(client.get("/api/v1/events?start=2024-11-30&end=2024-11-30")))

    assert everything["count"] == 2
    assert everything["features"][0] == window["features"][0]


def test_start_and_end_are_both_inclusive(client, make_event):
    days = [dt.date(2024, 12, d) for d in (1, 2, 3, 4)]
    for day in days:
        make_event(date=day)

    data = json.loads(body(client.get("/api/v1/events?start=2024-12-02&end=2024-12-03")))

    assert [f["properties"]["date"] for f in data["features"]] == ["2024-12-02", "2024-12-03"]


def test_events_filter_by_type_actor_bbox_and_text(client, sourced_event, make_event):
    other = make_event(
        event_type="Protests",
        sub_event_type="Peaceful protest",
        geom=Point(40.0, 35.0, srid=4326),
        summary="A march in Raqqa",
    )

    def ids(query: str) -> list[int]:
        return [
            f["id"] for f in json.loads(body(client.get("/api/v1/events?" + query)))["features"]
        ]

    assert ids("type=Protests") == [other.pk]
    assert ids("type=Battles,Protests") == [sourced_event.pk, other.pk]
    assert ids("actor=saa") == [sourced_event.pk]
    assert ids("bbox=39.5,34.5,40.5,35.5") == [other.pk]
    assert ids("q=raqqa") == [other.pk]
    assert ids("q=50%25") == [sourced_event.pk]  # % is matched literally


def test_anonymous_users_get_published_events_only(client, admin_client, make_event):
    published = make_event()
    draft = make_event(status=Status.DRAFT)

    anonymous = json.loads(body(client.get("/api/v1/events")))
    staff = json.loads(body(admin_client.get("/api/v1/events")))

    assert [f["id"] for f in anonymous["features"]] == [published.pk]
    assert [f["id"] for f in staff["features"]] == [published.pk, draft.pk]


def test_csv_format_gives_the_same_rows(client, sourced_event):
    response = client.get("/api/v1/events?format=csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment; filename=" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body(response).decode())))
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == str(sourced_event.pk)
    assert (row["longitude"], row["latitude"]) == ("37.161235", "36.202346")
    assert row["actors"] == "hts:actor1;saa:actor2"
    assert row["fatalities"] == ""
    assert row["place_ar"] == "حلب"
    assert row["summary"] == 'Clashes at the "western" edge; 50% of the area, C:\\path'
    assert row["external_ids"] == "acled:SYR123"


def test_download_adds_a_file_name(client, make_event):
    make_event()

    response = client.get("/api/v1/events?start=2024-11-01&end=2024-11-30&download=1")

    assert response["Content-Disposition"] == (
        'attachment; filename="events_2024-11-01_2024-11-30.geojson"'
    )
    zones = client.get("/api/v1/zones?date=2024-12-01&download=1")
    assert zones["Content-Disposition"] == 'attachment; filename="zones_2024-12-01.geojson"'


@pytest.mark.parametrize(
    "url", ["/api/v1/events?start=2024-11-01", "/api/v1/zones?date=2024-12-01"]
)
def test_an_unchanged_resource_answers_304_to_its_etag(client, make_event, make_version, url):
    make_event()
    make_version()
    first = client.get(url)
    body(first)
    assert first["ETag"] and first["Last-Modified"]

    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
    assert body(again) == b""


def test_the_etag_changes_when_the_data_changes(client, make_event):
    event = make_event()
    before = client.get("/api/v1/events")["ETag"]

    event.fatalities = 3
    event.save()

    assert client.get("/api/v1/events")["ETag"] != before
    assert client.get("/api/v1/events", HTTP_IF_NONE_MATCH=before).status_code == 200


def test_an_event_tile_is_a_vector_tile_with_an_events_layer(client, make_event):
    make_event(geom=Point(37.16, 36.2, srid=4326), date=dt.date(2024, 11, 30))
    # Tiles holding (37.16, 36.2): z10 x = floor((37.16 + 180) / 360 * 1024) = 617,
    # y = floor((1 - asinh(tan(36.2°)) / pi) / 2 * 1024) = 401; z5: 19, 12.
    detail = client.get("/api/v1/tiles/events/10/617/401.mvt?start=2024-11-01&end=2024-12-31")
    cluster = client.get("/api/v1/tiles/events/5/19/12.mvt")
    empty = client.get("/api/v1/tiles/events/10/0/0.mvt?start=2024-11-01")

    for response in (detail, cluster):
        assert response.status_code == 200
        assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
        assert b"events" in response.content
    assert b"date" in detail.content and b"2024-11-30" in detail.content
    assert b"cluster" in cluster.content and b"cluster" not in detail.content
    assert empty.status_code == 200 and empty.content == b""


def test_stats_count_events_per_step_by_type_and_by_actor(client, sourced_event, make_event):
    make_event(date=dt.date(2024, 12, 1), event_type="Protests", sub_event_type="Peaceful protest")

    by_type = client.get("/api/v1/stats/events?from=2024-11-25&to=2024-12-08&step=week").json()
    by_actor = client.get(
        "/api/v1/stats/events?from=2024-11-25&to=2024-12-08&step=week&by=actor"
    ).json()

    assert by_type["steps"] == ["2024-11-25", "2024-12-02"]
    assert {s["key"]: s["counts"] for s in by_type["series"]} == {
        "Battles": [1, 0],
        "Protests": [1, 0],
    }
    assert {s["key"]: s["counts"] for s in by_actor["series"]} == {"hts": [1, 0], "saa": [1, 0]}


def test_factions_list_their_backers(client, make_faction):
    russia = make_faction(slug="russia", name="Russia")
    saa = make_faction(slug="saa", name="Syrian Arab Army")
    saa.backed_by.add(russia)

    data = client.get("/api/v1/factions").json()

    by_slug = {f["slug"]: f for f in data}
    assert by_slug["saa"]["backed_by"] == ["russia"]
    assert by_slug["russia"]["backed_by"] == []
    assert set(by_slug["saa"]) >= {"slug", "name", "name_ar", "short_name", "colour", "kind"}


def test_extent_spans_published_zones_and_events(client, make_event, make_version):
    from django.contrib.gis.geos import Point

    from conflictmap.territory.models import Status
    from tests.conftest import square

    make_event(date=dt.date(2024, 12, 20))
    make_version(valid_from=dt.date(2024, 11, 27), valid_to=dt.date(2024, 12, 1))
    # Drafts before, after and far outside the published data: none may stretch the extent.
    make_event(date=dt.date(2025, 3, 1), status=Status.DRAFT, geom=Point(20.0, 20.0, srid=4326))
    make_version(
        valid_from=dt.date(2024, 1, 1),
        valid_to=dt.date(2024, 2, 1),
        status=Status.DRAFT,
        geom=square(20.0, 20.0),
    )

    data = client.get("/api/v1/extent").json()

    assert data["first_date"] == "2024-11-27" and data["last_date"] == "2024-12-20"
    west, south, east, north = data["bbox"]
    assert west > 30 and south > 30, data["bbox"]  # the drafts at 20°E 20°N are not in it


def test_every_feature_collection_passes_the_rfc7946_schema(
    client, sourced_event, make_version, make_faction
):
    from django.contrib.gis.geos import MultiPolygon, Polygon

    from conflictmap.territory.models import Region, new_version_from
    from tests.conftest import square

    a, b = make_faction(), make_faction()
    va = make_version(faction=a, geom=square(36.0, 35.0, 0.1))
    make_version(faction=b, geom=square(36.1, 35.0, 0.1))
    new_version_from(va, dt.date(2024, 12, 5), geom=square(36.0, 35.0, 0.2))
    Region.objects.create(
        name="Aleppo",
        slug="aleppo",
        level="governorate",
        approximate=True,
        geom=MultiPolygon(Polygon(((36, 35), (36, 37), (38, 37), (38, 35), (36, 35))), srid=4326),
    )
    urls = [
        "/api/v1/zones?date=2024-12-01",
        "/api/v1/zones?from=2024-11-01&to=2024-12-31",
        "/api/v1/frontlines?date=2024-12-01",
        "/api/v1/changes?from=2024-12-01&to=2024-12-06",
        "/api/v1/regions?level=governorate",
        "/api/v1/places?bbox=36,35,38,37",
        "/api/v1/events",
    ]
    for url in urls:
        response = client.get(url)
        assert response["Content-Type"] == "application/geo+json", url
        data = json.loads(body(response))
        jsonschema.validate(data, SCHEMA)
        assert data["count"] == len(data["features"]) > 0, url
        assert data["complete"] is True


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "FeatureCollection", "features": [], "crs": {"type": "name"}},
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {"type": "Point", "coordinates": [36.2, 137.1]},
                }
            ],
        },
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[36, 35], [36.1, 35], [36, 35]]],
                    },
                }
            ],
        },
    ],
)
def test_the_schema_rejects_a_crs_member_an_out_of_range_latitude_and_a_three_point_ring(bad):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)


def test_cached_series_follow_new_data(client, make_event, make_version, make_faction):
    url = "/api/v1/stats/events?from=2024-11-25&to=2024-12-08&step=week"
    make_event(date=dt.date(2024, 11, 30))
    assert client.get(url).json()["series"][0]["counts"] == [1, 0]

    make_event(date=dt.date(2024, 12, 3))

    assert client.get(url).json()["series"][0]["counts"] == [1, 1]
    area = "/api/v1/stats/area?from=2024-11-26&to=2024-12-03&step=week"
    assert client.get(area).json()["series"] == []
    make_version(faction=make_faction(slug="aaa"), valid_from=dt.date(2024, 12, 1))
    (series,) = client.get(area).json()["series"]
    assert series["km2"][0] == 0 and series["km2"][1] > 0
