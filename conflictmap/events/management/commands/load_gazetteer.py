"""`manage.py load_gazetteer FILE`: a GeoNames country dump (e.g. SY.txt) into the gazetteer,
upserted by geonameid, with Arabic names taken from the alternate names."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.gis.geos import Point
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from conflictmap.events.gazetteer import (
    PLACE_FEATURE_CLASSES,
    GeonamesRecord,
    ParseError,
    parse_geonames,
    place_kind,
)
from conflictmap.events.models import Place
from conflictmap.territory.demo.upsert import same

SOURCE = "GeoNames country dump (CC BY 4.0), loaded with load_gazetteer"
FIELDS = [
    "name", "name_ar", "alternate_names", "kind", "geom", "admin1_code", "population", "source"
]  # fmt: skip


def _values(record: GeonamesRecord) -> dict:
    names = [n for n in dict.fromkeys(record.alternate_names) if n != record.name]
    return {
        "name": record.name[:200],
        "name_ar": record.name_ar[:200],
        "alternate_names": [n[:200] for n in names],
        "kind": place_kind(record.feature_class, record.feature_code, record.population),
        "geom": Point(record.longitude, record.latitude, srid=4326),
        "admin1_code": record.admin1_code[:10],
        "population": record.population,
        "source": SOURCE,
    }


class Command(BaseCommand):
    help = (
        "Load a GeoNames dump (tab-separated 'geoname' table, e.g. SY.txt from "
        "download.geonames.org/export/dump/) into the gazetteer, upserting by geonameid. "
        "A malformed line stops the load with its line number and writes nothing, unless "
        "--skip-bad-lines."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path to a GeoNames dump such as SY.txt")
        parser.add_argument("--country", default="", help="keep only this country code (SY)")
        parser.add_argument(
            "--feature-classes",
            default="P,S",
            help="GeoNames feature classes to keep, comma-separated (default P,S: populated "
            "places and sites such as airports, bases, dams); 'all' keeps every class",
        )
        parser.add_argument("--skip-bad-lines", action="store_true")

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"FILE {path} does not exist.")
        classes_opt = options["feature_classes"].strip()
        classes = (
            PLACE_FEATURE_CLASSES
            if classes_opt.lower() == "all"
            else {c.strip().upper() for c in classes_opt.split(",") if c.strip()}
        )
        if not classes <= PLACE_FEATURE_CLASSES | {"H", "R", "U", "V"}:
            raise CommandError(f"--feature-classes {classes_opt!r}: unknown GeoNames class.")
        country = options["country"].strip().upper()

        records: dict[int, GeonamesRecord] = {}
        errors: list[ParseError] = []
        skipped = 0
        try:
            with path.open(encoding="utf-8") as handle:
                for item in parse_geonames(handle):
                    if isinstance(item, ParseError):
                        errors.append(item)
                    elif item.feature_class not in classes or (
                        country and item.country_code != country
                    ):
                        skipped += 1
                    else:
                        records[item.geonameid] = item
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"FILE {path} is not UTF-8 text (a GeoNames dump is): {exc}"
            ) from exc
        if errors and not options["skip_bad_lines"]:
            first = errors[0]
            raise CommandError(
                f"{path.name} line {first.line}: {first.reason} ({len(errors)} bad line(s) in "
                "all; is this a GeoNames dump?). Nothing was written; --skip-bad-lines loads "
                "the good ones."
            )
        if not records:
            raise CommandError(f"No places to load from {path} (skipped {skipped}).")

        counts = {"created": 0, "updated": 0, "unchanged": 0}
        with transaction.atomic():
            existing = {p.geonameid: p for p in Place.objects.filter(geonameid__in=records)}
            new, changed = [], []
            for geonameid, record in records.items():
                values = _values(record)
                place = existing.get(geonameid)
                if place is None:
                    new.append(Place(geonameid=geonameid, **values))
                    continue
                diff = [k for k, v in values.items() if not same(getattr(place, k), v)]
                if diff:
                    for k in diff:
                        setattr(place, k, values[k])
                    changed.append(place)
                else:
                    counts["unchanged"] += 1
            if new:
                bulk_create_with_history(new, Place, batch_size=1000)
            if changed:
                bulk_update_with_history(changed, Place, FIELDS, batch_size=1000)
            counts["created"], counts["updated"] = len(new), len(changed)
            from conflictmap.territory.demo.loader import assign_place_regions

            assign_place_regions()
        summary = {
            "file": str(path),
            "counts": counts,
            "skipped": skipped,
            "bad_lines": [{"line": e.line, "reason": e.reason} for e in errors[:50]],
        }
        self.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False))
