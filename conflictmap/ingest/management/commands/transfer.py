"""`manage.py transfer`: move the front (conflictmap.territory.transfer) from a script.

    transfer --to FACTION --date YYYY-MM-DD (--place NAME_OR_ID ... | --area FILE | --line FILE)
             [--radius-km R] [--contested] [--source URL] [--reason TEXT] [--publish] [--dry-run]
    transfer --revert MOVE_ID [--reason TEXT]

Prints JSON: the km² moved from each faction, the places that changed hands, the versions closed,
reshaped and opened. Refused moves exit non-zero with the reason and change nothing. It lives in
the ingest app because --area and --line files are read by ingest's vector parsers.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conflictmap.ingest import limits
from conflictmap.ingest.parsers import drawn
from conflictmap.ingest.parsers.vector import VectorError
from conflictmap.territory import transfer
from conflictmap.territory.models import FrontMove


class Command(BaseCommand):
    help = "Move the front: a faction takes places, a drawn area, or the ground behind a line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--to", dest="taker", help="The faction taking the ground (slug).")
        parser.add_argument("--date", help="First day it holds the ground, YYYY-MM-DD.")
        ground = parser.add_mutually_exclusive_group()
        ground.add_argument(
            "--place", action="append", default=[], metavar="NAME_OR_ID",
            help="A gazetteer place (name or id); repeat for several.",
        )  # fmt: skip
        ground.add_argument("--area", type=Path, help="A vector file of the area (polygons).")
        ground.add_argument("--line", type=Path, help="A vector file of the new front line.")
        ground.add_argument("--revert", type=int, metavar="MOVE_ID", help="Undo a move.")
        parser.add_argument(
            "--radius-km", type=float, default=transfer.DEFAULT_RADIUS_KM,
            help="How far a place's ground reaches at most (default %(default)s km).",
        )  # fmt: skip
        parser.add_argument(
            "--contested", action="store_true", help="Both sides hold the ground: no cut."
        )
        parser.add_argument("--source", action="append", default=[], metavar="URL")
        parser.add_argument("--reason", default="", help="Why; recorded in history.")
        parser.add_argument("--publish", action="store_true", help="New versions published.")
        parser.add_argument("--dry-run", action="store_true", help="Plan only; change nothing.")

    def handle(self, *args, **opts) -> None:
        try:
            if opts["revert"] is not None:
                record = FrontMove.objects.filter(pk=opts["revert"]).first()
                if record is None:
                    raise CommandError(f"--revert: no move {opts['revert']}")
                self._print(transfer.revert(record, reason=opts["reason"]))
                return
            move = self._move(opts)
            if opts["dry_run"]:
                summary = transfer.plan(move).summary()
                summary["dry_run"] = True
            else:
                summary = transfer.apply(move).summary()
        except transfer.TransferRefused as exc:
            raise CommandError(str(exc)) from None
        self._print(summary)

    def _move(self, opts: dict) -> transfer.Move:
        if not opts["taker"] or not opts["date"]:
            raise CommandError("--to and --date are required (or --revert MOVE_ID)")
        try:
            day = dt.date.fromisoformat(opts["date"])
        except ValueError:
            raise CommandError(f"--date: {opts['date']!r} is not YYYY-MM-DD") from None
        kwargs: dict = {}
        if opts["place"]:
            kwargs["places"] = [transfer.find_place(p) for p in opts["place"]]
        elif opts["area"] or opts["line"]:
            kind = "area" if opts["area"] else "line"
            kwargs[kind] = self._read(opts[kind], kind)
        else:
            raise CommandError("give the ground: --place NAME_OR_ID, --area FILE or --line FILE")
        return transfer.Move(
            taker=transfer.find_faction(opts["taker"]),
            day=day,
            radius_km=opts["radius_km"],
            contested=opts["contested"],
            sources=opts["source"],
            reason=opts["reason"],
            publish=opts["publish"],
            **kwargs,
        )

    @staticmethod
    def _read(path: Path, kind: str):
        if not path.is_file():
            raise CommandError(f"--{kind}: {path}: no such file")
        if path.stat().st_size > limits.max_upload_bytes():
            raise CommandError(limits.too_large(str(path), path.stat().st_size))
        try:
            return drawn.read(path.read_bytes(), path.name, kind)
        except VectorError as exc:
            raise CommandError(f"--{kind}: {exc}") from None

    def _print(self, data) -> None:
        self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str))
