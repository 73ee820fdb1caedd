from django.contrib import admin
from django.urls import include, path

from conflictmap.territory.quality_admin import quality_view
from conflictmap.web import changelog, health
from conflictmap.web import views as web_views

admin.site.site_header = "conflictmap editors"
admin.site.site_title = "conflictmap"

urlpatterns = [
    path("", web_views.map_page, name="map"),
    path("healthz", health.healthz, name="healthz"),
    path("changelog", changelog.changelog_page, name="changelog"),
    path("changelog.atom", changelog.ChangelogFeed(), name="changelog-atom"),
    path("admin/data-quality/", admin.site.admin_view(quality_view), name="admin-data-quality"),
    path("admin/", admin.site.urls),
    path("", include("conflictmap.api.urls")),
]
