"""Settings for conflictmap, read from the environment (12-factor).

The defaults are for a developer's machine. Production sets at least SECRET_KEY, DEBUG=false,
ALLOWED_HOSTS and the URLs of its database and Redis; `manage.py check --deploy` passes then.
Every variable is listed in the README.
"""

import datetime as dt
import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _load_runtime_env(path: Path) -> None:
    """Defaults written by scripts/setup.sh (e.g. the URL of a private PostgreSQL cluster).

    Real environment variables always win over this file.
    """
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.lstrip().startswith("#"):
            os.environ.setdefault(key.strip(), value.strip())


_load_runtime_env(Path(os.environ.get("CONFLICTMAP_VAR", BASE_DIR / "var")) / "runtime.env")


# A typed variable with a value of the wrong type stops start-up, naming the variable and what it
# accepts: a misspelt "SECURE_SSL_REDIRECT=ture" must not quietly turn HTTPS hardening off.
BOOLEAN_SPELLINGS = {
    **dict.fromkeys(("true", "yes", "on", "1"), True),
    **dict.fromkeys(("false", "no", "off", "0"), False),
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*\.?$"
)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return BOOLEAN_SPELLINGS[value.strip().lower()]
    except KeyError:
        accepted = ", ".join(BOOLEAN_SPELLINGS)
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a boolean: use one of {accepted} (any case)"
        ) from None


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a whole number of at least {minimum} (e.g. {default})"
        )
    return number


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().upper() not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value.strip().upper()


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_hosts_or_networks(name: str, default: str) -> list[str]:
    """A comma-separated list of host names and IP networks (10.0.0.0/8, 127.0.0.1, ::1/128)."""
    items = env_list(name, default)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            if not HOST_NAME.match(item):
                raise ImproperlyConfigured(
                    f"{name}: {item!r} is neither a host name nor an IP network (e.g. 10.0.0.0/8)"
                ) from None
    return items


def env_database(name: str, default: str, **options: object) -> dict:
    """The database settings from a URL; a malformed one is named but not echoed (it may hold a
    password)."""
    try:
        return dj_database_url.parse(os.environ.get(name, default), **options)
    except (ValueError, dj_database_url.ParseError, dj_database_url.UnknownSchemeError) as error:
        raise ImproperlyConfigured(f"{name} is not a usable database URL: {error}") from None


def env_redis_url(name: str, default: str) -> str:
    value = os.environ.get(name, default)
    if urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            f"{name} is not a Redis URL: it must start with redis://, rediss:// or unix://"
        )
    return value


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """The header a TLS-terminating proxy sets, as `X-Forwarded-Proto` (meaning https) or
    `Name: value`; None when unset. Trusting such a header without a proxy that overwrites it
    would let any client claim HTTPS, so it is never on by default."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    header, _, expected = value.partition(":")
    header, expected = header.strip(), expected.strip() or "https"
    if not re.fullmatch(r"[A-Za-z0-9-]+", header):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a header name, optionally with the value meaning HTTPS "
            "(e.g. X-Forwarded-Proto or X-Forwarded-Proto: https)"
        )
    return "HTTP_" + header.upper().replace("-", "_"), expected


DEBUG = env_bool("DEBUG", True)
# Production fails closed: with DEBUG off, start-up refuses to run without a secret key of its own
# (the development key is public: anyone could sign sessions and password-reset links with it)
# or without the host names it serves. conflictmap.web.checks makes `check --deploy` fail on both.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "").strip() or (DEVELOPMENT_SECRET_KEY if DEBUG else "")
if not DEBUG and SECRET_KEY in ("", DEVELOPMENT_SECRET_KEY):
    raise ImproperlyConfigured(
        "DEBUG is off but SECRET_KEY is "
        + ("not set" if not SECRET_KEY else "the development key")
        + ': set SECRET_KEY to a long random value of your own (e.g. `python -c "import secrets; '
        'print(secrets.token_urlsafe(50))"`)'
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DEBUG is off but ALLOWED_HOSTS is empty: set it to the host names the site is served "
        "under, comma-separated (e.g. ALLOWED_HOSTS=map.example.org)"
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "leaflet",
    "simple_history",
    "csp",
    "axes",
    "conflictmap.territory",
    "conflictmap.events",
    "conflictmap.ingest",
    "conflictmap.api",
    "conflictmap.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language from the session, the django_language cookie or Accept-Language (en default);
    # the map page also takes ?lang= so that a permalink carries the language chosen.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a visitor's safe requests may read from the replica, when there is one.
    "conflictmap.replica.PublicReadsMiddleware",
    # Visitors' API requests: rate limit and statement time limit (conflictmap/api/guard.py).
    "conflictmap.api.guard.PublicApiGuard",
    # Responses made for a signed-in user may show drafts: never kept by a shared cache.
    "conflictmap.api.guard.private_when_signed_in",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns its lock-out into the page that says so.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "conflictmap.urls"
WSGI_APPLICATION = "conflictmap.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Persistent connections: measured 74 req/s with CONN_MAX_AGE=0 against 337 req/s with 600 for
# zones-at-date, and a fresh backend pays ~10 ms to load PostGIS on its first call.
DATABASES = {
    "default": env_database(
        "DATABASE_URL",
        "postgis://postgres@127.0.0.1:5432/conflictmap",
        engine="django.contrib.gis.db.backends.postgis",
        conn_max_age=env_int("CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
# A PostgreSQL streaming replica of that database, for the reads of visitors who are not signed
# in (conflictmap.replica says who reads where); every write goes to the primary. In tests the
# replica is the test database itself (MIRROR): one set of data, routed the same way.
if os.environ.get("DATABASE_REPLICA_URL", "").strip():
    DATABASES["replica"] = env_database(
        "DATABASE_REPLICA_URL",
        "",
        engine="django.contrib.gis.db.backends.postgis",
        conn_max_age=env_int("CONN_MAX_AGE", 600),
        conn_health_checks=True,
        test_options={"MIRROR": "default"},
    )
DATABASE_ROUTERS = ["conflictmap.replica.PrimaryReplicaRouter"]
# psycopg's automatic server-side prepared statements stay off (Django's default): generic plans
# ignored the bbox size and made one viewport query 16x slower.

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Signing in is throttled per user name and address (django-axes, counted in the database so
# that it holds across processes): after AXES_FAILURE_LIMIT failures in a row that pair is locked
# out for AXES_COOLOFF_MINUTES, with a page that says so (web.views.locked_out, HTTP 429);
# `manage.py axes_reset_username NAME` lifts it at once.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "conflictmap.web.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "conflictmap.clients.client_address"
# Proxies in front that append to X-Forwarded-For: how the client's address is found (0: none,
# the header is ignored). conflictmap/clients.py.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # 12 characters: these accounts can publish to a public war map.
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ar", "العربية")]
TIME_ZONE = "UTC"
USE_I18N = True
# The interface's translations (`make messages` updates the .po and compiles the .mo, both committed).
LOCALE_PATHS = [BASE_DIR / "conflictmap" / "locale"]
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

REDIS_URL = env_redis_url("REDIS_URL", "redis://127.0.0.1:6379/0")

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Redis redelivers an unacknowledged message only after the visibility timeout; the periodic sweep
# re-queues pending work well before that anyway.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Every task's time limits, in seconds (0: none). At the soft limit the task is interrupted with
# an exception: its item records it and is retried (a big import resumes where it stopped); at
# the hard limit the worker process running it is killed and replaced, and the item's attempt is
# counted by the claim that re-takes it. The soft limit must come first.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 900) or None
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 960) or None
if (CELERY_TASK_SOFT_TIME_LIMIT or 0) >= (CELERY_TASK_TIME_LIMIT or float("inf")):
    raise ImproperlyConfigured(
        f"CELERY_TASK_SOFT_TIME_LIMIT ({CELERY_TASK_SOFT_TIME_LIMIT}) must be less than "
        f"CELERY_TASK_TIME_LIMIT ({CELERY_TASK_TIME_LIMIT}), so that a task can stop cleanly "
        "before its worker is killed"
    )
CELERY_BEAT_SCHEDULE = {
    "poll-due-feeds": {"task": "conflictmap.ingest.tasks.poll_due_feeds", "schedule": 60.0},
    "sweep-pending": {"task": "conflictmap.ingest.tasks.sweep_pending", "schedule": 120.0},
    "prune-content": {"task": "conflictmap.ingest.tasks.prune_content", "schedule": 86400.0},
}
# Ingestion: a claimed item whose worker shows no sign of life for this long is taken again; the
# sweep re-queues items pending for longer than INGEST_SWEEP_MIN_AGE seconds.
# A timeout of 0 would let a second worker take every claim at once: at least one second.
INGEST_CLAIM_TIMEOUT = env_int("INGEST_CLAIM_TIMEOUT", 300, minimum=1)
INGEST_SWEEP_MIN_AGE = env_int("INGEST_SWEEP_MIN_AGE", 60)
# An import run or report whose attempts reach INGEST_MAX_ATTEMPTS, or a feed with that many
# failed polls in a row, is marked failed with the reason instead of being tried again forever;
# a task's retries wait INGEST_RETRY_BACKOFF seconds, doubled each time (up to ten minutes).
INGEST_MAX_ATTEMPTS = env_int("INGEST_MAX_ATTEMPTS", 5, minimum=1)
INGEST_RETRY_BACKOFF = env_int("INGEST_RETRY_BACKOFF", 5)
# The bytes of an import run are deleted this many days after it ended (0: kept forever); what
# came of them (hash, counts, rejections) stays.
INGEST_KEEP_CONTENT_DAYS = env_int("INGEST_KEEP_CONTENT_DAYS", 90)
# Fetching feeds and articles: only public addresses (checked after DNS, on every redirect)
# unless listed here; the whole fetch ends within INGEST_FETCH_TIMEOUT seconds, however slowly
# the server sends; a body larger than INGEST_FETCH_MAX_BYTES is refused.
INGEST_FETCH_ALLOW = env_hosts_or_networks("INGEST_FETCH_ALLOW", "")
INGEST_FETCH_TIMEOUT = env_int("INGEST_FETCH_TIMEOUT", 30, minimum=1)
INGEST_FETCH_MAX_BYTES = env_int("INGEST_FETCH_MAX_BYTES", 20 * 1024 * 1024, minimum=1)
# Files given to ingestion (admin upload, `ingest` command) are refused above this size; an
# upload is stopped at the limit while it arrives (conflictmap/ingest/uploads.py).
INGEST_MAX_UPLOAD_BYTES = env_int("INGEST_MAX_UPLOAD_BYTES", 50 * 1024 * 1024, minimum=1)
# Django's own request limits, stated: form fields (a pasted report) up to 2.5 MiB in all, and a
# file above 2.5 MiB goes to a temporary file rather than memory while it is uploaded.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# The public API under abuse (conflictmap/api/guard.py): at most RATE_LIMIT requests per client
# address in a window of seconds ("600/60"; "off": none), and each SQL statement of a visitor's
# API request stopped after PUBLIC_STATEMENT_TIMEOUT seconds (503; 0: no limit).
RATE_LIMIT = os.environ.get("RATE_LIMIT", "600/60").strip()
if not re.fullmatch(r"(?i)off|0*[1-9]\d*/0*[1-9]\d*", RATE_LIMIT):
    raise ImproperlyConfigured(
        f"RATE_LIMIT={RATE_LIMIT!r} is not requests/seconds (e.g. 600/60) or off"
    )
PUBLIC_STATEMENT_TIMEOUT = env_int("PUBLIC_STATEMENT_TIMEOUT", 10)

# Map: tiles are configurable; with no tile server reachable the map still draws our own layers.
MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "&copy; OpenStreetMap contributors")
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (35.8, 38.3),
    "DEFAULT_ZOOM": 7,
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 18,
    "RESET_VIEW": False,
    "TILES": [("OpenStreetMap", MAP_TILE_URL, {"attribution": MAP_TILE_ATTRIBUTION})]
    if MAP_TILE_URL
    else [],
    "ATTRIBUTION_PREFIX": "conflictmap",
    # The map page's clustering plugin, vendored by scripts/vendor.sh (only the map page asks for it).
    "PLUGINS": {
        "markercluster": {
            "css": [
                "vendor/leaflet.markercluster/MarkerCluster.css",
                "vendor/leaflet.markercluster/MarkerCluster.Default.css",
            ],
            "js": "vendor/leaflet.markercluster/leaflet.markercluster.js",
        },
        # Draws the event vector tiles when a window holds too many events for markers.
        "vectorgrid": {"js": "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"},
        # Offline context under the admin's map widgets (outlines, places, neighbouring zones):
        # included only by the admin (conflictmap.territory.admin.OfflineContextMixin). A plain
        # script that imports the map page's base layers, js/shared/basemap.js, as a module.
        "admin-context": {
            "css": ["css/admin/context.css"],
            "js": ["js/admin/context.js"],
            "auto-include": False,
        },
    },
}


def tile_origin(url: str) -> str | None:
    """The origin of a Leaflet tile URL template for the CSP's img-src; a `{s}` subdomain
    becomes a wildcard (https://{s}.tile.example.org/... -> https://*.tile.example.org)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{re.sub(r'[{][^}]*[}]', '*', parts.netloc)}"


# Content-Security-Policy on every response, map and admin alike: scripts and styles from this
# site only, no inline script or style and no eval (text from the database can then never run
# even if it became markup), images also from the base tiles' server, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *filter(None, [tile_origin(MAP_TILE_URL)])],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Browser features the site never uses, off for it and anything it could embed.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "browsing-topics", "camera", "display-capture",
        "encrypted-media", "geolocation", "gyroscope", "hid", "magnetometer", "microphone",
        "midi", "payment", "publickey-credentials-get", "serial", "usb", "xr-spatial-tracking",
    )
}  # fmt: skip
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Only behind a proxy that sets (and overwrites) this header: e.g. SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

SILENCED_SYSTEM_CHECKS = [
    # Debian 12 ships GDAL 3.6; Django 5.2 warns that GDAL < 3.9 support will be dropped in a later
    # release. It works with 5.2 LTS, and the warning would otherwise print on every command.
    "gis.W001",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_choice("LOG_LEVEL", "INFO", LOG_LEVELS)},
    # django-axes: its lock-outs and repeated failures (warnings), not each attempt.
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
