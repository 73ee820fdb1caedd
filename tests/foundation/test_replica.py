"""Read replica: a visitor's reads go to the replica, everything else to the primary.

The rule is checked in this process (middleware, router, streamed bodies); then for real against
a PostgreSQL streaming replica made here: a private primary cluster (initdb on a spare loopback
port under a temporary folder, never the machine's running server) and its copy by
`pg_basebackup -R`, with gunicorn serving both. Replay on the replica is paused while an editor
writes, so what each request sees shows which database it read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from conflictmap import replica
from tests.foundation.serving import Browser, free_port, gunicorn, manage, wait_for
from tests.foundation.test_settings import start_django

# --- the rule, in this process ------------------------------------------------------------------


@pytest.fixture
def with_replica(monkeypatch):
    """As if DATABASE_REPLICA_URL were set (only alias names are asked for: nothing connects)."""
    monkeypatch.setattr(replica, "replica_configured", lambda: True)


class Editor:
    is_authenticated = True


def serve(request, view: Callable) -> HttpResponse | StreamingHttpResponse:
    return replica.PublicReadsMiddleware(view)(request)


def test_outside_any_request_reads_go_to_the_primary(with_replica):
    # Celery tasks, management commands and shells run no middleware.
    router = replica.PrimaryReplicaRouter()
    assert replica.read_alias() == "default"
    assert router.db_for_read(object) == "default"


@pytest.mark.parametrize("method", ["get", "head", "options"])
def test_a_visitors_safe_request_reads_from_the_replica(with_replica, method):
    request = getattr(RequestFactory(), method)("/api/v1/factions")
    request.user = AnonymousUser()
    seen = []

    def view(request):
        seen.append((replica.read_alias(), replica.PrimaryReplicaRouter().db_for_read(object)))
        return HttpResponse()

    serve(request, view).close()
    assert seen == [("replica", "replica")]
    assert replica.read_alias() == "default"  # once the response is closed


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_visitors_unsafe_request_reads_from_the_primary(with_replica, method):
    request = getattr(RequestFactory(), method)("/admin/login/")
    request.user = AnonymousUser()
    seen = []
    serve(request, lambda r: seen.append(replica.read_alias()) or HttpResponse()).close()
    assert seen == ["default"]


def test_every_request_of_a_signed_in_editor_reads_from_the_primary(with_replica):
    request = RequestFactory().get("/api/v1/zones?date=2024-12-01")
    request.user = Editor()
    seen = []
    serve(request, lambda r: seen.append(replica.read_alias()) or HttpResponse()).close()
    assert seen == ["default"]


def test_a_streamed_body_reads_from_the_replica_until_the_response_is_closed(with_replica):
    request = RequestFactory().get("/api/v1/events")
    request.user = AnonymousUser()

    def body() -> Iterator[bytes]:
        yield replica.read_alias().encode()
        yield replica.read_alias().encode()

    response = serve(request, lambda r: StreamingHttpResponse(body()))
    assert replica.read_alias() == "replica"  # the view has returned, the body is still to come
    assert b"/".join(response.streaming_content) == b"replica/replica"
    response.close()
    assert replica.read_alias() == "default"


def test_writes_and_migrations_go_to_the_primary_only(with_replica):
    router = replica.PrimaryReplicaRouter()
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    seen = []
    serve(request, lambda r: seen.append(router.db_for_write(object)) or HttpResponse()).close()
    assert seen == ["default"]
    assert router.allow_migrate("default", "territory")
    assert not router.allow_migrate("replica", "territory")


def test_without_a_replica_every_read_goes_to_the_primary():
    request = RequestFactory().get("/api/v1/factions")
    request.user = AnonymousUser()
    seen = []
    serve(request, lambda r: seen.append(replica.read_alias()) or HttpResponse()).close()
    assert seen == ["default"]


def test_the_middleware_runs_after_authentication():
    from django.conf import settings

    middleware = settings.MIDDLEWARE
    assert middleware.index("conflictmap.replica.PublicReadsMiddleware") > middleware.index(
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    )


def test_a_malformed_replica_url_stops_start_up_without_echoing_its_password():
    result = start_django(DATABASE_REPLICA_URL="postgis://user:hunter2@127.0.0.1:54x/conflictmap")
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL is not a usable database URL" in result.stderr
    assert "hunter2" not in result.stderr


# --- for real: a streaming replica on this machine ----------------------------------------------


def pg_bin() -> Path:
    """The server binaries of the PostgreSQL that has PostGIS (as scripts/setup.sh picks them)."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    if not versions:
        pytest.fail("no PostgreSQL server binaries in /usr/lib/postgresql: run scripts/setup.sh")
    return versions[-1].parent


class Cluster:
    """A private PostgreSQL cluster on a loopback port, run as the postgres user when we are root
    (the server refuses to run as root)."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.data, self.port = folder, folder / name, free_port()
        self.log = folder / f"{name}.log"

    def run(self, tool: str, *args: str) -> None:
        as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*as_owner, str(pg_bin() / tool), *args], check=True, capture_output=True, timeout=60
        )

    def start(self, *settings: str) -> None:
        options = [f"-p {self.port}", f"-k {self.folder}", "-c listen_addresses=127.0.0.1"]
        options += [f"-c {s}" for s in ("fsync=off", *settings)]
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", " ".join(options), "start")  # fmt: skip

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgis://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, query: str, database: str = "conflictmap") -> object:
        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            cursor = conn.execute(query)
            row = cursor.fetchone() if cursor.description else None
        return row[0] if row else None


@pytest.fixture
def primary_and_replica() -> Iterator[tuple[Cluster, Cluster]]:
    """A primary with the project's schema and its streaming replica (pg_basebackup -R)."""
    folder = Path(tempfile.mkdtemp(prefix="cm-replica-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    primary, standby = Cluster(folder, "primary"), Cluster(folder, "replica")
    try:
        primary.run("initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")  # fmt: skip
        primary.start("wal_level=replica", "max_wal_senders=4")
        primary.sql("CREATE DATABASE conflictmap", "postgres")
        primary.sql("CREATE EXTENSION postgis; CREATE EXTENSION btree_gist")
        migrate = manage(["migrate", "--noinput", "-v0"], DATABASE_URL=primary.url("conflictmap"))
        assert migrate.returncode == 0, migrate.stderr
        primary.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(standby.data), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync",
        )  # fmt: skip
        standby.start("hot_standby=on")
        assert standby.sql("SELECT pg_is_in_recovery()") is True
        yield primary, standby
    finally:
        standby.stop()
        primary.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def site(primary_and_replica, tmp_path) -> Iterator[str]:
    """gunicorn over the primary and its replica; its base URL."""
    primary, standby = primary_and_replica
    env = {
        "DATABASE_URL": primary.url("conflictmap"),
        "DATABASE_REPLICA_URL": standby.url("conflictmap"),
    }
    with gunicorn(env, tmp_path / "gunicorn.log") as base:
        yield base


EVENTS = "/api/v1/events?start=2024-11-01&end=2024-12-31"


def feature_ids(browser: Browser, etag: str = "") -> tuple[list[int], str]:
    """The ids of the events the browser gets (asking with If-None-Match: etag), and the ETag."""
    status, headers, body = browser.request(EVENTS, headers={"If-None-Match": etag} if etag else {})
    assert status == 200, (status, body[:500])
    collection = json.loads(body)
    assert collection["complete"] is True
    return [f["id"] for f in collection["features"]], headers["ETag"]


EDITOR_AND_EVENT = """
from django.contrib.auth import get_user_model
get_user_model().objects.create_superuser("editor", "editor@example.org", "a-long-passphrase-1")
print(make_event())
"""
# In bulk, as imports write: no history row, so only the table's own counters see it.
EVENT = """
from django.contrib.gis.geos import Point
from conflictmap.events.models import Event
def make_event():
    [e] = Event.objects.bulk_create([Event(date="2024-12-01", event_type="Battles",
        sub_event_type="Armed clash", geom=Point(37.16, 36.2, srid=4326), status="published")])
    return e.pk
"""
COUNTS = """
from conflictmap.events.models import Event
from conflictmap.territory.models import Faction
print(Faction.objects.count(), Event.objects.count())
"""


@pytest.mark.slow  # about 12 s alone, over 20 s on a busy machine
def test_visitors_read_the_replica_and_an_editor_reads_the_primary_and_sees_their_write_at_once(
    primary_and_replica, site
):
    primary, standby = primary_and_replica
    both = {"DATABASE_URL": primary.url("conflictmap"), "DATABASE_REPLICA_URL": standby.url("conflictmap")}  # fmt: skip
    visitor, editor = Browser(site), Browser(site)
    assert visitor.get_json("/api/v1/factions") == []
    # /healthz reports the replica (its status is 503 here: no Celery worker is running).
    checks = json.loads(visitor.request("/healthz")[2])["checks"]
    assert checks["replica"]["ok"] and checks["replica"]["in_recovery"] is True

    # Replication lag, made as long as we like: the replica stops replaying the primary's WAL.
    standby.sql("SELECT pg_wal_replay_pause()")
    assert wait_for(lambda: standby.sql("SELECT pg_get_wal_replay_pause_state()") == "paused", 10)
    # Taken now: until replay resumes, nothing (not even autovacuum's writes) moves the stamp.
    events_before, etag_before = feature_ids(visitor)
    assert events_before == []

    # On the primary only: the editor's account and a published event (a command: the primary).
    made = manage(["shell", "-v", "0", "-c", EVENT + EDITOR_AND_EVENT], **both)
    assert made.returncode == 0, made.stderr
    event_id = int(made.stdout)

    # Signing in is a POST: it reads the primary, where the account exists (not yet replayed).
    editor.sign_in("editor", "a-long-passphrase-1")

    # The editor adds a faction through the admin, and sees it at once everywhere.
    fields = {"name": "Replica Test Front", "slug": "replica-test-front", "kind": "other", "colour": "#123456", "change_reason": "replica test"}  # fmt: skip
    status, headers, body = editor.post_form("/admin/territory/faction/add/", fields)
    assert status == 302, body.decode(errors="replace")[-3000:]
    assert [f["slug"] for f in editor.get_json("/api/v1/factions")] == ["replica-test-front"]
    assert event_id in feature_ids(editor)[0]  # streamed, from the primary
    assert b"Replica Test Front" in editor.request("/")[2]  # the map page's ORM reads

    # A visitor's reads come from the paused replica: neither the faction nor the event yet.
    assert visitor.get_json("/api/v1/factions") == []
    assert feature_ids(visitor) == ([], etag_before)
    assert b"Replica Test Front" not in visitor.request("/")[2]
    # A command run meanwhile reads the primary.
    counts = manage(["shell", "-v", "0", "-c", COUNTS], **both)
    assert counts.stdout.split() == ["1", "1"], counts.stderr

    # Replay resumes: the visitor catches up, and the events' ETag moves with the replica.
    standby.sql("SELECT pg_wal_replay_resume()")
    assert wait_for(lambda: visitor.get_json("/api/v1/factions") != [], 15)
    events_after, etag_after = feature_ids(visitor)
    assert events_after == [event_id]
    assert etag_after != etag_before
    assert b"Replica Test Front" in visitor.request("/")[2]

    # An import's bulk insert alone (no history row) changes the replica's ETag too: a visitor
    # who revalidates gets the new event, never a 304 for what they had.
    made = manage(["shell", "-v", "0", "-c", EVENT + "print(make_event())"], **both)
    second = int(made.stdout)
    assert wait_for(lambda: second in feature_ids(visitor)[0], 15)
    assert feature_ids(visitor, etag=etag_after)[0] == [event_id, second]
