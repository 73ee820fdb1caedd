"""Read replicas: a visitor's reads go to a PostgreSQL streaming replica, the rest to the primary.

With DATABASE_REPLICA_URL set, the settings add a second database, the alias "replica". Which one
a read uses is decided here and nowhere else:
- a safe request (GET, HEAD, OPTIONS) of a visitor who is not signed in reads from the replica
  (PublicReadsMiddleware marks it);
- every other request (a signed-in editor's, any POST, PUT, PATCH or DELETE), every Celery task,
  management command and shell reads from the primary: whatever no middleware marked is the
  primary's, so code that runs outside a request cannot read stale data by accident.
Every write goes to the primary.

A replica lags its primary (usually by well under a second): an editor sees their own change at
once because their requests read from the primary; visitors see it when the replica has replayed
it. ORM queries are routed by PrimaryReplicaRouter (settings.DATABASE_ROUTERS); raw SQL in the
request path takes its connection from `reading()`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponseBase

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# True while a request that may read from the replica is being served, streaming included.
# A context var rather than a thread-local: it also follows a request into code that copies the
# context (asgiref's sync_to_async), and a new thread starts with the default (the primary).
_public_read: ContextVar[bool] = ContextVar("conflictmap_public_read", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def read_alias() -> str:
    """The database alias that reads in the current context go to."""
    return REPLICA if _public_read.get() and replica_configured() else PRIMARY


def reading() -> BaseDatabaseWrapper:
    """The connection for raw SQL that reads (the ORM is routed by PrimaryReplicaRouter)."""
    return connections[read_alias()]


class PrimaryReplicaRouter:
    """Reads where read_alias() says, writes and migrations on the primary only."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: type, **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two copies of it: any row may point at any other

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY  # a replica is read-only: it gets the schema by replication


def is_public_read(request: HttpRequest) -> bool:
    """A safe request of a visitor who is not signed in: the only kind that reads the replica.

    `request.user` is resolved here, before the request is marked, so the session behind it is
    read from the primary: an editor who has just signed in is known at once."""
    return request.method in SAFE_METHODS and not request.user.is_authenticated


class PublicReadsMiddleware:
    """Marks the requests whose reads may go to the replica (after AuthenticationMiddleware).

    The mark lasts until the response is closed, so a streamed body (events, exports) reads from
    the same database as the view that started it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        _public_read.set(False)  # whatever a previous request on this thread left
        _public_read.set(is_public_read(request))
        return self.get_response(request)


def _back_to_primary(**kwargs: Any) -> None:
    _public_read.set(False)


# Sent when the response is closed, after the last byte of a streamed body.
request_finished.connect(_back_to_primary, dispatch_uid="conflictmap.replica.back_to_primary")
