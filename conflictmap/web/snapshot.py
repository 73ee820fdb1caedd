"""A static copy of the map for any static host or CDN (`manage.py publish_static`).

The site is the map page in its static mode (index.html, one per language) with the files the
page's static backend (static/js/map/api.js) reads instead of the API:

    data/zones/<L>-<H>/<D>.geojson  /zones?date=&zoom=  on every change date D (the file of the
                                 latest change date on or before the day), generalised for the
                                 zooms L to H that share a grid (territory.zoom_range)
    data/frontlines/<D>.geojson  /frontlines?date=  likewise
    data/changes/<A>_<B>.geojson /changes?from=&to=  for pairs of change dates A < B
    data/control-changes/<A>_<B>.geojson  /control/changes?from=&to=  for the same pairs
    data/places/<id>/control.json  /places/{id}/control  for every place of the gazetteer
    data/events.pmtiles          /events: one MVT point per event, its GeoJSON Feature kept in the
                                 point's "feature" property, in a PMTiles archive read with HTTP
                                 range requests (aggregated counts below the detail zoom)
    data/factions.json, data/stats/*.json, data/regions.geojson, data/places.geojson
    static/                      the page's scripts, styles and vendored libraries

Every payload is the bytes the API answers for that request to an anonymous visitor, made by the
same functions: only published data. A change date is a day on which a published zone version
starts or ends; between two of them the map state is the same, so a day's state is the file of
the latest change date on or before it.

Re-running rewrites only what changed: `.snapshot.json` keeps the SHA-256 of every file written;
a file whose new bytes hash the same (and which is still there, of the same size) is left alone,
mtime included, and files of an earlier run that this one no longer makes are deleted. Nothing
else in OUT_DIR is touched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import io
import json
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import connections, transaction
from django.template.loader import render_to_string
from django.test.utils import override_settings
from django.utils import translation

from conflictmap.api import state
from conflictmap.events import queries as event_sql
from conflictmap.events import tiles as event_tiles
from conflictmap.events.models import Place
from conflictmap.geojson import query_cursor, render_features, render_query
from conflictmap.gis import WEB_MERCATOR_HALF_WIDTH_M
from conflictmap.replica import PRIMARY
from conflictmap.territory import control, series
from conflictmap.territory import queries as territory
from conflictmap.territory.models import visible
from conflictmap.web.mapdata import MAP_MODULES, chart_steps, js_catalogue, map_config

MANIFEST = ".snapshot.json"
# Events are stored one point per event at this zoom (tiles of ~2.8 degrees: Syria in about nine),
# and aggregated into cells below it. The static backend reads the detail tiles of the data's box.
EVENT_ZOOM = 7
# With n change dates there are n(n-1)/2 pairs to compare; past this many dates only consecutive
# dates and each date with the first are written (the page then says a pair is not in the copy).
DEFAULT_MAX_COMPARE_DATES = 60
# The static files the page uses (the admin's are left out).
STATIC_PREFIXES = ("css/", "js/", "vendor/", "leaflet/")
STATIC_LEFT_OUT = ("css/admin/", "js/admin/")
# A placeholder STATIC_URL while rendering, replaced by the site's own static prefix afterwards:
# Django prefixes a relative STATIC_URL with the script name, which a relative site cannot have.
_STATIC_MARK = "https://static.snapshot.invalid/"


class SnapshotError(Exception):
    """What stops a publication, said plainly (bad dates, an OUT_DIR that is a file, ...)."""


@dataclass
class Site:
    """The files of OUT_DIR, written only when their bytes changed."""

    root: Path
    previous: dict[str, str] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, root: Path) -> Site:
        if root.exists() and not root.is_dir():
            raise SnapshotError(f"{root} exists and is not a directory.")
        root.mkdir(parents=True, exist_ok=True)
        previous: dict[str, str] = {}
        try:
            previous = json.loads((root / MANIFEST).read_text(encoding="utf-8"))["files"]
        except (FileNotFoundError, KeyError, ValueError, TypeError):
            previous = {}  # no or unreadable manifest: every file is compared by its bytes
        return cls(root, previous)

    def put(self, name: str, body: bytes) -> None:
        digest = hashlib.sha256(body).hexdigest()
        self.current[name] = digest
        path = self.root / name
        if self._same(name, path, body, digest):
            self.unchanged.append(name)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed: a host serving the folder never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(body)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.written.append(name)

    def _same(self, name: str, path: Path, body: bytes, digest: str) -> bool:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return False
        if size != len(body):
            return False
        if self.previous.get(name) == digest:
            return True
        # Not in the manifest (first run over an old copy): compare the bytes themselves.
        return hashlib.sha256(path.read_bytes()).hexdigest() == digest

    def finish(self) -> None:
        for name in sorted(set(self.previous) - set(self.current)):
            path = self.root / name
            # Only names this command wrote, and never outside OUT_DIR.
            if path.resolve().is_relative_to(self.root.resolve()) and path.is_file():
                path.unlink()
                self.deleted.append(name)
        body = json.dumps({"files": dict(sorted(self.current.items()))}, indent=0).encode()
        self.put(MANIFEST, body)

    def summary(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.root),
            "files": len(self.current),
            "written": len([n for n in self.written if n != MANIFEST]),
            "unchanged": len([n for n in self.unchanged if n != MANIFEST]),
            "deleted": len(self.deleted),
        }


# --- what the map shows on which dates ------------------------------------------------------------


def change_dates(first: dt.date, last: dt.date) -> list[dt.date]:
    """`first` and every later day up to `last` on which a published zone version starts or
    ends (its valid_to, exclusive, is the first day it is no longer in force)."""
    sql = f"""
    SELECT DISTINCT d FROM (
        SELECT v.valid_from AS d FROM territory_zoneversion v WHERE {visible("v")}
        UNION ALL
        SELECT v.valid_to FROM territory_zoneversion v
        WHERE {visible("v")} AND v.valid_to IS NOT NULL
    ) c WHERE d > %(first)s AND d <= %(last)s ORDER BY d
    """
    with query_cursor() as cursor:
        cursor.execute(sql, {"staff": False, "first": first, "last": last})
        return [first, *(row[0] for row in cursor.fetchall())]


def zoom_grids() -> list[tuple[int, int]]:
    """The (lowest, highest) zooms of each grid the zones are generalised to."""
    return sorted({territory.zoom_range(z) for z in range(territory.MAX_ZOOM + 1)})


def compare_pairs(dates: list[dt.date], limit: int) -> list[tuple[dt.date, dt.date]]:
    """Pairs (a, b), a < b, whose changes are written: all of them up to `limit` dates, else
    consecutive dates and each date with the first."""
    if len(dates) <= limit:
        return [(a, b) for i, a in enumerate(dates) for b in dates[i + 1 :]]
    pairs = {(a, b) for a, b in zip(dates, dates[1:], strict=False)}
    pairs.update((dates[0], b) for b in dates[1:])
    return sorted(pairs)


# --- event tiles -----------------------------------------------------------------------------------


def tile_range(bbox: tuple[float, float, float, float], z: int) -> Iterator[tuple[int, int]]:
    """(x, y) of the Web Mercator tiles of zoom `z` that `bbox` (W, S, E, N) touches."""
    n = 2**z

    def tx(lon: float) -> int:
        return min(n - 1, max(0, int((lon + 180.0) / 360.0 * n)))

    def ty(lat: float) -> int:
        lat = max(-85.0511, min(85.0511, lat))
        s = math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat)))
        return min(n - 1, max(0, int((1 - s / math.pi) / 2 * n)))

    west, south, east, north = bbox
    for x in range(tx(west), tx(east) + 1):
        for y in range(ty(north), ty(south) + 1):
            yield x, y


def _detail_tile_sql(flt: event_sql.EventFilter) -> tuple[str, dict[str, Any]]:
    """One point per event with id, date, type, sub_type, fatalities and "feature": the event's
    GeoJSON Feature as the API writes it (an MVT value cannot nest, the page's panel needs the
    actors and sources)."""
    where, params = flt.where()
    envelope = "ST_TileEnvelope(%(z)s, %(x)s, %(y)s)"
    world = (
        f"ST_MakeEnvelope(-{WEB_MERCATOR_HALF_WIDTH_M}, -{WEB_MERCATOR_HALF_WIDTH_M},"
        f" {WEB_MERCATOR_HALF_WIDTH_M}, {WEB_MERCATOR_HALF_WIDTH_M})"
    )
    sql = f"""
    WITH agg AS (
        SELECT ST_AsMVTGeom(ST_Transform(e.geom, 3857), {envelope}, %(extent)s, 0, true) AS geom,
               e.id, e.date::text AS date, e.event_type AS type,
               NULLIF(e.sub_event_type, '') AS sub_type, e.fatalities,
               {event_sql.FEATURE_SQL} AS feature
        FROM events_event e
        LEFT JOIN events_place p ON p.id = e.place_id
        WHERE e.geom && ST_Transform(ST_ClipByBox2D({envelope}, {world}), 4326) AND {where}
        ORDER BY e.id
    )
    SELECT ST_AsMVT(agg, 'events', %(extent)s, 'geom') FROM agg WHERE geom IS NOT NULL
    """
    params.update({"extent": event_tiles.TILE_EXTENT})
    return sql, params


def event_archive(flt: event_sql.EventFilter, bbox: tuple[float, float, float, float]) -> bytes:
    """A PMTiles archive (gzipped MVT, layer "events"): aggregated tiles (events.tiles) at zooms
    0 to EVENT_ZOOM - 1 and one point per event at EVENT_ZOOM, over `bbox`."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    tiles: dict[int, bytes] = {}
    sql, params = _detail_tile_sql(flt)
    with query_cursor() as cursor:
        cursor.execute(event_sql.FLUSH_RELATED)
        for x, y in tile_range(bbox, EVENT_ZOOM):
            cursor.execute(sql, {**params, "z": EVENT_ZOOM, "x": x, "y": y})
            row = cursor.fetchone()
            if row and row[0]:
                tiles[zxy_to_tileid(EVENT_ZOOM, x, y)] = bytes(row[0])
    for z in range(EVENT_ZOOM):
        for x, y in tile_range(bbox, z):
            body = event_tiles.tile(z, x, y, flt)
            if body:
                tiles[zxy_to_tileid(z, x, y)] = body

    out = io.BytesIO()
    writer = Writer(out)
    for tile_id in sorted(tiles):
        # mtime=0: the same tile gzips to the same bytes, so an unchanged archive stays unchanged.
        writer.write_tile(tile_id, gzip.compress(tiles[tile_id], mtime=0))
    # The header's bounds are WGS84 degrees as int32 (x 1e7): an extent past the antimeridian or
    # the poles (a stray geometry) would not fit; the archive still holds every tile.
    west, south, east, north = bbox
    west, east = (min(max(v, -180.0), 180.0) for v in (west, east))
    south, north = (min(max(v, -85.0511287), 85.0511287) for v in (south, north))
    header = {
        "tile_type": TileType.MVT,
        "tile_compression": Compression.GZIP,
        "min_zoom": 0,
        "max_zoom": EVENT_ZOOM,
        "min_lon_e7": int(west * 1e7),
        "min_lat_e7": int(south * 1e7),
        "max_lon_e7": int(east * 1e7),
        "max_lat_e7": int(north * 1e7),
        "center_zoom": EVENT_ZOOM,
        "center_lon_e7": int((west + east) / 2 * 1e7),
        "center_lat_e7": int((south + north) / 2 * 1e7),
    }
    fields = {"id": "Number", "date": "String", "type": "String", "sub_type": "String"}
    fields.update({"fatalities": "Number", "feature": "String", "count": "Number"})
    metadata = {
        "name": "conflictmap events",
        "vector_layers": [{"id": "events", "fields": fields, "minzoom": 0, "maxzoom": EVENT_ZOOM}],
        "detail_zoom": EVENT_ZOOM,
    }
    if not tiles:
        # The writer needs one tile; an empty tile says "no event" to any reader.
        writer.write_tile(zxy_to_tileid(0, 0, 0), gzip.compress(b"", mtime=0))
    writer.finalize(header, metadata)
    return out.getvalue()


# --- the page --------------------------------------------------------------------------------------


def page_name(lang: str) -> str:
    """index.html for the default language, index.<lang>.html for the others."""
    return "index.html" if lang == settings.LANGUAGE_CODE else f"index.{lang}.html"


def render_page(
    lang: str, prefix: str, snapshot: dict[str, Any], first: dt.date, last: dt.date
) -> bytes:
    """The map page in `lang`, in static mode, over [first, last]: `snapshot` tells api.js which
    files answer which request."""
    with translation.override(lang):
        config = map_config()
        config["extent"].update(first_date=first.isoformat(), last_date=last.isoformat())
        config["steps"] = chart_steps(first.isoformat(), last.isoformat())
        config["api"] = f"{prefix}data/"
        config["snapshot"] = snapshot
        config["pages"] = {code: page_name(code) for code, _name in settings.LANGUAGES}
        storages = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with override_settings(STATIC_URL=_STATIC_MARK, STORAGES=storages):
            html = render_to_string(
                "web/map.html",
                {
                    "map_config": config,
                    "map_i18n": js_catalogue(),
                    "map_modules": MAP_MODULES,
                    "snapshot": True,
                },
            )
    return html.replace(_STATIC_MARK, f"{prefix}static/").encode()


def static_files() -> Iterator[tuple[str, bytes]]:
    """(path under static/, bytes) of every static file the page may load, first found first
    (as collectstatic would pick)."""
    seen: set[str] = set()
    for finder in finders.get_finders():
        for path, storage in finder.list(["*.py", "*.pyc", ".*"]):
            name = path.replace(os.sep, "/")
            if (
                name in seen
                or not name.startswith(STATIC_PREFIXES)
                or name.startswith(STATIC_LEFT_OUT)
            ):
                continue
            seen.add(name)
            with storage.open(path) as handle:
                yield name, handle.read()


# --- the whole site --------------------------------------------------------------------------------


@contextlib.contextmanager
def one_snapshot() -> Iterator[None]:
    """Every read of a publication sees the same committed data, so its files agree with each
    other: one REPEATABLE READ transaction (what editors commit meanwhile goes into the next run).
    Inside a caller's transaction (a test's), that one holds the reads together already."""
    connection = connections[PRIMARY]
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic(using=PRIMARY):
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def publish(
    out_dir: Path,
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    base_url: str = "",
    max_compare_dates: int = DEFAULT_MAX_COMPARE_DATES,
) -> dict[str, Any]:
    """Write (or bring up to date) the static site in `out_dir`; returns a summary."""
    if base_url and not base_url.endswith("/"):
        base_url += "/"
    with one_snapshot():
        return _publish(out_dir, first, last, base_url, max_compare_dates)


def _publish(
    out_dir: Path, first: dt.date | None, last: dt.date | None, base_url: str, max_dates: int
) -> dict[str, Any]:
    extent = event_sql.data_extent(events_in_bbox=True)
    first = first or extent.first
    last = last or extent.last
    if first is None or last is None:
        raise SnapshotError("There is no published zone or event to publish.")
    if first > last:
        raise SnapshotError(f"--from {first} is after --to {last}.")

    site = Site.open(out_dir)
    dates = change_dates(first, last)
    grids = zoom_grids()
    for day in dates:
        found = state.state_at(day, None, staff=False)
        for low, high in grids:
            site.put(f"data/zones/{low}-{high}/{day}.geojson", state.zones_body(found, low))
        head = {"date": day.isoformat(), "tolerance_m": territory.FRONT_TOLERANCE_M}
        lines = render_features(state.frontline_features(found), head=head)
        site.put(f"data/frontlines/{day}.geojson", lines)
    for a, b in compare_pairs(dates, max_dates):
        site.put(f"data/changes/{a}_{b}.geojson", territory.changes_collection(a, b))
        moved = render_query(
            control.control_changes(a, b, staff=False),
            head={"from": a.isoformat(), "to": b.isoformat()},
        )
        site.put(f"data/control-changes/{a}_{b}.geojson", moved)
    for place_id in Place.objects.order_by("id").values_list("id", flat=True):
        timeline = control.place_timeline(place_id, staff=False)
        site.put(f"data/places/{place_id}/control.json", _json(timeline))

    steps = chart_steps(first.isoformat(), last.isoformat())
    area = series.area_series(first, last, steps["area"], staff=False)
    site.put("data/stats/area.json", _json(area))
    counts = event_sql.counts(first, last, steps["events"], "type", staff=False)
    site.put("data/stats/events.json", _json(counts))
    site.put("data/factions.json", territory.factions_json())
    site.put("data/regions.geojson", render_query(territory.regions()))
    site.put("data/places.geojson", render_query(event_sql.places()))

    bbox = extent.bbox or (35.5, 32.3, 42.4, 37.4)
    flt = event_sql.EventFilter(start=first, end=last, staff=False)
    site.put("data/events.pmtiles", event_archive(flt, bbox))

    # The files that answer a request whatever its parameters (the page asks for them with the
    # period and steps of map_config(), which is what they were made with).
    snapshot = {
        "changeDates": [d.isoformat() for d in dates],
        "zoneGrids": [list(g) for g in grids],
        "files": {
            "stats/area": "stats/area.json",
            "stats/events": "stats/events.json",
            "factions": "factions.json",
            "regions": "regions.geojson",
            "places": "places.geojson",
        },
        "events": {
            "archive": "events.pmtiles",
            "zoom": EVENT_ZOOM,
            "tiles": [[x, y] for x, y in tile_range(bbox, EVENT_ZOOM)],
        },
        "from": first.isoformat(),
        "to": last.isoformat(),
    }
    for lang, _name in settings.LANGUAGES:
        site.put(page_name(lang), render_page(lang, base_url, snapshot, first, last))
    for name, body in static_files():
        site.put(f"static/{name}", body)
    site.finish()
    return {**site.summary(), "from": first.isoformat(), "to": last.isoformat()}


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, default=str).encode()
