"""Where ingestion may fetch from: http(s) URLs whose host resolves only to public unicast
addresses, unless INGEST_FETCH_ALLOW lists the host or the network.

A feed or article URL comes from an editor or from a feed's own links and redirects, so it may
point inside the network the workers run in: the database, Redis, an admin interface, or the
cloud's metadata service that hands out credentials (169.254.169.254, fd00:ec2::254). The check
is made on the addresses the name resolves to, and the caller connects to one of exactly those
addresses (fetching.py), so a second DNS answer cannot swap the address after the check.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import socket
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

from .retry import FetchError, FetchRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services of cloud providers, named as such in the refusal: AWS, GCP, Azure, OpenStack
# (169.254.169.254), AWS over IPv6, Azure's wire server, Alibaba, Oracle's legacy address.
METADATA = {
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "168.63.129.16", "100.100.100.200", "192.0.0.192")
}
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv4 addresses reached through IPv6 translation
# Python's is_global lets these through although IANA says they are not globally reachable.
NOT_GLOBAL = [ipaddress.ip_network("192.0.0.0/24"), ipaddress.ip_network("64:ff9b:1::/48")]


def why_refused(ip: IPAddress) -> str | None:
    """What kind of address this is when it may not be fetched from; None for a public one."""
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and (inner := why_refused(embedded)):
            return f"{inner} ({embedded}) inside an IPv6 address"
    if ip in METADATA:
        return "a cloud metadata address"
    for test, kind in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, test):
            return kind
    if getattr(ip, "is_site_local", False):
        return "a site-local address"
    if not ip.is_global or any(ip in net for net in NOT_GLOBAL):
        return "an address that is not public"
    return None


@dataclass(frozen=True)
class Allowed:
    hosts: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


@lru_cache(maxsize=8)
def _parse_allowed(items: tuple[str, ...]) -> Allowed:
    hosts, networks = set(), []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.add(item.lower().rstrip("."))
    return Allowed(frozenset(hosts), tuple(networks))


def allowed() -> Allowed:
    """INGEST_FETCH_ALLOW: host names and networks (e.g. 127.0.0.1/32) that may be fetched
    from although they are not public (settings.py has checked each item's form)."""
    return _parse_allowed(tuple(getattr(settings, "INGEST_FETCH_ALLOW", ())))


@dataclass(frozen=True)
class Target:
    """A URL checked for fetching, with the addresses it may be connected to."""

    url: str
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path and query) of an http(s) URL; FetchRefused for anything else."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise FetchRefused(f"{url[:200]!r} is not a usable URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https URLs are fetched, not {url[:200]!r}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise FetchRefused(f"{url[:200]!r} has no host")
    try:  # a name in another script travels as ASCII (IDNA), in DNS and in the Host header
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise FetchRefused(f"{url[:200]!r} has no valid host name") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    path = urllib.parse.quote(path, safe="!#$%&'()*+,/:;=?@[]~")  # the request line is ASCII
    return scheme, host, port or (443 if scheme == "https" else 80), path


def resolve(host: str, port: int, timeout: float) -> list[str]:
    """The host's addresses, waiting at most `timeout` seconds for the resolver."""
    try:
        return [str(ipaddress.ip_address(host))]  # a literal address needs no lookup
    except ValueError:
        pass
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    lookup = pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = lookup.result(timeout=max(timeout, 0.001))
    except concurrent.futures.TimeoutError:
        raise FetchError(f"{host}: no answer from DNS within {timeout:.0f} s") from None
    except socket.gaierror as exc:
        raise FetchError(f"{host}: the name does not resolve ({exc.strerror})") from None
    finally:
        pool.shutdown(wait=False)  # a resolver that hangs is left behind, not waited for
    found: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # An IPv6 scope ("%eth0") is not part of the address.
        address = str(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
        if address not in found:
            found.append(address)
    return found


def check_url(url: str, timeout: float) -> Target:
    """Resolve the URL's host and check every address it resolves to. One address that may not
    be fetched from refuses the URL, so that no later pick among them can reach it."""
    scheme, host, port, path = split_url(url)
    allow = allowed()
    addresses = resolve(host, port, timeout)
    if not addresses:
        raise FetchError(f"{host}: the name resolves to no address")
    if host.lower() not in allow.hosts:
        for address in addresses:
            ip = ipaddress.ip_address(address)
            kind = why_refused(ip)
            if kind and not any(ip in net for net in allow.networks):
                named = f"{address} is" if _is_literal(host) else f"{host} resolves to {address},"
                raise FetchRefused(
                    f"refused: {named} {kind}; feeds and articles are fetched from public "
                    "addresses only (INGEST_FETCH_ALLOW lists the hosts or networks to allow)"
                )
    return Target(url, scheme, host, port, path, tuple(addresses))


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
