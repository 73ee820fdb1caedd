"""Settings read from the environment fail loudly: a typed variable with a value of the wrong type
stops start-up with ImproperlyConfigured naming it and what it accepts, instead of quietly reading
as something else (before, `SECURE_SSL_REDIRECT=ture` turned the redirect off)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.foundation.test_project import clean_environ

ROOT = Path(__file__).resolve().parents[2]

# Each typed variable and the setting it feeds, as manage.py's process sees it.
SETTING_OF = {
    "DEBUG": "s.DEBUG",
    "SECURE_SSL_REDIRECT": "s.SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE": "s.SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE": "s.CSRF_COOKIE_SECURE",
    "CONN_MAX_AGE": "s.DATABASES['default']['CONN_MAX_AGE']",
    "SECURE_HSTS_SECONDS": "s.SECURE_HSTS_SECONDS",
    "INGEST_CLAIM_TIMEOUT": "s.INGEST_CLAIM_TIMEOUT",
    "INGEST_SWEEP_MIN_AGE": "s.INGEST_SWEEP_MIN_AGE",
    "INGEST_MAX_ATTEMPTS": "s.INGEST_MAX_ATTEMPTS",
    "INGEST_RETRY_BACKOFF": "s.INGEST_RETRY_BACKOFF",
    "INGEST_KEEP_CONTENT_DAYS": "s.INGEST_KEEP_CONTENT_DAYS",
    "INGEST_FETCH_ALLOW": "s.INGEST_FETCH_ALLOW",
    "INGEST_FETCH_TIMEOUT": "s.INGEST_FETCH_TIMEOUT",
    "INGEST_FETCH_MAX_BYTES": "s.INGEST_FETCH_MAX_BYTES",
    "INGEST_MAX_UPLOAD_BYTES": "s.INGEST_MAX_UPLOAD_BYTES",
    "CELERY_TASK_SOFT_TIME_LIMIT": "s.CELERY_TASK_SOFT_TIME_LIMIT",
    "CELERY_TASK_TIME_LIMIT": "s.CELERY_TASK_TIME_LIMIT",
    "LOG_LEVEL": "s.LOGGING['root']['level']",
    "AXES_FAILURE_LIMIT": "s.AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_MINUTES": "s.AXES_COOLOFF_TIME.total_seconds() / 60",
    "TRUSTED_PROXY_COUNT": "s.TRUSTED_PROXY_COUNT",
    "RATE_LIMIT": "s.RATE_LIMIT",
    "PUBLIC_STATEMENT_TIMEOUT": "s.PUBLIC_STATEMENT_TIMEOUT",
}
PRINT_SETTINGS = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    + ", ".join(f"{name!r}: {expression}" for name, expression in SETTING_OF.items())
    + "}))"
)


def start_django(unset: tuple[str, ...] = (), **variables: str) -> subprocess.CompletedProcess:
    """`manage.py shell` in a fresh process (settings, apps, logging: the whole start-up) with
    these environment variables set and those in `unset` removed, printing the settings they feed
    as JSON by variable."""
    env = {k: v for k, v in clean_environ().items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "--verbosity", "0", "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env=dict(env, SECRET_KEY="s" * 60, ALLOWED_HOSTS="conflictmap.example", **variables),
        capture_output=True,
        text=True,
        timeout=60,
    )


BOOLEANS = "true, yes, on, 1, false, no, off, 0 (any case)"


# A value of the wrong type for each kind of variable, and what start-up says about it.
WRONG = {
    "SECURE_SSL_REDIRECT=ture": f"SECURE_SSL_REDIRECT='ture' is not a boolean: use one of {BOOLEANS}",
    "DEBUG=flase": f"DEBUG='flase' is not a boolean: use one of {BOOLEANS}",
    "SESSION_COOKIE_SECURE=": f"SESSION_COOKIE_SECURE='' is not a boolean: use one of {BOOLEANS}",
    "CSRF_COOKIE_SECURE=2": f"CSRF_COOKIE_SECURE='2' is not a boolean: use one of {BOOLEANS}",
    "CONN_MAX_AGE=abc": "CONN_MAX_AGE='abc' is not a whole number of at least 0 (e.g. 600)",
    "CONN_MAX_AGE=1.5": "CONN_MAX_AGE='1.5' is not a whole number of at least 0 (e.g. 600)",
    "SECURE_HSTS_SECONDS=-1": "SECURE_HSTS_SECONDS='-1' is not a whole number of at least 0",
    "INGEST_CLAIM_TIMEOUT=0": "INGEST_CLAIM_TIMEOUT='0' is not a whole number of at least 1 (e.g. 300)",
    "INGEST_SWEEP_MIN_AGE=1m": "INGEST_SWEEP_MIN_AGE='1m' is not a whole number of at least 0 (e.g. 60)",
    "INGEST_KEEP_CONTENT_DAYS=-1": "INGEST_KEEP_CONTENT_DAYS='-1' is not a whole number of at least 0 (e.g. 90)",
    "INGEST_MAX_ATTEMPTS=0": "INGEST_MAX_ATTEMPTS='0' is not a whole number of at least 1 (e.g. 5)",
    "INGEST_FETCH_TIMEOUT=30s": "INGEST_FETCH_TIMEOUT='30s' is not a whole number of at least 1 (e.g. 30)",
    "INGEST_FETCH_ALLOW=10.0.0.0/8,not a host!": "INGEST_FETCH_ALLOW: 'not a host!' is neither a host name nor an IP network (e.g. 10.0.0.0/8)",
    "CELERY_TASK_SOFT_TIME_LIMIT=1000": "CELERY_TASK_SOFT_TIME_LIMIT (1000) must be less than CELERY_TASK_TIME_LIMIT (960), so that a task can stop cleanly before its worker is killed",
    "AXES_FAILURE_LIMIT=0": "AXES_FAILURE_LIMIT='0' is not a whole number of at least 1 (e.g. 5)",
    "AXES_COOLOFF_MINUTES=15m": "AXES_COOLOFF_MINUTES='15m' is not a whole number of at least 1 (e.g. 15)",
    "TRUSTED_PROXY_COUNT=one": "TRUSTED_PROXY_COUNT='one' is not a whole number of at least 0 (e.g. 0)",
    "RATE_LIMIT=lots": "RATE_LIMIT='lots' is not requests/seconds (e.g. 600/60) or off",
    "RATE_LIMIT=0/60": "RATE_LIMIT='0/60' is not requests/seconds (e.g. 600/60) or off",
    "PUBLIC_STATEMENT_TIMEOUT=10s": "PUBLIC_STATEMENT_TIMEOUT='10s' is not a whole number of at least 0 (e.g. 10)",
    "LOG_LEVEL=verbose": "LOG_LEVEL='verbose' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    "REDIS_URL=127.0.0.1:6379": "REDIS_URL is not a Redis URL: it must start with redis://, rediss:// or unix://",
    "DATABASE_URL=mysqlx://127.0.0.1/x": "DATABASE_URL is not a usable database URL: Scheme 'mysqlx://' is unknown",
}  # fmt: skip


@pytest.mark.parametrize(("assignment", "message"), WRONG.items(), ids=list(WRONG))
def test_a_value_of_the_wrong_type_stops_start_up_naming_the_variable(assignment, message):
    name, _, value = assignment.partition("=")
    result = start_django(**{name: value})
    assert result.returncode != 0
    assert f"django.core.exceptions.ImproperlyConfigured: {message}" in result.stderr


def test_a_malformed_database_url_is_named_without_echoing_its_password():
    result = start_django(DATABASE_URL="postgis://user:hunter2@127.0.0.1:54x/conflictmap")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL is not a usable database URL" in result.stderr
    assert "hunter2" not in result.stderr


# Two accepted spellings of each variable, in any case and with spaces, and what each reads as.
SPELLINGS = {
    "DEBUG": [(" TRUE ", True), ("False", False)],
    "SECURE_SSL_REDIRECT": [("Yes", True), ("no", False)],
    "SESSION_COOKIE_SECURE": [("on", True), ("OFF", False)],
    "CSRF_COOKIE_SECURE": [("1", True), ("0", False)],
    "CONN_MAX_AGE": [(" 60 ", 60), ("0", 0)],
    "SECURE_HSTS_SECONDS": [("0", 0), ("3600", 3600)],
    "INGEST_CLAIM_TIMEOUT": [("1", 1), ("300", 300)],
    "INGEST_SWEEP_MIN_AGE": [("0", 0), ("60", 60)],
    "INGEST_MAX_ATTEMPTS": [("1", 1), (" 8 ", 8)],
    "INGEST_RETRY_BACKOFF": [("0", 0), ("5", 5)],
    "INGEST_KEEP_CONTENT_DAYS": [("0", 0), ("30", 30)],
    "INGEST_FETCH_ALLOW": [
        ("127.0.0.1/32, feeds.internal", ["127.0.0.1/32", "feeds.internal"]),
        ("", []),
    ],
    "INGEST_FETCH_TIMEOUT": [("1", 1), ("120", 120)],
    "INGEST_FETCH_MAX_BYTES": [("1024", 1024), ("20971520", 20971520)],
    "INGEST_MAX_UPLOAD_BYTES": [("1", 1), ("52428800", 52428800)],
    "CELERY_TASK_SOFT_TIME_LIMIT": [("0", None), ("10", 10)],
    "CELERY_TASK_TIME_LIMIT": [("30", 30), ("0", None)],
    "LOG_LEVEL": [("warning", "WARNING"), ("ERROR", "ERROR")],
    "AXES_FAILURE_LIMIT": [("1", 1), (" 10 ", 10)],
    "AXES_COOLOFF_MINUTES": [("1", 1), ("60", 60)],
    "TRUSTED_PROXY_COUNT": [("0", 0), ("2", 2)],
    "RATE_LIMIT": [("off", "off"), (" 120/60 ", "120/60")],
    "PUBLIC_STATEMENT_TIMEOUT": [("0", 0), ("30", 30)],
}


@pytest.mark.parametrize("which", [0, 1])
def test_every_accepted_spelling_still_works(which):
    result = start_django(**{name: pairs[which][0] for name, pairs in SPELLINGS.items()})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {name: pairs[which][1] for name, pairs in SPELLINGS.items()}


# What each setting is when its variable is unset: for development, then with only DEBUG=false
# (safe values for production without setting each one).
DEFAULTS = {
    "SECURE_SSL_REDIRECT": (False, True),
    "SESSION_COOKIE_SECURE": (False, True),
    "CSRF_COOKIE_SECURE": (False, True),
    "CONN_MAX_AGE": (600, 600),
    "SECURE_HSTS_SECONDS": (0, 31536000),
    "INGEST_CLAIM_TIMEOUT": (300, 300),
    "INGEST_SWEEP_MIN_AGE": (60, 60),
    "INGEST_MAX_ATTEMPTS": (5, 5),
    "INGEST_RETRY_BACKOFF": (5, 5),
    "INGEST_KEEP_CONTENT_DAYS": (90, 90),
    "INGEST_FETCH_ALLOW": ([], []),
    "INGEST_FETCH_TIMEOUT": (30, 30),
    "INGEST_FETCH_MAX_BYTES": (20971520, 20971520),
    "INGEST_MAX_UPLOAD_BYTES": (52428800, 52428800),
    "CELERY_TASK_SOFT_TIME_LIMIT": (900, 900),
    "CELERY_TASK_TIME_LIMIT": (960, 960),
    "LOG_LEVEL": ("INFO", "INFO"),
    "AXES_FAILURE_LIMIT": (5, 5),
    "AXES_COOLOFF_MINUTES": (15, 15),
    "TRUSTED_PROXY_COUNT": (0, 0),
    "RATE_LIMIT": ("600/60", "600/60"),
    "PUBLIC_STATEMENT_TIMEOUT": (10, 10),
}


@pytest.mark.parametrize(("debug", "which"), [(None, 0), ("false", 1)], ids=["dev", "production"])
def test_unset_variables_keep_safe_defaults_for_development_and_production(debug, which):
    variables = {"DEBUG": debug} if debug else {}
    result = start_django(unset=("DEBUG", *DEFAULTS), **variables)
    assert result.returncode == 0, result.stderr
    expected = {name: values[which] for name, values in DEFAULTS.items()}
    assert json.loads(result.stdout) == {"DEBUG": debug is None, **expected}
