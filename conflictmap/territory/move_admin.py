"""The admin of front moves (conflictmap.territory.transfer): the page "Move the front"
(date, taker, places or a drawn area or line, preview, commit), the record of each move, and
reverting one. Registered from territory.admin.

The page's script is static/js/admin/move.js (no inline script): it draws on a Leaflet map with
Leaflet.draw (both shipped by django-leaflet, the admin widgets' own copies), over the offline
layers of static/js/admin/context.js, and asks this view for the preview with the form's CSRF
token. "Apply to the map" on a capture event or candidate opens the page prefilled through its
query string (date, to, place, source, event, reason).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import CharField, F, Func, Q, QuerySet, Value
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from conflictmap.events.models import Event, Place
from conflictmap.territory import editorial, transfer
from conflictmap.territory.models import Faction, FrontMove, ZoneVersion

# The sub-events of ACLED's vocabulary that record ground changing hands: "Apply to the map".
CAPTURE_SUB_TYPES = (
    "Non-state actor overtakes territory",
    "Government regains territory",
    "Non-violent transfer of territory",
)
# Clicking the map picks the nearest place within this many pixels of the click.
CLICK_PIXELS = 12


def may_move(user) -> bool:
    """Moving the front writes zone versions: it needs the rights to add and change them."""
    return user.has_perms(["territory.add_zoneversion", "territory.change_zoneversion"])


def may_publish(user) -> bool:
    """Publishing, and changing versions the public map shows, is for publishers
    (territory.editorial); everyone else's moves make drafts from drafts."""
    return editorial.may_publish(user, ZoneVersion)


class MoveForm(forms.Form):
    day = forms.DateField(
        label="Date", widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The first day the taker holds the ground.",
    )  # fmt: skip
    taker = forms.ModelChoiceField(
        queryset=Faction.objects.order_by("name"), label="Faction taking the ground"
    )
    method = forms.ChoiceField(
        choices=[
            ("places", "Places (their cells, within the radius)"),
            ("area", "A drawn area"),
            ("line", "A new front line (the side toward the taker changes hands)"),
        ],
        widget=forms.RadioSelect,
        initial="places",
    )
    places = forms.CharField(required=False, widget=forms.HiddenInput)  # ids, comma-separated
    shape = forms.CharField(required=False, widget=forms.HiddenInput)  # GeoJSON geometry
    radius_km = forms.FloatField(
        label="Radius (km)", initial=transfer.DEFAULT_RADIUS_KM, min_value=0.1,
        max_value=transfer.MAX_RADIUS_KM,
        help_text="How far a place's ground reaches at most.",
    )  # fmt: skip
    contested = forms.BooleanField(
        required=False, help_text="Both sides hold the ground: the losers keep it."
    )
    source = forms.URLField(required=False, label="Source URL", assume_scheme="https")
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the history of every version the move writes.",
    )  # fmt: skip
    publish = forms.BooleanField(required=False, help_text="Otherwise the new versions are drafts.")
    event = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, can_publish: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not can_publish:
            self.fields["publish"].disabled = True
            self.fields["publish"].help_text = "Only publishers publish: the move makes drafts."

    def clean_places(self) -> list[Place]:
        text = self.cleaned_data["places"].strip()
        ids = [p for p in text.replace(" ", "").split(",") if p]
        if not all(i.isdigit() for i in ids):
            raise ValidationError("Places are given by their ids.")
        found = Place.objects.in_bulk([int(i) for i in ids])
        missing = [i for i in ids if int(i) not in found]
        if missing:
            raise ValidationError(f"No place has the id {', '.join(missing)}.")
        return [found[int(i)] for i in dict.fromkeys(ids)]

    def clean_shape(self) -> GEOSGeometry | None:
        text = self.cleaned_data["shape"].strip()
        if not text:
            return None
        try:
            geom = GEOSGeometry(text)
        except (GEOSException, ValueError, TypeError):
            raise ValidationError("The drawn shape is not a GeoJSON geometry.") from None
        geom.srid = 4326
        return geom

    def clean_event(self) -> Event | None:
        pk = self.cleaned_data["event"]
        if pk is None:
            return None
        event = Event.objects.filter(pk=pk).first()
        if event is None:
            raise ValidationError(f"No event has the id {pk}.")
        return event

    def clean(self) -> dict:
        data = super().clean()
        method = data.get("method")
        if method == "places" and not data.get("places") and "places" not in self.errors:
            self.add_error("places", "Pick at least one place: search, or click on the map.")
        if method in ("area", "line") and data.get("shape") is None and "shape" not in self.errors:
            self.add_error("shape", f"Draw the {method} on the map.")
        return data

    def move(self) -> transfer.Move:
        data = self.cleaned_data
        ground: dict = {"places": data["places"]} if data["method"] == "places" else {}
        if data["method"] in ("area", "line"):
            ground[data["method"]] = data["shape"]
        return transfer.Move(
            taker=data["taker"],
            day=data["day"],
            radius_km=data["radius_km"],
            contested=data["contested"],
            sources=[data["source"]] if data["source"] else [],
            reason=data["reason"],
            publish=bool(data["publish"]),
            event=data["event"],
            **ground,
        )


def prefill(query) -> dict:
    """The page's first values from its query string: what "Apply to the map" passes (an event
    fills in its date, actor 1's faction, place and first source; given values win)."""
    initial: dict = {}
    event = None
    if query.get("event", "").isdigit():
        event = Event.objects.filter(pk=int(query["event"])).select_related("place").first()
    if event is not None:
        initial["event"] = event.pk
        initial["day"] = event.date
        actor = event.event_actors.filter(role="actor1").select_related("faction").first()
        if actor is not None:
            initial["taker"] = actor.faction.pk
        if event.place_id:
            initial["places"] = str(event.place_id)
        source = event.sources.exclude(url="").order_by("pk").first()
        if source is not None:
            initial["source"] = source.url
        initial["reason"] = f"{event} (event {event.pk})"
    if query.get("date"):
        initial["day"] = query["date"]
    if query.get("to"):
        to = query["to"]
        faction = Faction.objects.filter(
            Q(slug=to) | Q(pk=int(to)) if to.isdigit() else Q(slug=to)
        ).first()
        if faction is not None:
            initial["taker"] = faction.pk
    places = [p for p in query.getlist("place") if p.isdigit()]
    if places:
        initial["places"] = ",".join(places)
    for key in ("source", "reason"):
        if query.get(key):
            initial[key] = query[key]
    return initial


def apply_to_map_url(*, event: Event | None = None, **params) -> str:
    """The address of "Move the front" prefilled for an event or a candidate."""
    query = {"event": event.pk} if event is not None else {}
    query.update({k: v for k, v in params.items() if v not in (None, "", [])})
    return reverse("admin:territory_frontmove_move") + "?" + urlencode(query, doseq=True)


class ApplyToMapMixin:
    """For the admin of a record that can report a capture (an event, a candidate): its change
    page offers "Apply to the map" when `apply_to_map(obj)` gives an address and the user may
    move the front (admin/map_context/change_form.html shows the button)."""

    def apply_to_map(self, obj) -> str | None:
        raise NotImplementedError

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        obj = self.get_object(request, object_id) if object_id else None
        if obj is not None and may_move(request.user):
            extra["apply_to_map"] = self.apply_to_map(obj)
        return super().change_view(request, object_id, form_url, extra)


@admin.register(FrontMove)
class FrontMoveAdmin(admin.ModelAdmin):
    list_display = ["__str__", "taker", "day", "method", "moved_km2", "state", "created_at"]
    list_filter = ["state", "method", "taker", "day"]
    search_fields = ["reason", "taker__name", "taker__slug"]
    date_hierarchy = "day"
    readonly_fields = [
        "taker", "day", "method", "request", "moved_km2", "summary", "changed", "opened",
        "zones_created", "reason", "sources", "event", "state", "created_by", "created_at",
        "reverted_at", "revert_reason", "ground",
    ]  # fmt: skip
    exclude = ["key"]
    actions = ["revert_moves"]

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("move/", view(self.move_view), name="territory_frontmove_move"),
            path("move/places/", view(self.place_search), name="territory_frontmove_places"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra = {"may_move": may_move(request.user), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def move_view(self, request: HttpRequest) -> HttpResponse:
        """Move the front: the form and map (GET), its preview (POST with _preview, JSON) and
        its commit (POST with _commit)."""
        if not may_move(request.user):
            raise PermissionDenied
        can_publish = may_publish(request.user)
        if request.method == "POST":
            form = MoveForm(request.POST, can_publish=can_publish)
            if "_preview" in request.POST:
                return self._preview(form, request.user)
            if form.is_valid():
                try:
                    outcome = transfer.apply(form.move(), user=request.user)
                except transfer.TransferRefused as exc:
                    form.add_error(None, str(exc))
                else:
                    return self._done(request, outcome)
        else:
            form = MoveForm(initial=prefill(request.GET), can_publish=can_publish)
        context = {
            **self.admin_site.each_context(request),
            "title": "Move the front",
            "opts": self.model._meta,
            "form": form,
            "map_context": {
                "regions": reverse("api-regions"),
                "places": reverse("api-places"),
                "zones": reverse("api-zones"),
                "placesMode": "points",
                # The zones in force on the form's date, by faction with a legend, drafts
                # included (the editor's map): redrawn when the date changes (context.js).
                "neighbours": {
                    "date": self._day(form),
                    "version": None,
                    "dateField": "id_day",
                    "label": "Zones in force on the date",
                },
            },
            "move_config": {
                "chosen": self._chosen(form),
                "search": reverse("admin:territory_frontmove_places"),
                "clickPixels": CLICK_PIXELS,
                "center": [35.0, 38.3],
            },
        }
        return TemplateResponse(request, "admin/territory/frontmove/move.html", context)

    @staticmethod
    def _day(form: MoveForm) -> str | None:
        """The date in the form, for the zones in force drawn under the map."""
        value = form.data.get("day") if form.is_bound else form.initial.get("day")
        return str(value) if value else None

    @staticmethod
    def _chosen(form: MoveForm) -> list[dict]:
        """The places already in the form (prefilled, or sent back with a refusal), for the
        script to list and mark."""
        text = form.data.get("places") if form.is_bound else form.initial.get("places", "")
        ids = [int(p) for p in str(text or "").split(",") if p.strip().isdigit()]
        found = Place.objects.in_bulk(ids)
        return [
            {"id": p.pk, "name": p.name, "lon": p.geom.x, "lat": p.geom.y}
            for p in (found[i] for i in ids if i in found)
        ]

    @staticmethod
    def _preview(form: MoveForm, user) -> JsonResponse:
        if not form.is_valid():
            errors = [f"{form.fields[k].label or k}: {' '.join(v)}" if k != "__all__" else
                      " ".join(v) for k, v in form.errors.items()]  # fmt: skip
            return JsonResponse({"ok": False, "error": " ".join(errors)}, status=400)
        try:
            the_plan = transfer.plan(form.move())
        except transfer.TransferRefused as exc:
            return JsonResponse({"ok": False, "error": str(exc)}, status=400)
        summary = the_plan.summary()
        public = the_plan.public_changes()
        if public and not may_publish(user):
            zones = ", ".join(sorted({v.zone.name for v in public}))
            summary["warnings"].insert(
                0, f"Only a publisher can commit this move: it changes published zones ({zones})."
            )
        return JsonResponse(
            {
                "ok": True,
                "summary": summary,
                "ground": json.loads(the_plan.ground.json) if the_plan.ground else None,
            }
        )

    def _done(self, request: HttpRequest, outcome: transfer.Outcome) -> HttpResponse:
        summary = outcome.summary()
        if summary["changed"]:
            text = (
                f"{outcome.move.taker.name} took {summary['moved_km2']:,.1f} km² on "
                f"{summary['date']}: {len(summary['closed'])} versions closed, "
                f"{len(summary['reshaped'])} reshaped, {len(summary['opened'])} opened "
                f"(move {outcome.move.pk})."
            )
        else:
            text = f"This move was already made (move {outcome.move.pk}): nothing changed."
        self.message_user(request, text, messages.SUCCESS)
        if self.has_view_or_change_permission(request, outcome.move):
            return HttpResponseRedirect(
                reverse("admin:territory_frontmove_change", args=[outcome.move.pk])
            )
        return HttpResponseRedirect(reverse("admin:territory_frontmove_move"))

    def place_search(self, request: HttpRequest) -> JsonResponse:
        """Gazetteer places for the page: by name (`q`: English, Arabic or alternate names) or
        the nearest to a click (`near=lon,lat` within `within` degrees), the most populous
        first."""
        if not may_move(request.user):
            raise PermissionDenied
        q = request.GET.get("q", "").strip()
        places = Place.objects.select_related("region")
        if "near" in request.GET:
            try:
                lon, lat = (float(x) for x in request.GET["near"].split(","))
                within = min(float(request.GET.get("within", "0.05")), 1.0)
            except ValueError:
                return JsonResponse({"error": "near=lon,lat and within=degrees"}, status=400)
            point = Point(lon, lat, srid=4326)
            places = (
                places.filter(geom__dwithin=(point, within))
                .annotate(d=Distance("geom", point))
                .order_by("d")[:1]
            )
        elif len(q) >= 2:
            names = Func(
                F("alternate_names"),
                Value("|"),
                function="array_to_string",
                output_field=CharField(),
            )
            places = (
                places.annotate(names=names)
                .filter(Q(name__icontains=q) | Q(name_ar__icontains=q) | Q(names__icontains=q))
                .order_by("-population", "name", "pk")[:20]
            )
        else:
            return JsonResponse({"places": []})
        return JsonResponse(
            {
                "places": [
                    {
                        "id": p.pk,
                        "name": p.name,
                        "name_ar": p.name_ar,
                        "region": p.region.name if p.region else "",
                        "population": p.population,
                        "lon": p.geom.x,
                        "lat": p.geom.y,
                    }
                    for p in places
                ]
            }
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # moves are made by "Move the front" or `manage.py transfer`

    def has_delete_permission(self, request: HttpRequest, obj: FrontMove | None = None) -> bool:
        return False  # a move is undone by reverting it, which restores the zones

    @admin.action(description="Revert the selected moves (latest first)", permissions=["change"])
    def revert_moves(self, request: HttpRequest, queryset: QuerySet[FrontMove]) -> None:
        for record in queryset.filter(state=FrontMove.State.APPLIED).order_by("-created_at"):
            try:
                result = transfer.revert(record, user=request.user)
            except transfer.TransferRefused as exc:
                self.message_user(request, f"{record}: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Reverted move {record.pk}: {len(result['deleted'])} versions deleted, "
                    f"{len(result['restored'])} restored.",
                    messages.SUCCESS,
                )
