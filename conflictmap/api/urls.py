from django.urls import path, re_path

from conflictmap.api import views

urlpatterns = [
    path("api/schema/", views.schema, name="api-schema"),
    path("api/v1/zones", views.zones, name="api-zones"),
    path("api/v1/frontlines", views.frontlines, name="api-frontlines"),
    path("api/v1/changes", views.changes, name="api-changes"),
    path("api/v1/stats/area", views.stats_area, name="api-stats-area"),
    path("api/v1/stats/events", views.stats_events, name="api-stats-events"),
    path("api/v1/events", views.events, name="api-events"),
    # Any segment, so that a negative or non-numeric z, x or y reaches the view's validation (a
    # documented 400 naming it) instead of the resolver's undocumented 404.
    re_path(
        r"^api/v1/tiles/events/(?P<z>[^/]+)/(?P<x>[^/]+)/(?P<y>[^/]+)\.mvt$",
        views.event_tile,
        name="api-event-tile",
    ),
    path("api/v1/factions", views.factions, name="api-factions"),
    path("api/v1/regions", views.regions, name="api-regions"),
    path("api/v1/places", views.places, name="api-places"),
    path("api/v1/places/<int:id>/control", views.place_control, name="api-place-control"),
    path("api/v1/control", views.control, name="api-control"),
    path("api/v1/control/changes", views.control_changes, name="api-control-changes"),
    path("api/v1/quality", views.quality, name="api-quality"),
    path("api/v1/extent", views.extent, name="api-extent"),
    path("api/v1/changelog", views.changelog, name="api-changelog"),
]
