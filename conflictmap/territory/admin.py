"""Editors' admin for factions, regions, zones and zone versions (map widgets, history)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from leaflet.admin import LeafletAdminWidget, LeafletGeoAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from conflictmap import mapwidgets
from conflictmap.territory import editorial
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
    """django-leaflet's admin widget plus our offline context script (after Leaflet itself),
    started without an inline script (conflictmap/mapwidgets.py): the map's and the field's
    options go into a data attribute of the map's container."""

    @property
    def media(self) -> forms.Media:
        plugin = _context_plugin()
        return super().media + forms.Media(
            js=[mapwidgets.SCRIPT, *plugin["js"]], css={"screen": plugin["css"]}
        )

    def get_context(self, name: str, value: object, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        options = mapwidgets.leaflet_map_options(
            context["id_map"],
            loadevent=context["loadevent"],
            settings_overrides=context["settings_overrides"] or {},
        )
        # What django-leaflet's widget template assigns to its `geodjango_<id>` global.
        options["widget"] = {
            "fieldId": context["id_css"],
            "modifiable": context["modifiable"],
            "geomType": context["widget"]["attrs"]["geom_name"],
            "srid": context["widget"]["attrs"]["map_srid"],
            "fieldStoreClass": context["field_store_class"],
            "geometryFieldClass": context["geometry_field_class"],
        }
        context["leaflet_options"] = json.dumps(options)
        return context


class OfflineContextMixin(LeafletGeoAdminMixin):
    """Map widgets drawn over our own offline layers: country outlines and governorates, places
    and, for zone versions, the other zones in force. static/js/admin/context.js reads what to
    draw from the json_script this adds to the change form (no globals)."""

    widget = OfflineContextWidget
    map_template = "territory/map_widget.html"
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


# --- the editorial workflow in the admin (rules: conflictmap.territory.editorial) --------------

REASON_HELP = (
    "Kept in the history with your name and the time, e.g. “SOHR report of 30 Nov” or “typo”."
)


def reason_field() -> forms.CharField:
    return forms.CharField(
        label="Reason for this change",
        max_length=editorial.REASON_MAX_LENGTH,
        help_text=REASON_HELP,
        widget=forms.TextInput(attrs={"size": 60}),
    )


class ReasonForm(forms.ModelForm):
    """A model form that asks why: simple-history writes the answer to history_change_reason."""

    change_reason = reason_field()


class EditorialForm(ReasonForm):
    """Also refuses a published record without a source or a confidence, saying what is
    missing (the sources of the form as submitted, else the record's)."""

    def clean(self) -> dict:
        cleaned = super().clean()
        status = cleaned.get("status", self.instance.status)
        if status == Status.PUBLISHED:
            if "sources" in self.fields:
                count = len(cleaned.get("sources") or [])
            else:
                count = self.instance.sources.count() if self.instance.pk else 0
            confidence = cleaned.get("confidence", self.instance.confidence)
            problems = editorial.publishing_problems(confidence, count)
            if problems:
                field = "status" if "status" in self.fields else None
                self.add_error(field, editorial.missing_text(problems))
        return cleaned


class ReasonAdminMixin:
    """Every add and change made through the admin carries a required short reason, stored in
    the history row with the user and the time."""

    form = ReasonForm

    def get_fieldsets(self, request: HttpRequest, obj: object | None = None) -> list:
        fieldsets = []
        for name, options in super().get_fieldsets(request, obj):
            fields = [f for f in options["fields"] if f != "change_reason"]
            if fields:
                fieldsets.append((name, {**options, "fields": fields}))
        return [*fieldsets, ("Why", {"fields": ["change_reason"]})]

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        editorial.record_reason(obj, request.user, form.cleaned_data["change_reason"])
        super().save_model(request, obj, form, change)


class ActionForm(forms.Form):
    reason = reason_field()


class ConfidenceForm(ActionForm):
    confidence = forms.ChoiceField(choices=Confidence.choices)


class SourceForm(ActionForm):
    source = forms.ModelChoiceField(queryset=None, help_text="The citation to add to each.")

    def __init__(self, *args, **kwargs) -> None:
        from django.apps import apps  # events sits above territory: looked up, not imported

        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = apps.get_model("events", "Source").objects.all()


class EditorialAdminMixin(ReasonAdminMixin):
    """Status, publishing and history for a model with status, confidence and sources (zone
    versions, events).

    Only publishers (territory.editorial.may_publish) change a status: for the others the status
    field is read-only, the publish and retract actions are not offered, and a save that would
    change the status anyway is refused. Bulk actions (publish, retract, set confidence, attach
    a source) ask for a reason first. A history entry opens a page with the differences from
    the current state, both geometries on one map, and "revert to this state"."""

    form = EditorialForm
    actions = ["publish", "retract", "set_confidence", "attach_source"]
    object_history_form_template = "admin/editorial/history_compare.html"

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return editorial.may_publish(request.user, self.model)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Published and retracted records are what the public saw: only publishers change them
        # (an editor's change would publish it). Editors change drafts and add new ones.
        allowed = super().has_change_permission(request, obj)
        if allowed and obj is not None and obj.status != Status.DRAFT:
            return self.has_publish_permission(request)
        return allowed

    def changeable(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """The records of `queryset` this user may change (a message says which are left)."""
        if self.has_publish_permission(request):
            return queryset
        kept = queryset.filter(status=Status.DRAFT)
        left = queryset.count() - kept.count()
        if left and "apply" not in request.POST:
            self.message_user(
                request,
                f"{left} selected record(s) are published or retracted: only a publisher may "
                "change them; they are left out.",
                messages.WARNING,
            )
        return kept

    def get_readonly_fields(self, request: HttpRequest, obj: object | None = None) -> list:
        fields = list(super().get_readonly_fields(request, obj))
        if not self.has_publish_permission(request):
            fields.append("status")
        return fields

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        # Read-only fields are not in the form, so a forged POST cannot set the status; this
        # also covers any path that hands a changed instance (a reverted state, a new object).
        if not self.has_publish_permission(request):
            current = (
                self.model.objects.filter(pk=obj.pk).values_list("status", flat=True).first()
                if change
                else Status.DRAFT
            )
            if obj.status != current:
                raise PermissionDenied("Only publishers may publish or retract.")
        super().save_model(request, obj, form, change)

    # --- bulk actions, each with a reason ------------------------------------------------------

    def _with_reason(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        action: str,
        title: str,
        form_class: type[forms.Form],
        apply,
    ) -> HttpResponse | None:
        """Ask for the reason (and the action's values) on a page of its own, then apply."""
        if action in ("set_confidence", "attach_source"):
            queryset = self.changeable(request, queryset)
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            apply(form.cleaned_data, queryset)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "form": form,
            "objects": queryset,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action_name": action,
        }
        return TemplateResponse(request, "admin/editorial/action.html", context)

    def _set_status(self, request: HttpRequest, queryset: QuerySet, status: str, verb: str):
        def apply(data: dict, queryset: QuerySet) -> None:
            changed, refused = editorial.set_status(
                queryset, status, user=request.user, reason=data["reason"]
            )
            for obj, why in refused:
                self.message_user(request, f"{obj}: not {verb}. {why}", messages.ERROR)
            if changed:
                self.message_user(request, f"{len(changed)} {verb}.", messages.SUCCESS)

        return self._with_reason(
            request, queryset, f"{status == Status.PUBLISHED and 'publish' or 'retract'}",
            f"{verb.capitalize()}: why?", ActionForm, apply,
        )  # fmt: skip

    @admin.action(description="Publish…", permissions=["publish"])
    def publish(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._set_status(request, queryset, Status.PUBLISHED, "published")

    @admin.action(description="Retract (hide from the public, keep)…", permissions=["publish"])
    def retract(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._set_status(request, queryset, Status.RETRACTED, "retracted")

    @admin.action(description="Set confidence…", permissions=["change"])
    def set_confidence(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(data: dict, queryset: QuerySet) -> None:
            changed = editorial.update_each(
                queryset, user=request.user, reason=data["reason"], confidence=data["confidence"]
            )
            self.message_user(request, f"Confidence set on {len(changed)}.", messages.SUCCESS)

        return self._with_reason(
            request, queryset, "set_confidence", "Set confidence", ConfidenceForm, apply
        )

    @admin.action(description="Attach a source…", permissions=["change"])
    def attach_source(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(data: dict, queryset: QuerySet) -> None:
            changed = editorial.attach_source(
                queryset, data["source"], user=request.user, reason=data["reason"]
            )
            self.message_user(
                request, f"{data['source']} attached to {len(changed)}.", messages.SUCCESS
            )

        return self._with_reason(
            request, queryset, "attach_source", "Attach a source", SourceForm, apply
        )

    # --- history: differences, both geometries, revert -----------------------------------------

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context=None
    ) -> HttpResponse:
        """simple-history's page of one history entry, replaced: what differs from the current
        state, the two geometries on one map, and a revert that asks for its reason."""
        history = self.model.history.model
        record = get_object_or_404(history, id=object_id, history_id=version_id)
        obj = get_object_or_404(self.model, pk=object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        can_revert = self.has_change_permission(request, obj)
        form = ActionForm(request.POST if request.method == "POST" else None)
        if request.method == "POST":
            if not can_revert:
                raise PermissionDenied
            if form.is_valid():
                try:
                    editorial.revert_to(
                        record, user=request.user, reason=form.cleaned_data["reason"]
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    self.message_user(
                        request,
                        f"{obj} is back to its state of {record.history_date:%Y-%m-%d %H:%M}.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change",
                                args=[obj.pk])
                    )  # fmt: skip
        current = obj.history.order_by("-history_id").first()
        geoms = {
            "then": json.loads(record.geom.geojson) if getattr(record, "geom", None) else None,
            "now": json.loads(obj.geom.geojson) if getattr(obj, "geom", None) else None,
        }
        context = {
            **self.admin_site.each_context(request),
            "title": f"{obj} as of {record.history_date:%Y-%m-%d %H:%M}",
            "opts": self.model._meta,
            "object": obj,
            "record": record,
            "differences": editorial.differences(record, current) if current else [],
            "geoms": geoms,
            "form": form,
            "can_revert": can_revert,
            "media": self.media
            + forms.Media(
                js=["leaflet/leaflet.js", "js/admin/history.js"],
                css={"screen": ["leaflet/leaflet.css", "css/admin/history.css"]},
            ),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.object_history_form_template, context)


@admin.register(Faction)
class FactionAdmin(ReasonAdminMixin, SimpleHistoryAdmin):
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
        # An SVG fill, not a style attribute: the Content-Security-Policy refuses those.
        return format_html(
            '<svg width="16" height="16" aria-hidden="true"><rect x="0.5" y="0.5" width="15" '
            'height="15" fill="{}" stroke="#555"/></svg> {}',
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
class ZoneAdmin(ReasonAdminMixin, SimpleHistoryAdmin):
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
    reason = reason_field()

    def __init__(self, *args, publisher: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not publisher:  # an editor's new version keeps the status (drafts only: see below)
            del self.fields["status"]


@admin.register(ZoneVersion)
class ZoneVersionAdmin(EditorialAdminMixin, OfflineContextMixin, SimpleHistoryAdmin):
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
    actions = [*EditorialAdminMixin.actions, "new_version_from_date"]
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
        publisher = self.has_publish_permission(request)
        queryset = self.changeable(request, queryset)
        form = NewVersionForm(
            request.POST if "apply" in request.POST else None, publisher=publisher
        )
        if "apply" in request.POST and form.is_valid():
            data = form.cleaned_data
            changes = {k: data[k] for k in ("faction", "confidence", "status") if data.get(k)}
            created = []
            for version in queryset.select_related("zone", "faction"):
                status = changes.get("status", version.status)
                problems = editorial.publishing_problems(
                    changes.get("confidence", version.confidence), version.sources.count()
                )
                if status == Status.PUBLISHED and problems:
                    self.message_user(
                        request,
                        f"{version}: not changed. {editorial.missing_text(problems)}",
                        messages.ERROR,
                    )
                    continue
                try:
                    with transaction.atomic():
                        editorial.record_reason(version, request.user, data["reason"])
                        created.append(
                            new_version_from(version, data["day"], reason=data["reason"], **changes)
                        )
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
            "objects": queryset.select_related("zone", "faction"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action_name": "new_version_from_date",
        }
        return TemplateResponse(
            request, "admin/territory/zoneversion/new_version_from_date.html", context
        )


from conflictmap.territory import move_admin  # noqa: E402, F401  (registers FrontMoveAdmin)
