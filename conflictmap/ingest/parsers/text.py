"""Plain text or an HTML article to text, with its title and date when the page gives them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from . import Problem, decode_text

SKIP = {"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg", "button"}
BLOCK = {
    "p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article",
    "blockquote", "figcaption", "td", "dd", "dt", "pre", "hr",
}  # fmt: skip
DATE_META = {"article:published_time", "datepublished", "date", "dc.date", "pubdate", "og:pubdate"}
HTML_START = re.compile(
    rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|p|div|article)\b", re.I | re.S
)


@dataclass
class TextDoc:
    title: str
    text: str
    published: dt.datetime | None = None
    language: str = ""
    is_html: bool = False


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.in_title = False
        self.title = ""
        self.meta_title = ""
        self.published = ""
        self.language = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "html" and a.get("lang"):
            self.language = a["lang"][:12]
        if tag == "meta":
            key = (a.get("property") or a.get("name") or a.get("itemprop") or "").lower()
            if key == "og:title" and not self.meta_title:
                self.meta_title = a.get("content", "")
            if key in DATE_META and not self.published:
                self.published = a.get("content", "")
        if tag == "time" and a.get("datetime") and not self.published:
            self.published = a["datetime"]
        if tag in SKIP:
            self.skip += 1
        if tag == "title":
            self.in_title = True
        if tag in BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP and self.skip:
            self.skip -= 1
        if tag == "title":
            self.in_title = False
        if tag in BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif not self.skip:
            self.parts.append(data)


def parse_datetime(value: str) -> dt.datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def tidy(text: str) -> str:
    """Collapse runs of spaces and blank lines; paragraphs stay on their own lines."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def html_to_text(html: str) -> TextDoc:
    extractor = _Extractor()
    try:
        extractor.feed(html)
        extractor.close()
    except (AssertionError, ValueError):  # html.parser gives up on some broken markup
        pass
    title = " ".join((extractor.meta_title or extractor.title).split())
    return TextDoc(
        title=title[:1000],
        text=tidy("".join(extractor.parts)),
        published=parse_datetime(extractor.published),
        language=extractor.language,
        is_html=True,
    )


def looks_like_html(data: bytes) -> bool:
    return bool(HTML_START.match(data[:4096]))


def parse(data: bytes) -> tuple[list[TextDoc], list[Problem]]:
    """An article as bytes (plain text or HTML) to one TextDoc, or a problem saying why not."""
    problems: list[Problem] = []
    text, note = decode_text(data)
    if note:
        problems.append(Problem("document", f"encoding: {note}", repaired=True))
    text = text.replace("\x00", "")
    if looks_like_html(data) or looks_like_html(text.encode("utf-8", "replace")):
        doc = html_to_text(text)
    else:
        body = tidy(text)
        first = body.split("\n", 1)[0] if body else ""
        doc = TextDoc(title=first[:200] if len(first) <= 200 else "", text=body)
    if not doc.text.strip():
        problems.append(Problem("document", "no text found in the document"))
        return [], problems
    return [doc], problems
