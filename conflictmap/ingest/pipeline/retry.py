"""Which errors are worth a retry: one list, for the pipeline (which hands its claim back) and for
the tasks' `autoretry_for` (which retry with backoff)."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError


class FetchError(Exception):
    """A network failure worth retrying (the tasks retry these with backoff)."""


class FetchRefused(ValueError):
    """A fetch refused for good, not retried: a URL that is not http(s), an address that is not
    public, a body over the size limit, a 4xx answer. The message says which, for an editor."""


# Errors of the database connection or the network: worth a retry, not a failure.
RETRYABLE: tuple[type[Exception], ...] = (
    FetchError,
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
)
