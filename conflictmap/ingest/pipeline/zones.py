"""Control maps (any format parsers.zones reads through GDAL) into zone versions: invalid polygons
repaired in PostGIS when the repair is safe, else rejected; a map from day D closes the versions
it replaces at D."""

from __future__ import annotations

import datetime as dt

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import connection, transaction
from django.db.models import Q
from django.utils.text import slugify

from conflictmap.events.models import Source
from conflictmap.gis import GeometryError, repair
from conflictmap.slugs import unique_slug
from conflictmap.territory.models import (
    Confidence,
    Faction,
    Zone,
    ZoneVersion,
    new_version_from,
)

from ..models import ImportRun
from ..parsers import Problem
from ..parsers import zones as zones_parser
from ..parsers.zones import ZoneFeature
from .claims import hold_run
from .progress import finish_run, record_parse_results

REPAIR_TOLERANCE = 0.01  # a repair may change the area by at most 1%


def repair_features(
    features: list[ZoneFeature], problems: list[Problem]
) -> tuple[list[ZoneFeature], list[ZoneFeature]]:
    """The features kept (valid, or repaired safely: gis.repair within REPAIR_TOLERANCE) and
    those rejected for an invalid polygon; each repair and rejection is added to `problems`."""
    kept, rejected = [], []
    for f in features:
        if not f.invalid_reason:
            kept.append(f)
            continue
        try:
            fixed = repair(f.geom, max_area_change=REPAIR_TOLERANCE)
        except GeometryError as error:
            problems.append(
                Problem(
                    f.label,
                    f"self-intersecting or invalid polygon ({f.invalid_reason}); rejected: {error}",
                )
            )
            rejected.append(f)
            continue
        problems.append(
            Problem(
                f.label,
                f"invalid polygon ({f.invalid_reason}) repaired with ST_MakeValid; "
                f"area changed by {fixed.area_change:.2%}",
                repaired=True,
            )
        )
        f.geom = fixed.geom
        kept.append(f)
    return kept, rejected


def zone_for(name: str) -> Zone:
    """The zone of that name (or slug), created when there is none."""
    zone = Zone.objects.filter(Q(name=name) | Q(slug=slugify(name)[:120])).first()
    return zone or new_zone(name)


def new_zone(name: str) -> Zone:
    """A new zone, even when another already has that name (its slug tells them apart)."""
    return Zone.objects.create(name=name, slug=unique_slug(Zone, name, fallback="zone"))


def _equal_geoms(a: MultiPolygon, b: MultiPolygon) -> bool:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_Equals(ST_GeomFromEWKB(%s), ST_GeomFromEWKB(%s))",
            [bytes(a.ewkb), bytes(b.ewkb)],
        )
        return bool(cur.fetchone()[0])


def map_source(what: str, digest: str, day: dt.date, publisher: str, excerpt: str) -> Source:
    """The Source the versions from one map file cite: the file by name and hash."""
    source, _ = Source.objects.get_or_create(
        publisher=publisher,
        title=f"{what} (sha256 {digest[:16]})"[:500],
        defaults={"published": day, "excerpt": excerpt},
    )
    return source


def union(geoms: list[MultiPolygon]) -> MultiPolygon:
    if len(geoms) == 1:
        return geoms[0]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_AsEWKB(ST_Multi(ST_CollectionExtract(ST_Union(h::geometry), 3)))"
            " FROM unnest(%s::text[]) AS t(h)",
            [[g.hexewkb.decode() for g in geoms]],
        )
        return GEOSGeometry(memoryview(bytes(cur.fetchone()[0])), srid=4326)


def apply_zones(
    run: ImportRun, content: bytes, token: dt.datetime, *, inline: bool = False
) -> None:
    features, problems = zones_parser.parse(content, run.filename)
    opts = run.options
    faction = Faction.objects.filter(slug=opts.get("faction", "")).first()
    if faction is None:
        problems.append(Problem("options", f"no faction with slug {opts.get('faction')!r}"))
        features = []
    try:
        day = dt.date.fromisoformat(opts.get("date", ""))
    except (TypeError, ValueError):
        problems.append(Problem("options", f"date {opts.get('date')!r} is not YYYY-MM-DD"))
        features = []
    groups: dict[str, list] = {}
    kept, _ = repair_features(features, problems)
    for f in kept:
        name = opts.get("zone") or f.name
        if not name:
            problems.append(Problem(f.label, "has no name or zone property; pass --zone NAME"))
            continue
        groups.setdefault(name, []).append(f)
    record_parse_results(run, token, problems, len(groups))
    if not groups:
        finish_run(run, token)
        return
    confidence = opts.get("confidence", Confidence.CONFIRMED)
    status = run.record_status
    reason = run.reason("Control map import")
    created = updated = unchanged = closed = 0
    with transaction.atomic():
        hold_run(run, token)
        source = map_source(
            f"Control map {run.filename or 'upload'}", run.content_hash, day,
            opts.get("publisher", ""),
            f"Imported as the control of {faction.name} from {day.isoformat()}.",
        )  # fmt: skip
        for name, group in groups.items():
            geom = union([f.geom for f in group])
            zone = zone_for(name)
            current = zone.versions.at(day).first()
            if current and current.faction_id == faction.pk and _equal_geoms(current.geom, geom):
                unchanged += 1
            elif current and current.valid_from == day:
                current.faction, current.geom, current.confidence = faction, geom, confidence
                current.status = status  # what an import writes is a draft unless published
                current.full_clean()
                current._change_reason = reason
                current.save()
                current.sources.add(source)
                updated += 1
            elif current:
                new_version_from(
                    current, day, sources=[source], faction=faction, geom=geom,
                    confidence=confidence, status=status, reason=reason,
                )  # fmt: skip
                created += 1
                closed += 1
            else:
                later = zone.versions.filter(valid_from__gt=day).order_by("valid_from").first()
                version = ZoneVersion(
                    zone=zone, faction=faction, geom=geom, valid_from=day,
                    valid_to=later.valid_from if later else None,
                    confidence=confidence, status=status,
                    note=f"Imported from {run.filename or 'an upload'}.",
                )  # fmt: skip
                version.full_clean()
                version._change_reason = reason
                version.save()
                version.sources.add(source)
                created += 1
        ImportRun.objects.filter(pk=run.pk).update(
            processed=len(groups), created=created, updated=updated, unchanged=unchanged
        )
    finish_run(run, token, options={**run.options, "closed_versions": closed})
