"""Throughput and latency of GET /api/locate on the city-scale set: one uvicorn worker, 32 connections.

Baseline (same run, same server, same load generator): GET /api/health, the simplest route that touches the
database, on the threaded SQLAlchemy path every other route uses (locate runs async on asyncpg). Load comes from wrk (C, one thread) with random points inside micro-grids, each a full
answer (path, workers, compound, three nearest sites by walking distance). Writes benchmarks/results/locate.md.

    .venv/bin/python benchmarks/bench_locate.py [--duration 20] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from benchmarks.bench_load import city_database, ensure_city, machine
from gisgrid import crs
from gisgrid.auth import accounts
from gisgrid.config import Settings
from gisgrid.db.cluster import LocalCluster
from gisgrid.db.engine import make_engine

ROOT = Path(__file__).resolve().parent
DB = "gisgrid_bench_locate"
LUA = """
local points = {%s}
local token = "%s"
local i = 0
request = function()
  i = i %% #points + 1
  local p = points[i]
  return wrk.format("GET", "/api/locate?lon=" .. p[1] .. "&lat=" .. p[2] .. "&crs=gcj02",
                    {["Authorization"] = "Bearer " .. token})
end
"""


def points_and_token(
    settings: Settings, secret_file: Path, n: int
) -> tuple[list[tuple[float, float]], str, int]:
    """Random points inside micro-grids (fixed seed), a bearer token of a benchmark dispatcher, micro count."""
    engine = make_engine(settings.db.url(dbname=DB), pool_size=1)
    with Session(engine) as session, session.begin():
        session.execute(text("SELECT setseed(0.42)"))
        rows = session.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, 1, 7))).geom AS p "
                "FROM (SELECT geom FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL ORDER BY random() "
                "LIMIT :n) g) q"
            ),
            {"n": n},
        ).all()
        micro = session.execute(text("SELECT count(*) FROM grid_unit WHERE level = 'micro'")).scalar_one()
        user = session.scalar(text("SELECT username FROM app_user WHERE username = 'bench'"))
        if user is None:
            accounts.create_user(session, username="bench", password="bench-password", role="dispatcher")
        issued = accounts.issue(
            session,
            user=accounts.get_user(session, "bench"),
            kind="token",
            secret=accounts.load_secret(secret_file),
            ttl=timedelta(hours=2),
        )
    engine.dispose()
    return [(float(x), float(y)) for x, y in rows], issued.token, int(micro)


def run_wrk(url: str, script: Path | None, duration: int, connections: int, token: str) -> dict[str, float]:
    """Requests/s, latency percentiles (ms) and error count from one wrk run."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    args += ["-s", str(script)] if script else ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    pct = {m[0]: _ms(m[1], m[2]) for m in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": pct["50"],
        "p90": pct["90"],
        "p99": pct["99"],
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def serve(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """One uvicorn worker without access logs, as production would run it."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT.parent,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--city", type=Path, default=ROOT / "out" / "city")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: ./dev setup (or apt-get install -y wrk)")
    settings = Settings()
    if not settings.db.external:
        LocalCluster(root=settings.db.db_cluster_dir, port=settings.db.db_port).up()
    ensure_city(args.city, 170)
    city_database(settings, DB, args.city).dispose()
    tmp = Path(tempfile.mkdtemp(prefix="bench-locate-"))
    secret = tmp / "secret_key"
    points, token, micro = points_and_token(settings, secret, args.points)
    script = tmp / "locate.lua"
    # As a phone sends them: GCJ-02, so every request also pays the iterative inverse to WGS 84.
    glon, glat = crs.wgs84_to_gcj02(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    pairs = ",".join(f"{{{x:.7f},{y:.7f}}}" for x, y in zip(glon.tolist(), glat.tolist(), strict=True))
    script.write_text(LUA % (pairs, token), encoding="utf-8")
    env = {**os.environ, "GISGRID_DB_NAME": DB, "GISGRID_SECRET_KEY_FILE": str(secret)}
    port = 18765
    server = serve(port, env)
    try:
        # Warm-up: every pooled connection prepares its statements, caches fill.
        run_wrk(f"http://127.0.0.1:{port}/api/locate", script, 5, args.connections, token)
        health = run_wrk(f"http://127.0.0.1:{port}/api/health", None, args.duration, args.connections, token)
        locate = run_wrk(
            f"http://127.0.0.1:{port}/api/locate", script, args.duration, args.connections, token
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()[0]
    lines = [
        f"# GET /api/locate under load ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"Machine: {machine()}; load average {load:.2f} at the end. Server: one uvicorn worker, no access log, "
        f"the project's own PostGIS; /api/health on the threaded SQLAlchemy pool "
        f"({settings.db.db_pool_size} connections), /api/locate async on the asyncpg pool "
        f"({settings.db.async_pool_size} connections). Load: wrk, 1 thread, {args.connections} connections, "
        f"{args.duration} s per route after a 5 s warm-up; {len(points):,} random points inside the "
        f"{micro:,} micro-grids of the city-scale set, sent in GCJ-02 as phones give them, full answers.",
        "Command: `.venv/bin/python -m benchmarks.bench_locate`.",
        "",
        "| route | requests/s | p50 ms | p90 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|---|",
        f"| **baseline** GET /api/health | {health['rps']:,.0f} | {health['p50']:.1f} | {health['p90']:.1f} | "
        f"{health['p99']:.1f} | {health['errors']:.0f} |",
        f"| GET /api/locate | {locate['rps']:,.0f} | {locate['p50']:.1f} | {locate['p90']:.1f} | "
        f"{locate['p99']:.1f} | {locate['errors']:.0f} |",
        "",
        f"Ratio locate/health throughput: **{locate['rps'] / health['rps']:.2f}**. "
        f"Target ≥ 1,000 requests/s with p99 ≤ 100 ms: "
        f"{'met' if locate['rps'] >= 1000 and locate['p99'] <= 100 else 'NOT met'}.",
        "",
        "Before locate ran async on asyncpg (commit f2d19bc, the same benchmark with WGS 84 points, load average "
        "5–15): 286–321 requests/s, p99 540–684 ms, against 460–512 requests/s for /api/health.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    print(json.dumps({"health": health, "locate": locate}))
    (ROOT / "results" / "locate.md").write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
