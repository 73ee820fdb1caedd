"""HTTP GET of feeds and articles, conditional when we hold validators (ETag, Last-Modified).

Built on urllib3's connections rather than a client that resolves names itself, because three
things must hold that such a client does not promise:
- the connection goes to an address that addresses.check_url approved: the socket is opened to
  that address, and TLS still checks the certificate against the URL's host name (SNI);
- every redirect is a new URL, checked the same way before it is followed;
- the whole fetch ends by INGEST_FETCH_TIMEOUT seconds. A per-read timeout does not bound a
  server that sends one byte a second, so every socket operation (connect, TLS handshake, each
  send and receive) is given only the time left until the fetch's deadline.
The body is counted as it arrives (after decompression) and refused past INGEST_FETCH_MAX_BYTES.
"""

from __future__ import annotations

import contextvars
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection

from .addresses import Target, check_url
from .retry import FetchError, FetchRefused

USER_AGENT = "conflictmap-ingest/0.1 (+https://github.com/conflictmap)"
MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
CHUNK = 64 * 1024


def fetch_timeout() -> int:
    return int(getattr(settings, "INGEST_FETCH_TIMEOUT", 30))


def max_fetch_bytes() -> int:
    return int(getattr(settings, "INGEST_FETCH_MAX_BYTES", 20 * 1024 * 1024))


@dataclass
class Fetched:
    status: int
    content: bytes
    etag: str
    last_modified: str
    url: str


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; TimeoutError once there are none."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the fetch's deadline of {self.seconds:g} s has passed")
        return left

    def passed(self) -> bool:
        return time.monotonic() >= self.end


# The deadline of the fetch running in this thread, read by the sockets before each operation.
_deadline: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "fetch_deadline", default=None
)


def _bound(sock: socket.socket) -> None:
    deadline = _deadline.get()
    if deadline is not None:
        socket.socket.settimeout(sock, deadline.left())


class DeadlineSocket(socket.socket):
    """A plain socket whose every send and receive ends by the fetch's deadline."""

    def recv_into(self, buffer, nbytes=0, flags=0):
        _bound(self)
        return super().recv_into(buffer, nbytes, flags)

    def recv(self, bufsize, flags=0):
        _bound(self)
        return super().recv(bufsize, flags)

    def sendall(self, data, flags=0):
        _bound(self)
        return super().sendall(data, flags)

    def send(self, data, flags=0):
        _bound(self)
        return super().send(data, flags)


class DeadlineSSLSocket(ssl.SSLSocket):
    """The same for TLS: the handshake and each read and write end by the deadline (ssl gives
    one call its socket's timeout in total, however the peer dribbles its bytes)."""

    def do_handshake(self, block=False):
        _bound(self)
        return super().do_handshake(block)

    def read(self, len=1024, buffer=None):
        _bound(self)
        return super().read(len, buffer)

    def recv_into(self, buffer, nbytes=None, flags=0):
        _bound(self)
        return super().recv_into(buffer, nbytes, flags)

    def send(self, data, flags=0):
        _bound(self)
        return super().send(data, flags)

    def sendall(self, data, flags=0):
        _bound(self)
        return super().sendall(data, flags)


def tls_context(cafile: str | None = None) -> ssl.SSLContext:
    """Certificates checked against the system's CAs (or `cafile`) and the URL's host name."""
    context = ssl.create_default_context(cafile=cafile)
    context.sslsocket_class = DeadlineSSLSocket
    return context


@lru_cache(maxsize=1)
def default_tls_context() -> ssl.SSLContext:
    return tls_context()


class _Pinned:
    """Connects to the address it was made with, whatever the URL's host name resolves to now,
    on a socket bound by the fetch's deadline."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # self.host is an IP address: no name is resolved here
        return DeadlineSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())


class PinnedHTTPConnection(_Pinned, HTTPConnection):
    pass


class PinnedHTTPSConnection(_Pinned, HTTPSConnection):
    pass


def _connect(target: Target, deadline: Deadline) -> HTTPConnection:
    """A connection to the first of the target's checked addresses that answers."""
    errors = []
    for address in target.addresses:
        timeout = deadline.left()
        if target.scheme == "https":
            conn: HTTPConnection = PinnedHTTPSConnection(
                address, target.port, timeout=timeout, server_hostname=target.host,
                ssl_context=default_tls_context(),
            )  # fmt: skip
        else:
            conn = PinnedHTTPConnection(address, target.port, timeout=timeout)
        try:
            conn.connect()
        except ssl.SSLCertVerificationError as exc:
            conn.close()
            raise FetchRefused(
                f"refused: the TLS certificate of {target.host} is not valid: {exc.verify_message}"
            ) from None
        except (OSError, urllib3.exceptions.HTTPError) as exc:
            conn.close()
            if deadline.passed():
                raise TimeoutError("out of time while connecting") from exc
            cause = exc.__cause__ or exc  # urllib3 wraps the socket's error in its own
            errors.append(f"{address}: {getattr(cause, 'strerror', None) or cause}")
            continue
        return conn
    where = f"{target.host}:{target.port}"
    raise FetchError(f"{where}: cannot connect ({'; '.join(errors)[:500]})")


def _get(target: Target, headers: dict, deadline: Deadline):
    conn = _connect(target, deadline)
    try:
        conn.request(
            "GET", target.path, headers={**headers, "Host": target.host_header},
            preload_content=False, decode_content=True,
        )  # fmt: skip
        return conn, conn.getresponse()
    except BaseException:
        conn.close()
        raise


def _read_body(response, url: str, limit: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:  # compressed or not, it will be larger
        raise FetchRefused(_too_large(f"{url[:200]} says it is {int(declared):,} bytes,", limit))
    parts, size = [], 0
    for part in response.stream(CHUNK, decode_content=True):  # counted as it unpacks
        size += len(part)
        if size > limit:
            raise FetchRefused(_too_large(f"{url[:200]} is larger than", limit))
        parts.append(part)
    return b"".join(parts)


def _too_large(what: str, limit: int) -> str:
    more = "" if what.endswith("than") else " more than"
    return f"refused: {what}{more} the limit of {limit:,} bytes (INGEST_FETCH_MAX_BYTES)"


def fetch(
    url: str,
    *,
    etag: str = "",
    last_modified: str = "",
    timeout: float | None = None,
    max_bytes: int | None = None,
) -> Fetched:
    """GET with a conditional request when we have validators; 304 comes back as status 304.
    FetchRefused (a ValueError) when the URL, an address, the size or the answer is refused for
    good; FetchError for what a retry may mend (the network, 5xx, 429, running out of time)."""
    deadline = Deadline(fetch_timeout() if timeout is None else timeout)
    limit = max_fetch_bytes() if max_bytes is None else max_bytes
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    token = _deadline.set(deadline)
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            target = check_url(current, deadline.left())
            conn, response = _get(target, headers, deadline)
            try:
                location = response.headers.get("Location", "")
                if response.status in REDIRECTS and location:
                    current = urllib.parse.urljoin(current, location.strip())
                    continue
                return _answer(response, current, etag, last_modified, limit)
            finally:
                response.release_conn()
                conn.close()
        raise FetchRefused(f"refused: {url[:200]} redirects more than {MAX_REDIRECTS} times")
    except (TimeoutError, OSError, urllib3.exceptions.HTTPError) as exc:
        if deadline.passed():
            raise FetchError(
                f"{current[:200]}: no complete answer within {deadline.seconds:g} s "
                "(INGEST_FETCH_TIMEOUT)"
            ) from None
        raise FetchError(f"{current[:200]}: {exc}") from None
    finally:
        _deadline.reset(token)


def _answer(response, url: str, etag: str, last_modified: str, limit: int) -> Fetched:
    status = response.status
    if status == 304:
        return Fetched(304, b"", etag, last_modified, url)
    if status >= 500 or status == 429:
        raise FetchError(f"{url[:200]}: HTTP {status}")
    if status >= 300:
        raise FetchRefused(f"{url[:200]}: HTTP {status} {response.reason or ''}".rstrip())
    content = _read_body(response, url, limit)
    return Fetched(
        status,
        content,
        response.headers.get("ETag", ""),
        response.headers.get("Last-Modified", ""),
        url,
    )
