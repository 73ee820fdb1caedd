"""Who sent a request: the one place that reads a client's address, for the login throttle
(django-axes) and the API's rate limit.

Behind TRUSTED_PROXY_COUNT proxies that each append the address they received the request from
to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for, Caddy), the client is that many entries
from the right of [X-Forwarded-For..., REMOTE_ADDR]; anything further left was written by the
client itself and is not believed. With no proxy (0, the default) the header is ignored.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    hops = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    chain = [*hops, request.META.get("REMOTE_ADDR", "")]
    trusted = settings.TRUSTED_PROXY_COUNT
    return chain[-(trusted + 1)] if len(chain) > trusted else chain[0]
