"""Layering of ingestion, read from the source with `ast`: the tasks import the pipeline and the
pipeline queues them by name, never importing tasks.py; the pipeline's modules import each other
without a cycle; and the names it queues by are the names the tasks register."""

from __future__ import annotations

import ast
import graphlib
import importlib.util
from pathlib import Path

import pytest

from conflictmap.ingest import pipeline

PACKAGE = "conflictmap.ingest.pipeline"
FOLDER = Path(pipeline.__file__).parent
MODULES = sorted(FOLDER.glob("*.py"))


def module_name(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def imports(path: Path) -> set[str]:
    """Every module and name the file imports, anywhere in it (inside functions too), as absolute
    dotted names: `from .. import tasks` gives conflictmap.ingest and conflictmap.ingest.tasks."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            relative = "." * node.level + (node.module or "")
            base = importlib.util.resolve_name(relative, PACKAGE) if node.level else relative
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_the_reader_of_imports_sees_relative_imports_inside_functions(tmp_path):
    source = tmp_path / "example.py"
    source.write_text("def f():\n    from .. import tasks\n    from .claims import hold_run\n")
    assert {"conflictmap.ingest.tasks", f"{PACKAGE}.claims"} <= imports(source)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_module_of_the_pipeline_imports_the_tasks(path):
    tasks = "conflictmap.ingest.tasks"
    assert not {name for name in imports(path) if name == tasks or name.startswith(tasks + ".")}


def test_the_modules_of_the_pipeline_import_each_other_without_a_cycle():
    submodules = {module_name(p): p for p in MODULES if p.stem != "__init__"}
    graph = {name: imports(path) & submodules.keys() for name, path in submodules.items()}
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError
    assert set(order) == submodules.keys()
    for name, path in submodules.items():  # and none takes a name from the package's __init__
        from_init = {
            imported
            for imported in imports(path)
            if imported.rpartition(".")[0] == PACKAGE and imported not in submodules
        }
        assert not from_init, name


def test_the_task_names_the_pipeline_queues_by_are_those_the_tasks_register(settings):
    from conflictmap.celery import app
    from conflictmap.ingest import tasks
    from conflictmap.ingest.pipeline import queueing

    registered = {
        queueing.PROCESS_RUN: tasks.process_run,
        queueing.PROCESS_REPORT: tasks.process_report,
        queueing.POLL_FEED: tasks.poll_feed,
        queueing.POLL_DUE_FEEDS: tasks.poll_due_feeds,
        queueing.SWEEP_PENDING: tasks.sweep_pending,
        queueing.PRUNE_CONTENT: tasks.prune_content,
    }
    for name, task in registered.items():
        assert task.name == name and name in app.tasks
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in registered
