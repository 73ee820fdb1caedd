"""Events, their sources, and the gazetteer of places."""

from __future__ import annotations

import datetime as dt

from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db.models import Q
from simple_history.models import HistoricalRecords

from conflictmap.territory.models import Confidence, Status


class Source(models.Model):
    """A citation: where a fact comes from."""

    url = models.URLField(max_length=2000, blank=True)
    publisher = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=500, blank=True)
    published = models.DateField(null=True, blank=True)
    language = models.CharField(max_length=12, blank=True, help_text="ISO 639-1, e.g. en, ar")
    excerpt = models.TextField(blank=True, help_text="Archived excerpt of the cited text.")
    archived_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-published", "publisher"]
        constraints = [
            models.UniqueConstraint(fields=["url"], condition=~Q(url=""), name="source_url_unique")
        ]

    def __str__(self) -> str:
        return self.title or self.url or f"{self.publisher} {self.published or ''}".strip()


class Place(models.Model):
    """A named point of the gazetteer, matched in reports during ingestion."""

    class Kind(models.TextChoices):
        CITY = "city"
        TOWN = "town"
        VILLAGE = "village"
        DISTRICT = "district", "City district"
        BASE = "base", "Military base"
        AIRPORT = "airport"
        CROSSING = "crossing"
        INFRASTRUCTURE = "infrastructure", "Dam, bridge or road"
        AREA = "area"

    name = models.CharField(max_length=200)
    name_ar = models.CharField("Arabic name", max_length=200, blank=True)
    alternate_names = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TOWN)
    geom = models.PointField(srid=4326)
    region = models.ForeignKey(
        "territory.Region", null=True, blank=True, on_delete=models.SET_NULL, related_name="places"
    )
    admin1_code = models.CharField(max_length=10, blank=True)
    population = models.PositiveIntegerField(null=True, blank=True)
    geonameid = models.PositiveIntegerField(null=True, blank=True, unique=True)
    source = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        indexes = [
            GinIndex(fields=["alternate_names"], name="place_altnames_gin"),
            models.Index(fields=["name"], name="place_name"),
        ]

    def __str__(self) -> str:
        return self.name


class EventType(models.TextChoices):
    """ACLED's event types."""

    BATTLES = "Battles"
    EXPLOSIONS = "Explosions/Remote violence", "Explosions/Remote violence"
    VIOLENCE_CIVILIANS = "Violence against civilians", "Violence against civilians"
    PROTESTS = "Protests"
    RIOTS = "Riots"
    STRATEGIC = "Strategic developments", "Strategic developments"


# ACLED's sub-event types, by event type.
SUB_EVENT_TYPES: dict[str, list[str]] = {
    EventType.BATTLES: [
        "Armed clash",
        "Government regains territory",
        "Non-state actor overtakes territory",
    ],
    EventType.EXPLOSIONS: [
        "Chemical weapon",
        "Air/drone strike",
        "Suicide bomb",
        "Shelling/artillery/missile attack",
        "Remote explosive/landmine/IED",
        "Grenade",
    ],
    EventType.VIOLENCE_CIVILIANS: [
        "Sexual violence",
        "Attack",
        "Abduction/forced disappearance",
    ],
    EventType.PROTESTS: [
        "Peaceful protest",
        "Protest with intervention",
        "Excessive force against protesters",
    ],
    EventType.RIOTS: ["Violent demonstration", "Mob violence"],
    EventType.STRATEGIC: [
        "Agreement",
        "Arrests",
        "Change to group/activity",
        "Disrupted weapons use",
        "Headquarters or base established",
        "Looting/property destruction",
        "Non-violent transfer of territory",
        "Other",
    ],
}
SUB_EVENT_TYPE_CHOICES = [(s, s) for subs in SUB_EVENT_TYPES.values() for s in subs]


class DatePrecision(models.TextChoices):
    """ACLED time_precision 1, 2, 3."""

    DAY = "day", "Exact day"
    WEEK = "week", "Within the week"
    MONTH = "month", "Within the month"


class LocationPrecision(models.TextChoices):
    """ACLED geo_precision 1, 2, 3."""

    EXACT = "exact", "Exact place"
    NEAR = "near", "Near the place (part of a region)"
    REGION = "region", "Larger region"


class EventQuerySet(models.QuerySet):
    def published(self) -> EventQuerySet:
        return self.filter(status=Status.PUBLISHED)

    def between(self, start: dt.date | None, end: dt.date | None) -> EventQuerySet:
        """Events dated from `start` to `end`, both days inclusive (None leaves a side open)."""
        qs = self
        if start is not None:
            qs = qs.filter(date__gte=start)
        if end is not None:
            qs = qs.filter(date__lte=end)
        return qs


class Event(models.Model):
    date = models.DateField()  # indexed by event_date_window (Meta)
    date_precision = models.CharField(
        max_length=8, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    sub_event_type = models.CharField(max_length=60, choices=SUB_EVENT_TYPE_CHOICES, blank=True)
    geom = models.PointField(srid=4326)
    location_precision = models.CharField(
        max_length=8, choices=LocationPrecision.choices, default=LocationPrecision.EXACT
    )
    place = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    location_name = models.CharField(max_length=200, blank=True)
    fatalities = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty when unknown; unknown is not zero."
    )
    confidence = models.CharField(
        max_length=12, choices=Confidence.choices, default=Confidence.CONFIRMED
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    summary = models.TextField(blank=True)
    actors = models.ManyToManyField(
        "territory.Faction", through="EventActor", related_name="events", blank=True
    )
    sources = models.ManyToManyField(Source, blank=True, related_name="events")
    synthetic = models.BooleanField(
        default=False, help_text="Generated benchmark data, never real."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    related = ArrayField(
        models.TextField(),
        size=3,
        editable=False,
        db_default=["[]", "[]", "{}"],
        help_text="Maintained by the database (triggers), never by Django: the event's actors,"
        " sources and external ids as the GeoJSON export writes them (three JSON texts, see"
        " migration 0003_events_related_cache). Writes from Django are ignored.",
    )
    history = HistoricalRecords(m2m_fields=[sources], excluded_fields=["related"])

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["date", "id"]
        # Publishing and retracting: the publisher group's (territory.editorial).
        permissions = [("publish_event", "Can publish and retract events")]
        indexes = [
            # By date, carrying what an aggregated tile of a time window reads: such a tile is
            # an index-only scan of the window instead of a heap page per event (a 30-day
            # window at a million events: ~70 pages instead of ~5,700; zoom 6: 133 -> 45 ms).
            models.Index(
                fields=["date"],
                include=["geom", "event_type", "status", "fatalities"],
                name="event_date_window",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(geom__isvalid=True), name="event_geom_valid"),
            models.CheckConstraint(
                condition=Q(event_type__in=EventType.values), name="event_type_known"
            ),
        ]

    def __str__(self) -> str:
        where = self.location_name or (self.place.name if self.place_id else "")
        return f"{self.date.isoformat()} {self.sub_event_type or self.event_type} {where}".strip()


class EventActor(models.Model):
    class Role(models.TextChoices):
        ACTOR1 = "actor1", "Actor 1"
        ASSOC1 = "assoc_actor_1", "Associated with actor 1"
        ACTOR2 = "actor2", "Actor 2"
        ASSOC2 = "assoc_actor_2", "Associated with actor 2"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="event_actors")
    faction = models.ForeignKey(
        "territory.Faction", on_delete=models.PROTECT, related_name="event_roles"
    )
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        ordering = ["event", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "faction", "role"], name="eventactor_unique_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.faction} as {self.get_role_display()}"


class ExternalId(models.Model):
    """An id the event has in another dataset (ACLED's event_id_cnty, ...); imports upsert by it."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="external_ids")
    system = models.SlugField(max_length=40, help_text="e.g. acled")
    value = models.CharField(max_length=120)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "value"], name="externalid_unique")
        ]

    def __str__(self) -> str:
        return f"{self.system}:{self.value}"
