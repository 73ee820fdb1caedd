"""`manage.py load_regions FILE`: administrative boundaries (OCHA COD-AB, geoBoundaries, ...) from
any vector file GDAL reads (GeoJSON, Shapefile, GeoPackage), upserted by level and code."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.gis.gdal import DataSource, GDALException
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from conflictmap.gis import GeometryError, repair
from conflictmap.slugs import unique_slug
from conflictmap.territory.demo.upsert import Tally, upsert
from conflictmap.territory.models import Region

# Field names used by OCHA COD-AB (ADM1_EN, ADM1_PCODE, ...) and geoBoundaries (shapeName, shapeID).
NAME_FIELDS = {
    "country": ["ADM0_EN", "shapeName", "NAME_EN", "NAME", "name"],
    "governorate": ["ADM1_EN", "shapeName", "NAME_1", "NAME_EN", "NAME", "name"],
    "district": ["ADM2_EN", "shapeName", "NAME_2", "NAME_EN", "NAME", "name"],
    "subdistrict": ["ADM3_EN", "shapeName", "NAME_3", "NAME_EN", "NAME", "name"],
}
NAME_AR_FIELDS = {
    "country": ["ADM0_AR", "NAME_AR", "name_ar"],
    "governorate": ["ADM1_AR", "NAME_AR", "name_ar"],
    "district": ["ADM2_AR", "NAME_AR", "name_ar"],
    "subdistrict": ["ADM3_AR", "NAME_AR", "name_ar"],
}
CODE_FIELDS = {
    "country": ["ADM0_PCODE", "shapeISO", "shapeID", "ISO_A3", "code"],
    "governorate": ["ADM1_PCODE", "shapeID", "GID_1", "code", "pcode"],
    "district": ["ADM2_PCODE", "shapeID", "GID_2", "code", "pcode"],
    "subdistrict": ["ADM3_PCODE", "shapeID", "GID_3", "code", "pcode"],
}
PARENT_CODE_FIELDS = {
    "governorate": ["ADM0_PCODE"],
    "district": ["ADM1_PCODE"],
    "subdistrict": ["ADM2_PCODE"],
}


def _pick(fields: list[str], option: str | None, candidates: list[str], what: str) -> str | None:
    if option:
        if option not in fields:
            raise CommandError(
                f"--{what}-field {option!r} is not a field of this layer; fields: {', '.join(fields)}"
            )
        return option
    return next((c for c in candidates if c in fields), None)


class Command(BaseCommand):
    help = (
        "Load administrative boundaries from a GeoJSON, Shapefile or GeoPackage (OCHA COD-AB, "
        "geoBoundaries). Upserts by level and code; geometries are made valid and multi in "
        "PostGIS. All or nothing: a bad file or feature writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path to a .geojson/.json, .shp or .gpkg file")
        parser.add_argument(
            "--level",
            choices=[c for c, _ in Region.Level.choices],
            default=Region.Level.GOVERNORATE,
        )
        parser.add_argument("--layer", help="layer name or index (GeoPackage); default first")
        parser.add_argument("--name-field", help="attribute with the English name")
        parser.add_argument("--name-ar-field", help="attribute with the Arabic name")
        parser.add_argument("--code-field", help="attribute with the unique code (pcode)")
        parser.add_argument(
            "--source", default="", help="where the boundaries come from, and their licence"
        )
        parser.add_argument(
            "--replace-approximate",
            action="store_true",
            help="delete the approximate (derived) regions of this level after loading",
        )

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        level = options["level"]
        if not path.exists():
            raise CommandError(f"FILE {path} does not exist.")
        try:
            source = DataSource(str(path))
        except GDALException as exc:
            raise CommandError(f"FILE {path} is not a vector file GDAL can read: {exc}") from exc
        if source.layer_count == 0:
            raise CommandError(f"FILE {path} has no layers.")
        layer_opt = options["layer"]
        try:
            if layer_opt is None:
                layer = source[0]
            else:
                layer = source[int(layer_opt) if layer_opt.isdigit() else layer_opt]
        except (IndexError, KeyError, GDALException) as exc:
            names = ", ".join(lyr.name for lyr in source)
            raise CommandError(f"--layer {layer_opt!r} not found; layers: {names}") from exc
        fields = list(layer.fields)
        name_field = _pick(fields, options["name_field"], NAME_FIELDS[level], "name")
        code_field = _pick(fields, options["code_field"], CODE_FIELDS[level], "code")
        name_ar_field = _pick(fields, options["name_ar_field"], NAME_AR_FIELDS[level], "name-ar")
        if name_field is None or code_field is None:
            raise CommandError(
                f"Cannot tell which fields hold the name and the code in {path}; pass "
                f"--name-field and --code-field. Fields: {', '.join(fields) or '(none)'}"
            )
        parent_field = next((f for f in PARENT_CODE_FIELDS.get(level, []) if f in fields), None)
        if len(layer) == 0:
            raise CommandError(f"FILE {path} (layer {layer.name}) has no features.")

        tally = Tally()
        source_text = options["source"] or f"Loaded from {path.name} with load_regions"
        seen: set[str] = set()
        with transaction.atomic():
            for index, feature in enumerate(layer, start=1):
                where = f"feature {index} of {path.name}"
                code = str(feature.get(code_field) or "").strip()
                name = str(feature.get(name_field) or "").strip()
                if not code or not name:
                    raise CommandError(f"{where}: empty {code_field} or {name_field}.")
                if code in seen:
                    raise CommandError(f"{where}: code {code!r} appears twice.")
                seen.add(code)
                if feature.geom is None:
                    raise CommandError(f"{where} ({code}): no geometry.")
                try:
                    geos = feature.geom.geos
                    if geos.srid is None and layer.srs is not None:
                        geos.srid = layer.srs.srid
                    geom = repair(geos).geom
                except (GeometryError, GDALException) as exc:
                    raise CommandError(f"{where} ({code}): {exc}.") from exc
                parent = None
                if parent_field and feature.get(parent_field):
                    parent = Region.objects.filter(code=str(feature.get(parent_field))).first()
                values = {
                    "name": name,
                    "name_ar": str(feature.get(name_ar_field) or "") if name_ar_field else "",
                    "level": level,
                    "geom": geom,
                    "parent": parent,
                    "approximate": False,
                    "source": source_text,
                }
                existing = Region.objects.filter(level=level, code=code).first()
                lookup = {"pk": existing.pk} if existing else {"code": code}
                if not existing:
                    values["slug"] = unique_slug(Region, f"{level}-{code}", fallback=level)
                upsert(Region, lookup, values, tally)
            removed = 0
            if options["replace_approximate"]:
                removed, _ = (
                    Region.objects.filter(level=level, approximate=True).exclude(code__in=seen)
                ).delete()
        summary = {"file": str(path), "layer": layer.name, "level": level, "removed": removed}
        summary["counts"] = dict(sorted(tally.items()))
        self.stdout.write(json.dumps(summary, indent=2))
