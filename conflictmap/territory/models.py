"""Factions, regions, zones and the versions of a zone in time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateRangeField, RangeOperators
from django.contrib.postgres.indexes import GinIndex, GistIndex
from django.core.exceptions import ValidationError
from django.db.backends.postgresql.psycopg_any import DateRange as PeriodRange
from django.db.models import F, Func, Q
from django.db.models.functions import Least
from simple_history.models import HistoricalRecords


class Confidence(models.TextChoices):
    CONFIRMED = "confirmed"
    CONTESTED = "contested"
    CLAIMED = "claimed"


class Status(models.TextChoices):
    """draft -> published -> retracted. Only published records are public; a retracted one is
    kept (and stays in history and the changelog's past) but hidden like a draft."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETRACTED = "retracted"


class Faction(models.Model):
    class Kind(models.TextChoices):
        STATE = "state", "State forces"
        REBEL = "rebel", "Rebel / opposition"
        MILITIA = "militia"
        FOREIGN_STATE = "foreign_state", "Foreign state"
        JIHADIST = "jihadist", "Jihadist group"
        COALITION = "coalition"
        CIVILIAN = "civilian", "Civilians"
        OTHER = "other", "Other / unknown"

    name = models.CharField(max_length=200, unique=True)
    name_ar = models.CharField("Arabic name", max_length=200, blank=True)
    slug = models.SlugField(max_length=80, unique=True)
    short_name = models.CharField(max_length=40, blank=True)
    colour = models.CharField(max_length=7, default="#888888", help_text="#rrggbb")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    aliases = ArrayField(
        models.CharField(max_length=300),
        default=list,
        blank=True,
        help_text="Other names, including Arabic ones and those other datasets (ACLED) use.",
    )
    backed_by = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="backs")
    description = models.TextField(blank=True)
    needs_review = models.BooleanField(
        default=False, help_text="Created automatically from an unknown actor during import."
    )
    history = HistoricalRecords(m2m_fields=[backed_by])

    class Meta:
        ordering = ["name"]
        indexes = [GinIndex(fields=["aliases"], name="faction_aliases_gin")]
        constraints = [
            models.CheckConstraint(
                condition=Q(colour__regex=r"^#[0-9a-fA-F]{6}$"), name="faction_colour_hex"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Region(models.Model):
    class Level(models.TextChoices):
        COUNTRY = "country"
        GOVERNORATE = "governorate"
        DISTRICT = "district"
        SUBDISTRICT = "subdistrict", "Sub-district"

    name = models.CharField(max_length=200)
    name_ar = models.CharField("Arabic name", max_length=200, blank=True)
    slug = models.SlugField(max_length=120, unique=True)
    level = models.CharField(max_length=20, choices=Level.choices)
    code = models.CharField(max_length=40, blank=True, help_text="e.g. GeoNames admin1 or pcode")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    geom = models.MultiPolygonField(srid=4326)
    approximate = models.BooleanField(
        default=False, help_text="Boundary derived by us, not an official one."
    )
    source = models.TextField(blank=True, help_text="Where the boundary comes from, and licence.")

    class Meta:
        ordering = ["level", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(geom__isvalid=True), name="region_geom_valid")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_level_display()})"


class Zone(models.Model):
    """A named area that changes hands or shape over time; its versions say who and where."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120, unique=True)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.SET_NULL)
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DateRange(Func):
    """daterange(lower, upper, bounds) in SQL: NULL as upper is an open end."""

    function = "daterange"
    output_field = DateRangeField()


# --- the period and visibility rules, for the ORM and as SQL ------------------------------------
#
# A version is in force on day D when valid_from <= D < valid_to (valid_to NULL: open), i.e. when
# its `period` (the stored daterange [valid_from, valid_to)) contains D; the GiST index on period
# answers both forms. A record is visible to the public when published; users who may view
# unpublished records (sees_drafts: the view permission) also see drafts and retracted ones,
# marked by their `status`. The SQL queries take that flag as the parameter %(staff)s (its
# historical name: it is sees_drafts(), not is_staff).


def sees_drafts(user: Any, model: type[models.Model]) -> bool:
    """True when `user` may see the unpublished (draft and retracted) records of `model`
    (ZoneVersion or Event): the one rule every page, API endpoint and export follows. It is the
    model's view permission (territory.view_zoneversion, events.view_event), which the editor
    and publisher groups and superusers hold; staff status alone is not enough."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.view_{opts.model_name}")


def in_force(alias: str, day: str) -> str:
    """SQL true where version `alias` is in force on `day` (an SQL date expression or a
    parameter such as "%(day)s"): the twin of ZoneVersionQuerySet.at()."""
    return f"{alias}.period @> ({day})::date"


def in_force_during(alias: str, first: str, last: str) -> str:
    """SQL true where version `alias` is in force on any day from `first` to `last`, both
    inclusive."""
    return f"{alias}.period && daterange(({first})::date, ({last})::date, '[]')"


def visible(alias: str) -> str:
    """SQL true where record `alias` (a zone version, an event or a tile cell) may be shown:
    published, or anything when the parameter %(staff)s (sees_drafts) is true."""
    return f"(%(staff)s OR {alias}.status = '{Status.PUBLISHED}')"


class ZoneVersionQuerySet(models.QuerySet):
    def published(self) -> ZoneVersionQuerySet:
        return self.filter(status=Status.PUBLISHED)

    def at(self, day: dt.date) -> ZoneVersionQuerySet:
        """Versions in force on `day`: valid_from <= day (inclusive) and day < valid_to
        (exclusive), or valid_to is open (NULL)."""
        return self.filter(period__contains=day)

    def overlapping(self, start: dt.date, end: dt.date | None) -> ZoneVersionQuerySet:
        """Versions in force on any day of [start, end) (end exclusive, None for open)."""
        return self.filter(period__overlap=PeriodRange(start, end, "[)"))


class ZoneVersion(models.Model):
    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="versions")
    faction = models.ForeignKey(Faction, on_delete=models.PROTECT, related_name="zone_versions")
    geom = models.MultiPolygonField(srid=4326)
    valid_from = models.DateField(help_text="First day this version is in force (inclusive).")
    valid_to = models.DateField(
        null=True, blank=True, help_text="First day it no longer is (exclusive); empty = open."
    )
    confidence = models.CharField(
        max_length=12, choices=Confidence.choices, default=Confidence.CONFIRMED
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    sources = models.ManyToManyField("events.Source", blank=True, related_name="zone_versions")
    note = models.TextField(blank=True)
    # The events (captures) this version records, when it was made from one: "Apply to the map".
    events = models.ManyToManyField("events.Event", blank=True, related_name="zone_versions")
    # Written by PostgreSQL from geom (ST_Area and the geography cast are immutable), so it
    # cannot go stale, whatever writes the row (raw SQL, bulk imports). The area series sums it.
    area_km2 = models.GeneratedField(
        expression=Func(
            Func(F("geom"), function="geography", output_field=models.GeometryField()),
            function="ST_Area",
            output_field=models.FloatField(),
        )
        / 1e6,
        output_field=models.FloatField(),
        db_persist=True,
        help_text="Area in km² on the WGS84 spheroid (geography type).",
    )
    # [valid_from, valid_to) written by PostgreSQL, which every "in force" test reads (see
    # in_force). LEAST keeps a period that ends before it starts from failing in daterange():
    # it is stored empty for zoneversion_period_not_empty to refuse the row by name.
    period = models.GeneratedField(
        expression=DateRange(Least("valid_from", "valid_to"), "valid_to", models.Value("[)")),
        output_field=DateRangeField(),
        db_persist=True,
        help_text="[valid_from, valid_to): the days this version is in force.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(m2m_fields=[sources])

    objects = ZoneVersionQuerySet.as_manager()

    class Meta:
        ordering = ["zone", "valid_from"]
        # Publishing and retracting: the publisher group's (territory.editorial).
        permissions = [("publish_zoneversion", "Can publish and retract zone versions")]
        indexes = [
            # Carrying status and id, the versions in force on a day (the map state's one query
            # per request) are an index-only scan: 6 pages instead of one heap page per version.
            GistIndex(fields=["period"], include=["status", "id"], name="zoneversion_period_gist"),
            # The days around a date on which the map stays the same (the first and last start
            # or end of a version: queries.state_period_sql) are index-only look-ups.
            models.Index(fields=["valid_from"], include=["status"], name="zoneversion_valid_from"),
            models.Index(fields=["valid_to"], include=["status"], name="zoneversion_valid_to"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(geom__isvalid=True), name="zoneversion_geom_valid"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="zoneversion_period_not_empty",
            ),
            ExclusionConstraint(
                name="zoneversion_no_overlap",
                expressions=[("zone", RangeOperators.EQUAL), ("period", RangeOperators.OVERLAPS)],
            ),
        ]

    def __str__(self) -> str:
        end = self.valid_to.isoformat() if self.valid_to else "…"
        return f"{self.zone} — {self.faction} [{self.valid_from.isoformat()}, {end})"

    def clean(self) -> None:
        super().clean()
        if self.geom is not None and not self.geom.valid:
            raise ValidationError({"geom": f"Invalid geometry: {self.geom.valid_reason}"})
        if self.valid_to and self.valid_from and self.valid_to <= self.valid_from:
            raise ValidationError({"valid_to": "valid_to must be after valid_from."})
        if self.zone_id and self.valid_from:
            clash = ZoneVersion.objects.filter(zone_id=self.zone_id).overlapping(
                self.valid_from, self.valid_to
            )
            if self.pk:
                clash = clash.exclude(pk=self.pk)
            if clash.exists():
                other = clash.first()
                raise ValidationError(
                    f"This period overlaps another version of {self.zone}: {other}. "
                    "Close that version first, or use “new version from date”."
                )


def new_version_from(
    version: ZoneVersion, day: dt.date, *, sources=(), reason: str | None = None, **changes
) -> ZoneVersion:
    """Close `version` at `day` and open a copy from `day` with `changes` applied.

    History is never overwritten: the old version keeps its period up to `day` (exclusive), the
    new one starts on `day` (inclusive) and inherits the old end (open, usually). Run it inside a
    transaction; the caller decides on status and sources of the new version.
    """
    from django.db import transaction

    if day <= version.valid_from:
        raise ValidationError(
            f"The new version must start after {version.valid_from.isoformat()}, "
            f"when the current one starts."
        )
    if version.valid_to is not None and day >= version.valid_to:
        raise ValidationError(
            f"{version} ends on {version.valid_to.isoformat()}; a new version from "
            f"{day.isoformat()} does not replace it."
        )
    with transaction.atomic():
        old_end = version.valid_to
        version.valid_to = day
        if reason is not None:
            version._change_reason = reason
        version.save(update_fields=["valid_to", "updated_at"])  # save(), so history records it
        fields = {
            "zone": version.zone,
            "faction": version.faction,
            "geom": version.geom,
            "confidence": version.confidence,
            "status": version.status,
            "note": version.note,
        }
        fields.update(changes)
        new = ZoneVersion(valid_from=day, valid_to=old_end, **fields)
        new.full_clean()
        if reason is not None:
            new._change_reason = reason
        if hasattr(version, "_history_user"):
            new._history_user = version._history_user
        new.save()
        new.sources.set(sources or version.sources.all())
    return new


class FrontMove(models.Model):
    """One "move the front" (conflictmap.territory.transfer): the ground a faction took on a day,
    what was asked, and what it changed, so that re-running it changes nothing and reverting it
    restores both sides. Its rows are written by the engine only."""

    class Method(models.TextChoices):
        PLACES = "places"
        AREA = "area"
        LINE = "line"

    class State(models.TextChoices):
        APPLIED = "applied"
        REVERTED = "reverted"

    taker = models.ForeignKey(Faction, on_delete=models.PROTECT, related_name="moves")
    day = models.DateField(help_text="The first day the taker holds the ground.")
    method = models.CharField(max_length=8, choices=Method.choices)
    # What was asked (place ids, drawn geometry as GeoJSON, radius, contested): with the taker
    # and the day it makes `key`, by which the same move asked twice is found.
    request = models.JSONField(default=dict)
    key = models.CharField(max_length=64, db_index=True, editable=False)
    ground = models.MultiPolygonField(srid=4326, null=True, blank=True)
    moved_km2 = models.FloatField(default=0)
    summary = models.JSONField(default=dict, help_text="What the command printed.")
    # Each version the move closed or reshaped, with what it was before ("valid_to", or "geom"
    # as hex EWKB) and its updated_at after the move; the versions and zones it opened, with
    # their updated_at: a revert refuses to touch what was edited since.
    changed = models.JSONField(default=list)
    opened = models.JSONField(default=list)
    zones_created = models.JSONField(default=list)
    reason = models.TextField()
    sources = models.ManyToManyField("events.Source", blank=True, related_name="moves")
    event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="moves"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.APPLIED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reverted_at = models.DateTimeField(null=True, blank=True)
    revert_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The same move applied twice at once: the second transaction fails here.
            models.UniqueConstraint(
                fields=["key"], condition=Q(state="applied"), name="frontmove_applied_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.taker} took {self.moved_km2:,.1f} km² on {self.day.isoformat()}"


class PlaceCover(models.Model):
    """Which zone versions cover which gazetteer place (point within or on the outline), with
    the version's faction, period, status and confidence: a geometric index that the database
    keeps (triggers of migrations territory/0006_place_cover and 0012), never written by Django.

    Who held a place on a day is not stored here or anywhere: territory.control reads it from
    these rows with the same rules as the map (in_force, visible: the columns have the names
    the helpers use). Without it, each request repeated a point-in-polygon test for every
    version a place ever had: 0.1-0.3 s for 312 places and 2-5 s for 10,000 on 5,000 versions.
    """

    place = models.ForeignKey(
        "events.Place", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    version = models.ForeignKey(
        ZoneVersion, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    faction = models.ForeignKey(
        Faction, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    period = DateRangeField()
    status = models.CharField(max_length=12)
    confidence = models.CharField(max_length=12)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["place", "version"], name="placecover_unique")
        ]
        indexes = [
            # A place's history (its timeline), and one faction's covers of a place (the day a
            # holder's run began, territory.control): index-only.
            models.Index(
                fields=["place", "faction"],
                include=["period", "status", "confidence", "version"],
                name="placecover_place",
            ),
            # The covers in force on a day (who holds each place): index-only, not every cover
            # up to the day.
            GistIndex(
                fields=["period"],
                include=["place", "faction", "version", "status", "confidence"],
                name="placecover_period",
            ),
            # The covers of a place that ended in a span of days, latest first (the day another
            # faction left it).
            models.Index(
                F("place"),
                Func(F("period"), function="upper"),
                include=["faction", "status", "period"],
                name="placecover_place_end",
            ),
            # The covers of a version (kept in step by the triggers).
            models.Index(fields=["version"], name="placecover_version"),
        ]
