"""Who sees what: the public gets published records only, through every endpoint and export;
users with the view permission also get drafts and retracted records, marked by `status`.

Every unpublished record sits inside the window each request asks for, next to a published one,
so that a leak shows: each endpoint has its own assertion.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.contrib.gis.geos import Point
from django.core.management import call_command

from conflictmap.territory.models import Status
from tests.conftest import square

pytestmark = pytest.mark.django_db

D = dt.date(2024, 12, 1)
WINDOW = "from=2024-11-20&to=2024-12-05"


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def get_json(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, (url, body(response)[:300])
    return json.loads(body(response))


def ids(collection: dict) -> list[int]:
    return sorted(f["id"] for f in collection["features"])


@pytest.fixture
def records(make_faction, make_version, make_event):
    """One published zone and event, and a draft and a retracted one of each, all in force on D
    and inside every window asked below. The unpublished zones touch the published one and
    belong to other factions: they would make front lines, gains and areas if they leaked."""
    a, b, c = make_faction(slug="aaa"), make_faction(slug="bbb"), make_faction(slug="ccc")
    start = dt.date(2024, 11, 26)
    zones = {
        Status.PUBLISHED: make_version(faction=a, geom=square(36.0, 35.0), valid_from=start),
        Status.DRAFT: make_version(
            faction=b, geom=square(36.1, 35.0), valid_from=dt.date(2024, 11, 28), status="draft"
        ),
        Status.RETRACTED: make_version(
            faction=c,
            geom=square(35.9, 35.0),
            valid_from=dt.date(2024, 11, 28),
            status="retracted",
        ),
    }
    events = {
        Status.PUBLISHED: make_event(date=D, geom=Point(37.16, 36.2, srid=4326)),
        Status.DRAFT: make_event(date=D, geom=Point(40.1, 33.1, srid=4326), status="draft"),
        Status.RETRACTED: make_event(date=D, geom=Point(40.2, 33.2, srid=4326), status="retracted"),
    }
    return {"zones": zones, "events": events, "factions": (a, b, c)}


@pytest.fixture
def viewer(client, django_user_model):
    """A signed-in user who is not staff but holds the view permissions."""
    user = django_user_model.objects.create_user("viewer", password="pw")
    user.user_permissions.add(
        Permission.objects.get(codename="view_zoneversion"),
        Permission.objects.get(codename="view_event"),
    )
    client.force_login(user)
    return client


@pytest.fixture
def staff_without_permission(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("clerk", password="pw", is_staff=True))
    return client


def published_ids(records, kind: str) -> list[int]:
    return [records[kind][Status.PUBLISHED].pk]


def all_ids(records, kind: str) -> list[int]:
    return sorted(r.pk for r in records[kind].values())


# --- the public ----------------------------------------------------------------------------------


def test_anonymous_zones_at_a_date_are_published_only(client, records):
    assert ids(get_json(client, f"/api/v1/zones?date={D}")) == published_ids(records, "zones")


def test_anonymous_zones_over_a_period_are_published_only(client, records):
    assert ids(get_json(client, f"/api/v1/zones?{WINDOW}")) == published_ids(records, "zones")


def test_anonymous_front_lines_ignore_unpublished_zones(client, records):
    assert get_json(client, f"/api/v1/frontlines?date={D}")["features"] == []


def test_anonymous_changes_ignore_unpublished_zones(client, records):
    data = get_json(client, f"/api/v1/changes?from=2024-11-27&to={D}")
    assert data["features"] == []
    assert [s["faction"]["slug"] for s in data["summary"]] == ["aaa"]


def test_anonymous_area_series_counts_published_zones_only(client, records):
    data = get_json(client, f"/api/v1/stats/area?{WINDOW}&step=day")
    assert [s["faction"]["slug"] for s in data["series"]] == ["aaa"]


def test_anonymous_event_counts_count_published_events_only(client, records):
    data = get_json(client, f"/api/v1/stats/events?{WINDOW}&step=day&by=type")
    assert [sum(s["counts"]) for s in data["series"]] == [1]


def test_anonymous_events_geojson_is_published_only(client, records):
    data = get_json(client, f"/api/v1/events?start={D}&end={D}")
    assert ids(data) == published_ids(records, "events")
    assert {f["properties"]["status"] for f in data["features"]} == {"published"}


def test_anonymous_events_csv_is_published_only(client, records):
    rows = list(
        csv.DictReader(
            io.StringIO(body(client.get(f"/api/v1/events?format=csv&start={D}&end={D}")).decode())
        )
    )
    assert [int(r["id"]) for r in rows] == published_ids(records, "events")
    assert [r["status"] for r in rows] == ["published"]


# Every way a tile is made (events/tiles.py): the pyramid of cells (all years, z < 9), cells
# aggregated from the events (a window at z < 9, or all years from z 9), one point per event.
TILE_WAYS = [(7, ""), (7, f"?start={D}&end={D}"), (12, ""), (12, f"?start={D}&end={D}")]


@pytest.mark.parametrize(("z", "window"), TILE_WAYS)
@pytest.mark.parametrize("where", [(40.1, 33.1), (40.2, 33.2)])  # the draft, the retracted
def test_anonymous_event_tiles_leave_out_unpublished_events(client, records, z, window, where):
    from tests.api.test_tile_cells import tile_xy

    x, y = tile_xy(*where, z)  # no published event there
    url = f"/api/v1/tiles/events/{z}/{x}/{y}.mvt{window}"
    assert client.get(url).content == b""


def test_anonymous_extent_and_map_page_ignore_unpublished_records(
    client, make_version, make_event, records
):
    # Outside the published period and place, so that they would move the extent if counted.
    make_version(valid_from=dt.date(2020, 1, 1), geom=square(30.0, 30.0), status="draft")
    make_version(valid_from=dt.date(2019, 1, 1), geom=square(29.0, 29.0), status="retracted")
    make_event(date=dt.date(2025, 6, 1), geom=Point(44.0, 38.0, srid=4326), status="draft")
    make_event(date=dt.date(2025, 7, 1), geom=Point(45.0, 39.0, srid=4326), status="retracted")

    extent = get_json(client, "/api/v1/extent")
    assert extent["first_date"] == "2024-11-26" and extent["last_date"] == D.isoformat()
    assert extent["bbox"] == [36.0, 35.0, 37.16, 36.2]


def test_export_geojson_without_drafts_is_published_only(records, tmp_path):
    def export(*args) -> dict:
        out = tmp_path / "out.geojson"
        call_command("export_geojson", *args, "-o", str(out))
        return json.loads(out.read_text())

    assert ids(export("events", "--from", str(D), "--to", str(D))) == published_ids(
        records, "events"
    )
    assert ids(export("zones", "--date", str(D))) == published_ids(records, "zones")
    assert ids(export("zones", "--from", "2024-11-20", "--to", "2024-12-05")) == published_ids(
        records, "zones"
    )
    assert export("frontlines", "--date", str(D))["features"] == []
    assert export("changes", "--from", "2024-11-27", "--to", str(D))["features"] == []

    # --drafts includes them, marked.
    zones = export("zones", "--date", str(D), "--drafts")
    assert ids(zones) == all_ids(records, "zones")
    assert sorted(f["properties"]["status"] for f in zones["features"]) == [
        "draft",
        "published",
        "retracted",
    ]
    events = export("events", "--from", str(D), "--to", str(D), "--drafts")
    assert sorted(f["properties"]["status"] for f in events["features"]) == [
        "draft",
        "published",
        "retracted",
    ]


def test_staff_status_alone_does_not_show_drafts(staff_without_permission, records):
    client = staff_without_permission
    assert ids(get_json(client, f"/api/v1/zones?date={D}")) == published_ids(records, "zones")
    assert ids(get_json(client, f"/api/v1/events?start={D}&end={D}")) == published_ids(
        records, "events"
    )


# --- users with the view permission --------------------------------------------------------------


def test_a_user_with_the_view_permission_sees_drafts_and_retracted_marked(viewer, records):
    zones = get_json(viewer, f"/api/v1/zones?date={D}")
    assert ids(zones) == all_ids(records, "zones")
    status = {f["id"]: f["properties"]["status"] for f in zones["features"]}
    assert status == {v.pk: k.value for k, v in records["zones"].items()}
    assert ids(get_json(viewer, f"/api/v1/zones?{WINDOW}")) == all_ids(records, "zones")
    assert len(get_json(viewer, f"/api/v1/frontlines?date={D}")["features"]) == 2
    changes = get_json(viewer, f"/api/v1/changes?from=2024-11-27&to={D}")
    assert {f["properties"]["faction"]["slug"] for f in changes["features"]} == {"bbb", "ccc"}
    area = get_json(viewer, f"/api/v1/stats/area?{WINDOW}&step=day")
    assert [s["faction"]["slug"] for s in area["series"]] == ["aaa", "bbb", "ccc"]

    events = get_json(viewer, f"/api/v1/events?start={D}&end={D}")
    status = {f["id"]: f["properties"]["status"] for f in events["features"]}
    assert status == {e.pk: k.value for k, e in records["events"].items()}
    counts = get_json(viewer, f"/api/v1/stats/events?{WINDOW}&step=day&by=type")
    assert [sum(s["counts"]) for s in counts["series"]] == [3]
    rows = csv.DictReader(
        io.StringIO(body(viewer.get(f"/api/v1/events?format=csv&start={D}&end={D}")).decode())
    )
    assert sorted(r["status"] for r in rows) == ["draft", "published", "retracted"]
    from tests.api.test_tile_cells import tile_xy

    x, y = tile_xy(40.15, 33.15, 7)
    assert viewer.get(f"/api/v1/tiles/events/7/{x}/{y}.mvt").content != b""


@pytest.mark.parametrize(("z", "window"), TILE_WAYS)
def test_event_tiles_mark_what_is_unpublished_for_a_viewer_only(
    client, django_user_model, records, z, window
):
    """One tile holding the three events: a viewer's points say each one's status (clusters,
    how many of theirs are unpublished); the public's hold the published one only."""
    from django.test import Client

    from tests.api.test_tile_cells import tile_xy
    from tests.web.test_snapshot import decode_events_layer

    for event, at in zip(records["events"].values(), [(40.15, 33.15)] * 3, strict=True):
        event.geom = Point(*at, srid=4326)  # all three in one cell of any of these zooms
        event.save()
    viewer = Client()
    user = django_user_model.objects.create_user("tile-viewer", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="view_event"))
    viewer.force_login(user)
    x, y = tile_xy(40.15, 33.15, z)
    url = f"/api/v1/tiles/events/{z}/{x}/{y}.mvt{window}"

    theirs, public = (
        decode_events_layer(viewer.get(url).content),
        decode_events_layer(client.get(url).content),
    )

    if z >= 9 and window:  # one point per event
        by_id = {f["id"]: f["status"] for f in theirs}
        assert by_id == {e.pk: status.value for status, e in records["events"].items()}
        assert [(f["id"], f["status"]) for f in public] == [
            (records["events"][Status.PUBLISHED].pk, "published")
        ]
    else:  # one cluster of all three, two of them unpublished
        assert [(f["count"], f["unpublished"]) for f in theirs] == [(3, 2)]
        assert [f["count"] for f in public] == [1] and "unpublished" not in public[0]


def test_the_public_and_a_viewer_never_share_an_etag(client, viewer, records):
    # The viewer's client is signed in; a fresh anonymous one asks the same URL.
    from django.test import Client

    for url in (f"/api/v1/zones?date={D}", f"/api/v1/events?start={D}&end={D}"):
        mine = viewer.get(url)
        public = Client().get(url, HTTP_IF_NONE_MATCH=mine["ETag"])
        assert public.status_code == 200, url


# --- the per-process caches keep the two audiences apart ------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_viewer_filling_the_caches_first_leaks_nothing_to_the_public(records, django_user_model):
    """Committed data, so the zone stamp is set and the map state, front lines and series are
    cached per process (inside a test's transaction nothing is): the viewer's answers are kept
    under their own keys and the public's are computed for the public."""
    from django.test import Client

    user = django_user_model.objects.create_user("viewer2", password="pw")
    user.user_permissions.add(
        Permission.objects.get(codename="view_zoneversion"),
        Permission.objects.get(codename="view_event"),
    )
    viewer, public = Client(), Client()
    viewer.force_login(user)
    urls = [
        f"/api/v1/zones?date={D}",
        f"/api/v1/frontlines?date={D}",
        f"/api/v1/stats/area?{WINDOW}&step=day",
        f"/api/v1/stats/events?{WINDOW}&step=day&by=type",
    ]
    for url in urls:
        get_json(viewer, url)
    assert ids(get_json(public, urls[0])) == published_ids(records, "zones")
    assert get_json(public, urls[1])["features"] == []
    area = get_json(public, urls[2])
    assert [s["faction"]["slug"] for s in area["series"]] == ["aaa"]
    assert [sum(s["counts"]) for s in get_json(public, urls[3])["series"]] == [1]
    # ... and the other way round: the public's cached answers do not hide drafts from the viewer.
    assert ids(get_json(viewer, urls[0])) == all_ids(records, "zones")
    assert len(get_json(viewer, urls[1])["features"]) == 2
