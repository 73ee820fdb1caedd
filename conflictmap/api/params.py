"""Declared parameters of every API endpoint: one list drives both validation and the OpenAPI
document (conflictmap.api.openapi), so the two cannot drift apart.

Bad input raises ParamError, which the views turn into HTTP 400 {"error": ..., "parameter": ...}.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conflictmap.events.models import EventType
from conflictmap.events.queries import EventFilter
from conflictmap.territory.models import Faction

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
STEPS = ("day", "week", "month")
MAX_STEPS = 1000
MAX_Q_LENGTH = 200
# An integer parameter without a maximum of its own is at most PostgreSQL's bigint (past it, the
# query would fail on the conversion: a 500 instead of a 400).
BIGINT_MAX = 2**63 - 1

# Bounds that keep every request cheap (and the OpenAPI document says them: Endpoint.openapi).
# The longest period each endpoint answers for, in days counting both ends (from 1 to 3 December
# is 3 days).
MAX_PERIOD_DAYS = {
    # Every version in force on any day of the period comes whole: a year of the map's history.
    "zones": 366,
    # Twenty years (the war from 2011, with room) where the cost does not grow with the period:
    # changes compare the map on two days; the series are bounded by MAX_STEPS; events stream,
    # and the map's "all years" window asks them (tiles from the pyramid of cells, or events
    # with an actor or text filter) over the whole history.
    "changes": 7305,
    "control_changes": 7305,
    "stats_area": 7305,
    "stats_events": 7305,
    "events": 7305,
    "tiles": 7305,
}
# The largest bounding box answered, in square degrees (W-E span x S-N span): Syria is about 35,
# it and all its neighbours fit in 600. A box past this covers far more than the data's region:
# leave bbox out to ask for everywhere.
MAX_BBOX_DEG2 = 2500


class ParamError(ValueError):
    """A request parameter is missing or malformed; `parameter` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class Param:
    """One query or path parameter.

    kind: date (YYYY-MM-DD), bbox (W,S,E,N), choice (one of `choices`), choices (comma-separated
    list, each one of `choices`), slugs (comma-separated list of slugs), text, int, bool.
    """

    name: str
    kind: str
    description: str
    required: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None
    location: str = "query"
    minimum: int | None = None
    maximum: int | None = None

    def parse(self, raw: str | None) -> Any:
        if raw is None or raw == "":
            if self.required:
                raise ParamError(self.name, f"{self.name} is required.")
            return self.default
        parser = getattr(self, f"_parse_{self.kind}")
        return parser(raw)

    def _parse_date(self, raw: str) -> dt.date:
        if not DATE_RE.match(raw):
            raise ParamError(self.name, f"{self.name} must be a date as YYYY-MM-DD, not {raw!r}.")
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise ParamError(self.name, f"{self.name}={raw!r} is not a real date.") from None

    def _parse_bbox(self, raw: str) -> tuple[float, float, float, float]:
        parts = raw.split(",")
        if len(parts) != 4:
            raise ParamError(self.name, f"{self.name} must be four numbers W,S,E,N (lon/lat).")
        try:
            w, s, e, n = (float(p) for p in parts)
        except ValueError:
            raise ParamError(self.name, f"{self.name} must be four numbers W,S,E,N.") from None
        if not all(map(_finite, (w, s, e, n))):
            raise ParamError(self.name, f"{self.name} must be finite numbers.")
        if not (-180 <= w <= 180 and -180 <= e <= 180):
            raise ParamError(self.name, f"{self.name}: longitudes must be within -180..180.")
        if not (-90 <= s <= 90 and -90 <= n <= 90):
            raise ParamError(self.name, f"{self.name}: latitudes must be within -90..90.")
        if w >= e:
            raise ParamError(self.name, f"{self.name}: west ({w}) must be less than east ({e}).")
        if s >= n:
            raise ParamError(self.name, f"{self.name}: south ({s}) must be less than north ({n}).")
        area = (e - w) * (n - s)
        if area > MAX_BBOX_DEG2:
            raise ParamError(
                self.name,
                f"{self.name} covers {area:g} square degrees; at most {MAX_BBOX_DEG2} are"
                f" answered (leave {self.name} out to ask for everywhere).",
            )
        return (w, s, e, n)

    def _parse_choice(self, raw: str) -> str:
        if raw not in self.choices:
            raise ParamError(
                self.name, f"{self.name} must be one of {', '.join(self.choices)}, not {raw!r}."
            )
        return raw

    def _parse_choices(self, raw: str) -> list[str]:
        values = [v.strip() for v in raw.split(",") if v.strip()]
        unknown = [v for v in values if v not in self.choices]
        if unknown:
            raise ParamError(
                self.name,
                f"Unknown {self.name} {unknown[0]!r}; known: {', '.join(self.choices)}.",
            )
        return values

    def _parse_slugs(self, raw: str) -> list[str]:
        values = [v.strip() for v in raw.split(",") if v.strip()]
        for v in values:
            if not re.fullmatch(r"[-a-zA-Z0-9_]+", v):
                raise ParamError(self.name, f"{self.name} {v!r} is not a slug.")
        return values

    def _parse_text(self, raw: str) -> str:
        if len(raw) > MAX_Q_LENGTH:
            raise ParamError(self.name, f"{self.name} is longer than {MAX_Q_LENGTH} characters.")
        return raw

    def _parse_int(self, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ParamError(self.name, f"{self.name} must be an integer, not {raw!r}.") from None
        if self.minimum is not None and value < self.minimum:
            raise ParamError(self.name, f"{self.name} must be at least {self.minimum}.")
        maximum = BIGINT_MAX if self.maximum is None else self.maximum
        if value > maximum:
            raise ParamError(self.name, f"{self.name} must be at most {maximum}.")
        return value

    def _parse_bool(self, raw: str) -> bool:
        value = raw.strip().lower()
        if value in {"1", "true", "yes", "on"}:
            return True
        if value in {"0", "false", "no", "off"}:
            return False
        raise ParamError(self.name, f"{self.name} must be 1/0 or true/false, not {raw!r}.")

    def openapi(self) -> dict[str, Any]:
        schema: dict[str, Any]
        description = self.description
        if self.kind == "date":
            schema = {"type": "string", "format": "date", "example": "2024-12-01"}
        elif self.kind == "bbox":
            description += (
                f" Its area is at most {MAX_BBOX_DEG2} square degrees (west-east span times"
                " south-north span); leave it out to ask for everywhere."
            )
            schema = {
                "type": "string",
                # Four decimal numbers (what the parser checks beyond: ranges, order, area).
                "pattern": r"^-?\d{1,3}(\.\d{1,12})?(,-?\d{1,3}(\.\d{1,12})?){3}$",
                "example": "35.5,32.3,42.4,37.4",
            }
        elif self.kind == "choice":
            schema = {"type": "string", "enum": list(self.choices)}
        elif self.kind == "choices":
            schema = {"type": "array", "items": {"type": "string", "enum": list(self.choices)}}
        elif self.kind == "slugs":
            schema = {"type": "array", "items": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"}}
        elif self.kind == "int":
            schema = {"type": "integer"}
            if self.minimum is not None:
                schema["minimum"] = self.minimum
            schema["maximum"] = BIGINT_MAX if self.maximum is None else self.maximum
        elif self.kind == "bool":
            schema = {"type": "boolean"}
        else:
            schema = {"type": "string", "maxLength": MAX_Q_LENGTH}
        if self.default is not None:
            schema["default"] = self.default
        out: dict[str, Any] = {
            "name": self.name,
            "in": self.location,
            "required": self.required or self.location == "path",
            "description": description,
            "schema": schema,
        }
        if schema["type"] == "array":
            out["style"] = "form"
            out["explode"] = False
        return out


def _finite(x: float) -> bool:
    return x == x and x not in (float("inf"), float("-inf"))


@dataclass(frozen=True)
class Mode:
    """One way of asking an endpoint that has several (such as zones: one day, or a period): the
    parameters it requires and those it allows besides. A request is in exactly one mode."""

    title: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.required, *self.optional)

    @property
    def said(self) -> str:
        return " and ".join(self.required)


@dataclass(frozen=True)
class Endpoint:
    """An API route: its OpenAPI path, parameters and what it answers."""

    name: str
    path: str
    summary: str
    params: tuple[Param, ...]
    media_type: str = "application/json"
    description: str = ""
    rules: tuple[str, ...] = field(default=())
    # Answers other than 200, 304 and 400, by HTTP status: their description.
    errors: tuple[tuple[str, str], ...] = field(default=())
    # The parameters (first day, last day) of the period it answers for, if any: the first may
    # not come after the last, and the period is at most MAX_PERIOD_DAYS[name] days.
    period: tuple[str, str] | None = None
    # Ways of asking it of which a request takes exactly one (the OpenAPI document gives them as
    # one object parameter with a oneOf, so that generated requests are valid ones).
    modes: tuple[Mode, ...] = ()

    @property
    def max_days(self) -> int | None:
        return MAX_PERIOD_DAYS[self.name] if self.period else None

    def parse(self, query: Mapping[str, str], path_args: Mapping[str, Any] | None = None) -> dict:
        values: dict[str, Any] = {}
        for p in self.params:
            if p.location == "path":
                raw = path_args.get(p.name) if path_args else None
                values[p.name] = p.parse(None if raw is None else str(raw))
            else:
                values[p.name] = p.parse(query.get(p.name))
        self._check_mode(values)
        if self.period:
            first, last = self.period
            check_order(values, first, last)
            days = values[first] and values[last] and (values[last] - values[first]).days + 1
            if days and days > MAX_PERIOD_DAYS[self.name]:
                raise ParamError(
                    last,
                    f"The period from {first} to {last} is {days} days; at most"
                    f" {MAX_PERIOD_DAYS[self.name]} are answered here: ask for a shorter one.",
                )
        return values

    def _check_mode(self, values: dict) -> None:
        """Exactly one mode: its required parameters given, none of another mode's."""
        if not self.modes:
            return
        given = [n for m in self.modes for n in m.names if values.get(n) is not None]
        chosen = [m for m in self.modes if any(n in given for n in m.required)]
        if len(chosen) > 1:
            first, second = chosen[:2]
            raise ParamError(
                first.required[0], f"Give either {first.said} or {second.said}, not both."
            )
        if not chosen:
            implied = [m for m in self.modes if any(n in given for n in m.optional)]
            if not implied:
                first, *others = self.modes
                alternatives = "".join(f" (or {m.said} for {m.title})" for m in others)
                raise ParamError(first.required[0], f"{first.said} is required{alternatives}.")
            chosen = implied[:1]
        mode = chosen[0]
        for name in mode.required:
            if values.get(name) is None:
                with_ = [n for n in given if n in mode.names]
                raise ParamError(name, f"{name} is required with {' and '.join(with_)}.")
        for name in given:
            if name not in mode.names:
                owner = next(m for m in self.modes if name in m.names)
                raise ParamError(
                    name, f"{name} goes with {owner.said} ({owner.title}), not with {mode.said}."
                )


# --- shared parameter declarations -------------------------------------------------------------

DATE = Param(
    "date",
    "date",
    "Day of the map state, YYYY-MM-DD. A version is in force when valid_from <= date < valid_to.",
)
BBOX = Param(
    "bbox",
    "bbox",
    "Bounding box W,S,E,N in lon/lat (WGS84); west < east, south < north.",
)
FROM = Param("from", "date", "First day of the period (inclusive), YYYY-MM-DD.", required=True)
TO = Param("to", "date", "Last day of the period (inclusive), YYYY-MM-DD; not before `from`.")
TO_REQ = Param(TO.name, TO.kind, TO.description, required=True)
STEP = Param("step", "choice", "Length of one step of the series.", choices=STEPS, default="week")
DOWNLOAD = Param(
    "download",
    "bool",
    "1 to get a Content-Disposition: attachment header with a file name.",
    default=False,
)
EVENT_TYPES = tuple(EventType.values)

ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint(
            "zones",
            "/api/v1/zones",
            "Zone versions in force on a date, or on any day of a period",
            (
                Param(DATE.name, DATE.kind, DATE.description),
                Param(
                    "from",
                    "date",
                    "Period mode: first day (inclusive). Returns every version in force on any "
                    "day of [from, to]; contested is false in this mode.",
                ),
                Param("to", "date", "Period mode: last day (inclusive)."),
                BBOX,
                Param(
                    "zoom",
                    "int",
                    "Date mode: the map's zoom level. Geometry is generalised for it (snapped to"
                    " a grid of at most half a pixel, the same grid for every zone so that"
                    " neighbours keep their shared edges); omitted: full detail.",
                    minimum=0,
                    maximum=22,
                ),
                Param(
                    "base",
                    "date",
                    "Date mode: a day whose map the client already has. Only the versions in force"
                    " on `date` and not on `base` come as features; `removed` lists those of"
                    " `base` no longer in force and `contested` every contested version of `date`.",
                ),
                DOWNLOAD,
            ),
            media_type="application/geo+json",
            period=("from", "to"),
            modes=(
                Mode("one day's map", ("date",), ("zoom", "base")),
                Mode("a period", ("from", "to")),
            ),
        ),
        Endpoint(
            "frontlines",
            "/api/v1/frontlines",
            "Front lines on a date between zones of non-allied factions",
            (Param(DATE.name, DATE.kind, DATE.description, required=True), BBOX, DOWNLOAD),
            media_type="application/geo+json",
        ),
        Endpoint(
            "changes",
            "/api/v1/changes",
            "Ground gained and lost by each faction between two dates (km² on the geography type)",
            (FROM, TO_REQ, DOWNLOAD),
            media_type="application/geo+json",
            period=("from", "to"),
        ),
        Endpoint(
            "stats_area",
            "/api/v1/stats/area",
            "Area held by each faction at each step (km²)",
            (FROM, TO_REQ, STEP),
            rules=(f"at most {MAX_STEPS} steps",),
            period=("from", "to"),
        ),
        Endpoint(
            "stats_events",
            "/api/v1/stats/events",
            "Event counts per step, by event type or by actor",
            (
                FROM,
                TO_REQ,
                STEP,
                Param(
                    "by", "choice", "Group counts by.", choices=("type", "actor"), default="type"
                ),
            ),
            rules=(f"at most {MAX_STEPS} steps",),
            period=("from", "to"),
        ),
        Endpoint(
            "events",
            "/api/v1/events",
            "Events as GeoJSON (streamed) or CSV",
            (
                Param("start", "date", "First day (inclusive), YYYY-MM-DD."),
                Param("end", "date", "Last day (inclusive), YYYY-MM-DD; not before start."),
                BBOX,
                Param(
                    "type",
                    "choices",
                    "ACLED event type(s), comma-separated.",
                    choices=EVENT_TYPES,
                ),
                Param(
                    "actor",
                    "slugs",
                    "Faction slug(s), comma-separated: events with that faction in any role.",
                ),
                Param(
                    "q",
                    "text",
                    "Case-insensitive text searched in summary and location name.",
                ),
                Param(
                    "format",
                    "choice",
                    "geojson (default) or csv.",
                    choices=("geojson", "csv"),
                    default="geojson",
                ),
                DOWNLOAD,
            ),
            media_type="application/geo+json",
            description=(
                "Streamed FeatureCollection ordered by id. The last members written are "
                '"count" and "complete": true; a body without them was cut short.'
            ),
            period=("start", "end"),
        ),
        Endpoint(
            "tiles",
            "/api/v1/tiles/events/{z}/{x}/{y}.mvt",
            "Mapbox vector tile of events (layer 'events'); aggregated at low zoom",
            (
                Param("z", "int", "Zoom 0-22.", location="path", minimum=0, maximum=22),
                Param("x", "int", "Tile column, 0 .. 2^z-1.", location="path", minimum=0),
                Param("y", "int", "Tile row, 0 .. 2^z-1.", location="path", minimum=0),
                Param("start", "date", "First day (inclusive)."),
                Param("end", "date", "Last day (inclusive)."),
                Param(
                    "type",
                    "choices",
                    "ACLED event type(s), comma-separated.",
                    choices=EVENT_TYPES,
                ),
            ),
            media_type="application/vnd.mapbox-vector-tile",
            rules=("x, y < 2^z",),
            period=("start", "end"),
        ),
        Endpoint("factions", "/api/v1/factions", "Factions with colours and backers", ()),
        Endpoint(
            "regions",
            "/api/v1/regions",
            "Administrative regions (boundaries may be approximate: see `approximate`)",
            (
                Param(
                    "level",
                    "choice",
                    "Only this level.",
                    choices=("country", "governorate", "district", "subdistrict"),
                ),
            ),
            media_type="application/geo+json",
        ),
        Endpoint(
            "places",
            "/api/v1/places",
            "Gazetteer places as points",
            (
                BBOX,
                Param(
                    "min_population",
                    "int",
                    "Only places at least this populous.",
                    minimum=0,
                    maximum=100_000_000,  # more than any city; the column is an integer
                ),
            ),
            media_type="application/geo+json",
        ),
        Endpoint(
            "control",
            "/api/v1/control",
            "Who held each gazetteer place on a date, derived from the zones",
            (
                Param(DATE.name, DATE.kind, DATE.description, required=True),
                BBOX,
                Param(
                    "format",
                    "choice",
                    "geojson (default) or csv.",
                    choices=("geojson", "csv"),
                    default="geojson",
                ),
                DOWNLOAD,
            ),
            media_type="application/geo+json",
            description=(
                "One point per place with status (held, contested, unknown), holder, factions, "
                "confidence, since (first day of the current state without a break) and the "
                "versions covering it. Never stored: read from the zone versions in force."
            ),
        ),
        Endpoint(
            "control_changes",
            "/api/v1/control/changes",
            "The places whose holders differ between two dates",
            (FROM, TO_REQ, BBOX),
            media_type="application/geo+json",
            description="Each place with `before` and `after`: {status, holder, factions}.",
            period=("from", "to"),
        ),
        Endpoint(
            "place_control",
            "/api/v1/places/{id}/control",
            "A place's periods of control with their sources and confidence",
            (Param("id", "int", "Place id (see /api/v1/places).", location="path", minimum=1),),
            description=(
                "Periods from the first version covering the place: from (inclusive), to "
                "(exclusive; null: still so), status, holder, factions, confidence, versions, "
                "sources."
            ),
            errors=(("404", "No such place."),),
        ),
        Endpoint(
            "quality",
            "/api/v1/quality",
            "Data quality of the territory on a date (staff only)",
            (
                Param("date", "date", "Day checked; default today."),
                Param(
                    "days",
                    "int",
                    "Days after a capture event by which its place should have changed hands.",
                    default=3,
                    minimum=0,
                    maximum=365,
                ),
                Param("drafts", "bool", "Count draft versions and events too.", default=False),
            ),
            description=(
                "Places inside no zone, places in zones of two factions without a contested "
                "mark, and capture events whose place is still held by actor 2 `days` later."
            ),
            errors=(("403", "Not signed in as staff."),),
        ),
        Endpoint(
            "changelog",
            "/api/v1/changelog",
            "Every published change to the map, newest first",
            (
                Param("from", "date", "First day (inclusive, UTC); default 90 days before `to`."),
                Param("to", "date", "Last day (inclusive, UTC); default today."),
            ),
            description=(
                "Zone versions and events published, corrected, replaced (a zone version a "
                "newer one takes over from) or retracted: kind, id, change, at, reason, label, "
                "sources, map_date and map_url (the map at that date). At most 500 entries "
                "(`truncated` says when more exist). Drafts never appear; a record that is not "
                "published today shows only its retraction, without geometry or sources."
            ),
            rules=("from <= to",),
        ),
        Endpoint(
            "extent",
            "/api/v1/extent",
            "First and last date and bounding box of the published data",
            (),
        ),
    )
}


def parse(
    endpoint: str, query: Mapping[str, str], path_args: Mapping[str, Any] | None = None
) -> dict:
    """Validate the request parameters of `endpoint`; raise ParamError naming the bad one."""
    return ENDPOINTS[endpoint].parse(query, path_args)


def check_order(values: dict, first: str, last: str) -> None:
    if values.get(first) and values.get(last) and values[first] > values[last]:
        raise ParamError(
            first,
            f"{first} ({values[first].isoformat()}) is after {last} ({values[last].isoformat()}).",
        )


STEP_DAYS = {"day": 1, "week": 7, "month": 31}


def check_steps(values: dict) -> None:
    span = (values["to"] - values["from"]).days
    if span // STEP_DAYS[values["step"]] + 1 > MAX_STEPS:
        raise ParamError("step", f"More than {MAX_STEPS} steps: choose a longer step.")


def event_filter(values: dict, *, staff: bool) -> EventFilter:
    """The filter of an events request or export; an unknown actor slug is a ParamError on
    `actor`."""
    check_order(values, "start", "end")
    actor_ids: list[int] = []
    slugs = values.get("actor") or []
    if slugs:
        found = dict(Faction.objects.filter(slug__in=slugs).values_list("slug", "pk"))
        unknown = [s for s in slugs if s not in found]
        if unknown:
            raise ParamError("actor", f"Unknown actor (faction slug) {unknown[0]!r}.")
        actor_ids = [found[s] for s in slugs]
    return EventFilter(
        start=values.get("start"),
        end=values.get("end"),
        bbox=values.get("bbox"),
        types=values.get("type") or [],
        actor_ids=actor_ids,
        q=values.get("q") or "",
        staff=staff,
    )
