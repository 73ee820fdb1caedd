"""Editors' admin for factions, regions, zones and zone versions (map widgets, history)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from leaflet.admin import LeafletAdminWidget, LeafletGeoAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from conflictmap.territory.models import (
    Confidence,
    Faction,
    Region,
    Status,
    Zone,
    ZoneVersion,
    new_version_from,
)


def _context_plugin() -> dict:
    """The admin-context plugin of LEAFLET_CONFIG, its paths made into static URLs (hashed ones
    under a manifest storage). django-leaflet's own template tags normalise the plugins the same
    way; a widget's Media has no tag to call, hence the module function."""
    import leaflet

    leaflet._normalize_plugins_config()
    return leaflet.PLUGINS["admin-context"]


class OfflineContextWidget(LeafletAdminWidget):
    """django-leaflet's admin widget plus our offline context script (after Leaflet itself)."""

    @property
    def media(self) -> forms.Media:
        plugin = _context_plugin()
        return super().media + forms.Media(js=plugin["js"], css={"screen": plugin["css"]})


class OfflineContextMixin(LeafletGeoAdminMixin):
    """Map widgets drawn over our own offline layers: country outlines and governorates, places
    and, for zone versions, the other zones in force. static/js/admin/context.js reads what to
    draw from the json_script this adds to the change form (no globals)."""

    widget = OfflineContextWidget
    change_form_template = "admin/map_context/change_form.html"
    #: "labels": places by population as the view zooms in; "points": every place as a point.
    context_places = "labels"

    def map_context(self, request: HttpRequest, obj: object | None) -> dict:
        return {
            "regions": reverse("api-regions"),
            "places": reverse("api-places"),
            "zones": reverse("api-zones"),
            "placesMode": self.context_places,
        }

    def render_change_form(
        self, request: HttpRequest, context: dict, add: bool = False, change: bool = False,
        form_url: str = "", obj: object | None = None,
    ) -> HttpResponse:  # fmt: skip
        context["map_context"] = self.map_context(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(Faction)
class FactionAdmin(SimpleHistoryAdmin):
    list_display = ["name", "short_name", "slug", "kind", "swatch", "needs_review"]
    list_filter = ["kind", "needs_review"]
    search_fields = ["name", "name_ar", "short_name", "slug", "aliases"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["backed_by"]
    fieldsets = [
        (None, {"fields": ["name", "name_ar", "short_name", "slug", "kind", "colour"]}),
        ("Matching", {"fields": ["aliases", "backed_by", "needs_review"]}),
        (None, {"fields": ["description"]}),
    ]

    @admin.display(description="Colour", ordering="colour")
    def swatch(self, obj: Faction) -> str:
        return format_html(
            '<span style="display:inline-block;width:1.2em;height:1.2em;background:{};'
            'border:1px solid #555;vertical-align:middle"></span> {}',
            obj.colour,
            obj.colour,
        )


@admin.register(Region)
class RegionAdmin(OfflineContextMixin, admin.ModelAdmin):
    list_display = ["name", "name_ar", "level", "code", "parent", "approximate"]
    list_filter = ["level", "approximate"]
    search_fields = ["name", "name_ar", "code", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]


class ZoneVersionInline(admin.TabularInline):
    """Versions listed on the zone's page; edited on their own page (map, period checks)."""

    model = ZoneVersion
    fields = ["faction", "valid_from", "valid_to", "confidence", "status"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["valid_from"]

    def has_add_permission(self, request: HttpRequest, obj: Zone | None = None) -> bool:
        return False


@admin.register(Zone)
class ZoneAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "region", "current_holder", "version_count"]
    list_filter = [("region", admin.RelatedOnlyFieldListFilter), "versions__faction"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["region"]
    inlines = [ZoneVersionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Zone]:
        return super().get_queryset(request).select_related("region").distinct()

    @admin.display(description="Holder (latest version)")
    def current_holder(self, obj: Zone) -> str:
        latest = obj.versions.select_related("faction").order_by("-valid_from").first()
        return str(latest.faction) if latest else "—"

    @admin.display(description="Versions")
    def version_count(self, obj: Zone) -> int:
        return obj.versions.count()


class NewVersionForm(forms.Form):
    """The intermediate page of the "new version from date" action."""

    day = forms.DateField(
        label="New version starts on",
        help_text="The current version ends the day before (valid_to = this date, exclusive).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    faction = forms.ModelChoiceField(
        queryset=Faction.objects.all(), required=False, help_text="Empty: keep the faction."
    )
    confidence = forms.ChoiceField(choices=[("", "(keep)"), *Confidence.choices], required=False)
    status = forms.ChoiceField(
        choices=[("", "(keep)"), *Status.choices],
        required=False,
        help_text="Draft keeps the new version off the public map until you publish it.",
    )


@admin.register(ZoneVersion)
class ZoneVersionAdmin(OfflineContextMixin, SimpleHistoryAdmin):
    list_display = [
        "zone",
        "faction",
        "valid_from",
        "valid_to",
        "confidence",
        "status",
        "source_count",
    ]
    list_filter = ["status", "confidence", "faction", "valid_from", "zone"]
    list_select_related = ["zone", "faction"]
    date_hierarchy = "valid_from"
    search_fields = ["zone__name", "zone__slug", "faction__name", "faction__slug", "note"]
    autocomplete_fields = ["zone", "faction", "sources"]
    readonly_fields = ["created_at", "updated_at", "source_links"]
    actions = ["new_version_from_date"]
    fieldsets = [
        (None, {"fields": ["zone", "faction", ("valid_from", "valid_to")]}),
        (None, {"fields": [("confidence", "status"), "geom"]}),
        ("Sources", {"fields": ["sources", "source_links", "note"]}),
        ("Record", {"fields": [("created_at", "updated_at")], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ZoneVersion]:
        return super().get_queryset(request).prefetch_related("sources")

    def map_context(self, request: HttpRequest, obj: ZoneVersion | None) -> dict:
        """The other zones in force on this version's first day are drawn, read-only, under it;
        the script follows the valid_from field when the editor changes it."""
        return {
            **super().map_context(request, obj),
            "neighbours": {
                "date": obj.valid_from.isoformat() if obj and obj.valid_from else None,
                "version": obj.pk if obj else None,
                "dateField": "id_valid_from",
            },
        }

    @admin.display(description="Sources")
    def source_count(self, obj: ZoneVersion) -> int:
        return len(obj.sources.all())

    @admin.display(description="Links")
    def source_links(self, obj: ZoneVersion) -> str:
        return format_html_join(
            "",
            '<div><a href="{}" rel="noopener" target="_blank">{}</a></div>',
            ((s.url, s) for s in obj.sources.all() if s.url),
        )

    @admin.action(description="New version from date…", permissions=["change"])
    def new_version_from_date(
        self, request: HttpRequest, queryset: QuerySet[ZoneVersion]
    ) -> HttpResponse | None:
        """Close each selected version at a date and open an edited copy from that date."""
        form = NewVersionForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            data = form.cleaned_data
            changes = {k: data[k] for k in ("faction", "confidence", "status") if data[k]}
            created = []
            for version in queryset.select_related("zone", "faction"):
                try:
                    with transaction.atomic():
                        created.append(new_version_from(version, data["day"], **changes))
                except ValidationError as exc:
                    self.message_user(
                        request,
                        f"{version}: not changed. {' '.join(exc.messages)}",
                        messages.ERROR,
                    )
            for new in created:
                url = reverse("admin:territory_zoneversion_change", args=[new.pk])
                self.message_user(
                    request,
                    format_html(
                        'Closed the previous version of {} on {} and opened <a href="{}">{}</a>; '
                        "edit its geometry on the map.",
                        new.zone,
                        data["day"].isoformat(),
                        url,
                        new,
                    ),
                    messages.SUCCESS,
                )
            if len(created) == 1:
                return HttpResponseRedirect(
                    reverse("admin:territory_zoneversion_change", args=[created[0].pk])
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "New version from date",
            "opts": self.model._meta,
            "form": form,
            "versions": queryset.select_related("zone", "faction"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action_name": "new_version_from_date",
        }
        return TemplateResponse(
            request, "admin/territory/zoneversion/new_version_from_date.html", context
        )


from conflictmap.territory import move_admin  # noqa: E402, F401  (registers FrontMoveAdmin)
