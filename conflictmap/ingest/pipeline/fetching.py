"""HTTP GET of feeds and articles, conditional when we hold validators (ETag, Last-Modified)."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from .retry import FetchError

MAX_FETCH_BYTES = 20 * 1024 * 1024
USER_AGENT = "conflictmap-ingest/0.1 (+https://github.com/conflictmap)"


@dataclass
class Fetched:
    status: int
    content: bytes
    etag: str
    last_modified: str
    url: str


def fetch(url: str, *, etag: str = "", last_modified: str = "", timeout: float = 20) -> Fetched:
    """GET with a conditional request when we have validators; 304 comes back as status 304."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"only http(s) URLs can be fetched, not {url[:80]!r}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if etag:
        request.add_header("If-None-Match", etag)
    if last_modified:
        request.add_header("If-Modified-Since", last_modified)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            content = response.read(MAX_FETCH_BYTES + 1)
            if len(content) > MAX_FETCH_BYTES:
                raise ValueError(f"{url[:80]} is larger than {MAX_FETCH_BYTES} bytes")
            return Fetched(
                response.status,
                content,
                response.headers.get("ETag", ""),
                response.headers.get("Last-Modified", ""),
                response.geturl(),
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(304, b"", etag, last_modified, url)
        if exc.code >= 500 or exc.code == 429:
            raise FetchError(f"{url[:200]}: HTTP {exc.code}") from exc
        raise ValueError(f"{url[:200]}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise FetchError(f"{url[:200]}: {exc}") from exc
