"""Extraction benchmark on the labelled corpus (tests/data/extraction/): quality and speed.

    python bench/extract_bench.py [--min-seconds 2] [--output bench-results/extract.json]

Runs today's extraction over every report of the corpus with the demo's gazetteer (built from the
same sources as `load_demo`, without the database), pairs candidates with the gold events, and
prints precision, recall and F1 per field and for whole events (type, place within 10 km, date
and main actor right) per language, the candidates made from reports that hold no event, and
reports per second in one process on the corpus and on ~600-word documents made of its reports,
next to issue 12's targets and the regression floor. Writes every figure, and each report's
misses and spurious candidates, as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conflictmap.settings")

import django  # noqa: E402

django.setup()

from conflictmap.ingest import scoring  # noqa: E402

TARGETS = {"event_f1": {"en": 0.8, "ar": 0.7}, "long_reports_per_s": 300}


def table(out: dict) -> str:
    parts = {"all": out["overall"], **out["by_language"]}
    head = f"{'':16}" + "".join(f"{name:>21}" for name in parts)
    sub = f"{'':16}" + "".join(f"{'P':>7}{'R':>7}{'F1':>7}" for _ in parts)
    lines = [head, sub]
    rows = [(f, [p["fields"][f] for p in parts.values()]) for f in scoring.FIELDS]
    rows.append(("whole event", [p["event"] for p in parts.values()]))
    for name, cells in rows:
        lines.append(
            f"{name:16}"
            + "".join(f"{c['precision']:7.2f}{c['recall']:7.2f}{c['f1']:7.2f}" for c in cells)
        )
    counts = ", ".join(
        f"{name} {p['event']['predicted']}/{p['event']['gold']}" for name, p in parts.items()
    )
    lines.append(f"candidates / gold events: {counts}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-seconds", type=float, default=2.0, help="timing per measurement")
    parser.add_argument("--output", default="bench-results/extract.json")
    args = parser.parse_args()

    out = scoring.run(min_seconds=args.min_seconds)
    floor = json.loads((scoring.CORPUS_DIR / "floor.json").read_text(encoding="utf-8"))
    out["floor"], out["targets"] = floor["event_f1"], TARGETS

    c = out["corpus"]
    print(
        f"Extraction on the labelled corpus: {c['reports']} reports "
        f"({c['by_language']['en']} en, {c['by_language']['ar']} ar), {c['gold_events']} gold "
        f"events, {c['no_event_reports']} reports with no event, {c['undated_reports']} undated "
        "(read with no report date)\n"
    )
    print(table(out))
    print()
    for lang in ("en", "ar"):
        f1 = out["by_language"][lang]["event"]["f1"]
        print(
            f"whole-event F1 {lang}: {f1:.3f}   floor {floor['event_f1'][lang]:.2f}   "
            f"target {TARGETS['event_f1'][lang]:.2f}"
        )
    ne = out["no_event"]
    print(
        f"no-event reports: {ne['candidates']} candidates from {len(ne['reports_with_candidates'])}"
        f" of {ne['reports']} reports ({', '.join(ne['reports_with_candidates']) or 'none'});"
        " target 0"
    )
    t = out["throughput"]
    print(
        f"\nthroughput, one process (extract() total, then ms per report in each stage):\n"
        f"  corpus        {t['corpus']['reports']:3} reports, mean {t['corpus']['mean_words']:3} "
        f"words: {t['corpus']['reports_per_s']:8.1f} reports/s "
        f"({t['corpus']['ms_per_report']:.2f} ms each)\n"
        f"  ~600 words    {t['long_reports']['reports']:3} documents, mean "
        f"{t['long_reports']['mean_words']:3} words: {t['long_reports']['reports_per_s']:8.1f} "
        f"reports/s ({t['long_reports']['ms_per_report']:.2f} ms each); target "
        f">= {TARGETS['long_reports_per_s']}/s\n"
        f"  gazetteer     {t['gazetteer']['places']} places, {t['gazetteer']['keys']} keys, "
        f"built in {t['gazetteer']['build_s']:.2f} s (once per process)"
    )
    for name in ("corpus", "long_reports"):
        stages = t[name]["stages"] or {}
        print(f"  stages, {name:12}" + "".join(f" {k} {v:.2f}" for k, v in stages.items()))
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"\nwritten: {path} (with each report's misses and spurious candidates)")


if __name__ == "__main__":
    main()
