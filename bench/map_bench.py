"""Map page benchmark: Chromium (Playwright, /usr/bin/chromium) drives the map page on the bench
database (`make bench-map`).

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/cm_x python bench/map_bench.py \\
        [--events 1000000] [--zones 250] [--versions 5000] [--steps 30] [--rounds 3] \\
        [--root DIR] [--label NAME]

The database is the one `make bench-api` fills (DATABASE_URL's name + "_bench", filled by
`generate_synthetic` when it does not hold that many events and versions, reused otherwise).
gunicorn serves the page with production settings (DEBUG off, static files collected, 4 sync
workers as docs/deploy.md runs it) from --root (default: this checkout; another checkout, such as
a worktree of an older commit, measures that code on the same data). Nothing goes off the
loopback (base map tiles are refused). A first visit warms the server's caches and is not counted.

Figures, each the median of --rounds fresh browser contexts (bytes are the response bodies as
sent, uncompressed: gunicorn does not compress; a proxy in front would):
- first paint of zones: ms from navigation to the zones drawn (the page's "zones-drawn"
  measure), for a new visitor (empty browser cache) and a returning one (static files cached),
  and the bytes received by then;
- slider step: `--steps` clicks on the step button, one every 300 ms (someone reading the map),
  ms from the click (its input event's timeStamp) to the next painted frame that shows the new
  date (the end of the page's "step-paint"): median and p90; how many waited for the network
  (a step overtaken by the next click before its state came is not painted, and is counted);
- all-years event view: ms from navigation to the events drawn ("events-drawn") with a window
  of every day of the data, and the bytes by then (given up after --patience seconds).
Writes bench-results/map[-LABEL].json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadtest  # noqa: E402  (bench/ is not a package: database and server are shared)

ROOT = Path(__file__).resolve().parent.parent
FIRST, LAST = "2011-03-15", "2024-12-31"
DAY = "2018-06-01"
VIEWPORT = {"width": 1280, "height": 860}


def blocker(host: str):
    def route(route) -> None:
        if urlparse(route.request.url).netloc == host:
            route.continue_()
        else:
            route.abort()

    return route


class Visit:
    """One page in a fresh context (or a given one), counting the bytes of every response."""

    def __init__(self, browser, base: str, context=None) -> None:
        self.own = context is None
        self.context = context or browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.received: list[tuple[float, int, str]] = []  # (time, body bytes, url)
        self.page.route("**/*", blocker(urlparse(base).netloc))
        self.page.on("requestfinished", self._finished)
        self.base = base

    def _finished(self, request) -> None:
        try:
            size = request.sizes()["responseBodySize"]
        except Exception:  # a request the page dropped on its way
            size = 0
        self.received.append((time.monotonic(), size, request.url))

    def open(self, query: str) -> float:
        started = time.monotonic()
        self.page.goto(f"{self.base}/{query}", wait_until="commit")
        return started

    def measure(self, name: str, timeout: float, fallback: str = "false") -> float | None:
        """The duration of the page's first measure `name`, or the page's clock when the JS
        expression `fallback` first holds (for pages without that measure)."""
        script = f"""() => {{
            const m = performance.getEntriesByName({name!r});
            if (m.length) return m[0].duration;
            return ({fallback}) ? performance.now() : false;
        }}"""
        try:
            return self.page.wait_for_function(script, timeout=timeout * 1000).json_value()
        except Exception as error:  # given up: say why (a timeout, or the page failing)
            print(f"  {name}: not measured: {str(error).splitlines()[0][:300]}", flush=True)
            return None

    def bytes_by(self, started: float, ms: float) -> int:
        end = started + ms / 1000 + 0.05
        return sum(size for t, size, _url in self.received if t <= end)

    def close(self) -> None:
        if self.own:
            self.context.close()
        else:
            self.page.close()


def settle(page) -> None:
    """Let the page's requests finish, up to 30 s (the area series of 50,000 versions takes the
    server longer; it has no part in what is measured)."""
    with contextlib.suppress(Exception):
        page.wait_for_load_state("networkidle", timeout=30000)


def first_paint(browser, base: str, *, returning: bool, patience: float) -> dict:
    context = browser.new_context(viewport=VIEWPORT)
    if returning:  # a first visit fills the browser's cache with the static files
        warm = Visit(browser, base, context)
        warm.open(f"?date={DAY}")
        warm.measure("zones-drawn", patience)
        settle(warm.page)
        warm.close()
    visit = Visit(browser, base, context)
    started = visit.open(f"?date={DAY}")
    ms = visit.measure("zones-drawn", patience)
    result = {"ms": ms, "bytes": visit.bytes_by(started, ms) if ms is not None else None}
    settle(visit.page)
    context.close()
    return result


# Each press's time as the page received it (the input event's timeStamp, on the clock of the
# page's performance measures): a step is timed from there, input queueing included.
RECORD_INPUTS = """
window.__presses = [];
window.addEventListener("pointerdown", (e) => window.__presses.push(e.timeStamp), true);
"""


def slider(browser, base: str, steps: int, patience: float) -> dict:
    visit = Visit(browser, base)
    visit.page.add_init_script(RECORD_INPUTS)
    visit.open(f"?date={DAY}")
    visit.measure("zones-drawn", patience)
    settle(visit.page)
    box = visit.page.locator("#step-forward").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for _ in range(steps):
        visit.page.mouse.click(x, y)  # no waiting for the page: a person does not either
        visit.page.wait_for_timeout(300)
    visit.page.wait_for_timeout(1500)
    presses = visit.page.evaluate("window.__presses")
    paints = visit.page.evaluate(
        "performance.getEntriesByName('step-paint').map((e) => [e.startTime, e.duration, e.detail ? e.detail.waited : null])"
    )
    visit.close()
    # The frame showing a step, from the last press before its handler ran.
    durations, waited = [], 0
    for start, duration, was_waiting in paints:
        before = [p for p in presses if p <= start + 0.5]
        if before:
            durations.append(start + duration - before[-1])
            waited += bool(was_waiting)
    durations.sort()
    return {
        "steps": len(presses),
        "painted": len(durations),
        "waited": waited,
        "median_ms": statistics.median(durations) if durations else None,
        "p90_ms": durations[int(0.9 * (len(durations) - 1))] if durations else None,
        "all_ms": [round(d, 1) for d in durations],
    }


def all_years(browser, base: str, patience: float, days: int) -> dict:
    visit = Visit(browser, base)
    started = visit.open(f"?date={LAST}&window={days}&layers=zones,events")
    # (a page without the measure: once it has counted the events of the window)
    ms = visit.measure(
        "events-drawn", patience, "document.getElementById('event-count')?.textContent"
    )
    mode = visit.page.locator("#map").get_attribute("data-events-mode") if ms else None
    result = {
        "ms": ms,
        "bytes": visit.bytes_by(started, ms)
        if ms is not None
        else sum(s for _t, s, _u in visit.received),
        "mode": mode,
        "gave_up_after_s": None if ms is not None else patience,
    }
    with contextlib.suppress(Exception):  # a page still loading a huge answer
        visit.close()
    return result


def median_of(rounds: list[dict], key: str) -> float | None:
    values = [r[key] for r in rounds if r[key] is not None]
    return statistics.median(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--zones", type=int, default=250)
    parser.add_argument("--versions", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8203)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--patience", type=float, default=60, help="seconds before giving up")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument("--label", default="", help="names the results file")
    parser.add_argument(
        "--window", type=int, default=5041,
        help="days of the all-years view (5041: from the data's first day; older pages took 366)",
    )  # fmt: skip
    parser.set_defaults(demo=False)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    loadtest.ROOT = args.root.resolve()  # serve() runs collectstatic and gunicorn there
    work = Path(tempfile.mkdtemp(prefix="map-bench-"))
    env = {
        **os.environ,
        **loadtest.SERVER_ENV,
        **loadtest.database(args),
        "STATIC_ROOT": str(work / "static"),
    }
    server = loadtest.serve(env, args.port, args.web_workers, work / "gunicorn.log")
    base = f"http://127.0.0.1:{args.port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            print("warming the server up", flush=True)
            first_paint(browser, base, returning=False, patience=args.patience * 3)
            all_years(browser, base, args.patience * 3, args.window)
            new, back = [], []
            for i in range(args.rounds):
                print(f"round {i + 1}/{args.rounds}", flush=True)
                new.append(first_paint(browser, base, returning=False, patience=args.patience))
                back.append(first_paint(browser, base, returning=True, patience=args.patience))
            steps = slider(browser, base, args.steps, args.patience)
            events = [
                all_years(browser, base, args.patience, args.window) for _ in range(args.rounds)
            ]
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=60)

    def kb(value: float | None) -> str:
        return "n/a" if value is None else f"{value / 1e6:.2f} MB"

    def ms(value: float | None) -> str:
        return "did not finish" if value is None else f"{value:,.0f} ms"

    print()
    print(
        f"Map page ({args.events:,} events, {args.versions:,} zone versions in {args.zones} zones;"
        f" {args.web_workers} gunicorn workers; median of {args.rounds}) {args.label}"
    )
    rows = [
        (
            "first paint of zones, new visitor",
            f"{ms(median_of(new, 'ms'))}, {kb(median_of(new, 'bytes'))}",
            "target <= 1.0 s, <= 1.5 MB",
        ),
        (
            "first paint of zones, returning visitor",
            f"{ms(median_of(back, 'ms'))}, {kb(median_of(back, 'bytes'))}",
            "static files from the browser's cache",
        ),
        (
            f"slider step to painted frame ({steps['painted']} of {steps['steps']} day steps)",
            f"median {ms(steps['median_ms'])}, p90 {ms(steps['p90_ms'])}",
            f"target <= 50 ms; {steps['waited']} waited for the network",
        ),
        (
            f"event view of {args.window:,} days drawn",
            f"{ms(median_of(events, 'ms'))}, {kb(median_of(events, 'bytes'))}",
            f"target <= 1.5 s; drawn as {events[0]['mode'] or '-'}",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:<{value_width}}  {note}")
    results = ROOT / "bench-results"
    results.mkdir(exist_ok=True)
    out = results / (f"map-{args.label}.json" if args.label else "map.json")
    out.write_text(
        json.dumps(
            {
                "args": {**vars(args), "root": str(args.root)},
                "first_paint_new": new,
                "first_paint_returning": back,
                "slider": steps,
                "all_years": events,
            },
            indent=1,
        )  # fmt: skip
    )


if __name__ == "__main__":
    main()
