"""Move-the-front benchmark: the preview and the commit of a 20-place move on 5,000 versions.

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/cm_x python bench/transfer_bench.py \
        [--zones 250] [--versions 5000] [--places 20] [--repeat 15] [--reuse]

Works in its own database, named after DATABASE_URL's with "_transfer_bench" appended: created,
migrated, filled by `generate_synthetic --zones --versions` (clearly marked synthetic zones on a
grid over Syria, 6 synthetic factions) and the gazetteer the product ships (as bench-api loads
it); reused with --reuse when it already holds that many versions.

The move: faction A takes the `--places` gazetteer places nearest one another among those held
on 2024-12-31 (the synthetic data's last day, when every zone's last version is open) by the
other factions, with the default 5 km radius. Timed in one Django process:
- preview: `transfer.plan(move)` (ground, cuts, gains, places: what the admin page draws), run
  `--repeat` times after one warm-up;
- commit: `transfer.apply(move)` then `SET CONSTRAINTS ALL IMMEDIATE` (so the deferred triggers
  that commit would run, e.g. the zone data stamp, are paid inside the timing), each in a
  transaction rolled back afterwards, so every run applies the same move to the same data.
Prints p50/p95/max against the targets of issue 11 (preview <= 300 ms, commit <= 1 s) and writes
bench-results/transfer.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from api_bench import db_parts, ensure_gazetteer, psql, run, scalar  # noqa: E402

PY = sys.executable
DAY = "2024-12-31"
TARGETS_MS = {"preview": 300.0, "commit": 1000.0}


def prepare(args, env: dict, db: dict) -> None:
    exists = scalar(
        {**db, "name": "postgres"}, f"SELECT 1 FROM pg_database WHERE datname = '{db['name']}'", env
    )
    if exists and args.reuse:
        versions = scalar(db, "SELECT count(*) FROM territory_zoneversion", env)
        if versions == str(args.versions):
            print(f"reusing {db['name']}: {versions} versions", flush=True)
            run([PY, "manage.py", "migrate", "--noinput", "-v0"], env)
            ensure_gazetteer(env)
            return
    base = ["-h", db["host"], "-p", db["port"], "-U", db["user"]]
    if exists:
        subprocess.run(["dropdb", *base, db["name"]], env=env, check=True)
    subprocess.run(["createdb", *base, db["name"]], env=env, check=True)
    psql(db, "CREATE EXTENSION IF NOT EXISTS postgis", env=env)
    run([PY, "manage.py", "migrate", "--noinput", "-v0"], env)
    t, _ = run(
        [
            PY, "manage.py", "generate_synthetic", "--zones", str(args.zones),
            "--versions", str(args.versions),
        ],
        env,
    )  # fmt: skip
    print(f"generated {args.versions} versions of {args.zones} zones in {t:.1f} s", flush=True)
    ensure_gazetteer(env)
    psql(db, "VACUUM ANALYZE", env=env)


# The places held on DAY by factions other than the taker, the `n` nearest the one with the
# most such places within 50 km (a front's worth of towns, not places scattered over Syria).
PLACES_SQL = """
WITH held AS (
    SELECT DISTINCT p.id, p.geom FROM events_place p
    JOIN territory_zoneversion v ON v.geom && p.geom AND ST_Intersects(v.geom, p.geom)
    WHERE v.period @> %(day)s::date AND v.faction_id <> %(taker)s
      AND NOT EXISTS (
          SELECT 1 FROM territory_zoneversion t
          WHERE t.period @> %(day)s::date AND t.faction_id = %(taker)s
            AND t.geom && p.geom AND ST_Intersects(t.geom, p.geom))
),
centre AS (
    SELECT h.id, h.geom FROM held h
    ORDER BY (SELECT count(*) FROM held o
              WHERE ST_DWithin(o.geom::geography, h.geom::geography, 50000)) DESC, h.id
    LIMIT 1
)
SELECT h.id FROM held h, centre c
ORDER BY h.geom <-> c.geom, h.id
LIMIT %(n)s
"""


def measure(args) -> dict:
    import django

    django.setup()
    from django.db import connection, transaction

    from conflictmap.events.models import Place
    from conflictmap.territory import transfer
    from conflictmap.territory.models import Faction

    taker = Faction.objects.get(slug="synthetic-a")
    with connection.cursor() as cursor:
        cursor.execute(PLACES_SQL, {"day": DAY, "taker": taker.pk, "n": args.places})
        ids = [r[0] for r in cursor.fetchall()]
    places = list(Place.objects.filter(pk__in=ids))
    move = transfer.Move(
        taker=taker,
        day=__import__("datetime").date.fromisoformat(DAY),
        places=places,
        sources=["https://example.org/synthetic-benchmark"],
        reason="SYNTHETIC benchmark move",
    )
    first = transfer.plan(move)  # warm-up: the backend loads PostGIS, plans are cached
    summary = first.summary()
    preview = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        transfer.plan(move)
        preview.append((time.perf_counter() - t0) * 1000)
    commit, opened = [], 0
    for _ in range(max(3, args.repeat // 2)):
        with transaction.atomic():
            t0 = time.perf_counter()
            outcome = transfer.apply(move)
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            commit.append((time.perf_counter() - t0) * 1000)
            opened = len(outcome.summary()["opened"])
            transaction.set_rollback(True)

    def stats(values: list[float]) -> dict:
        ordered = sorted(values)
        return {
            "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
            "max_ms": round(ordered[-1], 1),
            "runs": len(ordered),
        }

    return {
        "places": len(places),
        "moved_km2": summary["moved_km2"],
        "losers": len(summary["from"]),
        "versions_closed": sum(len(f["zones"]) for f in summary["from"]),
        "versions_opened": opened,
        "preview": stats(preview),
        "commit": stats(commit),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", type=int, default=250)
    parser.add_argument("--versions", type=int, default=5000)
    parser.add_argument("--places", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/conflictmap")
    db = db_parts(url)
    db["name"] += "_transfer_bench"
    env = {
        **os.environ,
        "DATABASE_URL": url.rsplit("/", 1)[0] + "/" + db["name"],
        "DJANGO_SETTINGS_MODULE": "conflictmap.settings",
        "PGPASSWORD": db["password"],
    }
    prepare(args, env, db)
    os.environ.update(env)
    result = measure(args)
    print(
        f"\nmove of {result['places']} places: {result['moved_km2']:,.1f} km² from "
        f"{result['losers']} factions, {result['versions_closed']} versions closed, "
        f"{result['versions_opened']} opened ({args.versions} versions, {args.zones} zones)"
    )
    print(f"{'':10}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'target':>10}{'p95/target':>12}")
    for name in ("preview", "commit"):
        s = result[name]
        target = TARGETS_MS[name]
        print(
            f"{name:10}{s['p50_ms']:>10}{s['p95_ms']:>10}{s['max_ms']:>10}{target:>10.0f}"
            f"{s['p95_ms'] / target:>12.2f}"
        )
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "transfer.json").write_text(json.dumps({"args": vars(args), **result}, indent=2))
    if any(result[n]["p95_ms"] > TARGETS_MS[n] for n in TARGETS_MS):
        print("over a target", file=sys.stderr)


if __name__ == "__main__":
    main()
