"""Load test: many visitors of the map at once against gunicorn on the loopback (`make loadtest`).

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/cm_x python bench/loadtest.py \
        [--users 200] [--spawn-rate 20] [--time 60] [--web-workers 4] [--demo]

Runs on the database of bench/api_bench.py (DATABASE_URL's name + "_bench": 1,000,000 synthetic
events, 5,000 zone versions), made by the same preparation when missing or not filled, reused
otherwise; with --demo, on DATABASE_URL's own database as it is (e.g. after `make demo`).

gunicorn (sync workers, production settings: DEBUG off, static files collected to a temporary
folder) serves 127.0.0.1 only; locust (headless, bench/locustfile.py) sends the visitors for
--time seconds, then stops. Prints throughput and p50/p99 per endpoint, writes
bench-results/loadtest.json, and exits 1 on any error or timeout (a request that did not
answer 200 within the locustfile's NETWORK_TIMEOUT).

The server gets our environment, plus SERVER_ENV below and --server-env NAME=VALUE: that is where
an API rate limiter is switched off or set high for the run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api_bench  # noqa: E402  (bench/ is not a package: the preparation is shared)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVER_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "loadtest-only-" + "x" * 50,
    "ALLOWED_HOSTS": "127.0.0.1",
    # Hundreds of simulated visitors from one address: the per-client limit is off.
    "RATE_LIMIT": "off",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "LOG_LEVEL": "WARNING",
}


def database(args: argparse.Namespace) -> dict[str, str]:
    """The environment naming the database to run on (prepared, unless --demo)."""
    source = os.environ.get("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/conflictmap")
    if args.demo:
        return {"DATABASE_URL": source}
    db = api_bench.db_parts(source)
    db["name"] += "_bench"
    url = f"postgis://{db['user']}:{db['password']}@{db['host']}:{db['port']}/{db['name']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "conflictmap.settings"}
    if db["password"]:
        env["PGPASSWORD"] = db["password"]
    prepared = argparse.Namespace(
        events=args.events, zones=args.zones, versions=args.versions, reuse=True
    )
    api_bench.prepare(prepared, env, db)
    # A reused database may predate the latest migrations (prepare only counts its rows).
    api_bench.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env)
    return {"DATABASE_URL": url}


def serve(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "conflictmap.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--timeout", "120", "--backlog", "2048"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/extent", timeout=5).read()
            return server
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"gunicorn did not start:\n{log.read_text()[-3000:]}")


def read_stats(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        return list(csv.DictReader(f))


def read_failures(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def report(rows: list[dict], failures: list[dict], args: argparse.Namespace) -> dict:
    endpoints = {}
    for row in rows:
        endpoints[row["Name"]] = {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": round(float(row["Requests/s"]), 1),
            "p50_ms": float(row["50%"]),
            "p99_ms": float(row["99%"]),
            "max_ms": round(float(row["Max Response Time"]), 1),
            "avg_bytes": round(float(row["Average Content Size"])),
        }
    width = max(len(name) for name in endpoints)
    print(
        f"\nLoad test: {args.users} visitors for {args.time} s, {args.web_workers} gunicorn "
        f"workers ({'demo' if args.demo else f'{args.events:,} events, {args.versions:,} versions'})"
    )
    print(f"  {'endpoint':<{width}}  {'requests':>8}  {'errors':>6}  {'req/s':>6}  "
          f"{'p50 ms':>7}  {'p99 ms':>7}  {'max ms':>7}  {'avg KB':>7}")  # fmt: skip
    for name, e in endpoints.items():
        print(
            f"  {name:<{width}}  {e['requests']:>8}  {e['failures']:>6}  {e['rps']:>6}  "
            f"{e['p50_ms']:>7.0f}  {e['p99_ms']:>7.0f}  {e['max_ms']:>7.0f}  "
            f"{e['avg_bytes'] / 1000:>7.1f}"
        )
    for failure in failures:
        print(f"  FAILED {failure['Occurrences']}x {failure['Method']} {failure['Name']}: "
              f"{failure['Error']}")  # fmt: skip
    return endpoints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200, help="visitors at once")
    parser.add_argument("--spawn-rate", type=float, default=20, help="visitors arriving per second")
    parser.add_argument("--time", type=int, default=60, help="seconds of load")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=8202)
    parser.add_argument("--demo", action="store_true", help="DATABASE_URL's database as it is")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--zones", type=int, default=250)
    parser.add_argument("--versions", type=int, default=5000)
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="NAME=VALUE",
        help="more settings for the server (e.g. an API rate limit set high)",
    )  # fmt: skip
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.server_env)

    work = Path(tempfile.mkdtemp(prefix="loadtest-"))
    env = {**os.environ, **SERVER_ENV, **database(args), "STATIC_ROOT": str(work / "static"), **extra}  # fmt: skip
    server = serve(env, args.port, args.web_workers, work / "gunicorn.log")
    prefix = work / "locust"
    try:
        started = time.monotonic()
        locust = subprocess.run(
            [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "--host", f"http://127.0.0.1:{args.port}", "-u", str(args.users),
             "-r", str(args.spawn_rate), "-t", f"{args.time}s", "--stop-timeout", "40",
             "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
            cwd=ROOT, timeout=args.time + 180, stdout=(work / "locust.log").open("wb"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=60)
    rows = read_stats(prefix)
    failures = read_failures(prefix)
    total = next((r for r in rows if r["Name"] == "Aggregated"), None)
    if total is None:
        log = (work / "locust.log").read_text()[-3000:]
        raise SystemExit(f"locust wrote no statistics (exit {locust.returncode}):\n{log}")
    endpoints = report(rows, failures, args)
    results = ROOT / "bench-results"
    results.mkdir(exist_ok=True)
    (results / "loadtest.json").write_text(
        json.dumps(
            {"args": vars(args), "seconds": round(elapsed, 1), "endpoints": endpoints,
             "failures": failures},
            indent=1,
        )
    )  # fmt: skip
    errors = int(total["Failure Count"])
    shutil.rmtree(work, ignore_errors=True)
    if errors or locust.returncode != 0:
        raise SystemExit(f"\n{errors} failed requests (locust exit {locust.returncode}): FAILED")
    print(f"\nno error, no timeout: {int(total['Request Count']):,} requests, "
          f"{float(total['Requests/s']):.1f} req/s")  # fmt: skip


if __name__ == "__main__":
    main()
