"""What the map page hands its browser modules (static/js/map/) with json_script: the configuration,
the words in the active language and the module list. Shared by the live page (views.py) and the
static snapshot (snapshot.py), so both say the same."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy

from conflictmap.api.params import MAX_BBOX_DEG2
from conflictmap.events import queries as event_queries
from conflictmap.events.models import EventActor, EventType
from conflictmap.territory.models import Faction

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


# Labels of the data's vocabularies in the interface's language. The values stay as stored (the API
# and permalinks use them); only what the page shows is translated.
EVENT_TYPE_LABELS = {
    EventType.BATTLES: pgettext_lazy("ACLED event type", "Battles"),
    EventType.EXPLOSIONS: pgettext_lazy("ACLED event type", "Explosions/Remote violence"),
    EventType.VIOLENCE_CIVILIANS: pgettext_lazy("ACLED event type", "Violence against civilians"),
    EventType.PROTESTS: pgettext_lazy("ACLED event type", "Protests"),
    EventType.RIOTS: pgettext_lazy("ACLED event type", "Riots"),
    EventType.STRATEGIC: pgettext_lazy("ACLED event type", "Strategic developments"),
}
SUB_TYPE_LABELS = {
    "Armed clash": pgettext_lazy("ACLED sub-event type", "Armed clash"),
    "Government regains territory": pgettext_lazy(
        "ACLED sub-event type", "Government regains territory"
    ),
    "Non-state actor overtakes territory": pgettext_lazy(
        "ACLED sub-event type", "Non-state actor overtakes territory"
    ),
    "Chemical weapon": pgettext_lazy("ACLED sub-event type", "Chemical weapon"),
    "Air/drone strike": pgettext_lazy("ACLED sub-event type", "Air/drone strike"),
    "Suicide bomb": pgettext_lazy("ACLED sub-event type", "Suicide bomb"),
    "Shelling/artillery/missile attack": pgettext_lazy(
        "ACLED sub-event type", "Shelling/artillery/missile attack"
    ),
    "Remote explosive/landmine/IED": pgettext_lazy(
        "ACLED sub-event type", "Remote explosive/landmine/IED"
    ),
    "Grenade": pgettext_lazy("ACLED sub-event type", "Grenade"),
    "Sexual violence": pgettext_lazy("ACLED sub-event type", "Sexual violence"),
    "Attack": pgettext_lazy("ACLED sub-event type", "Attack"),
    "Abduction/forced disappearance": pgettext_lazy(
        "ACLED sub-event type", "Abduction/forced disappearance"
    ),
    "Peaceful protest": pgettext_lazy("ACLED sub-event type", "Peaceful protest"),
    "Protest with intervention": pgettext_lazy("ACLED sub-event type", "Protest with intervention"),
    "Excessive force against protesters": pgettext_lazy(
        "ACLED sub-event type", "Excessive force against protesters"
    ),
    "Violent demonstration": pgettext_lazy("ACLED sub-event type", "Violent demonstration"),
    "Mob violence": pgettext_lazy("ACLED sub-event type", "Mob violence"),
    "Agreement": pgettext_lazy("ACLED sub-event type", "Agreement"),
    "Arrests": pgettext_lazy("ACLED sub-event type", "Arrests"),
    "Change to group/activity": pgettext_lazy("ACLED sub-event type", "Change to group/activity"),
    "Disrupted weapons use": pgettext_lazy("ACLED sub-event type", "Disrupted weapons use"),
    "Headquarters or base established": pgettext_lazy(
        "ACLED sub-event type", "Headquarters or base established"
    ),
    "Looting/property destruction": pgettext_lazy(
        "ACLED sub-event type", "Looting/property destruction"
    ),
    "Non-violent transfer of territory": pgettext_lazy(
        "ACLED sub-event type", "Non-violent transfer of territory"
    ),
    "Other": pgettext_lazy("ACLED sub-event type", "Other"),
}
CONFIDENCE_LABELS = {
    "confirmed": pgettext_lazy("confidence", "confirmed"),
    "contested": pgettext_lazy("confidence", "contested"),
    "claimed": pgettext_lazy("confidence", "claimed"),
}
# Shown only to users who may view unpublished records (territory.models.sees_drafts).
STATUS_LABELS = {
    "draft": pgettext_lazy("record status", "draft"),
    "published": pgettext_lazy("record status", "published"),
    "retracted": pgettext_lazy("record status", "retracted"),
}
DATE_PRECISION_LABELS = {
    "day": gettext_lazy("exact day"),
    "week": gettext_lazy("within the week"),
    "month": gettext_lazy("within the month"),
}
LOCATION_PRECISION_LABELS = {
    "exact": gettext_lazy("exact place"),
    "near": gettext_lazy("near the place"),
    "region": gettext_lazy("somewhere in the larger region"),
}
ROLE_LABELS = {
    EventActor.Role.ACTOR1: gettext_lazy("actor 1"),
    EventActor.Role.ASSOC1: gettext_lazy("associated with actor 1"),
    EventActor.Role.ACTOR2: gettext_lazy("actor 2"),
    EventActor.Role.ASSOC2: gettext_lazy("associated with actor 2"),
}

# A number in each CLDR plural category, to ask gettext for that category's form: the browser
# picks the category with Intl.PluralRules (Arabic has all six, English one and other).
PLURAL_SAMPLES = {"zero": 0, "one": 1, "two": 2, "few": 3, "many": 11, "other": 100}


def js_catalogue() -> dict:
    """The words the map's scripts show, in the active language (static/js/map/i18n.js reads it).

    Placeholders are Python-style so that `msgfmt --check` verifies them in the translations.
    """
    strings = {
        "map.label": _("Map of control zones, front lines and events"),
        "map.noTiles": _(
            "No base map tiles (MAP_TILE_URL is empty): borders, governorates and places are "
            "our own layers."
        ),
        "status.problem": _("%(topic)s: %(error)s"),
        "topic.zones": _("zones"),
        "topic.contested": _("contested zones"),
        "topic.frontlines": _("front lines"),
        "topic.events": _("events"),
        "topic.regions": _("regions"),
        "topic.places": _("places"),
        "topic.areaChart": _("area chart"),
        "topic.eventsChart": _("events chart"),
        "api.error": _("%(path)s answered %(status)s"),
        "slider.play": _("Play"),
        "slider.pause": _("Pause"),
        "legend.empty": _("No zone recorded on this date."),
        "list.separator": pgettext("between the items of a list", ", "),
        "events.latest": _("The latest %(shown)s are listed."),
        "event.title": _("Event"),
        "event.other": _("Other"),
        "event.marker": _("%(type)s, %(date)s"),
        "event.markerAt": _("%(type)s, %(date)s, %(place)s"),
        "event.date": _("Date"),
        "event.type": _("Type"),
        "event.place": _("Place"),
        "event.unnamedPlace": _("unnamed place"),
        "event.actors": _("Actors"),
        "event.noActors": _("none recorded"),
        "event.fatalities": _("Fatalities"),
        "event.unknown": _("unknown"),
        "event.confidence": _("Confidence"),
        "event.externalIds": _("External ids"),
        "event.sources": _("Sources"),
        "sources.none": _("No source recorded."),
        "zone.heldBy": _("Held by"),
        "zone.from": _("From %(from)s"),
        "zone.until": _("until %(to)s (exclusive)"),
        "zone.current": _("(current)"),
        "zone.confidence": _("Confidence: %(confidence)s"),
        "zone.contested": _("contested"),
        "record.notPublic": _("Not public: %(status)s"),
        "frontline.tip": _("Front line: %(sides)s"),
        "frontline.length": _("%(km)s km"),
        "compare.none": _("No change of control between these dates."),
        "compare.caption": _("From %(from)s to %(to)s"),
        "compare.faction": _("Faction"),
        "compare.gained": _("gained km²"),
        "compare.lost": _("lost km²"),
        "compare.net": _("net"),
        "compare.sameDate": _("Pick a date other than the slider date."),
        "compare.loading": _("Loading changes…"),
        "compare.gainedTip": _("%(faction)s gained %(area)s km²"),
        "compare.lostTip": _("%(faction)s lost %(area)s km²"),
        "compare.error": _("Could not load changes: %(error)s"),
        "control.title": _("Who held %(place)s"),
        "control.loading": _("Loading who held it…"),
        "control.error": _("Could not load who held it: %(error)s"),
        "control.none": _("No zone has covered this place."),
        "control.since": _("%(holder)s since %(from)s"),
        "control.until": _("%(holder)s until %(until)s"),
        "control.fromUntil": _("%(holder)s from %(from)s until %(until)s"),
        "control.contested": _("Contested between %(factions)s"),
        "control.unknown": _("No zone recorded"),
        "compare.placesTitle": _("Places that changed hands"),
        "compare.placesNone": _("No place changed hands between these dates."),
        "compare.placeChange": _("%(place)s: %(before)s → %(after)s"),
        "chart.date": _("date"),
        "chart.eventsPerWeek": _("Events per week by type"),
        "chart.eventsPerMonth": _("Events per month by type"),
    }
    # Literal ngettext calls so that makemessages finds them; "%(days)s day" is the template's.
    plurals = {
        "days": {
            c: ngettext("%(days)s day", "%(days)s days", n) for c, n in PLURAL_SAMPLES.items()
        },
        "events.count": {
            c: ngettext(
                "%(count)s event from %(start)s to %(end)s.",
                "%(count)s events from %(start)s to %(end)s.",
                n,
            )
            for c, n in PLURAL_SAMPLES.items()
        },
    }
    vocabularies = {
        "eventType": EVENT_TYPE_LABELS,
        "subType": SUB_TYPE_LABELS,
        "confidence": CONFIDENCE_LABELS,
        "status": STATUS_LABELS,
        "datePrecision": DATE_PRECISION_LABELS,
        "locationPrecision": LOCATION_PRECISION_LABELS,
        "role": ROLE_LABELS,
    }
    return {
        "lang": translation.get_language(),
        "bidi": translation.get_language_bidi(),
        "strings": strings,
        "plurals": plurals,
        "values": {
            kind: {str(value): str(label) for value, label in labels.items()}
            for kind, labels in vocabularies.items()
        },
    }


def data_extent() -> dict:
    """First and last day of the published zones and events (today when there is no data), and
    the bounding box [W, S, E, N] of the published zones (None when there is none)."""
    found = event_queries.data_extent(events_in_bbox=False)
    today = dt.date.today()
    return {
        "first_date": (found.first or today).isoformat(),
        "last_date": (found.last or today).isoformat(),
        "bbox": list(found.zones_bbox) if found.zones_bbox else None,
    }


def chart_steps(first: str, last: str) -> dict[str, str]:
    """The steps of the page's charts over the period: the API allows at most 1,000 steps in a
    series, so days for short periods, else weeks or months; area series cost the server one
    union per step, so months beyond three years keep them quick. (Here, not in page.js, so the
    static snapshot writes the series the page asks for.)"""
    span = (dt.date.fromisoformat(last) - dt.date.fromisoformat(first)).days
    area = "day" if span <= 120 else "week" if span <= 3 * 366 else "month"
    return {"area": area, "events": "week" if span <= 900 * 7 else "month"}


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
    extent = data_extent()
    return {
        "api": "/api/v1/",
        "maxBboxDeg2": MAX_BBOX_DEG2,  # the export links leave out a view's box larger than this
        "tileUrl": settings.MAP_TILE_URL,
        "extent": extent,
        "steps": chart_steps(extent["first_date"], extent["last_date"]),
        "factions": factions,
        "eventTypes": [
            {
                "value": value,
                "label": str(EVENT_TYPE_LABELS.get(value, label)),
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
    "control",
    "dates",
    "dom",
    "events",
    "i18n",
    "legend",
    "mvt",
    "perdate",
    "timeslider",
    "urlstate",
    "zones",
]
