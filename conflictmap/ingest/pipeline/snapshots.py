"""`ingest snapshots DIR`: a history of whole-map snapshots, one file per date, as zone versions
written only where the map changed (snapshot_diff says how).

One import run holds the whole directory: its bytes are a zip of the snapshot files as received
(`bundle_snapshots`), so one worker applies them in date order. Each snapshot is applied in its own
transaction, with its problems and its line of the run's report (`options["snapshots"]`), under a
lock that serialises snapshot imports; a run taken over after a crash skips the files it has
reported. A Snapshot row records each applied date and file hash: a snapshot older than the
latest recorded is refused, and the same file for a recorded date is "already applied", so
running the same directory again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from conflictmap.territory.models import Confidence, Faction

from ..models import ImportRun, Snapshot
from ..parsers import Problem
from ..parsers import zones as zones_parser
from ..parsers.vector import VectorError
from .claims import hold_run
from .progress import finish_run, save_problems
from .snapshot_diff import Tolerance, Writing, apply_snapshot, pieces_from
from .zones import map_source, repair_features

# 2024-11-30, 2024_11_30, 20241130 in a file name, not inside a longer number.
DATE_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d\d)[-_.]?(\d\d)[-_.]?(\d\d)(?!\d)")
# pg_advisory_xact_lock key: one snapshot at a time, whichever run or worker applies it.
SNAPSHOT_LOCK = 0x5A0E_5A95


def bundle_snapshots(files: Iterable[tuple[str, bytes]]) -> bytes:
    """The snapshot files (name, bytes as received) as the zip an import run stores."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            archive.writestr(name, content)
    return buffer.getvalue()


def date_in_name(name: str) -> dt.date | None:
    for match in DATE_IN_NAME.finditer(name):
        try:
            return dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            continue
    return None


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


class FactionNames:
    """A snapshot's faction values matched on a faction's slug, name, short name, Arabic name or
    aliases (case and spacing ignored); nothing is guessed beyond that."""

    def __init__(self) -> None:
        self.by_key: dict[str, set[int]] = defaultdict(set)
        self.factions = {f.pk: f for f in Faction.objects.all()}
        for f in self.factions.values():
            for name in [f.slug, f.name, f.short_name, f.name_ar, *(f.aliases or [])]:
                if name:
                    self.by_key[self.key(name)].add(f.pk)

    @staticmethod
    def key(value: object) -> str:
        return " ".join(str(value).casefold().split())

    def resolve(self, value: object) -> tuple[Faction | None, str]:
        if value is None or not self.key(value):
            return None, "has no faction"
        ids = self.by_key.get(self.key(value), set())
        if len(ids) > 1:
            names = ", ".join(sorted(self.factions[i].slug for i in ids))
            return None, f"faction {str(value)[:80]!r} matches several factions ({names})"
        if not ids:
            return (
                None,
                f"faction {str(value)[:80]!r} is unknown (no faction has that slug, name or alias)",
            )
        return self.factions[next(iter(ids))], ""


def _dates(
    archive: zipfile.ZipFile, names: list[str], date_field: str
) -> tuple[list[tuple[dt.date, str]], dict[str, str]]:
    """Each file's date (from `date_field` when given, else the file name), sorted; and the
    files refused for their date, with the reason."""
    dated: dict[str, dt.date] = {}
    refused: dict[str, str] = {}
    for name in names:
        if date_field:
            try:
                values = zones_parser.property_values(archive.read(name), name, date_field)
            except VectorError as exc:
                refused[name] = str(exc)
                continue
            days = {_as_date(v) for v in values}
            if None in days:
                refused[name] = f"a feature has no date in {date_field!r} (YYYY-MM-DD)"
            elif len(days) != 1:
                listed = ", ".join(sorted(d.isoformat() for d in days)[:5])
                refused[name] = (
                    f"its features carry {len(days)} dates in {date_field!r} ({listed}); "
                    "one file per date"
                )
            else:
                dated[name] = days.pop()
        elif (day := date_in_name(name)) is not None:
            dated[name] = day
        else:
            refused[name] = (
                "no date in the file name (e.g. 2024-11-30.geojson or control_20241130.kml); "
                "or pass --date-field"
            )
    per_day = Counter(dated.values())
    for name, day in list(dated.items()):
        if per_day[day] > 1:
            others = sorted(n for n, d in dated.items() if d == day)
            refused[name] = (
                f"{len(others)} files for {day.isoformat()} ({', '.join(others)}); none is applied"
            )
    for name in refused:
        dated.pop(name, None)
    return sorted((day, name) for name, day in dated.items()), refused


def _record(
    run: ImportRun, token: dt.datetime, entry: dict, problems: list[Problem], *,
    opened: int = 0, closed: int = 0, unchanged: bool = False,
) -> None:  # fmt: skip
    """One file's line of the report, its problems and the run's counts, written with the
    snapshot's own writes (call inside its transaction)."""
    hold_run(run, token)
    rejected, _ = save_problems(run, problems)
    run.options = {
        **run.options,
        "snapshots": [*run.options.get("snapshots", []), entry],
        "closed_versions": run.options.get("closed_versions", 0) + closed,
    }
    ImportRun.objects.filter(pk=run.pk).update(
        options=run.options, processed=F("processed") + 1, created=F("created") + opened,
        unchanged=F("unchanged") + int(unchanged), rejected=F("rejected") + rejected,
        heartbeat_at=timezone.now(),
    )  # fmt: skip


def _in_file(name: str, problems: list[Problem]) -> list[Problem]:
    """Problems named by the file they come from ("file" problems already name it)."""
    return [
        Problem(name if p.row == "file" else f"{name} {p.row}", p.reason, p.raw, p.repaired)
        for p in problems
    ]


def _count_non_polygons(problems: list[Problem]) -> list[Problem]:
    """Points and lines (towns, front lines drawn as lines) in one problem, not one each: a
    snapshot may carry hundreds, and they are not mistakes."""
    skipped = Counter(
        p.reason.removeprefix("is a ").removesuffix(zones_parser.NOT_POLYGON)
        for p in problems
        if p.reason.endswith(zones_parser.NOT_POLYGON)
    )
    kept = [p for p in problems if not p.reason.endswith(zones_parser.NOT_POLYGON)]
    if skipped:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items()))
        kept.append(Problem("file", f"features that are not polygons skipped: {kinds}"))
    return kept


class Unusable(ValueError):
    """A snapshot that must not be applied at all: read as it is, it would say every faction lost
    everything (a file GDAL cannot read, a faction property that names nobody)."""

    def __init__(self, reason: str, problems: list[Problem]) -> None:
        super().__init__(reason)
        self.problems = problems


def _read(name: str, data: bytes, opts: dict, names: FactionNames) -> tuple[list, set, list]:
    """A snapshot's pieces, the ids of the factions it gives incompletely (left as recorded),
    and its problems. Raises Unusable when nothing in it can be attributed to a faction."""
    features, problems = zones_parser.parse(data, name)
    if not features and any(p.row == "file" for p in problems):
        raise Unusable("it cannot be read; not applied", _in_file(name, problems))
    problems = _count_non_polygons(problems)
    kept, rejected = repair_features(features, problems)
    field = opts["faction_field"]
    zone_fields = (opts["zone_field"],) if opts.get("zone_field") else zones_parser.NAME_FIELDS
    incomplete: dict[int, str] = {}  # faction id: why its ground is left as recorded
    unknown: dict[str, list[str]] = defaultdict(list)
    groups: dict[tuple[int, str], list] = defaultdict(list)
    for f, usable in [(f, True) for f in kept] + [(f, False) for f in rejected]:
        faction, reason = names.resolve(f.properties.get(field))
        if faction is None:
            unknown[reason].append(f.label.partition(" (")[0])
        elif not usable:
            incomplete[faction.pk] = "some of its polygons could not be read"
        else:
            groups[(faction.pk, zones_parser.feature_name(f.properties, zone_fields))].append(f)
    for reason, labels in unknown.items():
        listed = ", ".join(labels[:5]) + (", ..." if len(labels) > 5 else "")
        problems.append(
            Problem("file", f"{reason} in {field!r}: {len(labels)} not imported ({listed})")
        )
    owners: dict[str, set[int]] = defaultdict(set)
    for fid, zone in groups:
        if zone:
            owners[zone].add(fid)
    for zone, fids in owners.items():
        if len(fids) > 1:
            slugs = ", ".join(sorted(names.factions[i].slug for i in fids))
            problems.append(Problem(f"zone {zone}", f"is given to {len(fids)} factions ({slugs})"))
            incomplete.update({fid: f"zone {zone} is given to another faction too" for fid in fids})
    for fid, why in sorted(incomplete.items()):
        problems.append(
            Problem("file", f"{names.factions[fid].name} is left as recorded on this date: {why}")
        )
    if not groups and not incomplete:
        found = sorted({k for f in kept + rejected for k in f.properties})
        raise Unusable(
            f"no polygon has a known faction in {field!r} (properties: "
            f"{', '.join(found)[:300] or 'none'}); not applied",
            _in_file(name, problems),
        )
    complete = {k: v for k, v in groups.items() if k[0] not in incomplete}
    return pieces_from(complete, names.factions), set(incomplete), _in_file(name, problems)


def _settle(run: ImportRun, token: dt.datetime, entry: dict, day: dt.date, digest: str) -> bool:
    """Record the snapshot as already applied, or refused, when it may not be applied now (call
    under the snapshot lock); False when it may."""
    same_day = Snapshot.objects.filter(date=day).first()
    latest = Snapshot.objects.order_by("-date").first()
    if same_day and same_day.content_hash == digest:
        _record(run, token, {**entry, "outcome": "already applied"}, [], unchanged=True)
        return True
    if same_day:
        reason = (
            f"another snapshot of {day.isoformat()} ({same_day.filename}, import run "
            f"#{same_day.run_id}) is recorded; refused"
        )
    elif latest and latest.date > day:
        reason = (
            f"dated {day.isoformat()}, before the latest snapshot recorded "
            f"({latest.date.isoformat()}, {latest.filename}): snapshots are applied in date "
            "order; refused"
        )
    else:
        return False
    _record(
        run,
        token,
        {**entry, "outcome": "refused", "reason": reason},
        [Problem(entry["file"], reason)],
    )
    return True


def _lock_snapshots() -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [SNAPSHOT_LOCK])


def _apply_one(
    run: ImportRun, token: dt.datetime, day: dt.date, name: str, data: bytes, opts: dict,
    names: FactionNames,
) -> None:  # fmt: skip
    digest = hashlib.sha256(data).hexdigest()
    entry = {"file": name, "date": day.isoformat()}
    with transaction.atomic():
        _lock_snapshots()
        if _settle(run, token, entry, day, digest):
            return
    # Read and repair outside the lock (GDAL, PostGIS), then check again under it.
    try:
        pieces, incomplete, problems = _read(name, data, opts, names)
    except Unusable as exc:
        with transaction.atomic():
            entry = {**entry, "outcome": "refused", "reason": str(exc)}
            _record(run, token, entry, [*exc.problems, Problem(name, str(exc))])
        return
    with transaction.atomic():
        _lock_snapshots()
        if _settle(run, token, entry, day, digest):  # another import got there meanwhile
            return
        writing = Writing(
            day=day,
            source=map_source(
                f"Control map snapshot {name}", digest, day, opts.get("publisher", ""),
                f"Whole-map snapshot of {day.isoformat()}, imported as zone versions.",
            ),
            status=run.record_status,
            confidence=opts.get("confidence", Confidence.CONFIRMED),
            reason=run.reason("Snapshot import"),
        )  # fmt: skip
        tolerance = Tolerance(**opts.get("tolerance", {}))  # {"km2": ..., "share": ...}
        outcome = apply_snapshot(pieces, incomplete, writing, tolerance)
        Snapshot.objects.create(date=day, filename=name[:500], content_hash=digest, run=run)
        changed = bool(outcome.opened or outcome.closed)
        entry = {
            **entry, "outcome": "changed" if changed else "unchanged", "opened": outcome.opened,
            "closed": outcome.closed, "factions": outcome.factions,
        }  # fmt: skip
        _record(
            run, token, entry, problems + _in_file(name, outcome.problems),
            opened=outcome.opened, closed=outcome.closed, unchanged=not changed,
        )  # fmt: skip


def apply_snapshots(
    run: ImportRun, content: bytes, token: dt.datetime, *, inline: bool = False
) -> None:
    opts = run.options
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise ValueError(f"import run {run.pk} does not hold a snapshot bundle: {exc}") from None
    with archive:
        names = sorted(n for n in archive.namelist() if not n.endswith("/"))
        ImportRun.objects.filter(pk=run.pk, claimed_at=token).update(total=len(names))
        done = {e["file"] for e in run.options.get("snapshots", [])}
        dated, refused = _dates(archive, names, opts.get("date_field", ""))
        for name, reason in sorted(refused.items()):
            if name not in done:
                with transaction.atomic():
                    _record(
                        run,
                        token,
                        {"file": name, "outcome": "refused", "reason": reason},
                        [Problem(name, reason)],
                    )
        factions = FactionNames()
        for day, name in dated:
            if name not in done:
                _apply_one(run, token, day, name, archive.read(name), opts, factions)
    finish_run(run, token)
