"""The map page: server data for the browser modules under static/js/map/, handed with json_script."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from conflictmap.web.mapdata import MAP_MODULES, js_catalogue, map_config


def map_page(request: HttpRequest) -> HttpResponse:
    # ?lang= chooses the language explicitly (and travels in the permalink); otherwise
    # LocaleMiddleware's choice stands (cookie, then Accept-Language, then LANGUAGE_CODE).
    lang = request.GET.get("lang", "")
    if lang not in dict(settings.LANGUAGES):
        lang = translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(lang):
        config = map_config()
        response = render(
            request,
            "web/map.html",
            {
                "map_config": config,
                "map_i18n": js_catalogue(),
                "map_modules": MAP_MODULES,
            },
        )
        response.headers["Content-Language"] = lang
    return response


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a sign-in while its user name and address are locked out: the
    admin's page saying so and for how long, HTTP 429 (AXES_LOCKOUT_CALLABLE)."""
    from axes.helpers import get_client_username

    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": round(settings.AXES_COOLOFF_TIME.total_seconds() / 60),
        "site_title": "conflictmap",
        "site_header": "conflictmap editors",
    }
    return render(request, "admin/locked_out.html", context, status=429)
