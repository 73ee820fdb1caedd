"""The map page: server data for the browser modules under static/js/map/, handed with json_script."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.db.models import Max, Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from conflictmap.events.models import Event, EventType
from conflictmap.territory.models import Faction, Status, ZoneVersion

# One marker shape per ACLED event type; colour-blind-safe colours (Okabe-Ito) so that shape and
# colour each tell the type on their own.
EVENT_STYLES: dict[str, tuple[str, str]] = {
    EventType.BATTLES: ("circle", "#d55e00"),
    EventType.EXPLOSIONS: ("star", "#cc79a7"),
    EventType.VIOLENCE_CIVILIANS: ("triangle", "#000000"),
    EventType.PROTESTS: ("square", "#0072b2"),
    EventType.RIOTS: ("diamond", "#e69f00"),
    EventType.STRATEGIC: ("cross", "#009e73"),
}


def data_extent() -> dict:
    """First and last day of the published zones and events (today when there is no data), and
    the bounding box [W, S, E, N] of the published zones (None when there is none)."""
    zones = ZoneVersion.objects.published().aggregate(
        first=Min("valid_from"),
        last_from=Max("valid_from"),
        last_to=Max("valid_to"),
        bbox=Extent("geom"),
    )
    events = Event.objects.filter(status=Status.PUBLISHED).aggregate(
        first=Min("date"), last=Max("date")
    )
    firsts = [d for d in (zones["first"], events["first"]) if d]
    # valid_to is exclusive: the last day a closed version holds is the day before.
    last_to = zones["last_to"] - dt.timedelta(days=1) if zones["last_to"] else None
    lasts = [d for d in (zones["last_from"], last_to, events["last"]) if d]
    today = dt.date.today()
    first = min(firsts) if firsts else today
    last = max(lasts) if lasts else today
    return {
        "first_date": first.isoformat(),
        "last_date": max(first, last).isoformat(),
        "bbox": list(zones["bbox"]) if zones["bbox"] else None,
    }


def map_config() -> dict:
    factions = [
        {
            "slug": f.slug,
            "name": f.name,
            "name_ar": f.name_ar,
            "short_name": f.short_name,
            "colour": f.colour,
            "backed_by": sorted(b.slug for b in f.backed_by.all()),
        }
        for f in Faction.objects.prefetch_related("backed_by")
    ]
    return {
        "api": "/api/v1/",
        "tileUrl": settings.MAP_TILE_URL,
        "extent": data_extent(),
        "factions": factions,
        "eventTypes": [
            {
                "value": value,
                "label": label,
                "shape": EVENT_STYLES[value][0],
                "colour": EVENT_STYLES[value][1],
            }
            for value, label in EventType.choices
        ],
        "defaultCenter": list(settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (35.8, 38.3))),
        "defaultZoom": settings.LEAFLET_CONFIG.get("DEFAULT_ZOOM", 7),
    }


MAP_MODULES = [
    "api",
    "basemap",
    "charts",
    "compare",
    "dates",
    "dom",
    "events",
    "legend",
    "perdate",
    "timeslider",
    "urlstate",
    "zones",
]


def map_page(request: HttpRequest) -> HttpResponse:
    config = map_config()
    extent = config["extent"]
    # The page asks for exactly this URL first; preloading it lets the request start while the
    # browser is still fetching the scripts (measured: ~200 ms sooner to zones drawn).
    zones_url = f"{config['api']}zones?{urlencode({'from': extent['first_date'], 'to': extent['last_date']})}"
    return render(
        request,
        "web/map.html",
        {"map_config": config, "zones_url": zones_url, "map_modules": MAP_MODULES},
    )
