"""What the project ships besides code: compose file, settings for production, the two commands."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose_file_is_valid_and_has_every_service():
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        command = ["docker", "compose"]
    else:
        assert shutil.which("docker-compose"), "neither `docker compose` nor docker-compose found"
        command = ["docker-compose"]
    result = subprocess.run(
        [*command, "-f", "docker-compose.yml", "config", "--services"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert {"db", "redis", "web", "worker", "beat"} <= set(result.stdout.split())


def clean_environ() -> dict[str, str]:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for their own process (Playwright's loop);
    # a deployment never has it, and check --deploy rightly refuses it.
    return {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}


def test_production_settings_pass_check_deploy():
    env = dict(
        clean_environ(),
        DEBUG="false",
        SECRET_KEY="x" * 20 + "-a-long-random-production-secret-" + "y" * 20,
        ALLOWED_HOSTS="conflictmap.example",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_readme_names_the_two_commands_and_ci_calls_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
