"""The admin of front moves (conflictmap.territory.transfer): the record of each move, and
reverting one. Registered from territory.admin."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from conflictmap.territory import transfer
from conflictmap.territory.models import FrontMove


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
