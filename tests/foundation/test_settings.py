"""Settings read from the environment fail loudly: a typed variable with a value of the wrong type
stops start-up with ImproperlyConfigured naming it and what it accepts, instead of quietly reading
as something else (before, `SECURE_SSL_REDIRECT=ture` turned the redirect off)."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.foundation.test_project import clean_environ

ROOT = Path(__file__).resolve().parents[2]

PRINT_SETTINGS = (
    "from django.conf import settings as s; "
    "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
    "s.DATABASES['default']['CONN_MAX_AGE'], s.SECURE_HSTS_SECONDS, s.INGEST_CLAIM_TIMEOUT, "
    "s.INGEST_SWEEP_MIN_AGE, s.LOGGING['root']['level'])"
)


def start_django(unset: tuple[str, ...] = (), **variables: str) -> subprocess.CompletedProcess:
    """`manage.py shell` in a fresh process (settings, apps, logging: the whole start-up) with
    these environment variables set and those in `unset` removed, printing the settings they feed."""
    env = {k: v for k, v in clean_environ().items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "--verbosity", "0", "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env=dict(env, SECRET_KEY="s" * 60, **variables),
        capture_output=True,
        text=True,
        timeout=60,
    )


BOOLEANS = "true, yes, on, 1, false, no, off, 0 (any case)"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SECURE_SSL_REDIRECT", "ture", f"SECURE_SSL_REDIRECT='ture' is not a boolean: use one of {BOOLEANS}"),
        ("DEBUG", "flase", f"DEBUG='flase' is not a boolean: use one of {BOOLEANS}"),
        ("SESSION_COOKIE_SECURE", "", f"SESSION_COOKIE_SECURE='' is not a boolean: use one of {BOOLEANS}"),
        ("CSRF_COOKIE_SECURE", "2", f"CSRF_COOKIE_SECURE='2' is not a boolean: use one of {BOOLEANS}"),
        ("CONN_MAX_AGE", "abc", "CONN_MAX_AGE='abc' is not a whole number of at least 0 (e.g. 600)"),
        ("CONN_MAX_AGE", "1.5", "CONN_MAX_AGE='1.5' is not a whole number of at least 0 (e.g. 600)"),
        ("SECURE_HSTS_SECONDS", "-1", "SECURE_HSTS_SECONDS='-1' is not a whole number of at least 0"),
        ("INGEST_CLAIM_TIMEOUT", "0", "INGEST_CLAIM_TIMEOUT='0' is not a whole number of at least 1 (e.g. 300)"),
        ("INGEST_SWEEP_MIN_AGE", "1m", "INGEST_SWEEP_MIN_AGE='1m' is not a whole number of at least 0 (e.g. 60)"),
        ("LOG_LEVEL", "verbose", "LOG_LEVEL='verbose' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("REDIS_URL", "127.0.0.1:6379", "REDIS_URL is not a Redis URL: it must start with redis://, rediss:// or unix://"),
    ],
)  # fmt: skip
def test_a_value_of_the_wrong_type_stops_start_up_naming_the_variable(name, value, message):
    result = start_django(**{name: value})
    assert result.returncode != 0
    assert f"django.core.exceptions.ImproperlyConfigured: {message}" in result.stderr


def test_a_malformed_database_url_is_named_without_echoing_its_password():
    result = start_django(DATABASE_URL="postgis://user:hunter2@127.0.0.1:54x/conflictmap")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL is not a usable database URL" in result.stderr
    assert "hunter2" not in result.stderr


def test_an_unknown_database_scheme_is_named():
    result = start_django(DATABASE_URL="mysqlx://127.0.0.1/conflictmap")
    assert "ImproperlyConfigured: DATABASE_URL is not a usable database URL" in result.stderr
    assert "Scheme 'mysqlx://' is unknown" in result.stderr


def test_every_accepted_spelling_still_works_in_any_case_and_with_spaces():
    on = start_django(
        DEBUG=" TRUE ",
        SECURE_SSL_REDIRECT="Yes",
        SESSION_COOKIE_SECURE="on",
        CSRF_COOKIE_SECURE="1",
        CONN_MAX_AGE=" 60 ",
        SECURE_HSTS_SECONDS="0",
        INGEST_CLAIM_TIMEOUT="1",
        INGEST_SWEEP_MIN_AGE="0",
        LOG_LEVEL="warning",
    )
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip() == "True True True True 60 0 1 0 WARNING"

    off = start_django(
        DEBUG="False",
        SECURE_SSL_REDIRECT="no",
        SESSION_COOKIE_SECURE="OFF",
        CSRF_COOKIE_SECURE="0",
        CONN_MAX_AGE="0",
        SECURE_HSTS_SECONDS="3600",
        INGEST_CLAIM_TIMEOUT="300",
        INGEST_SWEEP_MIN_AGE="60",
        LOG_LEVEL="ERROR",
    )
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == "False False False False 0 3600 300 60 ERROR"


def test_unset_variables_keep_their_defaults():
    names = (
        "DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
        "CONN_MAX_AGE", "SECURE_HSTS_SECONDS", "INGEST_CLAIM_TIMEOUT", "INGEST_SWEEP_MIN_AGE",
        "LOG_LEVEL",
    )  # fmt: skip
    result = start_django(unset=names)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True False False False 600 0 300 60 INFO"
