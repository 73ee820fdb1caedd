"""The demo, loaded once per test module inside a transaction that is rolled back afterwards.

Each test's own `db` transaction nests in it as a savepoint, so tests see the demo and leave
nothing behind, and the ~4 s load is paid once per module instead of once per test."""

from __future__ import annotations

import pytest
from django.db import transaction


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    from conflictmap.territory.demo import load_demo

    with django_db_blocker.unblock(), transaction.atomic():
        summary = load_demo()
        yield summary
        transaction.set_rollback(True)
