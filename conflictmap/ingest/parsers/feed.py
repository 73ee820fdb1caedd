"""RSS and Atom feeds through feedparser: each entry becomes a report.

feedparser has parsers and encoding detection of its own, so it is given what the XML guard
checked: the feed decoded once, refused if it declares entities, and handed over as UTF-8."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import io
from dataclasses import dataclass

import feedparser

from . import Problem, xmlguard
from .text import html_to_text, looks_like_html


@dataclass
class FeedEntry:
    index: int
    guid: str
    url: str
    title: str
    text: str
    raw: str
    published: dt.datetime | None
    language: str
    publisher: str


def _when(entry: dict) -> dt.datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return dt.datetime.fromtimestamp(calendar.timegm(value), tz=dt.UTC)
            except (OverflowError, ValueError, TypeError, OSError):
                continue
    return None


def _body(entry: dict) -> str:
    parts = []
    for content in entry.get("content") or []:
        if content.get("value"):
            parts.append(content["value"])
    if not parts and entry.get("summary"):
        parts.append(entry["summary"])
    return "\n".join(parts)


def parse(data: bytes) -> tuple[list[FeedEntry], list[Problem]]:
    """Parse RSS/Atom bytes. An HTML page or something that is no feed is one clear problem."""
    problems: list[Problem] = []
    if looks_like_html(data):
        problems.append(
            Problem(
                "feed",
                "this is an HTML page, not an RSS/Atom feed (was the site's address given "
                "instead of its feed's?)",
            )
        )
        return [], problems
    try:
        data, note = xmlguard.read_xml(data, allow_doctype=True)
    except xmlguard.XMLRefused as exc:
        problems.append(Problem("feed", str(exc)))
        return [], problems
    if note:
        problems.append(Problem("feed", f"encoding: {note}", repaired=True))
    try:
        # Bytes in a stream, never a str: feedparser would take a str for a URL or a file name.
        parsed = feedparser.parse(io.BytesIO(data), sanitize_html=True, resolve_relative_uris=True)
    except Exception as exc:  # feedparser wraps many parsers; any failure means "not a feed"
        problems.append(Problem("feed", f"the feed cannot be parsed: {exc.__class__.__name__}"))
        return [], problems
    if not parsed.get("version"):
        reason = parsed.get("bozo_exception")
        detail = f": {str(reason)[:200]}" if reason else ""
        problems.append(Problem("feed", f"not an RSS or Atom feed{detail}"))
        return [], problems
    if parsed.get("bozo") and parsed.get("bozo_exception"):
        problems.append(
            Problem(
                "feed",
                f"the feed is not well-formed ({str(parsed['bozo_exception'])[:200]}); "
                "read what could be read",
                repaired=True,
            )
        )
    meta = parsed.get("feed", {})
    publisher = (meta.get("title") or "")[:200]
    language = (meta.get("language") or "")[:12]
    entries: list[FeedEntry] = []
    for index, entry in enumerate(parsed.get("entries", []), start=1):
        url = (entry.get("link") or "").strip()
        if url and not url.lower().startswith(("http://", "https://")):
            url = ""
        title = " ".join((entry.get("title") or "").split())[:1000]
        body = _body(entry)
        text = html_to_text(body).text if body else ""
        guid = (entry.get("id") or url or "").strip()
        if not text and not title:
            problems.append(Problem(f"entry {index}", "has neither title nor text", str(guid)))
            continue
        if len(url) > 2000:
            url = ""
        if not guid:
            guid = "sha256:" + hashlib.sha256((title + "\n" + text).encode()).hexdigest()
        entries.append(
            FeedEntry(
                index=index,
                guid=guid[:2000],
                url=url,
                title=title,
                text=text if text else title,
                raw=body[:100_000],
                published=_when(entry),
                language=language,
                publisher=publisher,
            )
        )
    return entries, problems
