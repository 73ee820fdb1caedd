"""ACLED CSV exports (the columns of acleddata.com's export tool and API)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass, field

from conflictmap.events.models import SUB_EVENT_TYPES, EventType

from . import Problem, decode_text, in_syria

REQUIRED = ("event_id_cnty", "event_date", "event_type", "actor1", "latitude", "longitude")
# The full export layout, for reference and for writing samples; only REQUIRED must be present.
COLUMNS = (
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
)
DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%d-%B-%Y", "%d-%b-%Y", "%B %d, %Y")
TIME_PRECISION = {"1": "day", "2": "week", "3": "month"}
GEO_PRECISION = {"1": "exact", "2": "near", "3": "region"}
EVENT_TYPES = {t.lower(): t for t in EventType.values}
MAX_FIELD = 100_000


@dataclass
class AcledRecord:
    row: int
    event_id: str
    date: dt.date
    date_precision: str
    event_type: str
    sub_event_type: str
    actors: list[tuple[str, str]]  # (role, ACLED actor name)
    lat: float
    lon: float
    location_precision: str
    location: str = ""
    admin1: str = ""
    admin2: str = ""
    admin3: str = ""
    fatalities: int | None = None
    notes: str = ""
    source: str = ""
    source_scale: str = ""
    timestamp: str = ""
    extra: dict = field(default_factory=dict)


class RowError(ValueError):
    pass


def parse_date(value: str) -> dt.date:
    value = " ".join(value.split())
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise RowError(f'event_date "{value[:40]}" is not a date like 2024-11-27 or 27 November 2024')


def _precision(name: str, value: str, table: dict[str, str]) -> str:
    value = value.strip()
    if not value:
        return table["1"]
    try:
        key = str(int(float(value)))
    except (ValueError, OverflowError):
        key = value
    if key not in table:
        raise RowError(f'{name} "{value[:20]}" is not 1, 2 or 3')
    return table[key]


def _float(name: str, value: str) -> float:
    value = value.strip().replace(",", ".") if value.count(",") == 1 and "." not in value else value
    try:
        number = float(value)
    except (ValueError, TypeError):
        raise RowError(f'{name} "{str(value)[:30]}" is not a number') from None
    if not math.isfinite(number):
        raise RowError(f'{name} "{str(value)[:30]}" is not a finite number')
    return number


def _actors(row: dict[str, str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for role, column, several in (
        ("actor1", "actor1", False),
        ("assoc_actor_1", "assoc_actor_1", True),
        ("actor2", "actor2", False),
        ("assoc_actor_2", "assoc_actor_2", True),
    ):
        value = (row.get(column) or "").strip()
        if not value:
            continue
        names = [n.strip() for n in value.split(";")] if several else [value]
        for name in names:
            if name and (role, name) not in out:
                out.append((role, name[:200]))
    return out


def parse_row(row: dict[str, str], line: int) -> tuple[AcledRecord, Problem | None]:
    """One CSV row to a record; raises RowError with the reason when it cannot go in."""
    note = None
    event_id = (row.get("event_id_cnty") or "").strip()
    if not event_id:
        raise RowError("event_id_cnty is empty")
    if len(event_id) > 120:
        raise RowError("event_id_cnty is longer than 120 characters")
    date = parse_date(row.get("event_date") or "")
    raw_type = (row.get("event_type") or "").strip()
    event_type = EVENT_TYPES.get(raw_type.lower())
    if event_type is None:
        raise RowError(f'event_type "{raw_type[:60]}" is not one of ACLED\'s event types')
    raw_sub = (row.get("sub_event_type") or "").strip()
    sub = ""
    if raw_sub:
        known = {s.lower(): s for s in SUB_EVENT_TYPES[event_type]}
        sub = known.get(raw_sub.lower(), "")
        if not sub:
            raise RowError(f'sub_event_type "{raw_sub[:60]}" is not a sub-type of {event_type}')
    if not (row.get("actor1") or "").strip():
        raise RowError("actor1 is empty")
    raw_lat, raw_lon = (row.get("latitude") or "").strip(), (row.get("longitude") or "").strip()
    if not raw_lat or not raw_lon:
        raise RowError("latitude or longitude is empty")
    lat, lon = _float("latitude", raw_lat), _float("longitude", raw_lon)
    if not in_syria(lon, lat):
        if in_syria(lat, lon):
            note = Problem(
                str(line),
                f"latitude and longitude were swapped ({lat}, {lon}); repaired to "
                f"latitude {lon}, longitude {lat}",
                repaired=True,
            )
            lat, lon = lon, lat
        else:
            raise RowError(f"coordinates (latitude {lat}, longitude {lon}) are outside Syria")
    fat_raw = (row.get("fatalities") or "").strip()
    fatalities = None
    if fat_raw:
        try:
            fatalities = int(float(fat_raw))
        except (ValueError, OverflowError):
            raise RowError(f'fatalities "{fat_raw[:20]}" is not a whole number') from None
        if fatalities < 0 or fatalities > 1_000_000 or fatalities != float(fat_raw):
            raise RowError(f'fatalities "{fat_raw[:20]}" is not a plausible count')
    record = AcledRecord(
        row=line,
        event_id=event_id,
        date=date,
        date_precision=_precision(
            "time_precision", row.get("time_precision") or "", TIME_PRECISION
        ),
        event_type=event_type,
        sub_event_type=sub,
        actors=_actors(row),
        lat=lat,
        lon=lon,
        location_precision=_precision(
            "geo_precision", row.get("geo_precision") or "", GEO_PRECISION
        ),
        location=(row.get("location") or "").strip()[:200],
        admin1=(row.get("admin1") or "").strip(),
        admin2=(row.get("admin2") or "").strip(),
        admin3=(row.get("admin3") or "").strip(),
        fatalities=fatalities,
        notes=(row.get("notes") or "").strip(),
        source=(row.get("source") or "").strip(),
        source_scale=(row.get("source_scale") or "").strip(),
        timestamp=(row.get("timestamp") or "").strip(),
    )
    return record, note


def parse(data: bytes) -> tuple[list[AcledRecord], list[Problem]]:
    """Parse an ACLED CSV export. Bad rows become problems naming the line; good rows go on."""
    problems: list[Problem] = []
    records: list[AcledRecord] = []
    text, note = decode_text(data)
    if note:
        problems.append(Problem("file", f"encoding: {note}", repaired=True))
    text = text.replace("\x00", "")
    if not text.strip():
        problems.append(Problem("file", "the file is empty"))
        return records, problems
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (csv.Error, StopIteration) as exc:
        problems.append(Problem("1", f"the header row cannot be read: {exc}"))
        return records, problems
    header = [h.strip().lstrip("\ufeff").lower() for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        problems.append(
            Problem(
                "1",
                "missing required column(s): "
                + ", ".join(missing)
                + " (is this an ACLED export? found: "
                + ", ".join(h for h in header[:12] if h)[:300]
                + ")",
            )
        )
        return records, problems
    width = len(header)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(str(reader.line_num), f"malformed CSV: {exc}"))
            continue
        line = reader.line_num
        if not values or all(not v.strip() for v in values):
            continue
        raw = delimiter.join(values)[:2000]
        if len(values) != width:
            problems.append(
                Problem(str(line), f"has {len(values)} fields, the header has {width}", raw)
            )
            continue
        row = dict(zip(header, values, strict=True))
        try:
            record, repaired = parse_row(row, line)
        except RowError as exc:
            eid = (row.get("event_id_cnty") or "").strip()[:40]
            label = f"{line} ({eid})" if eid else str(line)
            problems.append(Problem(label, str(exc), raw))
            continue
        if repaired:
            repaired.row = f"{line} ({record.event_id})"
            repaired.raw = raw
            problems.append(repaired)
        records.append(record)
    return records, problems
