"""The editors' data-quality page (/admin/data-quality/): territory.quality.report as tables
with links to what to fix. For those who may see draft zone versions (the admin site's login,
then territory.models.sees_drafts, as /api/v1/quality): the report names drafts."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from conflictmap.territory import quality
from conflictmap.territory.models import ZoneVersion, sees_drafts
from conflictmap.territory.move_admin import may_move


class QualityForm(forms.Form):
    date = forms.DateField(required=False, help_text="Day checked (default: today).")
    days = forms.IntegerField(
        min_value=0,
        max_value=365,
        initial=quality.DEFAULT_DAYS,
        required=False,
        help_text="Days after a capture by which its place should have changed hands.",
    )
    drafts = forms.BooleanField(required=False, help_text="Count draft versions and events.")


def quality_view(request: HttpRequest) -> HttpResponse:
    if not sees_drafts(request.user, ZoneVersion):
        raise PermissionDenied("Only those who may view zone versions see the data-quality report.")
    form = QualityForm(request.GET or None)
    found = None
    if not request.GET or form.is_valid():
        data = form.cleaned_data if request.GET else {}
        found = quality.report(
            data.get("date") or dt.date.today(),
            days=quality.DEFAULT_DAYS if data.get("days") is None else data["days"],
            drafts=bool(data.get("drafts")),
        )
    context = {
        **admin.site.each_context(request),
        "title": "Data quality of the territory",
        "form": form,
        "found": found,
        # Each capture the map does not show links to Move the front, prefilled from it.
        "may_move": may_move(request.user),
    }
    return TemplateResponse(request, "admin/territory/quality.html", context)
