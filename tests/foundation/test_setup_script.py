"""scripts/setup.sh, the first half of `make run` and `make test`, on a machine with no server.

PG_PRIVATE=1 makes it behave as on a machine where nothing answers on 5432: it must create a
private cluster under the state folder, start it, create the database with PostGIS, and do nothing
new the second time.
"""

import os
import shutil
import socket
import subprocess
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_state():
    state = ROOT / "var" / f"test-setup-{os.getpid()}"
    yield state
    pgdata = state / "pg" / "data"
    if (pgdata / "postmaster.pid").exists():
        pg_ctl = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
        as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_pg, str(pg_ctl), "-D", str(pgdata), "-m", "immediate", "stop"])
    shutil.rmtree(state, ignore_errors=True)


def test_setup_creates_starts_and_reuses_a_private_cluster(private_state):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(CONFLICTMAP_VAR=str(private_state), PG_PRIVATE="1", PG_PRIVATE_PORT=str(port))

    first = subprocess.run(
        ["scripts/setup.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert "creating a private cluster" in first.stdout
    runtime = (private_state / "runtime.env").read_text()
    assert f"DATABASE_URL=postgis://postgres@127.0.0.1:{port}/conflictmap" in runtime

    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="conflictmap") as c:
        version = c.execute("SELECT postgis_lib_version()").fetchone()[0]
        extensions = {r[0] for r in c.execute("SELECT extname FROM pg_extension")}
    assert version.startswith("3.")
    assert {"postgis", "btree_gist"} <= extensions

    second = subprocess.run(
        ["scripts/setup.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "creating a private cluster" not in second.stdout
    assert "created database" not in second.stdout
    assert "database conflictmap ready" in second.stdout
