"""The map state at a date (zones, front lines), served from per-process caches that stamps of
the data keep honest.

A request for the zones on day D costs one query: the user's zone stamp (api_datastamp, moved by
the database when a transaction changing zone data commits: migrations api/0001_data_stamps and
api/0002_public_stamps) and the ids of the versions in force on D, read in one statement. The rest
comes from this process's memory when it has it:
- each version's feature as a head and a tail around its "contested" value (FEATURES), fetched
  only for the versions not seen yet under this stamp: consecutive days share most versions;
- which versions overlap which (territory.overlapping_versions), once per stamp;
- the front lines of each set of versions in force.
The ETag is made of what determines the body (day, stamp, ids, bbox, visibility), so a client
that has it gets its 304 before anything is rendered. Nothing assumes one process: every entry
is keyed by the stamp, so a key never goes stale; it only stops being asked for.

Two stamps per kind of data (stamp_name): users who see drafts are served under the one every
change moves; everyone else under its "_public" twin, which only changes a visitor can see move,
so an editor saving a draft changes neither a visitor's ETag and Last-Modified nor the entries
cached for them. A stamp is (name, version), never a bare version: the two count separately, and
a key made with one can never be read with the other.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conflictmap.geojson import fetch_features, query_cursor, render_features
from conflictmap.gis import Bbox
from conflictmap.replica import reading
from conflictmap.territory import queries as territory

# Kinds of data with stamps in api_datastamp.
ZONES = "zones"  # zone versions, zones, factions and alliances, the sources versions cite
EVENTS = "events"  # events, their actors, sources and external ids, factions, places

# (name, version) of a committed state of the data; None: changed by the reader's own open
# transaction (nothing may be cached or validated by a stamp then).
Stamp = tuple[str, int]


def stamp_name(kind: str, *, drafts: bool) -> str:
    """The stamp that a user's payloads of `kind` are validated and cached by: every change for a
    user who sees drafts (territory.models.sees_drafts), published ones only for everyone else."""
    return kind if drafts else f"{kind}_public"


def _stamp_sql() -> str:
    """SQL of the stamp %(name)s's (version, changed_at). Inside a transaction that has changed
    its data itself (its changes move the stamp only when it commits), the version is NULL:
    nothing may then be cached or kept under the committed stamp (a test's transaction, rolled
    back, would leave its data there). Only then is the pending table read (it cannot be read on
    a read replica; reads there are not in a transaction)."""
    if not reading().in_atomic_block:
        return "SELECT s.version, s.changed_at FROM api_datastamp s WHERE s.name = %(name)s"
    return (
        "SELECT CASE WHEN p.dirty THEN NULL ELSE s.version END,"
        " CASE WHEN p.dirty THEN clock_timestamp() ELSE s.changed_at END"
        " FROM api_datastamp s, (SELECT EXISTS (SELECT 1 FROM api_datastamp_pending"
        " WHERE name = %(name)s) AS dirty) p WHERE s.name = %(name)s"
    )


def data_stamp(kind: str, *, drafts: bool) -> tuple[Stamp | None, dt.datetime]:
    """(stamp, time of the last committed change) of the `kind` data a user sees (`drafts`:
    whether they see drafts); stamp None when this transaction has changed that data."""
    name = stamp_name(kind, drafts=drafts)
    with reading().cursor() as cursor:
        cursor.execute(_stamp_sql(), {"name": name})
        version, changed_at = cursor.fetchone()
    return (None if version is None else (name, version)), changed_at


def uncommitted_writes(kind: str, *, drafts: bool) -> str:
    """A token of the writes that the reader's own open transaction has made to the `kind` data
    a user sees (when data_stamp is None): it changes with each statement, and it is never the
    same in another transaction. Not a key to cache by: the transaction may roll back."""
    with reading().cursor() as cursor:
        cursor.execute(
            "SELECT txid_current() || ':' || count(*) FROM api_datastamp_pending"
            " WHERE name = %(name)s",
            {"name": stamp_name(kind, drafts=drafts)},
        )
        return cursor.fetchone()[0]


@dataclass(frozen=True)
class State:
    """What the map shows on `day` to a user (`staff` or not), in `bbox` (None: everywhere)."""

    day: dt.date
    bbox: Bbox | None
    staff: bool
    stamp: Stamp | None  # None: changed by this transaction, not committed (nothing cached)
    changed_at: dt.datetime
    ids: tuple[int, ...]  # the versions in force that day, ascending
    shown: tuple[int, ...]  # those of them whose box meets bbox
    # [since, until): the days with these same versions in force (None: unbounded); a client
    # keeps the state for all of them and asks for `until` (and the day before `since`) next.
    since: dt.date | None = None
    until: dt.date | None = None

    @functools.cached_property
    def key(self) -> str:
        """The set of versions in force and shown: the same on every day with the same map."""
        text = ",".join(map(str, self.ids)) + "|" + ",".join(map(str, self.shown))
        return hashlib.md5(text.encode()).hexdigest()

    def etag(self, kind: str, variant: Any = None) -> str | None:
        """The ETag of the `kind` payload of this state (in its `variant`, such as the zooms of
        one grid); None when it must be the body's hash (uncommitted changes)."""
        if self.stamp is None:
            return None
        parts = (kind, self.day, self.stamp, self.key, self.bbox, self.staff, variant)
        return '"' + hashlib.sha1(repr(parts).encode()).hexdigest()[:32] + '"'


def state_at(day: dt.date, bbox: Bbox | None, *, staff: bool) -> State:
    """The State of `day`: the stamp, the versions in force and the days they stay in force, in
    one query (one snapshot)."""
    name = stamp_name(ZONES, drafts=staff)
    params: dict[str, Any] = {"day": day, "staff": staff, "name": name}
    in_force = territory.in_force_ids_sql(bbox, params)
    period = territory.state_period_sql()
    with reading().cursor() as cursor:
        cursor.execute(
            f"SELECT s.*, i.ids, i.shown, p.state_from, p.state_to"
            f" FROM ({_stamp_sql()}) s, ({in_force}) i, ({period}) p",
            params,
        )
        version, changed_at, ids, shown, since, until = cursor.fetchone()
    stamp = None if version is None else (name, version)
    return State(day, bbox, staff, stamp, changed_at, tuple(ids), tuple(shown), since, until)


class StateCache:
    """Values keyed by (..., stamp, ...) tuples, per process, the `size` most recently used."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self.entries: OrderedDict[tuple, Any] = OrderedDict()
        self.lock = threading.Lock()  # runserver and threaded workers share the module

    def get_or_compute(self, key: tuple, compute: Callable[[], Any], *, keep: bool = True) -> Any:
        """The value kept under `key`, else compute() (kept unless `keep` is false)."""
        if not keep:
            return compute()
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
        value = compute()
        with self.lock:
            self.entries[key] = value
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return value


class FeatureParts:
    """Each zone version's feature as (head, tail) bytes (territory.zone_feature_parts) per grid
    (territory.zoom_decimals), for the latest version of each stamp name seen (the public one and
    the one of users who see drafts side by side: an editor's drafts do not empty the visitors'
    entries), at most `budget` bytes in all (the least recently used go first: 5,000 synthetic
    versions of 65 vertices take ~10 MB in full)."""

    def __init__(self, budget: int = 64 << 20) -> None:
        self.budget = budget
        self.versions: dict[str, int] = {}  # stamp name -> the version its entries were made at
        self.parts: OrderedDict[tuple[str, int, int], tuple[bytes, bytes]] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    def _forget(self, key: tuple[str, int, int]) -> None:
        head, tail = self.parts.pop(key)
        self.size -= len(head) + len(tail)

    def get(
        self, stamp: Stamp | None, ids: tuple[int, ...], decimals: int = territory.ZONE_DECIMALS
    ) -> dict[int, tuple[bytes, bytes]]:
        """The parts of `ids` under `stamp` (None: fetched, neither read from nor kept in
        memory), geometry on the grid of `decimals`."""
        found: dict[int, tuple[bytes, bytes]] = {}
        if stamp is not None:
            name, version = stamp
            with self.lock:
                if self.versions.get(name) != version:
                    self.versions[name] = version
                    for key in [k for k in self.parts if k[0] == name]:
                        self._forget(key)
                for v in ids:
                    parts = self.parts.get((name, v, decimals))
                    if parts is not None:
                        self.parts.move_to_end((name, v, decimals))
                        found[v] = parts
        missing = [v for v in ids if v not in found]
        if missing:
            query = territory.zone_feature_parts(missing, decimals)
            with query_cursor() as cursor:
                cursor.execute(query.sql, query.params)
                rows = cursor.fetchall()
            with self.lock:
                # Kept unless another thread has moved this name on meanwhile.
                keep = stamp is not None and self.versions.get(stamp[0]) == stamp[1]
                for v, head, tail in rows:
                    parts = (head.encode(), tail.encode())
                    found[v] = parts
                    if keep:
                        self.parts[stamp[0], v, decimals] = parts
                        self.size += len(parts[0]) + len(parts[1])
                while self.size > self.budget and self.parts:
                    self._forget(next(iter(self.parts)))
        return found


FEATURES = FeatureParts()
OVERLAPS = StateCache(size=3)  # the public stamp's, and two of the stamp of those seeing drafts
FRONTLINES = StateCache(size=32)


def zones_body(state: State, zoom: int | None = None, *, base: State | None = None) -> bytes:
    """The FeatureCollection of /api/v1/zones?date= (docs/api.md), ordered by version id, with
    the period of the state and geometry generalised for `zoom` (None: full detail). With a
    `base` state (a day the client has), only the versions `base` lacks are features; the head
    says which of base's are gone and which versions of the day are contested."""
    decimals = territory.zoom_decimals(zoom)
    # Which versions overlap which is worked out once per stamp for all of them; a day's
    # contested flags are then a look-up instead of an ST_Relate per zone.
    partners = OVERLAPS.get_or_compute(
        (state.stamp,), territory.overlapping_versions, keep=state.stamp is not None
    )
    contested = set(territory.contested_among(list(state.ids), partners))
    shown = state.shown
    if base is not None:
        had = set(base.shown)
        shown = tuple(v for v in state.shown if v not in had)
    parts = FEATURES.get(state.stamp, shown, decimals)
    features = [
        parts[v][0] + (b"true" if v in contested else b"false") + parts[v][1] for v in shown
    ]
    head: dict[str, Any] = {
        "date": state.day.isoformat(),
        "state_from": state.since.isoformat() if state.since else None,
        "state_to": state.until.isoformat() if state.until else None,
    }
    if zoom is not None:
        head["grid_degrees"] = float(f"1e-{decimals}") if decimals < territory.ZONE_DECIMALS else 0
        head["grid_zooms"] = list(territory.zoom_range(zoom))
    if base is not None:
        now = set(state.shown)
        head["base"] = base.day.isoformat()
        head["removed"] = [v for v in base.shown if v not in now]
        head["contested"] = [v for v in state.shown if v in contested]
    return render_features(features, head=head)


def frontline_features(state: State) -> list[str]:
    """The front lines of the state (the same for every day with the same versions in force)."""
    key = (state.key, state.stamp, state.bbox, state.staff)
    query = territory.frontlines_at(state.day, bbox=state.bbox, staff=state.staff)
    return FRONTLINES.get_or_compute(
        key, lambda: fetch_features(query), keep=state.stamp is not None
    )
