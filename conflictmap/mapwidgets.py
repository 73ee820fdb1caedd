"""django-leaflet's maps without its inline scripts.

django-leaflet writes each map's options, and each map widget's field, into an inline <script>,
which our Content-Security-Policy (no 'unsafe-inline') refuses. Our templates write the same
options as JSON in a `data-leaflet-options` attribute of the map's container instead, and
static/js/shared/leaflet-maps.js starts the map (and the widget's field) from it: the map page
through {% leaflet_map_data %} (conflictmap/web/templatetags/maps.py), the admin's widgets
through conflictmap.territory.admin.OfflineContextWidget.
"""

from __future__ import annotations

import json

from leaflet.templatetags.leaflet_tags import leaflet_map

#: The script that starts them (after Leaflet, leaflet.extras.js and, for widgets, leaflet.forms).
SCRIPT = "js/shared/leaflet-maps.js"


def leaflet_map_options(name: str, **kwargs: object) -> dict:
    """What django-leaflet's {% leaflet_map name ... %} would write: the map's djoptions
    (centre, zoom, tiles, ...) and the window events to start it on."""
    context = leaflet_map(name, **kwargs)
    return {
        "djoptions": json.loads(context["djoptions"]),
        "loadevents": json.loads(context["loadevents"]),
    }
