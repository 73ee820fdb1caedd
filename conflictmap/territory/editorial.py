"""The editorial rules, in one place: who may publish and retract, what publishing needs, status
changes in bulk, and going back to an earlier state. For zone versions and events alike (both
have `status`, `confidence` and `sources`); the admin and the commands call these.

Roles are Django groups made by migration territory/0010_editorial_roles:
- editor: adds and changes events, zone versions, zones and sources, reviews candidates; never
  changes a status (drafts stay drafts);
- publisher: an editor who also holds publish_zoneversion / publish_event (publish and retract).
Every change carries a short reason, written to simple-history's history_change_reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction

from conflictmap.territory.models import Status

EDITOR, PUBLISHER = "editor", "publisher"

_READ = ["view"]
_EDIT = ["add", "change", "view"]
_ROWS = ["add", "change", "delete", "view"]  # inline rows of an event
# (app, model) -> actions of the editor group. Factions, regions and places are read only (the
# forms pick from them); nothing is deleted (retract instead).
EDITOR_PERMISSIONS = {
    ("events", "event"): _EDIT,
    ("events", "source"): _EDIT,
    ("events", "eventactor"): _ROWS,
    ("events", "externalid"): _ROWS,
    ("events", "place"): _READ,
    ("territory", "zoneversion"): _EDIT,
    ("territory", "zone"): _EDIT,
    ("territory", "faction"): _READ,
    ("territory", "region"): _READ,
    ("ingest", "importrun"): ["add", "view"],
    ("ingest", "feed"): _READ,
    ("ingest", "report"): ["change", "view"],
    ("ingest", "candidate"): ["change", "view"],
}
PUBLISHER_EXTRA = [("territory", "publish_zoneversion"), ("events", "publish_event")]


def ensure_roles(apps: Any = None) -> None:
    """Create the editor and publisher groups with exactly their permissions (again: resets
    them). `apps`: a migration's registry, or None for the live one."""
    from django.apps import apps as live_apps
    from django.contrib.auth.management import create_permissions

    apps = apps or live_apps
    # Permissions are normally made after migrate (post_migrate); the groups need them now.
    for config in apps.get_app_configs():
        had = getattr(config, "models_module", None)  # None on a migration's stubs
        config.models_module = had or True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = had
    group_model = apps.get_model("auth", "Group")
    permission = apps.get_model("auth", "Permission")

    def find(pairs):
        return [
            permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in pairs
        ]

    editing = find(
        (app, f"{action}_{model}")
        for (app, model), actions in EDITOR_PERMISSIONS.items()
        for action in actions
    )
    editor, _ = group_model.objects.get_or_create(name=EDITOR)
    editor.permissions.set(editing)
    publisher, _ = group_model.objects.get_or_create(name=PUBLISHER)
    publisher.permissions.set(editing + find(PUBLISHER_EXTRA))


# simple-history's history_change_reason is a varchar(100).
REASON_MAX_LENGTH = 100


def may_publish(user: Any, model: type[models.Model]) -> bool:
    """True when `user` may publish and retract records of `model` (ZoneVersion or Event)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.publish_{opts.model_name}")


def check_reason(reason: str | None) -> str:
    """The reason, stripped; a ValidationError when it is missing or too long."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give a short reason for this change.")
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            f"The reason is {len(reason)} characters; at most {REASON_MAX_LENGTH}."
        )
    return reason


def publishing_problems(confidence: str | None, source_count: int) -> list[str]:
    """What a record lacks to be published (empty when nothing): at least one source and a
    confidence."""
    problems = []
    if source_count < 1:
        problems.append("at least one source")
    if not confidence:
        problems.append("a confidence")
    return problems


def missing_text(problems: list[str]) -> str:
    return "Cannot publish without " + " and ".join(problems) + "."


def record_reason(obj: models.Model, user: Any, reason: str) -> None:
    """Attach who and why to `obj` for the history row its next save (and m2m change) writes."""
    obj._change_reason = reason
    if user is not None and getattr(user, "is_authenticated", False):
        obj._history_user = user


def set_status(
    objs: Iterable[models.Model], status: str, *, user: Any, reason: str
) -> tuple[list[models.Model], list[tuple[models.Model, str]]]:
    """Move each of `objs` to `status` (published or retracted) with `reason`, as `user`.

    Returns (changed, refused with why): a record that cannot be published (no source or no
    confidence) is refused and left as it was; the others change, each saved so that history
    records who, when and why. The user must be a publisher of the model."""
    reason = check_reason(reason)
    if status not in (Status.PUBLISHED, Status.RETRACTED):
        raise ValidationError(f"Unknown target status {status!r}.")
    changed, refused = [], []
    for obj in objs:
        if not may_publish(user, type(obj)):
            raise PermissionDenied("Only publishers may publish or retract.")
        if obj.status == status:
            continue
        if status == Status.PUBLISHED:
            problems = publishing_problems(obj.confidence, obj.sources.count())
            if problems:
                refused.append((obj, missing_text(problems)))
                continue
        with transaction.atomic():
            obj.status = status
            record_reason(obj, user, reason)
            obj.save()
        changed.append(obj)
    return changed, refused


def update_each(
    objs: Iterable[models.Model], *, user: Any, reason: str, **values: Any
) -> list[models.Model]:
    """Set `values` on each of `objs` and save it with `reason` (a history row each). A status
    among `values` needs a publisher (set_status also checks what publishing needs)."""
    reason = check_reason(reason)
    changed = []
    with transaction.atomic():
        for obj in objs:
            if "status" in values and not may_publish(user, type(obj)):
                raise PermissionDenied("Only publishers may publish or retract.")
            if all(getattr(obj, k) == v for k, v in values.items()):
                continue
            for k, v in values.items():
                setattr(obj, k, v)
            record_reason(obj, user, reason)
            obj.save()
            changed.append(obj)
    return changed


def attach_source(
    objs: Iterable[models.Model], source: models.Model, *, user: Any, reason: str
) -> list[models.Model]:
    """Add `source` to each of `objs` that lacks it (a history row each, with `reason`)."""
    reason = check_reason(reason)
    changed = []
    with transaction.atomic():
        for obj in objs:
            if obj.sources.filter(pk=source.pk).exists():
                continue
            record_reason(obj, user, reason)
            obj.sources.add(source)
            changed.append(obj)
    return changed


@contextlib.contextmanager
def changes_because(reason: str) -> Iterator[None]:
    """Within the block, every history row written without a reason of its own gets `reason`
    (for commands that save through code they do not own: `load_demo --reason`)."""
    from simple_history.signals import pre_create_historical_record

    reason = check_reason(reason)

    def fill(sender, history_instance=None, **kwargs) -> None:
        if history_instance is not None and not history_instance.history_change_reason:
            history_instance.history_change_reason = reason

    pre_create_historical_record.connect(fill, weak=False)
    try:
        yield
    finally:
        pre_create_historical_record.disconnect(fill)


# --- history: differences and going back --------------------------------------------------------


def tracked_fields(record: models.Model) -> list[models.Field]:
    """The fields a historical record keeps of its model (not the history bookkeeping)."""
    return [f for f in record.instance_type._meta.fields if hasattr(record, f.attname)]


def m2m_ids(record: models.Model) -> dict[str, list[int]]:
    """The many-to-many ids a historical record saved (e.g. sources), by field name."""
    found = {}
    for field in getattr(record, "_history_m2m_fields", []):
        column = field.m2m_reverse_field_name() + "_id"  # e.g. source_id on the through rows
        found[field.name] = sorted(
            getattr(row, column) for row in getattr(record, field.name).all()
        )
    return found


def differences(old: models.Model, new: models.Model) -> list[tuple[str, Any, Any]]:
    """(field, value in `old`, value in `new`) for each tracked field that differs between two
    historical records of one object, many-to-many ids included. Geometries compare by shape."""
    changes = []
    for field in tracked_fields(old):
        if field.name in ("updated_at", "created_at", "period", "area_km2", "related"):
            continue
        a, b = getattr(old, field.attname), getattr(new, field.attname)
        same = a.equals_exact(b, 1e-9) if hasattr(a, "equals_exact") and b is not None else a == b
        if not same:
            changes.append((field.verbose_name, a, b))
    old_m2m, new_m2m = m2m_ids(old), m2m_ids(new)
    for name in old_m2m:
        if old_m2m[name] != new_m2m.get(name):
            changes.append((name, old_m2m[name], new_m2m.get(name)))
    return changes


def revert_to(record: models.Model, *, user: Any, reason: str) -> models.Model:
    """Bring the object of historical `record` back to that state, as a new change with
    `reason` (history is never rewritten: the revert is itself a history row).

    Every tracked field and the many-to-many links (sources) return to their recorded values;
    the status too, but only for a publisher: an editor's revert keeps the current status."""
    reason = check_reason(reason)
    model = record.instance_type
    with transaction.atomic():
        obj = model.objects.select_for_update().get(pk=record.instance.pk)
        keep_status = hasattr(obj, "status") and not may_publish(user, model)
        for field in tracked_fields(record):
            if field.primary_key or isinstance(field, models.GeneratedField):
                continue
            if not field.editable and field.name not in ("status",):
                continue
            if field.name == "status" and keep_status:
                continue
            setattr(obj, field.attname, getattr(record, field.attname))
        if getattr(obj, "status", None) == Status.PUBLISHED and not keep_status:
            problems = publishing_problems(obj.confidence, len(m2m_ids(record).get("sources", [])))
            if problems:
                raise ValidationError(missing_text(problems))
        obj.full_clean()
        record_reason(obj, user, reason)
        obj.save()
        for name, ids in m2m_ids(record).items():
            manager = getattr(obj, name)
            if sorted(manager.values_list("pk", flat=True)) != ids:
                record_reason(obj, user, reason)
                manager.set(ids)
    return obj
