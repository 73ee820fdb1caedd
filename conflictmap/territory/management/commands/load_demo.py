"""`manage.py load_demo`: the demo factions, regions, gazetteer, zones and events (idempotent)."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError


class Command(BaseCommand):
    help = (
        "Load (or refresh) the demo: factions, Syria and neighbours (Natural Earth), approximate "
        "governorates, the GeoNames gazetteer and a sourced demo of 26 Nov - 12 Dec 2024. "
        "Idempotent and in one transaction; prints a JSON summary of the counts."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--reason",
            default="Demo data (load_demo)",
            help="reason kept in the history of every record the demo writes",
        )

    def handle(self, *args, **options) -> None:
        from conflictmap.territory.demo import load_demo
        from conflictmap.territory.editorial import changes_because

        try:
            with changes_because(options["reason"]):
                summary = load_demo()
        except (ValidationError, DatabaseError) as exc:
            raise CommandError(f"load_demo failed, nothing was written: {exc}") from exc
        self.stdout.write(json.dumps(summary.as_dict(), indent=2))
