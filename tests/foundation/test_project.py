"""What the project ships besides code: compose file, settings for production, the two commands."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def compose(*arguments: str, **variables: str) -> subprocess.CompletedProcess:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        command = ["docker", "compose"]
    else:
        assert shutil.which("docker-compose"), "neither `docker compose` nor docker-compose found"
        command = ["docker-compose"]
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "POSTGRES_PASSWORD")}
    return subprocess.run(
        [*command, "-f", "docker-compose.yml", *arguments],
        cwd=ROOT,
        env=dict(env, **variables),
        capture_output=True,
        text=True,
    )


SECRETS = {"SECRET_KEY": "k" * 60, "POSTGRES_PASSWORD": "p4ssw0rd"}


def test_docker_compose_file_is_valid_and_has_every_service():
    result = compose("config", "-q", **SECRETS)
    assert result.returncode == 0, result.stderr
    result = compose("config", "--services", **SECRETS)
    assert {"db", "redis", "web", "worker", "beat", "proxy"} <= set(result.stdout.split())


def test_docker_compose_has_no_default_secret_and_web_refuses_to_start_without_one():
    # The file validates anywhere (`docker-compose config` needs no secrets), but carries none:
    # unset, the secrets resolve empty, and start-up refuses them (the postgres image refuses an
    # empty POSTGRES_PASSWORD the same way).
    result = compose("config")
    assert result.returncode == 0, result.stderr
    assert "SECRET_KEY: ''" in result.stdout and "POSTGRES_PASSWORD: ''" in result.stdout
    env = {**clean_environ(), "DEBUG": "false", "SECRET_KEY": "", "ALLOWED_HOSTS": "example.org"}
    refused = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert refused.returncode != 0 and "SECRET_KEY is not set" in refused.stderr


def test_only_the_tls_proxy_publishes_a_port():
    # `config` prints the resolved file with each service's keys indented under its name (no
    # YAML library in the environment: the services are read off their indentation).
    resolved = compose("config", **SECRETS).stdout
    services, current, section = {}, None, None
    for line in resolved.splitlines():
        if not line.startswith(" "):
            section = line.rstrip(":")
        elif section == "services" and re.fullmatch(r"  [a-z]+:", line):
            current = services.setdefault(line.strip().rstrip(":"), [])
        elif section == "services" and current is not None:
            current.append(line.strip())
    assert {"proxy", "web"} <= set(services)
    assert {name for name, lines in services.items() if "ports:" in lines} == {"proxy"}
    # What the proxy (Caddy) sets and overwrites, the web processes trust, and nothing else.
    assert "SECURE_PROXY_SSL_HEADER: X-Forwarded-Proto" in services["web"]


def clean_environ() -> dict[str, str]:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for their own process (Playwright's loop);
    # a deployment never has it, and check --deploy rightly refuses it.
    return {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}


STRONG_KEY = "x" * 20 + "-a-long-random-production-secret-" + "y" * 20
DEVELOPMENT_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"


def check_deploy(fail_level: str = "WARNING", unset: tuple[str, ...] = (), **variables: str):
    env = {k: v for k, v in clean_environ().items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", fail_level],
        cwd=ROOT,
        env=dict(env, **variables),
        capture_output=True,
        text=True,
    )


def test_production_settings_pass_check_deploy():
    result = check_deploy(DEBUG="false", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="conflictmap.example")
    assert result.returncode == 0, result.stdout + result.stderr


# What production must refuse: the check (and with DEBUG off, start-up itself) fails, naming it.
# The development key is 50 characters of many kinds, so Django's own W009 does not see it.
REFUSED = {
    "no-key": (
        {"DEBUG": "false", "ALLOWED_HOSTS": "conflictmap.example"},
        ("SECRET_KEY",),
        "ImproperlyConfigured: DEBUG is off but SECRET_KEY is not set",
    ),
    "development-key": (
        {"DEBUG": "false", "SECRET_KEY": DEVELOPMENT_KEY, "ALLOWED_HOSTS": "conflictmap.example"},
        (),
        "ImproperlyConfigured: DEBUG is off but SECRET_KEY is the development key",
    ),
    "no-hosts": (
        {"DEBUG": "false", "SECRET_KEY": STRONG_KEY},
        ("ALLOWED_HOSTS",),
        "ImproperlyConfigured: DEBUG is off but ALLOWED_HOSTS is empty",
    ),
    "empty-hosts": (
        {"DEBUG": "false", "SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": " , "},
        (),
        "ImproperlyConfigured: DEBUG is off but ALLOWED_HOSTS is empty",
    ),
    # Checked with DEBUG still on: errors of their own, so even the default fail level fails.
    "debug-on-development-key": (
        {"DEBUG": "true", "ALLOWED_HOSTS": "conflictmap.example"},
        ("SECRET_KEY",),
        "(conflictmap.E001) SECRET_KEY is the development key, which is public.",
    ),
    "debug-on-no-hosts": (
        {"DEBUG": "true", "SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": ""},
        (),
        "(conflictmap.E002) ALLOWED_HOSTS is empty.",
    ),
    "weak-key": (
        {"DEBUG": "false", "SECRET_KEY": "secret", "ALLOWED_HOSTS": "conflictmap.example"},
        (),
        "(security.W009)",
    ),
}


@pytest.mark.parametrize(("variables", "unset", "message"), REFUSED.values(), ids=list(REFUSED))
def test_check_deploy_fails_on_an_unsafe_production_setting(variables, unset, message):
    fail_level = "WARNING" if message == "(security.W009)" else "ERROR"
    result = check_deploy(fail_level, unset=unset, **variables)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def test_a_proxy_ssl_header_is_trusted_only_when_configured():
    show = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"

    def shown(**variables):
        env = {k: v for k, v in clean_environ().items() if k != "SECURE_PROXY_SSL_HEADER"}
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "--verbosity", "0", "-c", show],
            cwd=ROOT,
            env=dict(env, **variables),
            capture_output=True,
            text=True,
        )
        return result.stdout.strip() or result.stderr

    assert shown() == "None"
    assert (
        shown(SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto") == "('HTTP_X_FORWARDED_PROTO', 'https')"
    )
    assert shown(SECURE_PROXY_SSL_HEADER="X-Forwarded-Ssl: on") == "('HTTP_X_FORWARDED_SSL', 'on')"
    assert "is not a header name" in shown(SECURE_PROXY_SSL_HEADER="X Forwarded")


def test_the_readme_names_the_two_commands_and_ci_calls_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
