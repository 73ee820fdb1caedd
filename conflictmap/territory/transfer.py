"""Move the front: the ground a faction takes on a day, planned and applied in PostGIS.

The ground is given three ways:
- **places** of the gazetteer: each place's Voronoi cell among the gazetteer's places (so two
  neighbouring towns split the land between them), cut to a disc of `radius_km` around the place
  (so a sparse gazetteer does not hand over a whole desert). Cells and discs are drawn in the UTM
  zone of the places (metres), not in degrees, whose east-west unit is shorter than the north-south
  one in Syria;
- a drawn **area**;
- a new front **line** drawn across the loser's zone: each polygon of the loser's zone it crosses
  is split by it (ST_Split) and the pieces that touch the taker's zones change hands. A line that
  does not cross from edge to edge, or whose every piece (or no piece) touches the taker, is
  ambiguous and refused.

Only ground held on the day by a faction neither the taker nor its ally (backed_by, either way)
changes hands: `plan()` cuts that ground out of the losers' versions in force and gives exactly
it to the taker. `apply()` does so in one transaction: each loser's version closes at the day
(valid_to, exclusive) and a version without the ground opens from it; the taker's adjacent zone
gets a new version with the ground added (the zone touching the most of it), or a new zone holds
the ground no zone of the taker touches. A version that itself starts on the day (an earlier move
that day) is reshaped in place instead, its history kept by simple_history. With `contested`, the
losers keep their ground and a new zone of the taker holds it, marked contested.

Every new version carries the move's sources, status (draft unless published) and, in its
history, the move's reason; a FrontMove row records what was asked and changed, so that asking
the same move again changes nothing and `revert()` restores both sides.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from conflictmap.events.models import Event, Place, Source
from conflictmap.geojson import query_cursor
from conflictmap.gis import VALID_MULTIPOLYGON_SQL
from conflictmap.territory import editorial
from conflictmap.territory.models import (
    Confidence,
    Faction,
    FrontMove,
    Status,
    Zone,
    ZoneVersion,
    in_force,
)

DEFAULT_RADIUS_KM = 5.0
MAX_RADIUS_KM = 100.0
# Ground smaller than this (m²) is a sliver left by rounding along shared edges, not ground that
# changes hands: a loser's version losing less keeps its shape; a remainder smaller is empty.
MIN_GROUND_M2 = 10_000  # one hectare, as territory.queries.CONTESTED_MIN_M2
# A piece of ground within this distance (metres, geography) of a taker's zone is adjacent to it:
# drawn zones leave small gaps along a shared edge.
ADJACENT_M = 100.0

VALID = VALID_MULTIPOLYGON_SQL  # repaired as gis.repair does, in the same statement

# Who holds ground on the day: the versions in force (drafts included: the editor's map), but not
# retracted ones, which record a claim withdrawn.
HOLDS = f"{in_force('v', '%(day)s')} AND v.status <> '{Status.RETRACTED}'"


class TransferRefused(ValueError):
    """The move cannot be made as asked; the message says why. Nothing was changed."""


@dataclass
class Move:
    """What the editor asks: `taker` holds, from `day`, the ground of `places`, `area` or
    `line` (exactly one)."""

    taker: Faction
    day: dt.date
    places: list[Place] = field(default_factory=list)
    area: GEOSGeometry | None = None
    line: GEOSGeometry | None = None
    radius_km: float = DEFAULT_RADIUS_KM
    contested: bool = False
    sources: list[str] = field(default_factory=list)  # URLs
    reason: str = ""
    publish: bool = False
    confidence: str | None = None  # the taker's new versions; None: keep (new zone: confirmed)
    event: Event | None = None

    @property
    def method(self) -> str:
        if self.places:
            return FrontMove.Method.PLACES
        return FrontMove.Method.AREA if self.area is not None else FrontMove.Method.LINE

    def check(self) -> None:
        given = [bool(self.places), self.area is not None, self.line is not None]
        if sum(given) != 1:
            raise TransferRefused("Give the ground one way: places, an area or a line.")
        if not 0 < self.radius_km <= MAX_RADIUS_KM:
            raise TransferRefused(f"The radius must be more than 0 and at most {MAX_RADIUS_KM} km.")
        if len(self.reason.strip()) > editorial.REASON_MAX_LENGTH:
            raise TransferRefused(
                f"The reason is {len(self.reason.strip())} characters; at most "
                f"{editorial.REASON_MAX_LENGTH}."
            )
        if self.contested and self.method == FrontMove.Method.LINE:
            raise TransferRefused("A front line divides ground; it cannot be contested.")
        for name, geom, kinds in (
            ("area", self.area, ("Polygon", "MultiPolygon")),
            ("line", self.line, ("LineString", "MultiLineString")),
        ):
            if geom is not None and (geom.geom_type not in kinds or geom.empty):
                raise TransferRefused(
                    f"The {name} must be a {' or '.join(kinds)}, not a {geom.geom_type}."
                )

    def request(self) -> dict[str, Any]:
        """What was asked, as JSON: the part that makes two moves the same one."""
        out: dict[str, Any] = {"contested": self.contested}
        if self.places:
            out["places"] = sorted({p.pk for p in self.places})
            out["radius_km"] = float(self.radius_km)
        for name in ("area", "line"):
            geom = getattr(self, name)
            if geom is not None:
                out[name] = json.loads(_in_4326(geom).json)
        return out

    def key(self) -> str:
        text = json.dumps(
            [self.taker.pk, self.day.isoformat(), self.method, self.request()], sort_keys=True
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def reason_text(self) -> str:
        if self.reason.strip():
            return self.reason.strip()
        what = ", ".join(p.name for p in self.places) if self.places else f"ground ({self.method})"
        text = f"{self.taker.name} took {what} on {self.day.isoformat()}"
        if len(text) > editorial.REASON_MAX_LENGTH:  # history keeps 100 characters
            text = f"{self.taker.name} took {len(self.places)} places on {self.day.isoformat()}"
        return text[: editorial.REASON_MAX_LENGTH]


@dataclass
class Cut:
    """A version of a loser that loses ground: `remainder` None when nothing is left."""

    version: ZoneVersion
    lost_km2: float
    remainder: MultiPolygon | None


@dataclass
class Gain:
    """Ground the taker gains: added to `version` (its zone's next version), or a new zone."""

    version: ZoneVersion | None
    geom: MultiPolygon  # the whole new geometry of the taker's version
    gained_km2: float


@dataclass
class Plan:
    move: Move
    ground: MultiPolygon | None  # the ground that changes hands (or becomes contested)
    moved_km2: float
    cuts: list[Cut]
    gains: list[Gain]
    places: list[dict[str, Any]]  # places inside the ground: id, name, from (loser slugs)
    contested_zones: list[str]  # zones the ground would leave contested (--contested)
    warnings: list[str]
    friends: list[int] = field(default_factory=list)  # the taker and its allies (ids)

    def public_changes(self) -> list[ZoneVersion]:
        """The versions the move would close or reshape that are not drafts: what the public
        map shows (or showed), which only publishers change."""
        changed = [c.version for c in self.cuts] + [g.version for g in self.gains if g.version]
        return [v for v in changed if v.status != Status.DRAFT]

    def summary(self) -> dict[str, Any]:
        losers: dict[str, dict[str, Any]] = {}
        for cut in self.cuts:
            f = cut.version.faction
            entry = losers.setdefault(
                f.slug, {"faction": f.slug, "name": f.name, "km2": 0.0, "zones": [], "emptied": []}
            )
            entry["km2"] += cut.lost_km2
            entry["zones"].append(cut.version.zone.slug)
            if cut.remainder is None:
                entry["emptied"].append(cut.version.zone.slug)
        for entry in losers.values():
            entry["km2"] = round(entry["km2"], 3)
        return {
            "to": self.move.taker.slug,
            "date": self.move.day.isoformat(),
            "method": self.move.method,
            "contested": self.move.contested,
            "moved_km2": round(self.moved_km2, 3),
            "from": sorted(losers.values(), key=lambda e: (-e["km2"], e["faction"])),
            "places": self.places,
            "extended": [g.version.zone.slug for g in self.gains if g.version is not None],
            "new_zone": any(g.version is None for g in self.gains),
            "contested_zones": self.contested_zones,
            "warnings": self.warnings,
        }


# --- the ground ----------------------------------------------------------------------------------


def _in_4326(geom: GEOSGeometry) -> GEOSGeometry:
    geom = geom.clone()
    if geom.srid is None:
        geom.srid = 4326
    elif geom.srid != 4326:
        geom.transform(4326)
    return geom


def _geom(ewkb: bytes | memoryview | None) -> GEOSGeometry | None:
    if ewkb is None:
        return None
    geom = GEOSGeometry(memoryview(bytes(ewkb)))
    return None if geom.empty else geom


# Set while apply() holds its transaction, in which JIT is already off: its queries need no
# savepoint and SET of their own.
_jit_off: contextvars.ContextVar[bool] = contextvars.ContextVar("transfer_jit_off", default=False)


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple]:
    # On the primary (a move reads what it writes), with JIT off: PostgreSQL compiled the places'
    # ground query for 2.5 s to run it in 0.1 s.
    if _jit_off.get():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    with query_cursor(DEFAULT_DB_ALIAS) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# The UTM zone (metres) of a point, north or south: cells and discs are drawn there.
_UTM_SRID = (
    "(CASE WHEN ST_Y({p}) >= 0 THEN 32600 ELSE 32700 END"
    " + LEAST(60, floor((ST_X({p}) + 180) / 6)::int + 1))"
)

# Each chosen place's Voronoi cell among the gazetteer's places, cut to a disc of %(r)s metres
# around it. A place farther than 2r from the chosen one cannot bound its cell within the disc
# (the cell's edge lies half way), so only those nearer enter the diagram; the box test in
# degrees of longitude (the shorter ones) lets the GiST index find them first.
PLACES_GROUND_SQL = f"""
WITH chosen AS (
    SELECT p.id, p.geom FROM events_place p WHERE p.id = ANY(%(places)s)
),
utm AS (
    SELECT {_UTM_SRID.format(p="c")} AS srid
    FROM (SELECT ST_Centroid(ST_Collect(geom)) AS c FROM chosen) x
),
near AS (
    SELECT DISTINCT ST_Transform(p.geom, utm.srid) AS g
    FROM events_place p, chosen c, utm
    WHERE p.geom && ST_Expand(c.geom,
                              2.2 * %(r)s / (111320 * cos(radians(LEAST(abs(ST_Y(c.geom)) + 1, 89)))))
      AND ST_DWithin(p.geom::geography, c.geom::geography, 2.2 * %(r)s)
),
cells AS (
    SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(g), 0,
                                       ST_Expand(ST_Collect(g), 3 * %(r)s)))).geom AS cell
    FROM near HAVING count(*) > 1
),
discs AS (
    SELECT c.id, ST_Buffer(ST_Transform(c.geom, utm.srid), %(r)s, 16) AS disc,
           ST_Transform(c.geom, utm.srid) AS at
    FROM chosen c, utm
),
pieces AS (
    -- A lone place (no other within 2r) has no diagram: its ground is the disc.
    SELECT COALESCE(ST_Intersection(cells.cell, d.disc), d.disc) AS g
    FROM discs d LEFT JOIN cells ON ST_Intersects(cells.cell, d.at)
)
SELECT ST_AsEWKB({VALID.format("ST_Transform(ST_Union(g), 4326)")}) FROM pieces
"""

# The pieces of the opposing versions' polygons crossed by the line, each with whether it lies
# within ADJACENT_M of the taker's zones that day.
LINE_PIECES_SQL = f"""
WITH line AS (SELECT %(line)s::geometry AS g),
crossed AS (
    SELECT v.id, v.faction_id, part.path[1] AS n, part.geom AS poly
    FROM territory_zoneversion v, line, ST_Dump(v.geom) part
    WHERE {HOLDS} AND v.geom && line.g
      AND v.faction_id <> ALL(%(friends)s) AND ST_Intersects(part.geom, line.g)
),
pieces AS (
    SELECT c.id, c.n, piece.geom AS g
    FROM crossed c, line, ST_Dump(ST_Split(c.poly, line.g)) piece
),
taker AS (
    SELECT ST_Union(v.geom) AS g FROM territory_zoneversion v
    WHERE {HOLDS} AND v.faction_id = %(taker)s
)
SELECT p.id, p.n, ST_AsEWKB(p.g),
       COALESCE(ST_DWithin(p.g::geography, taker.g::geography, {ADJACENT_M}), false)
FROM pieces p, taker
ORDER BY p.id, p.n
"""


def _friends(taker: Faction) -> list[int]:
    """The taker and its allies (backing it or backed by it): never losers of its move."""
    rows = _fetch(
        "SELECT to_faction_id FROM territory_faction_backed_by WHERE from_faction_id = %(t)s"
        " UNION SELECT from_faction_id FROM territory_faction_backed_by"
        " WHERE to_faction_id = %(t)s",
        {"t": taker.pk},
    )
    return [taker.pk, *(r[0] for r in rows)]


def _places_ground(move: Move, friends: list[int]) -> GEOSGeometry | None:
    # Who holds each place that day, in one query: a place nobody holds, or only the taker and
    # its allies, is refused by name.
    rows = _fetch(
        "SELECT p.id, array_agg(DISTINCT v.faction_id) FILTER (WHERE v.id IS NOT NULL)"
        " FROM events_place p LEFT JOIN territory_zoneversion v"
        f" ON {HOLDS} AND v.geom && p.geom AND ST_Intersects(v.geom, p.geom)"
        " WHERE p.id = ANY(%(places)s) GROUP BY p.id",
        {"places": [p.pk for p in move.places], "day": move.day},
    )
    holders = {pid: factions or [] for pid, factions in rows}
    for place in move.places:
        held = holders.get(place.pk, [])
        if not held:
            raise TransferRefused(
                f"{place.name} (place {place.pk}) lies outside every zone on "
                f"{move.day.isoformat()}."
            )
        if all(h in friends for h in held):
            raise TransferRefused(
                f"{place.name} (place {place.pk}) is already held by {move.taker.name} "
                f"on {move.day.isoformat()}."
                if move.taker.pk in held
                else f"{place.name} (place {place.pk}) is held by an ally of {move.taker.name}."
            )
    rows = _fetch(
        PLACES_GROUND_SQL, {"places": [p.pk for p in move.places], "r": move.radius_km * 1000}
    )
    return _geom(rows[0][0])


def _area_ground(move: Move, friends: list[int]) -> GEOSGeometry | None:
    area = _in_4326(move.area)
    rows = _fetch(
        f"SELECT ST_AsEWKB({VALID.format('%(a)s::geometry')}),"
        " array_agg(DISTINCT v.faction_id) FILTER (WHERE v.id IS NOT NULL)"
        " FROM (SELECT 1) one LEFT JOIN territory_zoneversion v"
        f" ON {HOLDS} AND v.geom && %(a)s::geometry"
        " AND ST_Intersects(v.geom, %(a)s::geometry)",
        {"a": area.ewkb, "day": move.day},
    )
    ewkb, holders = rows[0]
    if not holders:
        raise TransferRefused(f"The area lies outside every zone on {move.day.isoformat()}.")
    if all(h in friends for h in holders):
        raise TransferRefused(
            f"The area is already held by {move.taker.name} (or its allies) on "
            f"{move.day.isoformat()}."
        )
    return _geom(ewkb)


def _line_ground(move: Move, friends: list[int]) -> GEOSGeometry | None:
    line = _in_4326(move.line)
    rows = _fetch(
        LINE_PIECES_SQL,
        {"line": line.ewkb, "day": move.day, "friends": friends, "taker": move.taker.pk},
    )
    if not rows:
        raise TransferRefused(
            f"The line crosses no zone of a faction opposing {move.taker.name} on "
            f"{move.day.isoformat()}."
        )
    polygons: dict[tuple[int, int], list[tuple[GEOSGeometry, bool]]] = {}
    for version, n, ewkb, touches in rows:
        polygons.setdefault((version, n), []).append((_geom(ewkb), touches))
    taken = []
    for (version, _n), pieces in polygons.items():
        zone = ZoneVersion.objects.select_related("zone").get(pk=version).zone
        if len(pieces) < 2:
            raise TransferRefused(
                f"The line does not cross {zone.name} from edge to edge: draw it across the "
                "whole zone."
            )
        toward = [g for g, touches in pieces if touches]
        if not toward:
            raise TransferRefused(
                f"No side of the line across {zone.name} touches a zone of {move.taker.name}: "
                "which side changes hands is ambiguous."
            )
        if len(toward) == len(pieces):
            raise TransferRefused(
                f"Every side of the line across {zone.name} touches a zone of "
                f"{move.taker.name}: which side changes hands is ambiguous."
            )
        taken.extend(toward)
    return _union(taken)[0]


def _union(geoms: list[GEOSGeometry]) -> tuple[GEOSGeometry | None, float]:
    """The union of `geoms`, repaired, and its area in m² (geography)."""
    rows = _fetch(
        f"WITH u AS (SELECT {VALID.format('ST_Union(g)')} AS u"
        " FROM unnest(%(g)s::geometry[]) g) SELECT ST_AsEWKB(u), ST_Area(u::geography) FROM u",
        {"g": [g.ewkb for g in geoms]},
    )
    return _geom(rows[0][0]), rows[0][1] or 0.0


# --- the plan ------------------------------------------------------------------------------------

# The opposing versions in force that the ground meets, with what they lose and what is left.
CUTS_SQL = f"""
WITH ground AS (SELECT %(ground)s::geometry AS g),
cut AS (
    SELECT v.id, v.geom,
           {VALID.format("ST_Intersection(v.geom, ground.g)")} AS lost,
           {VALID.format("ST_Difference(v.geom, ground.g)")} AS rest
    FROM territory_zoneversion v, ground
    WHERE {HOLDS} AND v.geom && ground.g
      AND v.faction_id <> ALL(%(friends)s) AND ST_Intersects(v.geom, ground.g)
)
SELECT id, ST_AsEWKB(lost), ST_Area(lost::geography), ST_AsEWKB(rest), ST_Area(rest::geography)
FROM cut
ORDER BY id
"""

_WITH_TARGET = """CASE WHEN a.target IS NULL THEN ST_UnaryUnion(ST_Collect(a.g))
    ELSE ST_Union(ST_Collect(a.g), (SELECT t.geom FROM taker t WHERE t.id = a.target)) END"""

# The moved ground split into its separate pieces, each given to the taker's version in force
# that touches the most of it (within ADJACENT_M), or to none (a new zone).
GAINS_SQL = f"""
WITH moved AS (SELECT %(moved)s::geometry AS g),
parts AS (SELECT part.geom AS g FROM moved, ST_Dump(moved.g) part),
taker AS (
    SELECT v.id, v.geom FROM territory_zoneversion v, moved
    WHERE {HOLDS} AND v.faction_id = %(taker)s
      AND v.geom && ST_Expand(moved.g, 0.01)
),
assigned AS (
    SELECT p.g, (
        SELECT t.id FROM taker t
        WHERE ST_DWithin(t.geom::geography, p.g::geography, {ADJACENT_M})
        ORDER BY ST_Length(ST_Intersection(ST_Boundary(t.geom),
                           ST_Buffer(p.g::geography, {ADJACENT_M})::geometry)::geography) DESC,
                 t.id
        LIMIT 1) AS target
    FROM parts p
    WHERE NOT %(contested)s
    UNION ALL
    SELECT moved.g, NULL FROM moved WHERE %(contested)s
)
SELECT a.target,
       ST_AsEWKB({VALID.format(_WITH_TARGET)}),
       ST_Area(ST_Union(a.g)::geography)
FROM assigned a GROUP BY a.target ORDER BY a.target NULLS LAST
"""

PLACES_INSIDE_SQL = f"""
SELECT p.id, p.name,
       COALESCE((SELECT array_agg(DISTINCT f.slug ORDER BY f.slug)
                 FROM territory_zoneversion v JOIN territory_faction f ON f.id = v.faction_id
                 WHERE {HOLDS} AND v.faction_id <> ALL(%(friends)s)
                   AND v.geom && p.geom AND ST_Intersects(v.geom, p.geom)), '{{}}')
FROM events_place p
WHERE p.geom && %(moved)s::geometry AND ST_Intersects(p.geom, %(moved)s::geometry)
ORDER BY p.population DESC NULLS LAST, p.name, p.id
"""


def plan(move: Move) -> Plan:
    """What `move` would change, computed and changing nothing. Raises TransferRefused."""
    move.check()
    friends = _friends(move.taker)
    ground_of = {
        FrontMove.Method.PLACES: _places_ground,
        FrontMove.Method.AREA: _area_ground,
        FrontMove.Method.LINE: _line_ground,
    }[move.method]
    ground = ground_of(move, friends)
    if ground is None:
        raise TransferRefused("The move gives no ground to take.")
    rows = _fetch(CUTS_SQL, {"ground": ground.ewkb, "day": move.day, "friends": friends})
    rows = [r for r in rows if r[2] > MIN_GROUND_M2]
    if not rows:
        raise TransferRefused(
            f"No ground held by a faction opposing {move.taker.name} on "
            f"{move.day.isoformat()} lies there."
        )
    versions = (
        ZoneVersion.objects.select_related("zone", "faction")
        .prefetch_related("sources")
        .in_bulk([r[0] for r in rows])
    )
    cuts, lost = [], []
    for vid, lost_ewkb, lost_m2, rest_ewkb, rest_m2 in rows:
        rest = _geom(rest_ewkb) if rest_m2 > MIN_GROUND_M2 else None
        cuts.append(Cut(versions[vid], lost_m2 / 1e6, rest))
        lost.append(_geom(lost_ewkb))
    moved_geom, moved_m2 = _union(lost)
    gains_rows = _fetch(
        GAINS_SQL,
        {
            "moved": moved_geom.ewkb,
            "day": move.day,
            "taker": move.taker.pk,
            "contested": move.contested,
        },
    )
    targets = (
        ZoneVersion.objects.select_related("zone")
        .prefetch_related("sources")
        .in_bulk([r[0] for r in gains_rows if r[0] is not None])
    )
    gains = [Gain(targets.get(target), _geom(ewkb), m2 / 1e6) for target, ewkb, m2 in gains_rows]
    places = [
        {"id": pid, "name": name, "from": list(holders)}
        for pid, name, holders in _fetch(
            PLACES_INSIDE_SQL, {"moved": moved_geom.ewkb, "day": move.day, "friends": friends}
        )
    ]
    warnings = []
    contested_zones = []
    if move.contested:
        contested_zones = sorted({c.version.zone.slug for c in cuts})
        cuts = []  # the losers keep their ground: it is held by both
    for cut in cuts:
        if cut.remainder is None:
            warnings.append(f"{cut.version.zone.name} would be left empty: its version closes.")
    if not move.publish:
        warnings.append(
            "The new versions are drafts: the public map shows the changed zones again once "
            "they are published."
        )
    changed = [c.version for c in cuts] + [g.version for g in gains if g.version is not None]
    _check_dates(move, changed)
    return Plan(
        move, moved_geom, moved_m2 / 1e6, cuts, gains, places, contested_zones, warnings, friends
    )


def _check_dates(move: Move, versions: list[ZoneVersion]) -> None:
    """Refuse a move dated before what it would change: a later version of a changed zone would
    keep the old shape and bring the ground back."""
    zones = {v.zone_id for v in versions}
    later = (
        ZoneVersion.objects.filter(zone__in=zones, valid_from__gt=move.day)
        .select_related("zone")
        .order_by("valid_from", "pk")
        .first()
    )
    if later is not None:
        raise TransferRefused(
            f"{later.zone.name} has a version from {later.valid_from.isoformat()}, after "
            f"{move.day.isoformat()}: a move on {move.day.isoformat()} would be undone by it. "
            f"Date the move on or after {later.valid_from.isoformat()}, or edit that version."
        )


# --- applying and reverting ----------------------------------------------------------------------


@dataclass
class Outcome:
    move: FrontMove
    plan: Plan | None  # None when the same move was applied before (nothing changed)

    def summary(self) -> dict[str, Any]:
        out = dict(self.move.summary)
        out["move"] = self.move.pk
        out["changed"] = self.plan is not None
        return out


def _stamp(version: ZoneVersion) -> str:
    """What a version holds, as a digest: a revert compares it with what the move left, so that
    it undoes nothing edited since (and a reshape reverted gives back the earlier digest)."""
    parts = [
        version.zone_id, version.faction_id, version.geom.hexewkb.decode(), version.valid_from,
        version.valid_to, version.status, version.confidence,
    ]  # fmt: skip
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()  # str: enums as values


def _sources(urls: list[str]) -> list[Source]:
    """The Source of each URL, made when missing (one query when they all exist)."""
    urls = [u for u in dict.fromkeys(urls) if u]
    found = {s.url: s for s in Source.objects.filter(url__in=urls)} if urls else {}
    return [found.get(u) or Source.objects.get_or_create(url=u)[0] for u in urls]


@dataclass
class _Writes:
    """What a commit writes to versions, gathered so that each kind of write is one statement
    (however many versions a move changes): the versions that close on the day, and the new
    versions with the ids of their sources."""

    closing: list[ZoneVersion] = field(default_factory=list)
    opening: list[tuple[ZoneVersion, list[int]]] = field(default_factory=list)

    def write(self, day: dt.date, reason: str, user: Any, event: Event | None) -> None:
        """Close, then open (the zone's period constraint wants the old version closed before
        its successor starts), each in one statement; the sources and event of the new
        versions in one statement each; and every version's history row, with `reason`, in
        bulk (simple_history's bulk_history_create), its sources too, as a save would."""
        now = timezone.now()
        if self.closing:
            ZoneVersion.objects.filter(pk__in=[v.pk for v in self.closing]).update(
                valid_to=day, updated_at=now
            )
            for version in self.closing:
                version.valid_to, version.updated_at = day, now
        opened = [v for v, _ in self.opening]
        ZoneVersion.objects.bulk_create(opened)
        links = ZoneVersion.sources.through
        new_links = links.objects.bulk_create(
            [links(zoneversion_id=v.pk, source_id=s) for v, ids in self.opening for s in ids]
        )
        if event is not None and opened:
            ZoneVersion.events.through.objects.bulk_create(
                [ZoneVersion.events.through(zoneversion_id=v.pk, event_id=event.pk) for v in opened]
            )
        old_links = (
            list(links.objects.filter(zoneversion_id__in=[v.pk for v in self.closing]))
            if self.closing
            else []
        )
        who = user if user is not None and getattr(user, "is_authenticated", False) else None
        rows = []
        for versions, update in ((self.closing, True), (opened, False)):
            if versions:
                rows += ZoneVersion.history.bulk_history_create(
                    versions, update=update, default_change_reason=reason, default_user=who
                )
        _history_sources(rows, old_links + new_links)


def _history_sources(rows: list, links: list) -> None:
    """The sources each history row saw, as simple_history keeps them for a save: a copy of
    the version's through rows, tied to the history row, in one statement."""
    if not rows:
        return
    model = rows[0].sources.model  # the historical through model of ZoneVersion.sources
    by_version: dict[int, list] = {}
    for link in links:
        by_version.setdefault(link.zoneversion_id, []).append(link)
    model.objects.bulk_create(
        [
            model(history=row, id=link.pk, zoneversion_id=link.zoneversion_id,
                  source_id=link.source_id)
            for row in rows
            for link in by_version.get(row.id, [])
        ]
    )  # fmt: skip


def apply(move: Move, *, user=None) -> Outcome:
    """Apply `move` in one transaction (see the module's docstring); the same move applied
    before changes nothing. Raises TransferRefused, having changed nothing."""
    move.check()
    key = move.key()
    with transaction.atomic():
        # One move at a time: each plans on what the previous one left. JIT off for the whole
        # transaction (see _fetch).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('territory.transfer'))")
        token = _jit_off.set(True)
        try:
            return _apply(move, key, user)
        finally:
            _jit_off.reset(token)


def _apply(move: Move, key: str, user: Any) -> Outcome:
    done = FrontMove.objects.filter(key=key, state=FrontMove.State.APPLIED).first()
    if done is not None:
        return Outcome(done, None)
    the_plan = plan(move)
    _check_rights(move, the_plan, user)
    changed = [c.version for c in the_plan.cuts] + [
        g.version for g in the_plan.gains if g.version is not None
    ]
    # Locked, then compared with what was planned on: an edit in between refuses the move.
    current = {
        v.pk: v.updated_at
        for v in ZoneVersion.objects.select_for_update().filter(pk__in=[v.pk for v in changed])
    }
    for v in changed:
        if current.get(v.pk) != v.updated_at:
            raise TransferRefused(f"{v} was changed meanwhile; plan the move again.")
    reason = move.reason_text()
    sources = _sources(move.sources)
    status = Status.PUBLISHED if move.publish else Status.DRAFT
    record = FrontMove(
        taker=move.taker,
        day=move.day,
        method=move.method,
        request=move.request(),
        key=key,
        ground=_multi(the_plan.ground),
        moved_km2=the_plan.moved_km2,
        reason=reason,
        event=move.event,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    writes = _Writes()
    for cut in the_plan.cuts:
        record.changed.append(
            _replace(cut.version, move, cut.remainder, status, sources, reason, user, writes)
        )
    zones_created = []
    for gain in the_plan.gains:
        if gain.version is not None:
            record.changed.append(
                _replace(
                    gain.version, move, gain.geom, status, sources, reason, user, writes,
                    confidence=Confidence.CONTESTED if move.contested else move.confidence,
                )
            )  # fmt: skip
        else:
            zone = _new_zone(move, the_plan)
            zones_created.append(zone.pk)
            version = ZoneVersion(
                zone=zone,
                faction=move.taker,
                geom=_multi(gain.geom),
                valid_from=move.day,
                confidence=Confidence.CONTESTED
                if move.contested
                else move.confidence or Confidence.CONFIRMED,
                status=status,
                note=reason,
            )
            writes.opening.append((version, [s.pk for s in sources]))
    writes.write(move.day, reason, user, move.event)
    for entry in record.changed:
        if "valid_to" in entry:  # closed by the writes: its digest as they left it
            entry["stamp"] = _stamp(entry.pop("_version"))
    opened = [v for v, _ in writes.opening]
    _check_no_overlap(move, the_plan)
    record.opened = [{"version": v.pk, "stamp": _stamp(v)} for v in opened]
    record.zones_created = zones_created
    summary = the_plan.summary()
    summary.update(
        closed=[c["version"] for c in record.changed if "valid_to" in c],
        reshaped=[c["version"] for c in record.changed if "geom" in c],
        opened=[v.pk for v in opened],
        zones_created=zones_created,
        reason=reason,
        status=status,
    )
    record.summary = summary
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:  # the same move, applied by another transaction meanwhile
        raise TransferRefused("The same move is being applied by someone else.") from None
    record.sources.add(*sources)
    return Outcome(record, the_plan)


def _check_rights(move: Move, the_plan: Plan, user: Any) -> None:
    """The editorial rules (territory.editorial): only publishers publish, or change versions
    that are not drafts; publishing needs a source. `user` None: a command run by an operator."""
    if user is not None and not editorial.may_publish(user, ZoneVersion):
        if move.publish:
            raise TransferRefused("Only publishers publish; leave publish unticked for drafts.")
        public = the_plan.public_changes()
        if public:
            zones = ", ".join(sorted({f"{v.zone.name} ({v.status})" for v in public}))
            raise TransferRefused(
                f"This move would close or reshape versions the public map shows: {zones}. "
                "Only publishers change those: ask a publisher to make this move."
            )
    if move.publish:
        problems = editorial.publishing_problems(
            move.confidence or Confidence.CONFIRMED, len([u for u in move.sources if u])
        )
        if problems:
            raise TransferRefused(
                editorial.missing_text(problems) + " Give the move's source to publish it."
            )


def _multi(geom: GEOSGeometry | None) -> MultiPolygon | None:
    if geom is None:
        return None
    if geom.geom_type == "Polygon":
        geom = MultiPolygon(geom, srid=geom.srid)
    return geom


def _replace(
    version: ZoneVersion,
    move: Move,
    geom: GEOSGeometry | None,
    status: str,
    sources: list[Source],
    reason: str,
    user: Any,
    writes: _Writes,
    confidence: str | None = None,
) -> dict[str, Any]:
    """`version` with `geom` from the move's day: closed and followed by a new version (none
    when `geom` is None), both left to `writes`, or reshaped in place when it starts that day.
    Returns what it was (a closed version's digest is taken once `writes` wrote it: the entry
    carries the version under "_version" until then)."""
    changes: dict[str, Any] = {"status": status}
    if confidence is not None:
        changes["confidence"] = confidence
    if version.valid_from == move.day:
        if geom is None:
            raise TransferRefused(
                f"The move would leave {version.zone.name} empty on the day its version "
                f"{version.pk} starts; revert or edit the move that opened it first."
            )
        before = {
            "version": version.pk,
            "geom": version.geom.hexewkb.decode(),
            "status": version.status,
            "confidence": version.confidence,
            "sources": sorted(s.pk for s in version.sources.all()),
        }
        version.geom = _multi(geom)
        for name, value in changes.items():
            setattr(version, name, value)
        # No full_clean(): the geometry is valid by construction (VALID) and the database's
        # constraints hold the period rules; each check was a query on a move's path. A rare
        # path (a second move on one day): saved on its own, its history rows as a save writes.
        editorial.record_reason(version, user, reason)
        version.save()
        if sources:
            version.sources.add(*sources)
        if move.event is not None:
            version.events.add(move.event)
        before["stamp"] = _stamp(version)
        return before
    writes.closing.append(version)
    if geom is not None:
        # The successor: the old version's fields with the move's changes, from the day to the
        # old end (no full_clean(): the period and validity are the database's constraints).
        fields = {
            "zone": version.zone,
            "faction": version.faction,
            "geom": _multi(geom),
            "confidence": version.confidence,
            "status": version.status,
            "note": version.note,
            **changes,
        }
        new = ZoneVersion(valid_from=move.day, valid_to=version.valid_to, **fields)
        ids = [s.pk for s in version.sources.all()] + [s.pk for s in sources]
        writes.opening.append((new, list(dict.fromkeys(ids))))
    return {
        "version": version.pk,
        "valid_to": version.valid_to and version.valid_to.isoformat(),
        "_version": version,
    }


def _new_zone(move: Move, the_plan: Plan) -> Zone:
    names = [p["name"] for p in the_plan.places[:3]] or [move.method]
    name = (
        f"{move.taker.short_name or move.taker.name}: {', '.join(names)} ({move.day.isoformat()})"
    )
    base = slugify(name)[:100] or "zone"
    slug, n = base, 1
    while Zone.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    zone = Zone(name=name[:200], slug=slug, description=move.reason_text())
    zone._change_reason = move.reason_text()
    zone.save()
    return zone


def _check_no_overlap(move: Move, the_plan: Plan) -> None:
    """The moved ground is now held by the taker alone (unless contested): a safety net under
    the geometry above, which fails the transaction rather than leave overlapping sides."""
    if move.contested:
        return
    rows = _fetch(
        f"SELECT z.name, ST_Area(ST_Intersection(v.geom, %(g)s::geometry)::geography)"
        " FROM territory_zoneversion v JOIN territory_zone z ON z.id = v.zone_id"
        f" WHERE {HOLDS} AND v.geom && %(g)s::geometry"
        " AND v.faction_id <> ALL(%(friends)s)"
        " AND ST_Intersects(v.geom, %(g)s::geometry)",
        {"g": the_plan.ground.ewkb, "day": move.day, "friends": the_plan.friends},
    )
    for name, m2 in rows:
        if m2 > MIN_GROUND_M2:
            raise TransferRefused(
                f"Internal check: {name} would still overlap the moved ground by "
                f"{m2 / 1e6:.3f} km²; nothing was changed."
            )


def revert(record: FrontMove, *, reason: str = "", user=None) -> dict[str, Any]:
    """Undo `record`: its new versions and zones deleted, the versions it closed reopened and
    those it reshaped given back their shape, in one transaction. Refused (TransferRefused) when
    any of them was edited since, e.g. by a later move: revert that one first."""
    with transaction.atomic():
        record = FrontMove.objects.select_for_update().get(pk=record.pk)
        if record.state == FrontMove.State.REVERTED:
            raise TransferRefused(f"Move {record.pk} was already reverted.")
        if len(reason.strip()) > editorial.REASON_MAX_LENGTH:
            raise TransferRefused(
                f"The reason is {len(reason.strip())} characters; at most "
                f"{editorial.REASON_MAX_LENGTH}."
            )
        # History keeps 100 characters of a reason (the move's own reason may fill them).
        why = (reason.strip() or f"Revert of move {record.pk}: {record.reason}")[
            : editorial.REASON_MAX_LENGTH
        ]
        ids = [o["version"] for o in record.opened] + [c["version"] for c in record.changed]
        versions = ZoneVersion.objects.select_for_update().in_bulk(ids)
        if user is not None and not editorial.may_publish(user, ZoneVersion):
            public = [v for v in versions.values() if v.status != Status.DRAFT]
            if public:
                raise TransferRefused(
                    f"Move {record.pk} changed versions that are not drafts "
                    f"({', '.join(sorted({str(v.pk) for v in public}))}): only publishers "
                    "revert it. Nothing was changed."
                )
        for entry in record.opened + record.changed:
            version = versions.get(entry["version"])
            if version is None or _stamp(version) != entry["stamp"]:
                raise TransferRefused(
                    f"Zone version {entry['version']} was changed or deleted after move "
                    f"{record.pk}; revert the later change first. Nothing was changed."
                )
        for entry in record.opened:
            version = versions[entry["version"]]
            version._change_reason = why
            version.delete()
        for zone in Zone.objects.filter(pk__in=record.zones_created):
            if not zone.versions.exists():
                zone._change_reason = why
                zone.delete()
        for entry in record.changed:
            version = versions[entry["version"]]
            if "geom" in entry:
                version.geom = GEOSGeometry(entry["geom"])
                version.status, version.confidence = entry["status"], entry["confidence"]
                version.sources.set(entry["sources"])
                if record.event_id is not None:
                    version.events.remove(record.event_id)
            else:
                version.valid_to = (
                    dt.date.fromisoformat(entry["valid_to"]) if entry["valid_to"] else None
                )
            version.full_clean()
            version._change_reason = why
            version.save()
        record.state = FrontMove.State.REVERTED
        record.reverted_at = timezone.now()
        record.revert_reason = why
        record.save(update_fields=["state", "reverted_at", "revert_reason"])
    return {
        "move": record.pk,
        "reverted": True,
        "deleted": [o["version"] for o in record.opened],
        "restored": [c["version"] for c in record.changed],
        "zones_deleted": record.zones_created,
        "reason": why,
    }


# --- naming what the editor means ----------------------------------------------------------------


def find_faction(text: str) -> Faction:
    """The faction of this slug, name or short name (any case). Raises TransferRefused."""
    text = text.strip()
    found = list(
        Faction.objects.filter(
            Q(slug__iexact=text) | Q(name__iexact=text) | Q(short_name__iexact=text)
        )[:5]
    )
    if len(found) == 1:
        return found[0]
    if not found:
        raise TransferRefused(f"No faction is called {text!r} (give its slug or name).")
    raise TransferRefused(
        f"{text!r} names {len(found)} factions ({', '.join(f.slug for f in found)}): give the slug."
    )


def find_place(text: str) -> Place:
    """The gazetteer place of this id, or of this name (English, Arabic or alternate, any
    case) when only one place has it. Raises TransferRefused."""
    text = text.strip()
    if text.isdigit():
        place = Place.objects.filter(pk=int(text)).first()
        if place is None:
            raise TransferRefused(f"No place has the id {text}.")
        return place
    found = list(
        Place.objects.filter(
            Q(name__iexact=text) | Q(name_ar=text) | Q(alternate_names__contains=[text])
        ).select_related("region")[:6]
    )
    if len(found) == 1:
        return found[0]
    if not found:
        raise TransferRefused(f"No place of the gazetteer is called {text!r}.")
    listed = "; ".join(
        f"{p.pk} ({p.name}{', ' + p.region.name if p.region else ''}, "
        f"{p.geom.y:.3f} N {p.geom.x:.3f} E)"
        for p in found[:5]
    )
    raise TransferRefused(f"{text!r} names several places: {listed}. Give the id.")
