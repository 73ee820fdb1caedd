"""`manage.py ingest acled|feed|report|zones ...`: the workers' pipeline, run in process.

Prints a JSON summary; exits non-zero only when nothing could be read. `--queue` hands the work to
the Celery workers and prints the ImportRun id; `ingest status RUN_ID` shows a run's progress; `ingest prune` deletes old runs' bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
import zipfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conflictmap.ingest import limits, pipeline
from conflictmap.ingest.models import Feed, ImportRun
from conflictmap.ingest.pipeline.snapshot_diff import Tolerance
from conflictmap.territory.models import Confidence, Faction

ZONE_FILES = (".geojson", ".json", ".kml", ".kmz", ".gpkg", ".fgb", ".zip", ".shp")
SUFFIXES = {
    "acled": (".csv", ".txt"),
    "zones": ZONE_FILES,
    "report": (".txt", ".html", ".htm", ".md"),
    "feed": (".xml", ".rss", ".atom"),
}


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def read_vector_file(path: Path) -> bytes:
    """The file's bytes; a Shapefile's .shp comes with the files of the same name beside it
    (.shx, .dbf, .prj, .cpg ...) zipped together, the form an import run stores and reads."""
    if path.suffix.lower() != ".shp":
        return path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(path.parent.iterdir()):
            if part.stem == path.stem and part.is_file() and part.suffix.lower() != ".zip":
                archive.write(part, part.name)
    return buffer.getvalue()


def stored_size(path: Path) -> int:
    """At most how many bytes `read_vector_file` makes of the file (a Shapefile's parts zipped
    together take no more than their sum), known before anything is read."""
    if path.suffix.lower() != ".shp":
        return path.stat().st_size
    return sum(
        part.stat().st_size
        for part in path.parent.iterdir()
        if part.stem == path.stem and part.is_file() and part.suffix.lower() != ".zip"
    )


def refuse_too_large(name: str, size: int) -> None:
    if size > limits.max_upload_bytes():
        raise CommandError(limits.too_large(name, size))


class Command(BaseCommand):
    help = "Ingest ACLED CSV, RSS/Atom feeds, reports and control maps (see DESIGN.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="kind", required=True)
        for kind, what in (
            ("acled", "an ACLED CSV export (or a folder of them)"),
            ("feed", "an RSS/Atom feed URL or file (or a folder of files)"),
            ("report", "an article: a text or HTML file, a URL, or a folder of files"),
            (
                "zones",
                "a control map: GeoJSON, KML, KMZ, GeoPackage, FlatGeobuf, a Shapefile (.shp with "
                "the files beside it, or zipped) (or a folder of them)",
            ),
            (
                "snapshots",
                "a folder of whole-map snapshots, one zone file per date (the date in the file "
                "name, e.g. 2024-11-30.geojson, or in --date-field)",
            ),
        ):
            p = sub.add_parser(kind, help=f"ingest {what}")
            p.add_argument("source", help=what)
            p.add_argument("--queue", action="store_true", help="hand to the Celery workers")
            if kind == "zones":
                p.add_argument("--faction", required=True, help="slug of the controlling faction")
                p.add_argument("--date", required=True, help="first day of control, YYYY-MM-DD")
                p.add_argument("--zone", default="", help="one zone for all polygons")
                p.add_argument(
                    "--confidence", default=Confidence.CONFIRMED, choices=Confidence.values
                )
                p.add_argument("--publisher", default="", help="who made the map (the source)")
            if kind in ("acled", "zones"):
                p.add_argument(
                    "--publish", action="store_true",
                    help="publish the events or zone versions created (default: drafts)",
                )  # fmt: skip
            if kind in ("acled", "zones", "snapshots"):
                p.add_argument(
                    "--reason", default="",
                    help="reason kept in the history of what changes (default: the import's "
                    "kind and run id)",
                )  # fmt: skip
            if kind == "snapshots":
                self._snapshot_arguments(p)
            if kind == "report":
                p.add_argument("--title", default="")
                p.add_argument("--published", default="", help="report date, YYYY-MM-DD")
                p.add_argument("--publisher", default="")
                p.add_argument("--language", default="")
        status = sub.add_parser("status", help="progress and counts of an import run, as JSON")
        status.add_argument("run_id", type=int)
        sub.add_parser("sweep", help="re-queue pending or stale work now")
        prune = sub.add_parser(
            "prune",
            help="delete the stored bytes of runs that ended long ago (hash and counts stay)",
        )
        prune.add_argument(
            "--days", type=int, default=None,
            help="runs that ended more than this many days ago (default INGEST_KEEP_CONTENT_DAYS)",
        )  # fmt: skip
        sub.add_parser("poll", help="poll the feeds that are due, in process")

    @staticmethod
    def _snapshot_arguments(p: CommandParser) -> None:
        p.add_argument(
            "--faction-field", required=True,
            help="property holding each feature's faction (its slug, name or an alias)",
        )  # fmt: skip
        p.add_argument("--date-field", default="", help="property holding the date (YYYY-MM-DD)")
        p.add_argument(
            "--zone-field", default="",
            help="property naming each zone (default: zone, name or id); without one, a zone "
            "is known by its overlap with the faction's zones of the day before",
        )  # fmt: skip
        p.add_argument(
            "--publish", action="store_true", help="publish the versions (default: drafts)"
        )
        p.add_argument("--confidence", default=Confidence.CONFIRMED, choices=Confidence.values)
        p.add_argument("--publisher", default="", help="who made the snapshots (the source)")
        default = Tolerance()
        p.add_argument(
            "--tolerance-km2", type=float, default=None,
            help=f"a shape is unchanged when it differs by at most this many km² (default "
            f"{default.km2:g}) ...",
        )  # fmt: skip
        p.add_argument(
            "--tolerance-percent", type=float, default=None,
            help=f"... or by at most this share of its area, in percent (default "
            f"{default.share * 100:g})",
        )  # fmt: skip

    def handle(self, *args, **opts) -> None:
        kind = opts["kind"]
        if kind == "status":
            run = ImportRun.objects.filter(pk=opts["run_id"]).first()
            if run is None:
                raise CommandError(f"no import run {opts['run_id']}")
            self._print(pipeline.summary(run))
            return
        if kind == "sweep":
            self._print(pipeline.sweep(min_age=0))
            return
        if kind == "prune":
            self._print(pipeline.prune_content(opts["days"]))
            return
        if kind == "poll":
            out = []
            for pk in pipeline.due_feeds():
                try:
                    run = pipeline.poll_feed(pk, inline=True)
                except (pipeline.FetchError, ValueError) as exc:
                    out.append({"feed": pk, "error": str(exc)})
                    continue
                out.append({"feed": pk, "run": run.pk if run else None, "changed": bool(run)})
            self._print(out)
            return
        options = self._options(kind, opts)
        results = []
        for name, url, content, feed in self._inputs(kind, opts["source"]):
            run = pipeline.create_run(
                kind,
                content,
                filename=name,
                url=url,
                options=options,
                feed=feed,
                queue=opts["queue"],
                publish=opts.get("publish", False),
            )
            if opts["queue"]:
                results.append({"run": run.pk, "queued": True, "file": name or url})
                continue
            pipeline.process_run(run.pk, inline=True)
            results.append(pipeline.summary(run))
        self._print(results[0] if len(results) == 1 else results)
        for result in results:
            self._tell_already_stored(result.get("already_stored", []))
        if not opts["queue"] and all(self._nothing_read(r) for r in results):
            sys.exit(1)

    @staticmethod
    def _nothing_read(summary: dict) -> bool:
        read = summary["created"] + summary["updated"] + summary["unchanged"]
        return summary["state"] == ImportRun.State.FAILED or read == 0

    def _options(self, kind: str, opts: dict) -> dict:
        if kind == "zones":
            if not Faction.objects.filter(slug=opts["faction"]).exists():
                raise CommandError(f"--faction: no faction with slug {opts['faction']!r}")
            try:
                dt.date.fromisoformat(opts["date"])
            except ValueError:
                raise CommandError(f"--date: {opts['date']!r} is not YYYY-MM-DD") from None
            return {
                k: opts[k]
                for k in ("faction", "date", "zone", "confidence", "publisher", "reason")
                if opts.get(k)
            }
        if kind == "acled":
            return {"reason": opts["reason"]} if opts["reason"] else {}
        if kind == "snapshots":
            return self._snapshot_options(opts)
        if kind == "report":
            if opts["published"]:
                try:
                    dt.date.fromisoformat(opts["published"])
                except ValueError:
                    raise CommandError(
                        f"--published: {opts['published']!r} is not YYYY-MM-DD"
                    ) from None
            return {k: opts[k] for k in ("title", "published", "publisher", "language") if opts[k]}
        return {}

    @staticmethod
    def _snapshot_options(opts: dict) -> dict:
        options = {
            "faction_field": opts["faction_field"],
            "confidence": opts["confidence"],
        }
        options.update(
            {k: opts[k] for k in ("date_field", "zone_field", "publisher", "reason") if opts[k]}
        )
        tolerance = {}
        for option, key, scale in (
            ("tolerance_km2", "km2", 1),
            ("tolerance_percent", "share", 0.01),
        ):
            if opts[option] is not None:
                if not opts[option] >= 0:
                    raise CommandError(f"--{option.replace('_', '-')}: must be 0 or more")
                tolerance[key] = opts[option] * scale
        if tolerance:
            options["tolerance"] = tolerance  # Tolerance's own defaults otherwise
        return options

    def _inputs(self, kind: str, source: str):
        if kind == "snapshots":
            yield self._snapshots(source)
            return
        if is_url(source):
            feed = Feed.objects.filter(url=source).first() if kind == "feed" else None
            try:
                got = pipeline.fetch(source)
            except (pipeline.FetchError, ValueError) as exc:
                raise CommandError(f"cannot fetch {source}: {exc}") from exc
            yield "", source, got.content, feed
            return
        path = Path(source)
        if path.is_dir():
            files = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES[kind]
            )
            if not files:
                raise CommandError(f"{source}: no {'/'.join(SUFFIXES[kind])} files in this folder")
        elif path.is_file():
            files = [path]
        else:
            raise CommandError(f"{source}: no such file, folder or http(s) URL")
        for p in files:  # all checked before any is read or stored: all or nothing
            refuse_too_large(str(p), stored_size(p))
        for p in files:
            yield p.name, "", read_vector_file(p), None

    @staticmethod
    def _snapshots(source: str) -> tuple[str, str, bytes, None]:
        """The folder's zone files in one bundle (an import run applies them in date order)."""
        path = Path(source)
        if not path.is_dir():
            raise CommandError(f"{source}: not a folder (give the folder of snapshot files)")
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in ZONE_FILES)
        if not files:
            raise CommandError(f"{source}: no {'/'.join(ZONE_FILES)} files in this folder")
        # The folder is stored as one import run: its files together are held to the limit.
        refuse_too_large(str(path), sum(stored_size(p) for p in files))
        content = pipeline.bundle_snapshots((p.name, read_vector_file(p)) for p in files)
        return path.resolve().name, "", content, None

    def _tell_already_stored(self, reports: list[dict]) -> None:
        """A report received again stores nothing new: say so on stderr, with the candidates
        it has (the JSON on stdout carries the same, under "already_stored")."""
        for report in reports:
            title = report["title"] or report["url"]
            name = f" ({title[:77] + '...' if len(title) > 80 else title})" if title else ""
            self.stderr.write(
                f"Report {report['report']}{name} was stored already (same URL or text): nothing "
                f"new was stored. Its candidates:"
            )
            if not report["candidates"]:
                self.stderr.write(f"  none (report {report['state']})")
            for c in report["candidates"]:
                kind = " / ".join(t for t in (c["event_type"], c["sub_event_type"]) if t)
                self.stderr.write(
                    f"  #{c['id']} {kind or 'no type'}, {c['date'] or 'date unknown'}, "
                    f"{c['place'] or 'no place'}, {c['state']}"
                )

    def _print(self, data) -> None:
        self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str))
