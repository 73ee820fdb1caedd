"""publish_static: the map as a static site, its files checked against the API, by GDAL and by a
reader of PMTiles and MVT that is not the page's (in Chromium: test_snapshot_browser.py)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from conflictmap.web import snapshot

LONG_AGO = 1_000_000_000  # 2001: an mtime no run of the command can give a file


class Published:
    def __init__(self, root: Path, summary: dict) -> None:
        self.root, self.summary = root, summary

    def json(self, name: str) -> dict:
        return json.loads((self.root / name).read_text(encoding="utf-8"))

    @property
    def change_dates(self) -> list[str]:
        return [p.stem for p in sorted((self.root / "data" / "frontlines").glob("*.geojson"))]


@pytest.fixture(scope="module")
def published(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Published]:
    """The demo published once for the module, inside a transaction rolled back afterwards
    (the files stay: the browser test serves them with no database behind)."""
    from conflictmap.territory.demo import load_demo

    root = tmp_path_factory.mktemp("site")
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        yield Published(root, snapshot.publish(root))
        transaction.set_rollback(True)


def copy_of(published: Published, tmp_path: Path) -> Path:
    """A copy of the published site whose files all carry the mtime LONG_AGO."""
    root = tmp_path / "site"
    shutil.copytree(published.root, root)
    for path in root.rglob("*"):
        os.utime(path, (LONG_AGO, LONG_AGO))
    return root


def touched(root: Path) -> list[str]:
    """The files written since copy_of(), but the manifest (rewritten with any change)."""
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.stat().st_mtime != LONG_AGO and p.name != snapshot.MANIFEST
    )


# --- the files ---------------------------------------------------------------------------------


def test_each_change_date_has_the_zones_and_front_lines_the_api_answers(published, db, client):
    dates = published.change_dates
    assert dates[0] == "2024-11-26" and "2024-11-30" in dates and len(dates) > 5
    # A day between two change dates is drawn from the file of the one before: same map.
    assert "2024-12-03" not in dates and "2024-12-02" in dates
    grids = [f"{low}-{high}" for low, high in snapshot.zoom_grids()]
    assert grids[0] == "0-6" and len(grids) > 2
    for day in ("2024-11-30", "2024-12-02"):
        body = (published.root / "data" / "frontlines" / f"{day}.geojson").read_bytes()
        assert body == client.get(f"/api/v1/frontlines?date={day}").content
        for grid in grids:
            zoom = grid.split("-")[0]
            body = (published.root / "data" / "zones" / grid / f"{day}.geojson").read_bytes()
            assert body == client.get(f"/api/v1/zones?date={day}&zoom={zoom}").content
    later = client.get("/api/v1/zones?date=2024-12-03&zoom=7").json()
    kept = published.json("data/zones/7-9/2024-12-02.geojson")
    assert later["features"] == kept["features"]
    assert (kept["state_from"], kept["state_to"]) == ("2024-12-02", "2024-12-05")
    pair = published.json("data/changes/2024-11-26_2024-12-09.geojson")
    assert pair == client.get("/api/v1/changes?from=2024-11-26&to=2024-12-09").json()
    assert published.json("data/factions.json") == client.get("/api/v1/factions").json()
    assert published.summary["from"] == "2024-11-26"


def test_gdal_opens_every_geojson_file_written(published):
    from django.contrib.gis.gdal import DataSource

    files = sorted(published.root.glob("data/**/*.geojson"))
    assert len(files) > 30
    for path in files:
        expected = len(json.loads(path.read_text(encoding="utf-8"))["features"])
        if expected == 0:
            continue  # GDAL opens an empty collection with no layer geometry type to check
        layer = DataSource(str(path))[0]
        assert len(layer) == expected, path
        assert layer.srs is None or layer.srs.srid in (None, 4326)
    zones = DataSource(str(published.root / "data/zones/0-6/2024-11-30.geojson"))[0]
    assert zones.geom_type.name in ("MultiPolygon", "Polygon")
    assert "faction" in zones.fields


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def protobuf_fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: varints as ints, the rest as bytes."""
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(data, pos)
            yield field, value
        elif wire == 2:
            size, pos = read_varint(data, pos)
            yield field, data[pos : pos + size]
            pos += size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            yield field, data[pos : pos + size]
            pos += size
        else:
            raise AssertionError(f"wire type {wire}")


def decode_events_layer(tile: bytes) -> list[dict]:
    """The features of the tile's "events" layer with their string and integer properties
    (MVT 2.1: layer = 3, name = 1, feature = 2, key = 3, value = 4; value string = 1, uint = 5)."""
    for field, layer in protobuf_fields(tile):
        if field != 3:
            continue
        parts = list(protobuf_fields(layer))
        if dict(parts)[1] != b"events":
            continue
        keys = [v.decode() for f, v in parts if f == 3]
        values = []
        for f, v in parts:
            if f == 4:
                kind, value = next(protobuf_fields(v))
                values.append(value.decode() if kind == 1 else value)
        features = []
        for f, v in parts:
            if f != 2:
                continue
            tags = b"".join(t for n, t in protobuf_fields(v) if n == 2)
            numbers, pos = [], 0
            while pos < len(tags):
                n, pos = read_varint(tags, pos)
                numbers.append(n)
            features.append(
                {keys[numbers[i]]: values[numbers[i + 1]] for i in range(0, len(numbers), 2)}
            )
        return features
    return []


def test_the_events_archive_is_pmtiles_whose_tiles_decode_to_every_published_event(
    published, db, client
):
    from pmtiles.reader import MmapSource, Reader
    from pmtiles.tile import Compression, TileType

    from conflictmap.events.models import Event

    with open(published.root / "data/events.pmtiles", "rb") as handle:
        reader = Reader(MmapSource(handle))
        header = reader.header()
        assert header["tile_type"] == TileType.MVT
        assert header["tile_compression"] == Compression.GZIP
        assert header["max_zoom"] == snapshot.EVENT_ZOOM
        assert reader.metadata()["vector_layers"][0]["id"] == "events"
        config = json.loads(
            (published.root / "index.html")
            .read_text(encoding="utf-8")
            .split('<script id="map-config" type="application/json">')[1]
            .split("</script>")[0]
        )
        found: dict[int, dict] = {}
        for x, y in config["snapshot"]["events"]["tiles"]:
            tile = reader.get(snapshot.EVENT_ZOOM, x, y)
            for feature in decode_events_layer(gzip.decompress(tile) if tile else b""):
                found[feature["id"]] = json.loads(feature["feature"])
        low = reader.get(3, 4, 3)  # Syria at zoom 3: aggregated cells
        assert low and decode_events_layer(gzip.decompress(low))[0]["count"] >= 1
    published_ids = set(Event.objects.published().values_list("id", flat=True))
    assert published_ids and set(found) == published_ids
    response = client.get("/api/v1/events?start=2024-11-01&end=2024-12-31")
    api = json.loads(b"".join(response.streaming_content))["features"]
    assert {f["id"]: f for f in api} == found


def test_drafts_stay_out_and_a_second_run_over_the_same_data_rewrites_nothing(
    published, tmp_path, make_version, make_event
):
    from conflictmap.territory.models import Faction, Status

    # (A new faction would be published at once: the legend lists every faction.)
    hts = Faction.objects.get(slug="hts")
    make_version(valid_from=dt.date(2024, 12, 3), status=Status.DRAFT, faction=hts)
    make_event(date=dt.date(2024, 12, 1), status=Status.DRAFT)
    root = copy_of(published, tmp_path)
    summary = snapshot.publish(root)
    assert touched(root) == []
    assert (summary["written"], summary["deleted"]) == (0, 0)
    assert summary["unchanged"] == published.summary["files"] - 1  # all but the manifest


def test_a_change_rewrites_only_the_files_it_changes(published, db, tmp_path):
    from conflictmap.events.models import Event

    root = copy_of(published, tmp_path)
    event = Event.objects.published().order_by("id").first()
    Event.objects.filter(pk=event.pk).update(fatalities=(event.fatalities or 0) + 7)
    summary = snapshot.publish(root)
    assert touched(root) == ["data/events.pmtiles"]
    assert summary["written"] == 1

    # A shorter period: the files of the change dates after it go, the others stay as they were.
    for path in root.rglob("*"):
        os.utime(path, (LONG_AGO, LONG_AGO))
    summary = snapshot.publish(root, last=dt.date(2024, 12, 6))
    assert not (root / "data/zones/0-6/2024-12-07.geojson").exists()
    assert not (root / "data/frontlines/2024-12-11.geojson").exists()
    assert not (root / "data/changes/2024-11-26_2024-12-09.geojson").exists()
    assert summary["deleted"] > 10
    changed = touched(root)
    assert "data/zones/16-22/2024-12-06.geojson" in published_files(root)
    for unchanged in (
        "data/zones/10-12/2024-11-27.geojson",
        "data/frontlines/2024-12-06.geojson",
        "data/changes/2024-11-26_2024-12-06.geojson",
        "data/regions.geojson",
        "static/js/map/page.js",
    ):
        assert unchanged not in changed
    # What depends on the period is rewritten: the page (its slider's ends), the charts, the
    # events archive.
    assert {"index.html", "data/stats/area.json", "data/events.pmtiles"} <= set(changed)


def published_files(root: Path) -> set[str]:
    return set(json.loads((root / snapshot.MANIFEST).read_text(encoding="utf-8"))["files"])


def test_bad_input_is_refused_with_its_reason_and_nothing_is_written(db, tmp_path):
    out = tmp_path / "site"
    with pytest.raises(CommandError, match="--from 2024-12-10 is after --to 2024-12-01"):
        call_command("publish_static", str(out), "--from", "2024-12-10", "--to", "2024-12-01")
    with pytest.raises(CommandError, match="--from"):
        call_command("publish_static", str(out), "--from", "2024-13-01")
    with pytest.raises(CommandError, match="--base-url"):
        call_command("publish_static", str(out), "--base-url", "ftp://cdn.example/")
    assert not out.exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(CommandError, match="not a directory"):
        call_command("publish_static", str(tmp_path / "file"), "--from", "2024-12-01")


def test_a_base_url_prefixes_every_link_of_the_page(published, db, tmp_path):
    root = copy_of(published, tmp_path)
    snapshot.publish(root, base_url="https://cdn.example.org/map")
    html = (root / "index.html").read_text(encoding="utf-8")
    assert 'src="https://cdn.example.org/map/static/leaflet/leaflet.js"' in html
    assert '"api": "https://cdn.example.org/map/data/"' in html
    assert touched(root) == ["index.ar.html", "index.html"]
