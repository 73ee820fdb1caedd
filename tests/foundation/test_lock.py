"""requirements.lock (written by `make lock`) is in step with pyproject.toml: every requirement,
the dev extras' and the build backend's included, is pinned there with hashes, and each pin
satisfies the range pyproject.toml gives. scripts/setup.sh and the Dockerfile install from it."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# One pinned distribution: `name==version [; marker] \` then its `--hash=` lines.
PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$"
)


def read_lock(text: str) -> dict[str, tuple[Version, Marker | None, int]]:
    """Each pin by canonical name: its version, its environment marker and how many hashes."""
    pins: dict[str, tuple[Version, Marker | None, int]] = {}
    name = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash=sha256:"):
            assert name, f"a hash before any pin: {line!r}"
            version, marker, hashes = pins[name]
            pins[name] = (version, marker, hashes + 1)
            continue
        match = PIN.match(stripped)
        assert match, f"requirements.lock: not a `name==version` pin: {line!r}"
        name = canonicalize_name(match["name"])
        marker = Marker(match["marker"]) if match["marker"] else None
        pins[name] = (Version(match["version"]), marker, 0)
    return pins


PINS = read_lock((ROOT / "requirements.lock").read_text())


def project_requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    texts = [
        *project["dependencies"],
        *project["optional-dependencies"]["dev"],
        *PYPROJECT["build-system"]["requires"],
    ]
    return [Requirement(text) for text in texts]


def extra_requirements(requirement: Requirement) -> list[Requirement]:
    """What the extras asked for (psycopg[binary], celery[redis]) add, read from the installed
    distribution's metadata (scripts/setup.sh installed the pinned version)."""
    found = []
    for text in metadata.requires(requirement.name) or []:
        extra_requirement = Requirement(text)
        marker = extra_requirement.marker
        if marker and any(marker.evaluate({"extra": extra}) for extra in requirement.extras):
            found.append(extra_requirement)
    return found


@pytest.mark.parametrize("requirement", project_requirements(), ids=str)
def test_every_requirement_of_pyproject_is_pinned_within_its_range(requirement):
    name = canonicalize_name(requirement.name)
    assert name in PINS, f"{name} is not in requirements.lock: run `make lock`"
    version, _, _ = PINS[name]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"requirements.lock pins {name}=={version}, outside pyproject.toml's {requirement}: "
        "run `make lock`"
    )
    for needed in extra_requirements(requirement):
        extra_name = canonicalize_name(needed.name)
        assert extra_name in PINS, f"{extra_name} (for {requirement}) is not in requirements.lock"
        assert needed.specifier.contains(PINS[extra_name][0], prereleases=True)


def test_every_pin_has_hashes_so_pip_checks_each_file():
    assert PINS
    assert [name for name, (_, _, hashes) in PINS.items() if hashes == 0] == []


def test_what_this_interpreter_needs_is_installed_at_the_pinned_version():
    """setup.sh installed the lock: each pin meant for this Python and platform is installed
    at exactly its version (a stale .venv or a hand-installed package shows here)."""
    wrong = {}
    for name, (version, marker, _) in PINS.items():
        if marker and not marker.evaluate():
            continue
        installed = Version(metadata.version(name))
        if installed != version:
            wrong[name] = f"{installed} installed, {version} pinned"
    assert wrong == {}


def test_the_lock_parser_rejects_what_is_not_a_pin():
    with pytest.raises(AssertionError, match="not a `name==version` pin"):
        read_lock("django>=5.2 \\\n    --hash=sha256:00\n")
    pins = read_lock(
        "async-timeout==5.0.1 ; python_full_version < '3.11.3' \\\n    --hash=sha256:ab\n"
    )
    assert pins["async-timeout"][0] == Version("5.0.1")
    assert str(pins["async-timeout"][1]) == 'python_full_version < "3.11.3"'
    assert pins["async-timeout"][2] == 1
