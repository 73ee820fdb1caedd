"""Idempotent writes: save a row only when something changed, so a re-run writes no history."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib.gis.geos import GEOSGeometry
from django.db import models


def same(old: Any, new: Any) -> bool:
    if isinstance(old, GEOSGeometry) or isinstance(new, GEOSGeometry):
        if old is None or new is None:
            return old is new
        return old.srid == new.srid and old.equals_exact(new, tolerance=1e-9)
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        return list(old) == list(new)
    return old == new


class Tally(Counter):
    """Counts of created / updated / unchanged rows per model, for the command's summary."""

    def add(self, model: type[models.Model], outcome: str) -> None:
        self[f"{model._meta.model_name}.{outcome}"] += 1


def upsert(
    model: type[models.Model], lookup: dict[str, Any], values: dict[str, Any], tally: Tally
) -> models.Model:
    """Find the row by `lookup`; create it with `values`, or update only the fields that differ."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        fields = {k: v for k, v in lookup.items() if "__" not in k}  # not "x__isnull"
        obj = model(**fields, **values)
        obj.full_clean(validate_unique=False, validate_constraints=False)
        obj.save()
        tally.add(model, "created")
        return obj
    changed = [name for name, value in values.items() if not same(getattr(obj, name), value)]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save()
        tally.add(model, "updated")
    else:
        tally.add(model, "unchanged")
    return obj


def set_m2m(manager: Any, objs: list[models.Model]) -> bool:
    """Set a many-to-many relation only when its members differ (no m2m history otherwise)."""
    wanted = {o.pk for o in objs}
    if set(manager.values_list("pk", flat=True)) == wanted:
        return False
    manager.set(objs)
    return True
