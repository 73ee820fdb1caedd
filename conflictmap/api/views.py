"""HTTP API (contract: docs/api.md). Plain Django views: SQL builds the payloads, the views
validate parameters (conflictmap.api.params), add caching headers and stream.

Published data only, unless the user may view drafts (territory.models.sees_drafts: the view
permission of zone versions or of events); then drafts and retracted records come too, each with
its `status`. Bad parameters: 400 {"error", "parameter"}.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import Model
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from conflictmap.api import params as P
from conflictmap.api import state
from conflictmap.api.openapi import openapi_document
from conflictmap.events import changelog as event_changelog
from conflictmap.events import queries as event_sql
from conflictmap.events import tiles as event_tiles
from conflictmap.events.models import Event
from conflictmap.geojson import (
    GEOJSON_CONTENT_TYPE,
    Query,
    render_features,
    render_query,
    rows_from_cursor,
    stream_query,
)
from conflictmap.territory import control as control_sql
from conflictmap.territory import quality as territory_quality
from conflictmap.territory import queries as territory
from conflictmap.territory import series
from conflictmap.territory.models import ZoneVersion, sees_drafts

MVT_CONTENT_TYPE = "application/vnd.mapbox-vector-tile"


def _drafts(request: HttpRequest, model: type[Model]) -> bool:
    """Whether this request's user sees the unpublished records of `model` (the one rule:
    territory.models.sees_drafts)."""
    return sees_drafts(getattr(request, "user", None), model)


def _viewer(request: HttpRequest) -> tuple[bool, bool]:
    """What the user may see (zone drafts, event drafts), for ETags of any payload."""
    return _drafts(request, ZoneVersion), _drafts(request, Event)


def bad_parameter(error: P.ParamError) -> JsonResponse:
    return JsonResponse({"error": error.message, "parameter": error.parameter}, status=400)


def api(endpoint: str) -> Callable:
    """Parse the declared parameters of `endpoint` and pass them as `values`; 400 on bad input."""

    def decorate(view: Callable) -> Callable:
        @require_safe
        @functools.wraps(view)
        def wrapper(request: HttpRequest, **path_args: Any) -> HttpResponseBase:
            try:
                values = P.parse(endpoint, request.GET, path_args)
                return view(request, values)
            except P.ParamError as error:
                return bad_parameter(error)

        return wrapper

    return decorate


# --- caching headers ---------------------------------------------------------------------------


def _etag(*parts: Any) -> str:
    digest = hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f'"{digest}"'


def _cacheable(
    request: HttpRequest,
    body: bytes,
    content_type: str,
    *,
    last_modified: dt.datetime | None = None,
    filename: str | None = None,
) -> HttpResponse:
    """A response whose ETag is the hash of its body; 304 when the client has it already."""
    etag = _etag(hashlib.sha1(body).hexdigest(), _viewer(request))
    not_modified = get_conditional_response(
        request,
        etag=etag,
        last_modified=int(last_modified.timestamp()) if last_modified else None,
    )
    response = not_modified or HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    if last_modified:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    response["Vary"] = "Cookie"
    if filename and not not_modified:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# The map asks for the same series (whole period) on every page load.
STATS_CACHE = state.StateCache(size=16)
# Aggregated event tiles (below the detail zoom): every visitor of a window asks for the same few
# dozen at the zooms a map opens at, and each costs a pass over the pyramid's cells (15-45 ms at a
# million events). Keyed by the stamp, so an entry is never stale; ~10-30 kB a tile.
TILE_CACHE = state.StateCache(size=512)


def _conditional(
    request: HttpRequest,
    etag: str | None,
    last_modified: dt.datetime,
    render: Callable[[], bytes],
    content_type: str,
    filename: str | None = None,
) -> HttpResponse:
    """A response whose ETag is known before its body: 304 without rendering anything. (With
    no `etag`, the body is rendered first and the ETag is its hash.)"""
    body = None
    if etag is None:
        body = render()
        etag = _etag(hashlib.sha1(body).hexdigest(), _viewer(request))
    not_modified = get_conditional_response(
        request, etag=etag, last_modified=int(last_modified.timestamp())
    )
    response = not_modified or HttpResponse(
        render() if body is None else body, content_type=content_type
    )
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified.timestamp())
    response["Vary"] = "Cookie"
    if filename and not not_modified:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _stamped(
    request: HttpRequest,
    kind: str,
    *,
    drafts: bool,
    key: Any,
    render: Callable[[state.Stamp | None], bytes],
    content_type: str,
    filename: str | None = None,
) -> HttpResponse:
    """A response made by `render` (given the stamp, to key what it caches) from the `kind` data
    the user sees (`drafts`: whether they see drafts), as `key` (what the request asks for)
    selects. The ETag is the user's stamp of that data and `key`, so a client that has it gets
    its 304 before anything is computed, and Last-Modified is that stamp's last change: a
    visitor's move only when published data changes (state.stamp_name)."""
    stamp, changed_at = state.data_stamp(kind, drafts=drafts)
    etag = None if stamp is None else _etag(stamp, key, drafts)
    return _conditional(request, etag, changed_at, lambda: render(stamp), content_type, filename)


def _geojson(
    request: HttpRequest, body: bytes, values: dict, filename: str, *, drafts: bool
) -> HttpResponse:
    """A GeoJSON body made from zone data (and more): its hash is the ETag; Last-Modified is the
    user's zone stamp's last change."""
    _stamp, last = state.data_stamp(state.ZONES, drafts=drafts)
    return _cacheable(
        request,
        body,
        GEOJSON_CONTENT_TYPE,
        last_modified=last,
        filename=filename if values.get("download") else None,
    )


# --- territory ---------------------------------------------------------------------------------


@api("zones")
def zones(request: HttpRequest, values: dict) -> HttpResponse:
    """One day's map (date) or a period (from, to): which parameters go together is checked by
    the endpoint's modes (params.ENDPOINTS["zones"])."""
    staff = _drafts(request, ZoneVersion)
    day, start, end = values["date"], values["from"], values["to"]
    if day:
        found = state.state_at(day, values["bbox"], staff=staff)
        zoom = values["zoom"]
        base = values["base"] and state.state_at(values["base"], values["bbox"], staff=staff)
        # Every zoom sharing a grid gets the same body.
        variant = (territory.zoom_range(zoom) if zoom is not None else None, base and base.key)
        return _conditional(
            request,
            found.etag("zones", variant),
            found.changed_at,
            lambda: state.zones_body(found, zoom, base=base),
            GEOJSON_CONTENT_TYPE,
            f"zones_{day.isoformat()}.geojson" if values["download"] else None,
        )
    query = territory.zones_between(start, end, bbox=values["bbox"], staff=staff)
    head = {"from": start.isoformat(), "to": end.isoformat()}
    name = f"zones_{start.isoformat()}_{end.isoformat()}.geojson"
    return _stamped(
        request,
        state.ZONES,
        drafts=staff,
        key=("zones", start, end, values["bbox"]),
        render=lambda _stamp: render_query(query, head=head),
        content_type=GEOJSON_CONTENT_TYPE,
        filename=name if values["download"] else None,
    )


@api("frontlines")
def frontlines(request: HttpRequest, values: dict) -> HttpResponse:
    day = values["date"]
    found = state.state_at(day, values["bbox"], staff=_drafts(request, ZoneVersion))
    head = {"date": day.isoformat(), "tolerance_m": territory.FRONT_TOLERANCE_M}
    return _conditional(
        request,
        found.etag("frontlines"),
        found.changed_at,
        lambda: render_features(state.frontline_features(found), head=head),
        GEOJSON_CONTENT_TYPE,
        f"frontlines_{day.isoformat()}.geojson" if values["download"] else None,
    )


@api("changes")
def changes(request: HttpRequest, values: dict) -> HttpResponse:
    start, end = values["from"], values["to"]
    staff = _drafts(request, ZoneVersion)
    return _stamped(
        request,
        state.ZONES,
        drafts=staff,
        key=("changes", start, end),
        render=lambda _stamp: territory.changes_collection(start, end, staff=staff),
        content_type=GEOJSON_CONTENT_TYPE,
        filename=f"changes_{start}_{end}.geojson" if values["download"] else None,
    )


def _series(
    request: HttpRequest, kind: str, drafts: bool, args: tuple, compute: Callable[..., Any]
) -> HttpResponse:
    """A JSON series, compute(*args, staff=drafts), kept per process under the stamp of the
    `kind` data the user sees (the map asks for the same whole-period series on every load)."""
    return _stamped(
        request,
        kind,
        drafts=drafts,
        key=(kind, *args),
        render=lambda stamp: _json_body(
            STATS_CACHE.get_or_compute(
                (kind, *args, drafts, stamp),
                lambda: compute(*args, staff=drafts),
                keep=stamp is not None,
            )
        ),
        content_type="application/json",
    )


@api("stats_area")
def stats_area(request: HttpRequest, values: dict) -> HttpResponse:
    P.check_steps(values)
    args = (values["from"], values["to"], values["step"])
    return _series(request, state.ZONES, _drafts(request, ZoneVersion), args, series.area_series)


@api("stats_events")
def stats_events(request: HttpRequest, values: dict) -> HttpResponse:
    P.check_steps(values)
    args = (values["from"], values["to"], values["step"], values["by"])
    return _series(request, state.EVENTS, _drafts(request, Event), args, event_sql.counts)


def _json_body(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, default=str).encode()


def _json(request: HttpRequest, data: Any) -> HttpResponse:
    return _cacheable(request, _json_body(data), "application/json")


# --- events ------------------------------------------------------------------------------------


def csv_stream(query: Query, columns: list[str] | None = None) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns or event_sql.CSV_COLUMNS)
    for rows in rows_from_cursor(query):
        writer.writerows(rows)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


@api("events")
def events(request: HttpRequest, values: dict) -> HttpResponseBase:
    staff = _drafts(request, Event)
    flt = P.event_filter(values, staff=staff)
    stamp, last = state.data_stamp(state.EVENTS, drafts=staff)
    # Streamed, so the ETag is known before the body: the user's stamp of the events, or inside
    # a transaction that has changed them itself, a count of its writes so far.
    validator = stamp or state.uncommitted_writes(state.EVENTS, drafts=staff)
    etag = "W/" + _etag(validator, request.GET.urlencode(), staff)
    not_modified = get_conditional_response(request, etag=etag, last_modified=int(last.timestamp()))
    span = "_".join(d.isoformat() for d in (flt.start, flt.end) if d) or "all"
    if not_modified:
        response: HttpResponseBase = not_modified
    elif values["format"] == "csv":
        response = StreamingHttpResponse(
            csv_stream(event_sql.csv_rows(flt)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="events_{span}.csv"'
    else:
        response = StreamingHttpResponse(
            stream_query(event_sql.features(flt)), content_type=GEOJSON_CONTENT_TYPE
        )
        if values["download"]:
            response["Content-Disposition"] = f'attachment; filename="events_{span}.geojson"'
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last.timestamp())
    response["Vary"] = "Cookie"
    return response


@api("tiles")
def event_tile(request: HttpRequest, values: dict) -> HttpResponse:
    z, x, y = values["z"], values["x"], values["y"]
    if x >= 2**z:
        raise P.ParamError("x", f"x must be below 2^z = {2**z}.")
    if y >= 2**z:
        raise P.ParamError("y", f"y must be below 2^z = {2**z}.")
    staff = _drafts(request, Event)
    flt = event_sql.EventFilter(
        start=values["start"], end=values["end"], types=values["type"] or [], staff=staff
    )
    key = ("tile", z, x, y, flt.start, flt.end, tuple(sorted(flt.types)))
    response = _stamped(
        request,
        state.EVENTS,
        drafts=staff,
        key=key,
        render=lambda stamp: TILE_CACHE.get_or_compute(
            (*key, stamp, staff),
            lambda: event_tiles.tile(z, x, y, flt),
            keep=stamp is not None and z < event_tiles.DETAIL_ZOOM,
        ),
        content_type=MVT_CONTENT_TYPE,
    )
    response["Cache-Control"] = "max-age=60"
    return response


# --- who held each place when -------------------------------------------------------------------


@api("control")
def control(request: HttpRequest, values: dict) -> HttpResponseBase:
    staff = _drafts(request, ZoneVersion)
    day, bbox = values["date"], values["bbox"]
    if values["format"] == "csv":
        response = StreamingHttpResponse(
            csv_stream(
                control_sql.control_csv_rows(day, bbox=bbox, staff=staff), control_sql.CSV_COLUMNS
            ),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="control_{day.isoformat()}.csv"'
        response["Vary"] = "Cookie"
        return response
    body = render_query(
        control_sql.control_at(day, bbox=bbox, staff=staff), head={"date": day.isoformat()}
    )
    return _geojson(request, body, values, f"control_{day.isoformat()}.geojson", drafts=staff)


@api("control_changes")
def control_changes(request: HttpRequest, values: dict) -> HttpResponse:
    start, end = values["from"], values["to"]
    staff = _drafts(request, ZoneVersion)
    query = control_sql.control_changes(start, end, bbox=values["bbox"], staff=staff)
    body = render_query(query, head={"from": start.isoformat(), "to": end.isoformat()})
    return _geojson(request, body, values, f"control_changes_{start}_{end}.geojson", drafts=staff)


@api("place_control")
def place_control(request: HttpRequest, values: dict) -> HttpResponse:
    timeline = control_sql.place_timeline(values["id"], staff=_drafts(request, ZoneVersion))
    if timeline is None:
        return JsonResponse({"error": f"No place with id {values['id']}."}, status=404)
    return _json(request, timeline)


@api("quality")
def quality(request: HttpRequest, values: dict) -> HttpResponse:
    if not _drafts(request, ZoneVersion):  # the report names draft versions
        return JsonResponse(
            {
                "error": "Only staff who may view zone versions (editors) may see the data-quality report."
            },
            status=403,
        )
    day = values["date"] or dt.date.today()
    data = territory_quality.report(day, days=values["days"], drafts=values["drafts"])
    return _json(request, data)


# --- reference data ----------------------------------------------------------------------------


@api("factions")
def factions(request: HttpRequest, values: dict) -> HttpResponse:
    return _cacheable(request, territory.factions_json(), "application/json")


@api("regions")
def regions(request: HttpRequest, values: dict) -> HttpResponse:
    query = territory.regions(values["level"])
    return _cacheable(request, render_query(query), GEOJSON_CONTENT_TYPE)


@api("places")
def places(request: HttpRequest, values: dict) -> HttpResponse:
    query = event_sql.places(values["min_population"], values["bbox"])
    return _cacheable(request, render_query(query), GEOJSON_CONTENT_TYPE)


# The changelog's default period, in days before `to`.
CHANGELOG_DAYS = 90


@api("changelog")
def changelog(request: HttpRequest, values: dict) -> HttpResponse:
    """Public changes to the map (conflictmap.events.changelog): the same for every user."""
    end = values["to"] or dt.datetime.now(dt.UTC).date()
    start = values["from"] or end - dt.timedelta(days=CHANGELOG_DAYS)
    P.check_order({"from": start, "to": end}, "from", "to")
    found, truncated = event_changelog.entries(start, end)
    data = {"from": start.isoformat(), "to": end.isoformat(), "entries": found}
    return _json(request, {**data, "truncated": truncated})


@api("extent")
def extent(request: HttpRequest, values: dict) -> HttpResponse:
    found = event_sql.data_extent(events_in_bbox=True)
    data = {
        "first_date": found.first.isoformat() if found.first else None,
        "last_date": found.last.isoformat() if found.last else None,
        "bbox": [round(v, 6) for v in found.bbox] if found.bbox else None,
    }
    return _json(request, data)


@require_safe
def schema(request: HttpRequest) -> HttpResponse:
    body = json.dumps(openapi_document(), ensure_ascii=False, indent=1).encode()
    return _cacheable(request, body, "application/vnd.oai.openapi+json")
