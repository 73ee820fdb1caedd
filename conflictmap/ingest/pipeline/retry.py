"""Which errors are worth a retry: one list, for the pipeline (which hands its claim back) and for
the tasks (which retry with backoff), and how an error is written on the item it stopped."""

from __future__ import annotations

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError


class FetchError(Exception):
    """A network failure worth retrying (the tasks retry these with backoff)."""


class FetchRefused(ValueError):
    """A fetch refused for good, not retried: a URL that is not http(s), an address that is not
    public, a body over the size limit, a 4xx answer. The message says which, for an editor."""


# Errors of the database connection or the network, and a task stopped at its soft time limit
# (a big import resumes where it stopped): worth a retry, not a failure. Each try counts as an
# attempt, and INGEST_MAX_ATTEMPTS of them end in failure (claims.py).
RETRYABLE: tuple[type[Exception], ...] = (
    FetchError,
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
    SoftTimeLimitExceeded,
)


def error_text(exc: BaseException) -> str:
    """An error as an editor reads it on the item it stopped."""
    if isinstance(exc, FetchError | FetchRefused):
        return str(exc)[:4000]  # these say what and where already
    if isinstance(exc, SoftTimeLimitExceeded):
        limit = getattr(settings, "CELERY_TASK_SOFT_TIME_LIMIT", None)
        return f"stopped at the task's soft time limit of {limit} s (CELERY_TASK_SOFT_TIME_LIMIT)"
    return f"{exc.__class__.__name__}: {exc}"[:4000]
