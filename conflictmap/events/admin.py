"""Editors' admin for events, their sources and the gazetteer (map widgets, history)."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from conflictmap.events.models import Event, EventActor, ExternalId, Place, Source
from conflictmap.territory.admin import (
    EditorialAdminMixin,
    OfflineContextMixin,
    ReasonAdminMixin,
)
from conflictmap.territory.move_admin import CAPTURE_SUB_TYPES, ApplyToMapMixin, apply_to_map_url


@admin.register(Source)
class SourceAdmin(ReasonAdminMixin, SimpleHistoryAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["__str__", "publisher", "published", "language", "url"]
    list_filter = ["language", "published"]
    search_fields = ["title", "publisher", "url", "excerpt"]
    date_hierarchy = "published"


@admin.register(Place)
class PlaceAdmin(OfflineContextMixin, SimpleHistoryAdmin):
    context_places = "points"
    list_display = ["name", "name_ar", "kind", "region", "admin1_code", "population", "geonameid"]
    list_filter = ["kind", ("region", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["region"]
    search_fields = ["name", "name_ar", "alternate_names", "=geonameid"]
    autocomplete_fields = ["region"]


class EventActorInline(admin.TabularInline):
    model = EventActor
    extra = 1
    autocomplete_fields = ["faction"]


class ExternalIdInline(admin.TabularInline):
    model = ExternalId
    extra = 0


@admin.register(Event)
class EventAdmin(ApplyToMapMixin, EditorialAdminMixin, OfflineContextMixin, SimpleHistoryAdmin):
    context_places = "points"
    list_display = [
        "date",
        "event_type",
        "sub_event_type",
        "location_name",
        "actor_list",
        "fatalities",
        "confidence",
        "status",
    ]
    list_filter = [
        "status",
        "event_type",
        "sub_event_type",
        "confidence",
        ("event_actors__faction", admin.RelatedOnlyFieldListFilter),
        "date_precision",
        "synthetic",
    ]
    date_hierarchy = "date"
    search_fields = ["summary", "location_name", "place__name", "external_ids__value"]
    autocomplete_fields = ["place", "sources"]
    inlines = [EventActorInline, ExternalIdInline]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": [("date", "date_precision"), ("event_type", "sub_event_type")]}),
        ("Where", {"fields": ["place", "location_name", "location_precision", "geom"]}),
        (None, {"fields": ["summary", "fatalities", ("confidence", "status"), "synthetic"]}),
        ("Sources", {"fields": ["sources"]}),
        ("Record", {"fields": [("created_at", "updated_at")], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        return super().get_queryset(request).prefetch_related("event_actors__faction").distinct()

    def apply_to_map(self, obj: Event) -> str | None:
        """Move the front prefilled from a capture: date, actor 1, place, source (the page
        reads them from the event itself)."""
        return apply_to_map_url(event=obj) if obj.sub_event_type in CAPTURE_SUB_TYPES else None

    @admin.display(description="Actors")
    def actor_list(self, obj: Event) -> str:
        return ", ".join(
            f"{a.faction.short_name or a.faction.name} ({a.role})" for a in obj.event_actors.all()
        )
