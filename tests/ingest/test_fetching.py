"""Fetching tries the attacks for real, against servers on loopback addresses: internal and
metadata addresses, redirects into the network, DNS answers that change between the check and the
connection, a server that dribbles a byte at a time, bodies and gzip bombs over the limit, TLS.

No test may send a packet off the loopback: a tripwire fails any connection elsewhere (so a fetch
that wrongly went ahead to 10.0.0.1 fails the test instead of reaching out)."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time

import pytest
import trustme
import urllib3.util.connection

from conflictmap.ingest.pipeline import addresses, fetching
from conflictmap.ingest.pipeline.retry import FetchError, FetchRefused

from .servers import Server, chunked, dribble, gzip_bomb, ok, redirect, say_nothing

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title></channel></rss>'
REFUSED_TAIL = (
    "; feeds and articles are fetched from public addresses only (INGEST_FETCH_ALLOW lists the "
    "hosts or networks to allow)"
)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Fail any connection to an address off the loopback, before it is made."""
    real = urllib3.util.connection.create_connection

    def guarded(address, *args, **kwargs):
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"the test tried to connect to {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded)


@pytest.fixture
def serve():
    servers: list[Server] = []

    def start(answer, **kwargs) -> Server:
        servers.append(Server(answer, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def dns(monkeypatch):
    """Names of our own: each maps to a list of answers, one used per lookup (the last repeats)."""
    answers: dict[str, list[list[str]]] = {}
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        queue = answers[host]
        ips = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port),
            )
            for ip in ips
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answers["lookups"] = lookups  # type: ignore[assignment]
    return answers


@pytest.fixture
def allow(settings):
    def set_allowed(*items: str) -> None:
        settings.INGEST_FETCH_ALLOW = list(items)

    return set_allowed


# --- addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "named", "kind"),
    [
        ("http://127.0.0.1:{port}/feed", "127.0.0.1 is", "a loopback address"),
        ("http://localhost:{port}/feed", "localhost resolves to 127.0.0.1,", "a loopback address"),
        ("http://[::1]:{port}/feed", "::1 is", "a loopback address"),
        ("http://2130706433:{port}/", "2130706433 resolves to 127.0.0.1,", "a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is", "a cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/", "fd00:ec2::254 is", "a cloud metadata address"),
        ("http://100.100.100.200/", "100.100.100.200 is", "a cloud metadata address"),
        ("http://169.254.10.1/", "169.254.10.1 is", "a link-local address"),
        ("http://[fe80::1]/", "fe80::1 is", "a link-local address"),
        ("http://10.0.0.1/", "10.0.0.1 is", "a private address"),
        ("http://172.16.5.4/", "172.16.5.4 is", "a private address"),
        ("http://192.168.1.1/", "192.168.1.1 is", "a private address"),
        ("http://[fd12:3456::1]/", "fd12:3456::1 is", "a private address"),
        ("http://100.64.0.1/", "100.64.0.1 is", "an address that is not public"),
        ("http://224.0.0.1/", "224.0.0.1 is", "a multicast address"),
        ("http://[ff02::1]/", "ff02::1 is", "a multicast address"),
        ("http://0.0.0.0:{port}/", "0.0.0.0 is", "an unspecified address"),
        ("http://240.0.0.1/", "240.0.0.1 is", "a private address"),
        (
            "http://[::ffff:127.0.0.1]:{port}/",
            "::ffff:7f00:1 is",
            "a loopback address (127.0.0.1) inside an IPv6 address",
        ),
        (
            "http://[64:ff9b::a9fe:a9fe]/",
            "64:ff9b::a9fe:a9fe is",
            "a cloud metadata address (169.254.169.254) inside an IPv6 address",
        ),
        ("http://[2002:a00:1::]/", "2002:a00:1:: is", "a private address (10.0.0.1) inside an IPv6 address"),
    ],
)  # fmt: skip
def test_it_refuses_addresses_that_are_not_public_before_connecting(serve, url, named, kind):
    internal = serve(ok(b"secret"))
    url = url.format(port=internal.port)
    with pytest.raises(FetchRefused) as refused:
        fetching.fetch(url)
    assert str(refused.value) == f"refused: {named} {kind}{REFUSED_TAIL}"
    assert internal.hits == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed", "gopher://x/"])
def test_it_fetches_http_and_https_only(url):
    with pytest.raises(FetchRefused, match="^only http and https URLs are fetched"):
        fetching.fetch(url)


def test_a_listed_network_or_host_may_be_fetched(serve, allow):
    server = serve(ok(RSS, 'ETag: "v1"'))
    allow("127.0.0.1/32")
    got = fetching.fetch(f"{server.origin}/feed")
    assert (got.status, got.content, got.etag) == (200, RSS, '"v1"')
    allow("localhost")
    assert fetching.fetch(f"http://localhost:{server.port}/feed").content == RSS
    assert b"Host: localhost:%d" % server.port in server.hits[-1]


def test_one_internal_address_among_the_answers_refuses_the_name(serve, dns, allow):
    server = serve(ok(RSS))
    allow("127.0.0.1/32")
    dns["mixed.test"] = [["127.0.0.1", "10.0.0.7"]]
    with pytest.raises(FetchRefused, match=r"^refused: mixed.test resolves to 10.0.0.7, a private"):
        fetching.fetch(f"http://mixed.test:{server.port}/")
    assert server.hits == []


def test_the_connection_goes_to_the_address_that_was_checked(serve, dns, allow):
    """DNS rebinding: the name answers an allowed address for the check, then an internal one.
    A client that resolves the name again when it connects reaches the internal server."""
    public = serve(ok(RSS))
    internal = serve(ok(b"internal secret"), host="127.0.0.3", port=public.port)
    allow("127.0.0.1/32")
    dns["rebind.test"] = [["127.0.0.1"], ["127.0.0.3"]]
    got = fetching.fetch(f"http://rebind.test:{public.port}/feed")
    assert got.content == RSS
    assert internal.hits == [] and len(public.hits) == 1
    assert dns["lookups"] == ["rebind.test"]  # resolved once, for the check
    assert b"Host: rebind.test:%d\r\n" % public.port in public.hits[0]


# --- redirects -------------------------------------------------------------------------------


def test_every_redirect_is_checked_before_it_is_followed(serve, allow):
    internal = serve(ok(b"internal secret"), host="127.0.0.2")
    allow("127.0.0.1/32")
    for location in (f"{internal.origin}/admin", "http://169.254.169.254/latest/meta-data/"):
        outside = serve(redirect(location))
        with pytest.raises(FetchRefused, match=r"^refused: 1(27.0.0.2|69.254.169.254) is a"):
            fetching.fetch(f"{outside.origin}/feed")
        assert len(outside.hits) == 1
    assert internal.hits == []
    to_a_file = serve(redirect("file:///etc/passwd", status="301 Moved Permanently"))
    with pytest.raises(FetchRefused, match="^only http and https URLs are fetched"):
        fetching.fetch(f"{to_a_file.origin}/feed")


def test_an_allowed_redirect_is_followed_and_the_final_url_kept(serve, allow):
    allow("127.0.0.1/32")
    final = serve(ok(RSS))
    hop = serve(redirect(f"{final.origin}/rss.xml", status="308 Permanent Redirect"))
    got = fetching.fetch(f"{hop.origin}/feed")
    assert (got.content, got.url) == (RSS, f"{final.origin}/rss.xml")


def test_a_redirect_loop_is_refused(serve, allow):
    allow("127.0.0.1/32")
    loop = serve(redirect("/again"))
    with pytest.raises(FetchRefused, match="redirects more than 5 times"):
        fetching.fetch(f"{loop.origin}/feed")
    assert len(loop.hits) == fetching.MAX_REDIRECTS + 1


# --- time and size ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [dribble(0.2), dribble(0.2, headers_too=True), say_nothing],
    ids=["body one byte at a time", "headers one byte at a time", "nothing at all"],
)
def test_the_whole_fetch_ends_at_its_deadline_however_slowly_the_server_sends(serve, allow, answer):
    # Each byte comes well within any per-read timeout: only a deadline for the whole fetch
    # stops this server, which would otherwise take hours.
    allow("127.0.0.1/32")
    server = serve(answer)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"no complete answer within 2 s \(INGEST_FETCH_TIMEOUT\)"):
        fetching.fetch(f"{server.origin}/feed", timeout=2)
    assert 1.9 < time.monotonic() - started < 3.5


def test_a_body_over_the_limit_is_refused_whether_announced_or_not(serve, allow):
    allow("127.0.0.1/32")
    limit = 1024 * 1024
    announced = serve(ok(b"x" * (2 * limit)))
    with pytest.raises(FetchRefused) as refused:
        fetching.fetch(f"{announced.origin}/big", max_bytes=limit)
    assert str(refused.value) == (
        f"refused: {announced.origin}/big says it is 2,097,152 bytes, more than the limit of "
        "1,048,576 bytes (INGEST_FETCH_MAX_BYTES)"
    )
    unannounced = serve(chunked(b"x" * (2 * limit)))
    with pytest.raises(FetchRefused, match=r"is larger than the limit of 1,048,576 bytes"):
        fetching.fetch(f"{unannounced.origin}/big", max_bytes=limit)
    assert fetching.fetch(f"{unannounced.origin}/big", max_bytes=3 * limit).content == b"x" * (
        2 * limit
    )


def test_a_gzip_bomb_is_counted_as_it_unpacks(serve, allow):
    allow("127.0.0.1/32")
    bomb = serve(gzip_bomb(200 * 1024 * 1024))  # ~200 KB on the wire
    with pytest.raises(FetchRefused, match=r"is larger than the limit of 1,048,576 bytes"):
        fetching.fetch(f"{bomb.origin}/feed", max_bytes=1024 * 1024)


def test_server_errors_are_worth_a_retry_and_client_errors_are_not(serve, allow):
    allow("127.0.0.1/32")
    for status, error in (("503 Service Unavailable", FetchError), ("429 Too Many", FetchError),
                          ("404 Not Found", FetchRefused), ("403 Forbidden", FetchRefused)):  # fmt: skip
        server = serve(ok(b"", status=status))
        with pytest.raises(error, match=f"HTTP {status[:3]}"):
            fetching.fetch(f"{server.origin}/feed")


# --- TLS -------------------------------------------------------------------------------------


@pytest.fixture
def tls(monkeypatch, tmp_path):
    """A throwaway CA the fetcher trusts, and TLS contexts for servers with its certificates."""
    ca = trustme.CA()
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    monkeypatch.setattr(fetching, "default_tls_context", lambda: fetching.tls_context(str(cafile)))

    def server_context(*names: str):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*names).configure_cert(context)
        return context

    return server_context


def test_https_connects_to_the_checked_address_and_checks_the_certificate_against_the_name(
    serve, dns, allow, tls
):
    allow("127.0.0.1/32")
    good = serve(ok(RSS), tls=tls("feeds.test"))
    dns["feeds.test"] = [["127.0.0.1"]]
    assert fetching.fetch(f"https://feeds.test:{good.port}/feed").content == RSS
    impostor = serve(ok(b"not yours"), tls=tls("other.test"))
    with pytest.raises(FetchRefused, match=r"^refused: the TLS certificate of feeds.test is not"):
        fetching.fetch(f"https://feeds.test:{impostor.port}/feed")
    assert impostor.hits == []


def test_a_tls_server_that_never_finishes_its_handshake_is_cut_at_the_deadline(
    serve, dns, allow, tls
):
    allow("127.0.0.1/32")
    silent = serve(say_nothing, tls=tls("feeds.test"))
    dns["feeds.test"] = [["127.0.0.1"]]
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"no complete answer within 2 s"):
        fetching.fetch(f"https://feeds.test:{silent.port}/feed", timeout=2)
    assert time.monotonic() - started < 3.5


# --- settings --------------------------------------------------------------------------------


def test_the_allow_list_takes_networks_and_host_names():
    allowed = addresses._parse_allowed(("127.0.0.1", "10.1.0.0/16", "Feeds.Internal.", "::1"))
    assert allowed.hosts == {"feeds.internal"}
    assert [str(n) for n in allowed.networks] == ["127.0.0.1/32", "10.1.0.0/16", "::1/128"]


def test_a_url_in_another_script_is_sent_as_ascii(serve, dns, allow):
    allow("127.0.0.1/32")
    server = serve(ok(RSS))
    dns["xn--mgbh0fb.test"] = [["127.0.0.1"]]
    assert fetching.fetch(f"http://مثال.test:{server.port}/أخبار?q=حلب").content == RSS
    assert server.hits[0].startswith(
        b"GET /%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1?q=%D8%AD%D9%84%D8%A8 HTTP/1.1\r\n"
    )
    assert b"Host: xn--mgbh0fb.test:%d\r\n" % server.port in server.hits[0]
