"""One whole-map snapshot against the zones recorded in force on its date: what changed becomes
new zone versions (and closed ones), what did not is left alone. Geometry is compared in PostGIS.

1. Per faction, the union of its pieces in the snapshot is compared with the union of its
   versions in force on the day (whatever wrote them: the previous snapshot, an editor). Within
   the tolerance, the faction is unchanged and nothing of it is written.
2. For a faction that changed, each piece finds its zone: a piece with a name (or id) is the zone
   of that name; a piece without one takes the zone of the faction's version it overlaps most
   (each version to one piece, the largest overlaps first). A piece whose zone's shape is within
   the tolerance keeps its version; otherwise a new version opens on the day (the old one is
   closed), or a new zone when it overlaps none.
3. A version of a changed faction that no piece took is closed on the day: the ground was lost.

A faction whose polygons in the snapshot could not all be read is left as recorded (its change,
if any, is taken up by a later snapshot) rather than recorded as having lost the missing ground.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.gis.geos import MultiPolygon
from django.db import connection

from conflictmap.events.models import Source
from conflictmap.territory.models import Faction, ZoneVersion, new_version_from

from ..parsers import Problem
from .zones import new_zone, union, zone_for

EMPTY = "ST_GeomFromText('MULTIPOLYGON EMPTY', 4326)"


@dataclass(frozen=True)
class Tolerance:
    """Two shapes are the same when their symmetric difference is at most `km2` square kilometres
    or at most `share` of the larger area (areas on the WGS84 spheroid). Ground that appears where
    there was none, or vanishes, is always a change."""

    km2: float = 1.0
    share: float = 0.0001  # 0.01%: 10 km² of a faction holding 100,000 km²

    def same(self, symmetric_difference: float, area_a: float, area_b: float) -> bool:
        if (area_a > 0) != (area_b > 0):
            return False
        largest = max(area_a, area_b)
        return symmetric_difference <= self.km2 or symmetric_difference <= self.share * largest


@dataclass
class Piece:
    """Ground a snapshot gives a faction: one feature, or the features sharing a zone name."""

    faction: Faction
    name: str  # the zone's name or id in the file; "" when it has none
    geom: MultiPolygon
    label: str


@dataclass
class Writing:
    """What every version written for one snapshot carries."""

    day: dt.date
    source: Source
    status: str
    confidence: str
    reason: str = "Snapshot import"  # history_change_reason of every version written


@dataclass
class Outcome:
    opened: int = 0
    closed: int = 0
    unchanged_zones: int = 0
    factions: list[str] = field(default_factory=list)  # slugs of the factions that changed
    problems: list[Problem] = field(default_factory=list)


def _hexes(geoms: list[MultiPolygon]) -> list[str]:
    return [g.hexewkb.decode() for g in geoms]


def _measure(geoms: list[MultiPolygon], version_ids: list[int]) -> tuple[float, float, float]:
    """km² of the symmetric difference between the union of `geoms` and the union of those
    versions' geometries, and of each union."""
    table = ZoneVersion._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"WITH a AS (SELECT ST_Union(h::geometry) AS g FROM unnest(%s::text[]) AS t(h)),"
            f" b AS (SELECT ST_Union(geom) AS g FROM {table} WHERE id = ANY(%s))"
            f" SELECT ST_Area(ST_SymDifference(COALESCE(a.g, {EMPTY}), COALESCE(b.g, {EMPTY}))"
            f"::geography) / 1e6, COALESCE(ST_Area(a.g::geography), 0) / 1e6,"
            f" COALESCE(ST_Area(b.g::geography), 0) / 1e6 FROM a, b",
            [_hexes(geoms), version_ids],
        )
        return cur.fetchone()


def _overlaps(pieces: list[Piece], version_ids: list[int]) -> list[tuple[float, int, int]]:
    """(km² of overlap, piece index, version id) for every piece and version that overlap."""
    if not pieces or not version_ids:
        return []
    table = ZoneVersion._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT ST_Area(ST_Intersection(t.h::geometry, v.geom)::geography) / 1e6,"
            f" t.i - 1, v.id FROM unnest(%s::text[]) WITH ORDINALITY AS t(h, i)"
            f" JOIN {table} v ON v.id = ANY(%s) AND ST_Intersects(t.h::geometry, v.geom)",
            [_hexes([p.geom for p in pieces]), version_ids],
        )
        return [(km2, i, vid) for km2, i, vid in cur.fetchall() if km2 > 0]


class _Writer:
    """The writes of one snapshot, counted; a version that starts on the snapshot's own day
    (not written by a snapshot: those are one per date) is never rewritten, only reported."""

    def __init__(self, writing: Writing, tolerance: Tolerance) -> None:
        self.writing = writing
        self.tolerance = tolerance
        self.outcome = Outcome()

    def _starts_today(self, version: ZoneVersion, piece_label: str) -> bool:
        if version.valid_from != self.writing.day:
            return False
        self.outcome.problems.append(
            Problem(
                piece_label,
                f"zone {version.zone.name!r} already has a version from "
                f"{self.writing.day.isoformat()} (#{version.pk}); left as it is",
            )
        )
        return True

    def keep_or_replace(self, version: ZoneVersion, piece: Piece) -> None:
        if version.faction_id == piece.faction.pk:
            difference, a, b = _measure([piece.geom], [version.pk])
            if self.tolerance.same(difference, a, b):
                self.outcome.unchanged_zones += 1
                return
        if self._starts_today(version, piece.label):
            return
        w = self.writing
        new_version_from(
            version, w.day, sources=[w.source], faction=piece.faction, geom=piece.geom,
            confidence=w.confidence, status=w.status, reason=w.reason,
            note=f"From the snapshot of {w.day.isoformat()}.",
        )  # fmt: skip
        self.outcome.opened += 1
        self.outcome.closed += 1

    def open(self, piece: Piece, *, named: bool) -> None:
        w = self.writing
        if named:
            zone = zone_for(piece.name)
            later = zone.versions.filter(valid_from__gt=w.day).order_by("valid_from").first()
            valid_to = later.valid_from if later else None
        else:
            zone = new_zone(f"{piece.faction.name} (from {w.day.isoformat()})")
            valid_to = None
        version = ZoneVersion(
            zone=zone, faction=piece.faction, geom=piece.geom, valid_from=w.day,
            valid_to=valid_to, confidence=w.confidence, status=w.status,
            note=f"From the snapshot of {w.day.isoformat()}.",
        )  # fmt: skip
        version.full_clean()
        version._change_reason = w.reason
        version.save()
        version.sources.add(w.source)
        self.outcome.opened += 1

    def close(self, version: ZoneVersion) -> None:
        if self._starts_today(version, f"zone {version.zone.name}"):
            return
        version.valid_to = self.writing.day
        version._change_reason = self.writing.reason
        version.save(update_fields=["valid_to", "updated_at"])  # save(), so history records it
        self.outcome.closed += 1


def apply_snapshot(
    pieces: list[Piece], incomplete: set[int], writing: Writing, tolerance: Tolerance
) -> Outcome:
    """Write what changed between the zones in force on `writing.day` and `pieces`. Factions
    whose ids are in `incomplete` are left as recorded. Run inside a transaction."""
    day = writing.day
    current = list(
        ZoneVersion.objects.at(day).select_related("zone", "faction").defer("geom").order_by("pk")
    )
    by_faction: dict[int, list[ZoneVersion]] = defaultdict(list)
    for v in current:
        by_faction[v.faction_id].append(v)
    pieces_of: dict[int, list[Piece]] = defaultdict(list)
    factions: dict[int, Faction] = {}
    for p in pieces:
        pieces_of[p.faction.pk].append(p)
        factions[p.faction.pk] = p.faction
    for v in current:
        factions.setdefault(v.faction_id, v.faction)

    changed = []
    for fid in sorted(set(factions) - incomplete, key=lambda f: factions[f].slug):
        versions = [v.pk for v in by_faction[fid]]
        if not tolerance.same(*_measure([p.geom for p in pieces_of[fid]], versions)):
            changed.append(fid)

    writer = _Writer(writing, tolerance)
    writer.outcome.factions = [factions[f].slug for f in changed]
    in_force = {v.zone_id: v for v in current}
    taken: set[int] = set()  # versions a piece of a changed faction has claimed
    for fid in changed:
        for piece in (p for p in pieces_of[fid] if p.name):
            zone = zone_for(piece.name)
            version = in_force.get(zone.pk)
            if version is None:
                writer.open(piece, named=True)
            else:
                taken.add(version.pk)
                writer.keep_or_replace(version, piece)
    for fid in changed:
        unnamed = [p for p in pieces_of[fid] if not p.name]
        candidates = [v for v in by_faction[fid] if v.pk not in taken]
        versions = {v.pk: v for v in candidates}
        matched: dict[int, ZoneVersion] = {}
        for _, i, vid in sorted(_overlaps(unnamed, list(versions)), reverse=True):
            if i not in matched and vid not in taken:
                matched[i] = versions[vid]
                taken.add(vid)
        for i, piece in enumerate(unnamed):
            if i in matched:
                writer.keep_or_replace(matched[i], piece)
            else:
                writer.open(piece, named=False)
        for version in candidates:
            if version.pk not in taken:
                writer.close(version)
    return writer.outcome


def pieces_from(groups: dict[tuple[int, str], list], factions: dict[int, Faction]) -> list[Piece]:
    """Features grouped by (faction id, zone name) as pieces: the named ones merged into one
    piece per zone, each unnamed feature a piece of its own."""
    pieces = []
    for (fid, name), features in groups.items():
        if name:
            label = features[0].label if len(features) == 1 else f"zone {name}"
            pieces.append(Piece(factions[fid], name, union([f.geom for f in features]), label))
        else:
            pieces.extend(Piece(factions[fid], "", f.geom, f.label) for f in features)
    return pieces
