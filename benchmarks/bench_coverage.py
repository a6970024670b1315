"""Walking coverage on the demo set (Niushikou): all 42 sites' service areas and every building's nearest-site
distances, with the shortest-path engine chosen by the numbers.

Measured in one run, on the demo database (`gisgrid demo load`), median of --repeat runs each:
(a) the whole analysis with SciPy's multi-source Dijkstra (scipy.sparse.csgraph) over the walking graph in
memory: read the network and places, snap every building and site (river-aware), distances from every site,
every building's nearest site of each kind (network and straight line), every site's reached edge parts and
reached length; (b) the same with one pgr_drivingDistance per site over the whole edge table (pgRouting);
(c) and (d) the distance step alone in each engine; (e) the service-area polygons of all 42 sites (PostGIS:
ST_LineSubstring, buffer, union), which only GET /api/coverage/service-areas needs. Both engines must give the
same distances (checked). Writes benchmarks/results/coverage.md.

    .venv/bin/python -m benchmarks.bench_coverage [--threshold 10min] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from sqlalchemy import text

from benchmarks.bench_load import machine
from gisgrid.config import Settings
from gisgrid.coverage import areas, network
from gisgrid.coverage.compute import Coverage, compute
from gisgrid.coverage.thresholds import parse
from gisgrid.db.engine import make_engine, session_scope

ROOT = Path(__file__).resolve().parent


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def analysis(session: Any, spec: str, srid: int, engine: str) -> tuple[Coverage, list[dict[str, Any]]]:
    """Everything but the polygons: distances, nearest sites, reached parts and lengths."""
    cov = compute(session, threshold=parse(spec), srid=srid, engine=engine)
    return cov, areas.site_lengths(cov, areas.reached_parts(cov, cov.threshold.metres))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", default="10min")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "coverage.md")
    args = parser.parse_args()
    settings = Settings()
    srid = settings.geo.metric_srid
    eng = make_engine(settings.db.url(), pool_size=1)
    load_before = os.getloadavg()[0]
    with session_scope(eng) as session:
        counts = session.execute(
            text(
                "SELECT (SELECT count(*) FROM service_site), (SELECT count(*) FROM building), "
                "(SELECT count(*) FROM walk_edge), (SELECT count(*) FROM walk_node), "
                "version(), postgis_lib_version(), pgr_version()"
            )
        ).one()
        analysis(session, args.threshold, srid, "scipy")  # warm-up (imports, caches)
        t_a, (cov_a, len_a) = timed(lambda: analysis(session, args.threshold, srid, "scipy"), args.repeat)
        t_b, (cov_b, len_b) = timed(lambda: analysis(session, args.threshold, srid, "pgrouting"), args.repeat)
        g, pts = cov_a.graph, cov_a.site_points
        t_c, _ = timed(lambda: network.node_distances(session, g, pts, engine="scipy"), args.repeat)
        t_d, _ = timed(lambda: network.node_distances(session, g, pts, engine="pgrouting"), args.repeat)
        kinds = ["centre", "community", "outpost"]
        t_e, polys = timed(
            lambda: areas.service_areas(
                session,
                cov_a,
                threshold_m=cov_a.threshold.metres,
                buffer_m=settings.coverage.coverage_buffer_m,
                srid=srid,
                kinds=kinds,
            ),
            max(1, args.repeat // 2),
        )
    load_after = os.getloadavg()[0]
    diff = np.nanmax(
        np.abs(cov_a.buildings["walk_any_m"].to_numpy() - cov_b.buildings["walk_any_m"].to_numpy())
    )
    reached = sum(s["reached_m"] for s in len_a)
    whole = sum(s["whole_edges_m"] for s in len_a)
    same_len = max(abs(x["reached_m"] - y["reached_m"]) for x, y in zip(len_a, len_b, strict=True))
    lines = [
        f"# Walking coverage on the demo set: {counts[0]} sites, {counts[1]:,} buildings ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"Machine: {machine()}. Load average (1 min) before / after: {load_before:.2f} / {load_after:.2f} (shared: "
        "other people's jobs compete for the cores).",
        f"Versions: Python {platform.python_version()}, {counts[4].split(' on ')[0]}, "
        f"PostGIS {counts[5]}, pgRouting {counts[6]}, SciPy {scipy.__version__}.",
        f"Data: the demo set (Niushikou), {counts[2]:,} walking edges, {counts[3]:,} nodes; threshold "
        f"{cov_a.threshold.label}.",
        f"Command: `.venv/bin/python -m benchmarks.bench_coverage --threshold {args.threshold} --repeat "
        f"{args.repeat}` (median of {args.repeat} runs; polygons: {max(1, args.repeat // 2)}).",
        "",
        "| step | time | result |",
        "|---|---|---|",
        f"| (a) **whole analysis, SciPy multi-source Dijkstra** (read, snap, distances, nearest sites, reached "
        f"parts and lengths) | {t_a * 1000:.0f} ms | {counts[1]:,} buildings, {counts[0]} service areas |",
        f"| (b) baseline: the same with one pgr_drivingDistance per site over the whole edge table | "
        f"{t_b * 1000:.0f} ms | max difference of a building's distance from (a): {diff:.2e} m; of a site's "
        f"reached length: {same_len:.2e} m |",
        f"| (c) distance step alone, SciPy (sites × nodes) | {t_c * 1000:.1f} ms | |",
        f"| (d) baseline: distance step alone, {counts[0]} × pgr_drivingDistance | {t_d * 1000:.0f} ms | |",
        f"| (e) service-area polygons of all {counts[0]} sites (PostGIS: substring, buffer "
        f"{settings.coverage.coverage_buffer_m:g} m, union) | {t_e * 1000:.0f} ms | {len(polys)} polygons |",
        "",
        f"Ratios: (b)/(a) = **{t_b / t_a:.1f}×** (whole analysis); (d)/(c) = **{t_d / t_c:.0f}×** (distance step). "
        f"Target: all {counts[0]} sites' service areas and every building's distances < 1 s: "
        f"{'met' if t_a < 1 else 'NOT met'} by (a) ({t_a:.2f} s); with the polygons (a)+(e) = {t_a + t_e:.2f} s.",
        "",
        f"Edge parts: the {counts[0]} service areas reach {reached / 1000:,.1f} km of network; the edges reached "
        f"whole (what pgr_drivingDistance's node set gives) are {whole / 1000:,.1f} km, "
        f"{(reached - whole) / reached:.0%} less.",
        "",
        "## How to read this",
        "",
        "- (a) and (b) differ only in the distance engine; the rest (snapping in shapely with an STRtree, the edge",
        "  parts in numpy) is shared, and both give the same distances (checked above).",
        "- The engine is SciPy (`gisgrid.coverage.network.ENGINE`): the graph is read once (a few thousand rows)",
        "  and one Dijkstra call from all sites' virtual nodes takes milliseconds, while each pgr_drivingDistance",
        "  call reads the edge table through its SQL text and builds its graph again, once per site.",
        "- The polygons (e) are the slow part: a union of some 20,000 buffered edge parts. Measured alternatives on",
        "  the largest site (the centre): a buffer of the collected lines was 7× slower, of the noded and merged",
        "  lines 5×; shapely in memory was no faster. They are only built for GET /api/coverage/service-areas",
        "  (`kind=` narrows it); the figures never need them.",
        "- Snapping reads every building and site and tests its snap segment against the river (never across the",
        "  water); it is most of (a) after reading the places.",
    ]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[:20]))


if __name__ == "__main__":
    main()
