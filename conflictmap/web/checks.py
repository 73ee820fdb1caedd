"""Deployment checks of our own: `manage.py check --deploy` fails (errors, not warnings) on the
settings that make a public site unsafe, whatever DEBUG is. With DEBUG off, settings.py already
refuses to start with them; these catch a deployment checked with DEBUG still on."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def check_production_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    if settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        errors.append(
            checks.Error(
                "SECRET_KEY is the development key, which is public.",
                hint="Set SECRET_KEY to a long random value of your own.",
                id="conflictmap.E001",
            )
        )
    if not settings.ALLOWED_HOSTS:
        errors.append(
            checks.Error(
                "ALLOWED_HOSTS is empty.",
                hint="Set ALLOWED_HOSTS to the host names the site is served under.",
                id="conflictmap.E002",
            )
        )
    return errors
