"""Write the map as a static site (conflictmap.web.snapshot): any static host or CDN serves it."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conflictmap.api import params as P
from conflictmap.web import snapshot


class Command(BaseCommand):
    help = (
        "Write the map page in static mode with the published zones, front lines, changes, "
        "events (PMTiles) and legend data into OUT_DIR; again later, rewrite what changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out_dir", help="Folder of the site (created; other files are kept).")
        parser.add_argument(
            "--from", dest="start", help="First day, YYYY-MM-DD (default: the data's)."
        )
        parser.add_argument("--to", dest="end", help="Last day, YYYY-MM-DD (default: the data's).")
        parser.add_argument(
            "--base-url",
            default="",
            help="Where the site will be served (http(s) URL or a path such as /map/); "
            "default: relative links, so it works from any folder.",
        )
        parser.add_argument(
            "--max-compare-dates",
            type=int,
            default=snapshot.DEFAULT_MAX_COMPARE_DATES,
            help="Write the changes between every pair of change dates up to this many dates; "
            "past it only consecutive dates and each date with the first.",
        )

    def handle(self, *args, out_dir: str, start: str | None, end: str | None, **opts) -> None:
        try:
            first = P.Param("from", "date", "").parse(start)
            last = P.Param("to", "date", "").parse(end)
        except P.ParamError as error:
            raise CommandError(f"--{error.parameter}: {error}") from None
        base_url = opts["base_url"]
        parts = urlsplit(base_url)
        if (
            base_url
            and not (parts.scheme in ("http", "https") and parts.netloc)
            and not (not parts.scheme and not parts.netloc and base_url.startswith("/"))
        ):
            raise CommandError(
                f"--base-url: {base_url!r} is neither an http(s) URL nor a path starting with /."
            )
        if opts["max_compare_dates"] < 2:
            raise CommandError("--max-compare-dates: at least 2.")
        try:
            summary = snapshot.publish(
                Path(out_dir),
                first=first,
                last=last,
                base_url=base_url,
                max_compare_dates=opts["max_compare_dates"],
            )
        except snapshot.SnapshotError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(summary))
