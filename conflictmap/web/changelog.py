"""The public changelog as a page (/changelog) and an Atom feed (/changelog.atom): the entries of
conflictmap.events.changelog (published changes only), each linking to the map at its date."""

from __future__ import annotations

import datetime as dt

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.feedgenerator import Atom1Feed

from conflictmap.events import changelog

PAGE_DAYS = 90  # the page and the feed: the last 90 days
CHANGE_WORDS = {
    "published": "published",
    "corrected": "corrected",
    "replaced": "replaced by a newer version",
    "retracted": "retracted",
}
KIND_WORDS = {"zone_version": "Zone", "event": "Event"}


def _recent() -> tuple[list[dict], bool, dt.date, dt.date]:
    end = dt.datetime.now(dt.UTC).date()
    start = end - dt.timedelta(days=PAGE_DAYS)
    found, truncated = changelog.entries(start, end)
    for entry in found:
        entry["change_words"] = CHANGE_WORDS[entry["change"]]
        entry["kind_words"] = KIND_WORDS[entry["kind"]]
        entry["when"] = dt.datetime.fromisoformat(entry["at"])
    return found, truncated, start, end


def changelog_page(request: HttpRequest) -> HttpResponse:
    found, truncated, start, end = _recent()
    context = {"entries": found, "truncated": truncated, "start": start, "end": end}
    return render(request, "web/changelog.html", context)


class ChangelogFeed(Feed):
    """Atom: one item per change; its link opens the map at the change's date."""

    feed_type = Atom1Feed
    title = "conflictmap: changes to the map"
    subtitle = "Zone versions and events published, corrected, replaced or retracted, with why."
    link = "/changelog"

    def items(self) -> list[dict]:
        return _recent()[0][:100]

    def item_title(self, item: dict) -> str:
        return f"{item['kind_words']} {item['change_words']}: {item['label']}"

    def item_description(self, item: dict) -> str:
        # Plain text (the feed generator escapes it); sources by title or address.
        cited = "; ".join(s["title"] or s["url"] for s in item["sources"] if s["title"] or s["url"])
        return item["reason"] + (f" Sources: {cited}." if cited else "")

    def item_link(self, item: dict) -> str:
        return item["map_url"]

    def item_guid(self, item: dict) -> str:
        return f"conflictmap-change-{item['entry']}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: dict) -> dt.datetime:
        return item["when"]

    def item_updateddate(self, item: dict) -> dt.datetime:
        return item["when"]
