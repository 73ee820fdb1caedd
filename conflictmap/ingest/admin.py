"""Editors' side of ingestion: import runs with counts and rejections, uploads and pasted reports,
feeds, reports, and the review queue where candidates become events."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from conflictmap.events.models import Event
from conflictmap.territory import editorial
from conflictmap.territory.admin import OfflineContextMixin
from conflictmap.territory.models import Confidence, Faction, ZoneVersion
from conflictmap.territory.move_admin import CAPTURE_SUB_TYPES, ApplyToMapMixin, apply_to_map_url

from . import limits, pipeline, uploads
from .models import Candidate, Feed, ImportRun, Rejection, Report
from .pipeline.review import QUEUE_ORDER
from .review_admin import ReviewPageMixin


def short_error(error: str) -> str:
    """An item's error in a list: enough to tell one reason from another (the whole on its page)."""
    return error if len(error) <= 160 else error[:159] + "…"


class RejectionInline(admin.TabularInline):
    model = Rejection
    extra = 0
    can_delete = False
    fields = ("row", "reason", "repaired")
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


# What an upload of each kind creates, for the publishers' choice to publish it at once.
PUBLISHABLE = {ImportRun.Kind.ACLED: Event, ImportRun.Kind.ZONES: ZoneVersion}


class UploadForm(forms.Form):
    # Snapshots come as a folder of files: `manage.py ingest snapshots DIR`.
    kind = forms.ChoiceField(
        choices=[c for c in ImportRun.Kind.choices if c[0] != ImportRun.Kind.SNAPSHOTS]
    )
    file = forms.FileField(
        required=False,
        help_text="ACLED CSV, feed XML, article, or control map (GeoJSON, KML, KMZ, GeoPackage, "
        "FlatGeobuf, zipped Shapefile)",
    )
    text = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 12, "cols": 90}),
        help_text="Or paste a report's text here.",
    )  # fmt: skip
    url = forms.URLField(
        required=False, assume_scheme="https", help_text="Where the report or feed comes from."
    )
    title = forms.CharField(required=False)
    published = forms.DateField(required=False, help_text="Report date (YYYY-MM-DD).")
    faction = forms.ModelChoiceField(
        Faction.objects.all(), required=False, to_field_name="slug",
        help_text="Control maps: the faction holding the polygons.",
    )  # fmt: skip
    date = forms.DateField(required=False, help_text="Control maps: first day of control.")
    zone = forms.CharField(required=False, help_text="Control maps: one zone for all polygons.")
    confidence = forms.ChoiceField(choices=Confidence.choices, initial=Confidence.CONFIRMED)
    background = forms.BooleanField(
        required=False, help_text="Hand to the Celery workers instead of running now."
    )
    publish = forms.BooleanField(
        required=False,
        help_text="Publishers only, ACLED and control maps: publish what the import creates. "
        "Unticked, it creates drafts for review.",
    )
    reason = forms.CharField(
        required=False, max_length=100,
        help_text="Kept in the history of what the import changes (default: the import's kind "
        "and number).",
    )  # fmt: skip

    def __init__(self, *args, refused: dict[str, str] | None = None, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.refused = refused or {}  # files the upload handler stopped at the size limit
        self.user = user

    def clean(self) -> dict:
        data = super().clean()
        upload, text = data.get("file"), (data.get("text") or "").strip()
        if "file" in self.refused:
            raise forms.ValidationError(limits.too_large(self.refused["file"]))
        if upload and upload.size > limits.max_upload_bytes():
            raise forms.ValidationError(limits.too_large(upload.name, upload.size))
        if not upload and not text:
            raise forms.ValidationError("Upload a file or paste a report's text.")
        if text and data.get("kind") != ImportRun.Kind.REPORT:
            raise forms.ValidationError("Pasted text is read as a plain report; choose that kind.")
        if data.get("kind") == ImportRun.Kind.ZONES and not (
            data.get("faction") and data.get("date")
        ):
            raise forms.ValidationError("A control map needs a faction and a date.")
        if data.get("publish"):
            model = PUBLISHABLE.get(data.get("kind"))
            if model is None:
                self.add_error(
                    "publish", "Reports and feeds make candidates for review: nothing to publish."
                )
            elif not editorial.may_publish(self.user, model):
                self.add_error(
                    "publish",
                    "Only publishers may publish at upload; leave it unticked to import drafts.",
                )
        return data


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = (
        "id", "kind", "name", "state", "progress", "created", "updated", "unchanged", "rejected",
        "attempts", "why", "created_at",
    )  # fmt: skip
    list_filter = ("kind", "state")
    search_fields = ("filename", "url")
    inlines = [RejectionInline]
    readonly_fields = (
        "kind", "state", "filename", "url", "stored", "content_hash", "options", "publish", "feed",
        "total",
        "processed", "progress", "created", "updated", "unchanged", "rejected", "error",
        "attempts", "created_by", "created_at", "started_at", "heartbeat_at", "finished_at",
    )  # fmt: skip
    exclude = ("content", "claimed_at", "size", "pruned_at")

    def get_queryset(self, request):
        # ImportRun's manager leaves the bytes out of every query; say so where it matters most.
        return super().get_queryset(request).defer("content")

    @admin.display(description="file or URL")
    def name(self, obj: ImportRun) -> str:
        return obj.filename or obj.url

    @admin.display(description="error")
    def why(self, obj: ImportRun) -> str:
        return short_error(obj.error)

    @admin.display(description="bytes received")
    def stored(self, obj: ImportRun) -> str:
        if obj.pruned_at:
            return (
                f"{obj.size:,} bytes, deleted on {obj.pruned_at:%Y-%m-%d} "
                "(INGEST_KEEP_CONTENT_DAYS); their hash, the counts and the rejections are kept"
            )
        return f"{obj.size:,} bytes, stored"

    @admin.display(description="progress")
    def progress(self, obj: ImportRun) -> str:
        if not obj.total:
            return "—" if obj.state != ImportRun.State.DONE else "100%"
        return f"{obj.processed:,} / {obj.total:,} ({100 * obj.processed // obj.total}%)"

    def get_urls(self):
        # The size limit is set on the request before anything reads its body (uploads.py).
        view = uploads.limit_uploads(self.admin_site.admin_view(self.upload_view))
        return [path("upload/", view, name="ingest_upload"), *super().get_urls()]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        return HttpResponseRedirect(reverse("admin:ingest_upload"))

    def upload_view(self, request: HttpRequest):
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        initial = {"kind": request.GET.get("kind", ImportRun.Kind.ACLED)}
        form = UploadForm(
            request.POST or None, request.FILES or None, initial=initial,
            refused=getattr(request, "refused_uploads", None), user=request.user,
        )  # fmt: skip
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            upload = data.get("file")
            content = upload.read() if upload else data["text"].encode("utf-8")
            options: dict = {}
            if data["kind"] == ImportRun.Kind.ZONES:
                options = {
                    "faction": data["faction"].slug,
                    "date": data["date"].isoformat(),
                    "confidence": data["confidence"],
                }
                if data.get("zone"):
                    options["zone"] = data["zone"]
            if data["kind"] == ImportRun.Kind.REPORT:
                if data.get("title"):
                    options["title"] = data["title"]
                if data.get("published"):
                    options["published"] = dt.datetime.combine(
                        data["published"], dt.time(12), tzinfo=dt.UTC
                    ).isoformat()
            if data.get("reason"):
                options["reason"] = data["reason"]
            run = pipeline.create_run(
                data["kind"], content, filename=upload.name if upload else "", url=data.get("url") or "",
                options=options, user=request.user, queue=data["background"],
                publish=data["publish"],
            )  # fmt: skip
            if not data["background"]:
                try:
                    pipeline.process_run(run.pk, inline=True)
                except Exception as exc:  # shown to the editor; the run records it too
                    messages.error(request, f"Import #{run.pk} failed: {exc}")
            run.refresh_from_db()  # not its bytes: see ImportRun.refresh_from_db
            messages.info(
                request,
                f"Import #{run.pk}: {run.get_state_display()}, {run.created} created, "
                f"{run.updated} updated, {run.unchanged} unchanged, {run.rejected} rejected.",
            )
            return HttpResponseRedirect(reverse("admin:ingest_importrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload a file or paste a report",
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/ingest/upload.html", context)


class PollingState(admin.SimpleListFilter):
    title = "polling"
    parameter_name = "polling"

    def lookups(self, request, model_admin):
        return [("on", "Polled on schedule"), ("failing", "Failing"), ("gave_up", "Gave up")]

    def queryset(self, request, queryset):
        if self.value() == "on":
            return queryset.filter(failed_at__isnull=True, attempts=0)
        if self.value() == "failing":  # its last poll failed, its attempts have not run out
            return queryset.filter(failed_at__isnull=True, attempts__gt=0).exclude(last_error="")
        if self.value() == "gave_up":
            return queryset.filter(failed_at__isnull=False)
        return queryset


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = (
        "name", "url", "active", "interval_minutes", "last_polled_at", "next_poll_at",
        "attempts", "failed_at", "why",
    )  # fmt: skip
    list_filter = ("active", PollingState)
    search_fields = ("name", "url")
    readonly_fields = (
        "etag", "last_modified", "last_polled_at", "last_error", "attempts", "failed_at"
    )  # fmt: skip
    actions = ["poll_now"]

    @admin.display(description="last error")
    def why(self, obj: Feed) -> str:
        return short_error(obj.last_error)

    def save_model(self, request, obj: Feed, form, change: bool) -> None:
        if change and "url" in form.changed_data:  # a new address: polling starts afresh
            obj.failed_at, obj.attempts = None, 0
        super().save_model(request, obj, form, change)

    @admin.action(description="Poll the selected feeds now (queued for the workers)")
    def poll_now(self, request: HttpRequest, queryset) -> None:
        # Queued, not fetched here: a slow or hostile server must not hold a web worker.
        queued = pipeline.poll_soon(list(queryset.values_list("pk", flat=True)))
        messages.info(
            request,
            f"{queued} feed(s) queued for polling. The workers fetch them in a moment: see "
            "each feed's last poll and last error, and its new import runs.",
        )


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = (
        "__str__", "publisher", "published_at", "state", "n_candidates", "attempts", "why",
        "received_at",
    )  # fmt: skip
    list_filter = ("state", "feed", "language")
    search_fields = ("title", "url", "text")
    date_hierarchy = "received_at"
    readonly_fields = (
        "url", "content_hash", "feed", "run", "state", "attempts", "claimed_at", "error",
        "received_at", "processed_at",
    )  # fmt: skip
    actions = ["extract_again"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_candidates=Count("candidates"))

    @admin.display(description="candidates", ordering="_candidates")
    def n_candidates(self, obj: Report) -> int:
        return obj._candidates

    @admin.display(description="error")
    def why(self, obj: Report) -> str:
        return short_error(obj.error)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        return HttpResponseRedirect(reverse("admin:ingest_upload") + "?kind=report")

    @admin.action(description="Extract again (pending candidates are replaced)")
    def extract_again(self, request: HttpRequest, queryset) -> None:
        done = 0
        for report in queryset:
            # An editor asking is a fresh start, also for a report whose attempts ran out.
            Report.objects.filter(pk=report.pk).update(
                state=Report.State.PENDING, attempts=0, error=""
            )
            done += pipeline.process_report(report.pk)
        messages.info(request, f"{done} report(s) extracted again.")


class PendingFirst(admin.SimpleListFilter):
    title = "review state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [*Candidate.State.choices, ("all", "All")]

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            selected = (self.value() or Candidate.State.PENDING) == value
            yield {
                "selected": selected,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or Candidate.State.PENDING
        return queryset if value == "all" else queryset.filter(state=value)


@admin.register(Candidate)
class CandidateAdmin(ReviewPageMixin, ApplyToMapMixin, OfflineContextMixin, admin.ModelAdmin):
    context_places = "points"
    change_list_template = "admin/ingest/candidate/change_list.html"
    list_display = (
        "excerpt",
        "review",
        "event_type",
        "sub_event_type",
        "date",
        "place",
        "actor_list",
        "confidence",
        "state",
    )
    list_filter = (PendingFirst, "event_type", "sub_event_type")
    search_fields = ("sentence", "report__title")
    list_select_related = ("place", "report")
    ordering = QUEUE_ORDER  # the review page's j/k go through the queue in this order
    readonly_fields = (
        "report",
        "review",
        "sentence",
        "highlighted",
        "places",
        "actors",
        "spans",
        "suggestions",
        "suggested_place",
        "date_source",
        "lead",
        "state",
        "event",
        "reviewed_by",
        "reviewed_at",
    )
    fields = (
        "report", "review", "highlighted", "event_type", "sub_event_type", "date", "date_source",
        "fatalities", "fatalities_qualifier", "place", "location_precision", "suggested_place",
        "geom", "confidence", "places", "actors", "spans", "suggestions", "lead", "state",
        "event", "reviewed_by", "reviewed_at",
    )  # fmt: skip
    actions = ["accept", "merge", "reject"]

    def apply_to_map(self, obj: Candidate) -> str | None:
        """Move the front prefilled from a capture the extraction found: its date, first actor,
        places and report (and its event, once it became one)."""
        if obj.sub_event_type not in CAPTURE_SUB_TYPES:
            return None
        places = [obj.place_id] if obj.place_id else []
        places += [p["place_id"] for p in obj.places if str(p.get("place_id", "")).isdigit()]
        return apply_to_map_url(
            event=obj.event,
            date=obj.date.isoformat() if obj.date else None,
            to=next(
                (a.get("slug") for a in obj.actors if a.get("role") == "actor1"),
                obj.actors[0].get("slug") if obj.actors else None,
            ),
            place=list(dict.fromkeys(int(p) for p in places)),
            source=obj.report.url,
            reason=f"{obj.sentence[:200]} (candidate {obj.pk})",
        )

    @admin.display(description="review page")
    def review(self, obj: Candidate):
        return format_html(
            '<a href="{}" class="cm-review-link">Review</a>',
            reverse("admin:ingest_candidate_review", args=[obj.pk]),
        )

    @admin.display(description="sentence")
    def excerpt(self, obj: Candidate) -> str:
        return obj.sentence[:120]

    @admin.display(description="actors")
    def actor_list(self, obj: Candidate) -> str:
        return ", ".join(a.get("slug", "") for a in obj.actors)

    @admin.display(description="sentence, matches marked")
    def highlighted(self, obj: Candidate):
        spans = sorted(
            [(p["start"], p["end"]) for p in obj.places]
            + [(a["start"], a["end"]) for a in obj.actors]
            + [(s["start"], s["end"]) for s in obj.spans if s.get("kind") == "date"]
        )
        parts, at = [], 0
        for start, end in spans:
            if start < at:
                continue
            parts.append((obj.sentence[at:start], obj.sentence[start:end]))
            at = end
        html = format_html_join("", "{}<mark>{}</mark>", parts)
        return format_html("{}{}", html, obj.sentence[at:])

    @admin.display(
        description=f"events within {pipeline.MERGE_KM} km and {pipeline.MERGE_DAYS} days"
    )
    def suggestions(self, obj: Candidate):
        events = pipeline.suggest_events(obj)
        if not events:
            return "none"
        choose = ""
        if obj.state == Candidate.State.PENDING:
            choose = format_html(
                '<p><a class="button" href="{}">Choose the event to merge into…</a></p>',
                self._merge_url([obj.pk]),
            )
        return format_html("{}{}", self._suggestion_links(events), choose)

    def _suggestion_links(self, events: list[Event]):
        return format_html_join(
            "",
            '<div><a href="{}">{}</a> — {} km, {} day(s)</div>',
            (
                (reverse("admin:events_event_change", args=[e.pk]) if admin.site.is_registered(type(e)) else "#",
                 str(e), f"{e.km:.1f}", e.days)
                for e in events
            ),
        )  # fmt: skip

    def _review(self, request, queryset, verb, fn) -> None:
        ok = 0
        for candidate in queryset:
            try:
                fn(candidate, user=request.user)
                ok += 1
            except pipeline.ReviewError as exc:
                messages.warning(request, str(exc))
        if ok:
            messages.info(request, f"{ok} candidate(s) {verb}.")

    @admin.action(description="Accept: create a draft event with the report as its source")
    def accept(self, request, queryset) -> None:
        self._review(request, queryset, "accepted", pipeline.accept_candidate)

    @admin.action(
        description=f"Merge into a suggested event (within {pipeline.MERGE_KM} km and "
        f"{pipeline.MERGE_DAYS} days; choose when there are several)"
    )
    def merge(self, request, queryset) -> HttpResponse | None:
        """A candidate with one suggestion merges into it; with several, the editor chooses on
        an intermediate page; with none, it stays pending and the editor is told why."""
        single, several = [], []
        for candidate in queryset:
            count = len(pipeline.suggest_events(candidate))
            (several if count > 1 else single).append(candidate)
        if several:
            return HttpResponseRedirect(self._merge_url([c.pk for c in queryset]))
        self._review(request, single, "merged", pipeline.merge_candidate)
        return None

    # --- choosing the event to merge into -----------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view(self.merge_view)
        return [path("merge/", view, name="ingest_candidate_merge"), *super().get_urls()]

    def _merge_url(self, ids: list[int]) -> str:
        return (
            reverse("admin:ingest_candidate_merge")
            + "?"
            + urlencode({"ids": ",".join(map(str, ids))})
        )

    def merge_view(self, request: HttpRequest) -> HttpResponse:
        """GET: each candidate with its suggested events (distance, days apart) as radio buttons.
        POST: merge each candidate into the event chosen for it, checked again against its
        suggestions and its state under a row lock; a bad choice changes nothing."""
        changelist = reverse("admin:ingest_candidate_changelist")
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        raw = request.POST.get("ids") or request.GET.get("ids") or ""
        try:
            ids = [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            messages.error(
                request, f"ids: expected candidate ids separated by commas, got {raw!r}."
            )
            return HttpResponseRedirect(changelist)
        candidates = list(
            Candidate.objects.filter(pk__in=ids).select_related("report", "place").order_by("pk")
        )
        if not candidates:
            messages.error(request, "No such candidates: nothing was merged.")
            return HttpResponseRedirect(changelist)
        if request.method == "POST":
            merged = sum(self._merge_chosen(request, c) for c in candidates)
            if merged:
                messages.info(request, f"{merged} candidate(s) merged.")
            return HttpResponseRedirect(changelist)
        rows = []
        for candidate in candidates:
            pending = candidate.state == Candidate.State.PENDING
            rows.append(
                {
                    "candidate": candidate,
                    "pending": pending,
                    "events": pipeline.suggest_events(candidate) if pending else [],
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Merge candidates into events",
            "opts": self.model._meta,
            "rows": rows,
            "ids": ",".join(str(c.pk) for c in candidates),
            "km": pipeline.MERGE_KM,
            "days": pipeline.MERGE_DAYS,
        }
        return render(request, "admin/ingest/candidate/merge.html", context)

    def _merge_chosen(self, request: HttpRequest, candidate: Candidate) -> bool:
        field = f"event-{candidate.pk}"
        chosen = request.POST.get(field, "")
        if not chosen:
            messages.warning(request, f"Candidate {candidate.pk}: no event chosen; left as it was.")
            return False
        try:
            chosen_pk = int(chosen)
        except ValueError:
            messages.error(
                request,
                f"Candidate {candidate.pk}: {field}={chosen!r} is not an event id; "
                "nothing was merged.",
            )
            return False
        try:
            pipeline.merge_candidate(candidate, chosen_pk, user=request.user)
        except pipeline.ReviewError as exc:
            messages.error(request, f"{str(exc)[0].upper()}{str(exc)[1:]}.")
            return False
        return True

    @admin.action(description="Reject")
    def reject(self, request, queryset) -> None:
        self._review(request, queryset, "rejected", pipeline.reject_candidate)
