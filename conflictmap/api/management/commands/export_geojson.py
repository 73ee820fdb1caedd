"""Export events, zones, front lines or changes as an RFC 7946 FeatureCollection, streamed with
the same writer (conflictmap.geojson) and the same SQL as the HTTP API."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from conflictmap.api import params as P
from conflictmap.api import state
from conflictmap.events import queries as event_sql
from conflictmap.geojson import feature_collection, parallel_feature_batches, stream_query
from conflictmap.territory import queries as territory


class Command(BaseCommand):
    help = "Export events|zones|frontlines|changes as GeoJSON (published data unless --drafts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["events", "zones", "frontlines", "changes"])
        parser.add_argument("--date", help="zones/frontlines: the day, YYYY-MM-DD.")
        parser.add_argument(
            "--from", dest="start", help="First day (inclusive): events, zones period, changes."
        )
        parser.add_argument("--to", dest="end", help="Last day (inclusive).")
        parser.add_argument("--bbox", help="W,S,E,N in lon/lat.")
        parser.add_argument("--type", help="events: ACLED event type(s), comma-separated.")
        parser.add_argument("--actor", help="events: faction slug(s), comma-separated.")
        parser.add_argument("--q", help="events: text in summary or location name.")
        parser.add_argument(
            "--drafts",
            action="store_true",
            help="Include draft and retracted records, marked by their status property.",
        )
        parser.add_argument("-o", "--output", help="File to write (default: standard output).")
        parser.add_argument(
            "--jobs",
            type=int,
            choices=[1, 2],
            default=2,
            help="events: database connections reading at once (2: two id ranges on one "
            "snapshot, for large unfiltered exports).",
        )

    def handle(self, *args, kind: str, **opts) -> None:
        try:
            chunks = self.chunks(kind, opts)
            self.write(chunks, opts.get("output"))
        except P.ParamError as error:
            raise CommandError(f"--{error.parameter.replace('start', 'from')}: {error}") from None

    def chunks(self, kind: str, opts: dict) -> Iterable[bytes]:
        staff = opts["drafts"]
        bbox = P.BBOX.parse(opts.get("bbox"))
        date = P.DATE.parse(opts.get("date"))
        start = P.Param("from", "date", "").parse(opts.get("start"))
        end = P.Param("to", "date", "").parse(opts.get("end"))
        P.check_order({"from": start, "to": end}, "from", "to")
        if kind == "events":
            values = {
                "start": start,
                "end": end,
                "bbox": bbox,
                "type": P.ENDPOINTS["events"].params[3].parse(opts.get("type")),
                "actor": P.Param("actor", "slugs", "").parse(opts.get("actor")),
                "q": P.Param("q", "text", "").parse(opts.get("q")),
            }
            flt = P.event_filter(values, staff=staff)
            # Two connections only outside a transaction: the second one could not see
            # uncommitted rows of the first.
            if opts["jobs"] > 1 and not connection.in_atomic_block:
                parts = event_sql.halves(flt)
                if parts:
                    return feature_collection(parallel_feature_batches(*parts))
            return stream_query(event_sql.features(flt))
        if kind == "zones":
            if date:
                # The same bytes as /api/v1/zones?date= (its head says the days the state lasts).
                return [state.zones_body(state.state_at(date, bbox, staff=staff))]
            if start and end:
                query = territory.zones_between(start, end, bbox=bbox, staff=staff)
                return stream_query(query, head={"from": start.isoformat(), "to": end.isoformat()})
            raise P.ParamError("date", "zones needs --date, or --from and --to.")
        if kind == "frontlines":
            if not date:
                raise P.ParamError("date", "frontlines needs --date.")
            query = territory.frontlines_at(date, bbox=bbox, staff=staff)
            head = {"date": date.isoformat(), "tolerance_m": territory.FRONT_TOLERANCE_M}
            return stream_query(query, head=head)
        if not (start and end):
            raise P.ParamError("from", "changes needs --from and --to.")
        return [territory.changes_collection(start, end, staff=staff)]

    def write(self, chunks: Iterable[bytes], path: str | None) -> None:
        if path and path != "-":
            with open(path, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
        else:
            out = sys.stdout.buffer
            for chunk in chunks:
                out.write(chunk)
            out.flush()
