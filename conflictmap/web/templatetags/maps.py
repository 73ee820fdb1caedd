"""{% leaflet_map_data "map" %}: django-leaflet's map container without its inline script
(conflictmap/mapwidgets.py says why)."""

from __future__ import annotations

import json

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from conflictmap.mapwidgets import leaflet_map_options

register = template.Library()


@register.simple_tag
def leaflet_map_data(name: str, loadevent: str | None = None) -> SafeString:
    """The container of map `name`, started on the window event(s) `loadevent` (space-separated;
    django-leaflet's LOADEVENT by default)."""
    options = leaflet_map_options(name, **({"loadevent": loadevent} if loadevent else {}))
    # format_html escapes the JSON for the attribute; the browser's dataset gives it back.
    return format_html(
        '<div id="{}" class="leaflet-container-default" data-leaflet-options="{}"></div>',
        name,
        json.dumps(options),
    )
