"""The one GeoJSON writer, shared by the HTTP views and `manage.py export_geojson`.

Each Feature is built as text by PostGIS (ST_AsGeoJSON in concatenated or json_build_object
text: see conflictmap.territory.queries and conflictmap.events.queries); Python only joins
rows. Rows come from a named (server-side) cursor opened inside a transaction, so nothing is
materialised (a cursor outside a transaction would be WITH HOLD, which PostgreSQL materialises),
fetched BATCH rows at a time. Memory stays flat whatever the row count.

Truncation is detectable: foreign members "count" (features written) and "complete": true are the
last thing written. A body cut short (worker timeout, dropped connection) is either invalid JSON
or, if a client repairs it, lacks "complete".

`using` names the database alias; None (the default) is the one reads go to in this context
(conflictmap.replica: the replica for a visitor's request, else the primary).
"""

from __future__ import annotations

import json
import queue
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections, transaction
from psycopg.adapt import Loader

from conflictmap.replica import read_alias

GEOJSON_CONTENT_TYPE = "application/geo+json"
# Rows per FETCH: measured at 1M events, 1,000 ran faster than 5,000 (8.7 s vs 10.2 s) and kept
# the peak RSS 3 MB above an idle process instead of 17 MB.
BATCH = 1000


class Query:
    """SQL and its parameters: for the GeoJSON writers, one text column per row, a Feature (the
    CSV export reads the rows of its own Query with rows_from_cursor)."""

    def __init__(
        self, sql: str, params: dict[str, Any] | None = None, *, flush: str | None = None
    ) -> None:
        self.sql = sql
        self.params = params or {}
        # SQL run first when the query is read inside a caller's open transaction (see
        # conflictmap.events.queries.features: bulk changes of that transaction are applied to
        # the events first).
        self.flush = flush


@contextmanager
def query_cursor(using: str | None = None) -> Iterator[Any]:
    """A cursor in a transaction with JIT compilation off: on these queries (zones at a date,
    tiles, exports) PostgreSQL's JIT spent ~50 ms compiling to save nothing."""
    using = using or read_alias()
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield cursor


def rows_from_cursor(
    query: Query,
    *,
    using: str | None = None,
    batch: int = BATCH,
    raw_text: bool = False,
    snapshot: Callable[[Any], None] | None = None,
) -> Iterator[list[tuple]]:
    """Yield batches of rows of `query` from a server-side cursor inside a transaction.

    raw_text: text columns come back as UTF-8 bytes, undecoded (the writer sends them as they
    are: no decode/encode round trip, half the memory per batch).
    snapshot: called with a plain cursor before anything else in the transaction (to export or
    import a snapshot, see `parallel_feature_batches`)."""
    using = using or read_alias()
    connection = connections[using]
    outer = connection.in_atomic_block
    with transaction.atomic(using=using), connection.chunked_cursor() as cursor:
        if raw_text:
            _load_text_as_bytes(cursor.cursor)
        with connection.cursor() as settings:
            if snapshot:
                snapshot(settings)
            # The whole result is wanted, not its first rows (the default 0.1 favours
            # fast-start plans: nested loops, 3x slower here); JIT compilation cost more than it
            # saved on these queries.
            settings.execute("SET LOCAL cursor_tuple_fraction = 1.0; SET LOCAL jit = off")
            if outer and query.flush:
                settings.execute(query.flush)
        cursor.execute(query.sql, query.params)
        while rows := cursor.fetchmany(batch):
            yield rows


class _RawTextLoader(Loader):
    def load(self, data: Any) -> bytes:
        return bytes(data)


def _load_text_as_bytes(cursor: Any) -> None:
    for name in ("text", "json"):
        cursor.adapters.register_loader(name, _RawTextLoader)


def feature_batches(
    query: Query, *, using: str | None = None, snapshot: Callable[[Any], None] | None = None
) -> Iterator[list[bytes]]:
    for rows in rows_from_cursor(query, using=using, batch=BATCH, raw_text=True, snapshot=snapshot):
        yield [r[0] for r in rows]


class Joined:
    """Features already joined with ",\n" (a spooled part of a parallel export)."""

    def __init__(self, chunks: Iterable[bytes], count: int) -> None:
        self.chunks = chunks
        self.count = count


def parallel_feature_batches(
    first: Query, second: Query, *, using: str | None = None, timeout: float = 60.0
) -> Iterator[list[bytes] | Joined]:
    """Features of `first` then `second`, read by two connections at once, as of one snapshot.

    The first part streams as it comes; the second is written by a thread to a temporary file
    (memory stays flat) and follows. Both transactions are REPEATABLE READ on the snapshot the
    first one exports (the first waits until the second has imported it), so the two parts are
    one consistent view of the committed data. Call it outside any transaction: the second
    connection cannot see the first one's uncommitted rows.
    """
    using = using or read_alias()  # here, not in the thread: a new thread reads the primary
    exported: queue.Queue[str | None] = queue.Queue()
    imported = threading.Event()
    result: dict[str, Any] = {}

    def export(cursor: Any) -> None:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT pg_export_snapshot()")
        exported.put(cursor.fetchone()[0])
        if not imported.wait(timeout):
            raise RuntimeError("The second export connection did not start.")
        if "error" in result:
            raise result["error"]

    def use(snapshot_id: str) -> Callable[[Any], None]:
        def run(cursor: Any) -> None:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot_id])
            imported.set()

        return run

    def second_part() -> None:
        try:
            snapshot_id = exported.get(timeout=timeout)
            if snapshot_id is None:
                return
            count = 0
            for features in feature_batches(second, using=using, snapshot=use(snapshot_id)):
                if count:
                    spool.write(b",\n")
                spool.write(b",\n".join(features))
                count += len(features)
            result["count"] = count
        except BaseException as error:  # handed to the main thread
            result["error"] = error
        finally:
            imported.set()
            connections[using].close()

    with tempfile.TemporaryFile() as spool:
        worker = threading.Thread(target=second_part, name="export-second-part", daemon=True)
        worker.start()
        try:
            yield from feature_batches(first, using=using, snapshot=export)
            worker.join()
            if "error" in result:
                raise result["error"]
            spool.seek(0)
            yield Joined(iter(lambda: spool.read(1 << 20), b""), result["count"])
        finally:
            exported.put(None)  # lets the thread go if the first part never exported a snapshot


def feature_collection(
    batches: Iterable[list[str]] | Iterable[list[bytes] | Joined],
    *,
    head: dict[str, Any] | None = None,
) -> Iterator[bytes]:
    """Write an RFC 7946 FeatureCollection: foreign members of `head` first, then the features,
    then "count" and "complete": true as the very last members."""
    start = ['{"type":"FeatureCollection"']
    for key, value in (head or {}).items():
        start.append(f"{json.dumps(key)}:{json.dumps(value, ensure_ascii=False, default=str)}")
    yield (",".join(start) + ',"features":[\n').encode()
    count = 0
    for features in batches:
        if isinstance(features, Joined):
            if features.count:
                if count:
                    yield b",\n"
                yield from features.chunks
                count += features.count
            continue
        if not features:
            continue
        if isinstance(features[0], str):
            features = [f.encode() for f in features]
        if count:
            yield b",\n"
        yield b",\n".join(features)
        count += len(features)
    yield f'\n],"count":{count},"complete":true}}\n'.encode()


def stream_query(query: Query, *, head: dict[str, Any] | None = None) -> Iterator[bytes]:
    """A FeatureCollection of every row of `query`, streamed."""
    return feature_collection(feature_batches(query), head=head)


def render_query(
    query: Query, *, head: dict[str, Any] | None = None, using: str | None = None
) -> bytes:
    """The same writer, joined in memory: for small collections (zones, front lines). A plain
    cursor here saves the round trips of DECLARE/FETCH/CLOSE on hot, small requests."""
    return render_features(fetch_features(query, using=using), head=head)


def fetch_features(query: Query, *, using: str | None = None) -> list[str]:
    """All features of a small query, with a plain cursor."""
    using = using or read_alias()
    outer = connections[using].in_atomic_block
    with query_cursor(using) as cursor:
        if outer and query.flush:
            cursor.execute(query.flush)
        cursor.execute(query.sql, query.params)
        return [r[0] for r in cursor.fetchall()]


def render_features(features: list[str], *, head: dict[str, Any] | None = None) -> bytes:
    return b"".join(feature_collection([features], head=head))
