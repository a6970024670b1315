"""Open the map on the city-scale set in headless Chromium and time the first full render of the visible area.

Measured: the map page as it is — each visible layer loaded for the visible area only (bbox, per-layer minimum
zoom, paging), gzip and ETag from the server. Timed from navigation start until `window.gisgrid.ready` (every
visible layer loaded and drawn) plus two animation frames (the browser has painted). Also timed: a warm reload in
the same browser context (pages revalidated with If-None-Match → 304) and a pan-and-zoom to a street (z16).

Baseline, measured in the same run against the same server and browser: the old load-everything approach — the
page fetches every feature of every layer (no bbox, `next_offset` paging) and draws the visible layers before it
counts as rendered (what the map did before issue 9). It is bounded: it stops after --timeout seconds and then
reports how far it got.

    .venv/bin/python -m benchmarks.bench_map [--subdistricts 170] [--out benchmarks/out/city] [--runs 3] [--timeout 180]

Needs /usr/bin/chromium (./dev setup test) and generates/loads the city set like benchmarks/bench_load.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Error, Response, Route, sync_playwright
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from benchmarks.bench_load import city_database, ensure_city, machine
from gisgrid.config import Settings
from gisgrid.db.cluster import LocalCluster
from gisgrid.db.engine import make_engine

ROOT = Path(__file__).resolve().parent
DB = "gisgrid_bench_map"
PORT = 18767
CHROMIUM = os.environ.get("GISGRID_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 800}

PAINTED = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
# Resolves to what the page did once the map is ready and painted: ms since navigation start, features drawn,
# layer requests and the bytes they took on the wire (gzip) and after decoding.
MEASURE_NEW = """async () => {
  const summary = await window.gisgrid.ready;
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const ms = performance.now();
  const layers = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/layers/'));
  const drawn = Object.values(window.gisgrid.layers).reduce((n, g) => n + g.featureCount, 0);
  return {ms, drawn, requests: layers.length, wire: layers.reduce((n, e) => n + e.transferSize, 0),
          decoded: layers.reduce((n, e) => n + e.decodedBodySize, 0), zoom: window.gisgrid.map.getZoom(),
          failed: summary.failed};
}"""
STREET = """async ([lat, lon]) => {
  const t0 = performance.now();
  window.gisgrid.map.setView([lat, lon], 16, {animate: false});
  await window.gisgrid.loader.settled();
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return {ms: performance.now() - t0,
          drawn: Object.values(window.gisgrid.layers).reduce((n, g) => n + g.featureCount, 0)};
}"""
# The old approach, with the page's own modules for drawing (the same panes, styles and SVG renderer): every
# page of every layer before the map counts as rendered.
BASELINE_JS = """
import { getJson, mapConfig } from "/static/lib/api.js";
import { createLayer } from "/static/layers/layers.js";
window.baseline = { features: 0, done: false, requests: 0 };
const map = L.map("map", { minZoom: 10, maxZoom: 20, renderer: L.svg({ padding: 0.5 }), zoomSnap: 0.5 });
const config = await mapConfig();
const [minx, miny, maxx, maxy] = config.extent;
map.fitBounds([[miny, minx], [maxy, maxx]]);
await Promise.all(config.layers.map(async (cfg) => {
  const group = createLayer(map, cfg, { onFeatureClick: () => {} });
  if (cfg.map.visible) group.addTo(map);
  let offset = 0;
  while (offset !== null && offset !== undefined) {
    const page = await getJson(`/api/layers/${cfg.name}`, { limit: config.layer_max_features, offset });
    window.baseline.requests += 1;
    group.addData(page);
    window.baseline.features += page.features.length;
    offset = page.features.length ? page.next_offset : null;
  }
}));
await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
window.baseline.ms = performance.now();
window.baseline.done = true;
"""


def serve(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The app in one uvicorn worker on the benchmark database."""
    cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port", str(PORT)]
    cmd += ["--no-access-log", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT.parent)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/health", timeout=2).read()  # noqa: S310
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start")


def measure_new(browser: Browser, url: str, street: tuple[float, float]) -> dict[str, Any]:
    """One cold open (fresh context), a warm reload in the same context, then a jump to a street."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(300_000)
    try:
        page = context.new_page()
        page.goto(url)
        cold = page.evaluate(MEASURE_NEW)
        page.reload()
        warm = page.evaluate(MEASURE_NEW)
        moved = page.evaluate(STREET, list(street))
        return {"cold": cold, "warm": warm, "street": moved}
    finally:
        context.close()


def measure_baseline(browser: Browser, url: str, timeout_s: float) -> dict[str, Any]:
    """The load-everything page, stopped after `timeout_s`; progress is counted from the responses, since a page
    drawing a whole city may no longer answer."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(timeout_s * 1000 + 30_000)
    seen = {"features": 0, "requests": 0}

    def baseline_script(route: Route) -> None:
        route.fulfill(body=BASELINE_JS, content_type="text/javascript")

    def on_response(response: Response) -> None:
        if "/api/layers/" in response.url and response.ok:
            seen["requests"] += 1
            try:
                seen["features"] += int(response.json().get("numberReturned", 0))
            except Error:
                pass  # the page was closed at the time limit while this body was still arriving

    start = time.monotonic()
    try:
        page = context.new_page()
        page.route("**/static/map/main.js", baseline_script)
        page.on("response", on_response)
        page.goto(url)
        try:
            page.wait_for_function("() => window.baseline && window.baseline.done", timeout=timeout_s * 1000)
            out: dict[str, Any] = page.evaluate("() => window.baseline")
            return {**out, "finished": True}
        except Error:
            return {**seen, "finished": False, "ms": (time.monotonic() - start) * 1000}
    finally:
        context.close()


def city_facts(settings: Settings, city: Path) -> tuple[int, tuple[float, float]]:
    """Features in the layers the map serves, and a point in the middle of the data (for the street jump)."""
    engine = make_engine(settings.db.url(dbname=DB), pool_size=1)
    try:
        with engine.connect() as conn:
            loaded = conn.execute(text("SELECT count(*) FROM grid_unit")).scalar_one() > 0
    except DBAPIError:
        loaded = False  # no database yet
    if not loaded:
        engine.dispose()
        engine = city_database(settings, DB, city)
    with engine.connect() as conn:
        total = sum(
            int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())  # noqa: S608
            for t in ("grid_unit", "special_grid", "compound", "building", "service_site", "walk_edge")
        )
        total += int(conn.execute(text("SELECT count(*) FROM river")).scalar_one())
        total += int(conn.execute(text("SELECT count(*) FROM bank_segment")).scalar_one())
        row = conn.execute(
            text(
                "SELECT ST_Y(c), ST_X(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) AS c FROM grid_unit "
                "WHERE valid_to IS NULL AND level = 'subdistrict') s"
            )
        ).one()
    engine.dispose()
    return total, (float(row[0]), float(row[1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subdistricts", type=int, default=170)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "city", help="folder of the generated set")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds the baseline may take at most")
    args = parser.parse_args()
    settings = Settings()
    if not settings.db.external:
        LocalCluster(root=settings.db.db_cluster_dir, port=settings.db.db_port).up()
    ensure_city(args.out, args.subdistricts)
    total, street = city_facts(settings, args.out)

    tmp = Path(tempfile.mkdtemp(prefix="bench-map-"))
    env = {**os.environ, "GISGRID_DB_NAME": DB, "GISGRID_SECRET_KEY_FILE": str(tmp / "secret_key")}
    server = serve(env)
    url = f"http://127.0.0.1:{PORT}/"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            runs = [measure_new(browser, url, street) for _ in range(args.runs)]
            baseline = measure_baseline(browser, url, args.timeout)
            browser.close()
    finally:
        server.kill()
        server.wait()
    write_results(args, total, runs, baseline)


def write_results(
    args: argparse.Namespace, total: int, runs: list[dict[str, Any]], baseline: dict[str, Any]
) -> None:
    """Print and record the result in benchmarks/results/map.md."""
    cold = statistics.median(r["cold"]["ms"] for r in runs) / 1000
    warm = statistics.median(r["warm"]["ms"] for r in runs) / 1000
    street = statistics.median(r["street"]["ms"] for r in runs) / 1000
    first = runs[0]
    base_s = baseline["ms"] / 1000
    finished = baseline["finished"]
    ratio = base_s / cold
    bound = "" if finished else "≥ "
    base_what = (
        f"{baseline['features']:,} features in {baseline['requests']} requests"
        if finished
        else f"did not finish in {args.timeout:.0f} s: {baseline['features'] or 0:,} of {total:,} features "
        f"after {baseline['requests'] or 0} requests"
    )
    mb = 1024 * 1024
    lines = [
        f"# Opening the map on the city-scale set ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"Machine: {machine()}. Headless Chromium ({CHROMIUM}), viewport 1280×800; the app in one uvicorn worker "
        f"on the project's own PostGIS. Command: `.venv/bin/python -m benchmarks.bench_map --subdistricts "
        f"{args.subdistricts} --out {args.out.relative_to(ROOT.parent) if args.out.is_relative_to(ROOT.parent) else args.out} "
        f"--runs {args.runs} --timeout {args.timeout:.0f}`.",
        "",
        f"City set: {args.subdistricts} subdistricts, {total:,} features in the map's layers.",
        "",
        "| what | first full render of the visible area | drawn | layer requests | on the wire / decoded |",
        "|---|---|---|---|---|",
        f"| **baseline**: load every feature of every layer, then draw | {bound}{base_s:.1f} s | {base_what} | | |",
        f"| bbox + zoom loading, cold (median of {args.runs}) | **{cold:.2f} s** | {first['cold']['drawn']:,} "
        f"(zoom {first['cold']['zoom']}) | {first['cold']['requests']} | "
        f"{first['cold']['wire'] / mb:.2f} MB / {first['cold']['decoded'] / mb:.2f} MB |",
        f"| same, warm reload (ETag revalidation) | {warm:.2f} s | {first['warm']['drawn']:,} | "
        f"{first['warm']['requests']} | {first['warm']['wire'] / mb:.2f} MB / {first['warm']['decoded'] / mb:.2f} MB |",
        f"| jump to a street (zoom 16) and draw it | {street:.2f} s | {first['street']['drawn']:,} | | |",
        "",
        f"Ratio baseline / new (cold first render): **{bound}{ratio:.0f}×**. Target: first render < 2 s — "
        f"{'met' if cold < 2 else 'NOT met'}.",
        "",
        "Runs (cold / warm / street, s): "
        + "; ".join(
            f"{r['cold']['ms'] / 1000:.2f} / {r['warm']['ms'] / 1000:.2f} / {r['street']['ms'] / 1000:.2f}"
            for r in runs
        )
        + ".",
        "",
        "How to read this: times run from navigation start to the map's `ready` (every visible layer of the view "
        "loaded and drawn) plus two animation frames. At the city view only the layers allowed at that zoom are "
        "asked for (map-config `min_zoom`: buildings, the walking network and micro-grids wait until the user "
        "zooms in); the baseline asks for all of them, 5,000 features a page. 'On the wire' is what the browser "
        "received (gzip); a warm reload gets 304s for unchanged pages.",
        "",
    ]
    text_out = "\n".join(lines)
    print(text_out)
    (ROOT / "results" / "map.md").write_text(text_out, encoding="utf-8")


if __name__ == "__main__":
    main()
