"""The floors of conflictmap/, checked from the source: who may import whom, and no cycles.

The imports are read with `ast`, every one of them, those inside functions (lazy imports)
included: a lazy import hides a dependency from the reader, not from the design.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "conflictmap"

# Modules that serve HTTP requests (views, health checks, the admin's pages) import one of these.
HTTP_MODULES = ("django.http", "django.views", "django.shortcuts", "django.template.response")

# The floors: what the modules of a part of the package may not import. The neutral modules
# (SQL/GeoJSON writing, geometry, slugs) import no app; the domain apps none built on them.
APPS = ("territory", "events", "ingest", "api", "web")
FORBIDDEN = {
    "geojson": APPS,
    "gis": APPS,
    "slugs": APPS,
    "replica": APPS,
    "territory": ("ingest", "api", "web"),
    "events": ("ingest", "api", "web"),
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_modules(root: Path, package: str) -> dict[str, ast.Module]:
    """Every module of `package` (a folder under `root`), parsed."""
    return {
        module_name(path, root): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted((root / package).rglob("*.py"))
    }


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    # `from . import x` in a package's __init__ is relative to the package itself.
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, tree: ast.Module, known: Iterable[str], is_package: bool) -> set[str]:
    """The names `module` imports anywhere in its body: modules of `known` where they are
    modules (`from pkg import mod` imports pkg.mod), else the dotted name itself."""
    known = set(known)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, is_package, node)
            for alias in node.names:
                child = f"{source}.{alias.name}"
                found.add(child if child in known else source)
    return found


def import_graph(modules: dict[str, ast.Module], package: str) -> dict[str, set[str]]:
    """module -> the modules of `package` it imports (itself left out)."""
    packages = {name for name, tree in modules.items() if _is_package(modules, name)}
    graph = {}
    for name, tree in modules.items():
        targets = imports_of(name, tree, modules, name in packages)
        graph[name] = {
            t for t in targets if t in modules and t != name and t.split(".")[0] == package
        }
    return graph


def _is_package(modules: dict[str, ast.Module], name: str) -> bool:
    return any(other.startswith(name + ".") for other in modules)


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def serves_http(tree: ast.Module) -> bool:
    names = imports_of("", tree, (), False)
    return any(n == m or n.startswith(m + ".") for n in names for m in HTTP_MODULES)


def _part(module: str) -> str:
    """The part of the package a module is in: "territory" for pkg.territory.queries."""
    return module.split(".")[1] if "." in module else ""


def violations(modules: dict[str, ast.Module], package: str) -> list[str]:
    """What breaks the floors: a part importing what FORBIDDEN keeps from it, a command
    importing a module that serves HTTP, any import cycle."""
    graph = import_graph(modules, package)
    http = {name for name, tree in modules.items() if serves_http(tree)}
    found = []
    for name, targets in sorted(graph.items()):
        for target in sorted(targets):
            if _part(target) in FORBIDDEN.get(_part(name), ()):
                found.append(
                    f"{name} imports {target}: {_part(name)} must not import {_part(target)}"
                )
            if ".management.commands." in name and target in http:
                found.append(f"{name} imports {target}: a command must not import a view")
    for cycle in cycles(graph):
        found.append(f"import cycle: {' -> '.join(sorted(cycle))}")
    return found


def test_conflictmap_keeps_its_floors_and_has_no_import_cycle():
    assert violations(read_modules(ROOT, PACKAGE), PACKAGE) == []


# --- the checker itself, on small packages written for the purpose -----------------------------


def write(root: Path, files: dict[str, str]) -> dict[str, ast.Module]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return read_modules(root, "pkg")


BASE = {"pkg/__init__.py": "", "pkg/territory/__init__.py": "", "pkg/api/__init__.py": ""}


def test_it_finds_a_cycle_made_by_a_lazy_import(tmp_path):
    modules = write(
        tmp_path,
        {
            **BASE,
            "pkg/api/a.py": "from pkg.api import b\n",
            "pkg/api/b.py": "def f():\n    from . import a\n",
        },
    )
    assert violations(modules, "pkg") == ["import cycle: pkg.api.a -> pkg.api.b"]


def test_it_finds_territory_importing_api_through_a_relative_import(tmp_path):
    modules = write(
        tmp_path, {**BASE, "pkg/api/geo.py": "", "pkg/territory/q.py": "from ..api import geo\n"}
    )
    assert violations(modules, "pkg") == [
        "pkg.territory.q imports pkg.api.geo: territory must not import api"
    ]


def test_it_finds_a_command_importing_a_view(tmp_path):
    modules = write(
        tmp_path,
        {
            **BASE,
            "pkg/api/views.py": "from django.http import HttpResponse\n",
            "pkg/api/management/__init__.py": "",
            "pkg/api/management/commands/__init__.py": "",
            "pkg/api/management/commands/export.py": "import pkg.api.views\n",
        },
    )
    assert violations(modules, "pkg") == [
        "pkg.api.management.commands.export imports pkg.api.views: a command must not import a view"
    ]


def test_it_keeps_the_neutral_modules_free_of_the_apps(tmp_path):
    modules = write(tmp_path, {**BASE, "pkg/gis.py": "def f():\n    import pkg.territory\n"})
    assert violations(modules, "pkg") == [
        "pkg.gis imports pkg.territory: gis must not import territory"
    ]


@pytest.mark.parametrize(
    "text", ["from pkg.api import helpers\n", "import pkg.api.helpers as h\n", "import os\n"]
)
def test_it_lets_api_import_anything_below_it(tmp_path, text):
    modules = write(
        tmp_path,
        {**BASE, "pkg/api/helpers.py": "from pkg.territory import q\n", "pkg/territory/q.py": "",
         "pkg/api/views.py": text},
    )  # fmt: skip
    assert violations(modules, "pkg") == []
