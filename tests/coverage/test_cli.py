"""`gisgrid coverage summary|buildings|gaps`, run as a user would run it, on the test database (read only)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

from gisgrid.config import DatabaseSettings

GISGRID = str(Path(sys.executable).parent / "gisgrid")


def _run(*args: str, db_settings: DatabaseSettings) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GISGRID_")}
    if db_settings.database_admin_url:
        env["GISGRID_DATABASE_ADMIN_URL"] = db_settings.database_admin_url
    else:
        env["GISGRID_DB_PORT"] = str(db_settings.db_port)
        env["GISGRID_DB_NAME"] = db_settings.db_name
    return subprocess.run([GISGRID, "coverage", *args], env=env, capture_output=True, text=True, timeout=300)


def test_coverage_commands(engine: Engine, db_settings: DatabaseSettings, tmp_path: Path) -> None:
    summary = _run("summary", "--threshold", "gb10", "--level", "micro", "--json", db_settings=db_settings)
    assert summary.returncode == 0, summary.stderr
    body = json.loads(summary.stdout)
    assert body["threshold"]["metres"] == 500 and len(body["units"]) > 100
    out = tmp_path / "b.csv"
    export = _run("buildings", "--out", str(out), db_settings=db_settings)
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").lstrip("\ufeff").splitlines()))
    assert rows and {"walk_any_m", "straight_any_m", "covered"} <= set(rows[0])
    gaps = _run("gaps", "--threshold", "gb5", db_settings=db_settings)
    assert gaps.returncode == 0 and "uncovered buildings" in gaps.stdout
    bad = _run("summary", "--threshold", "-3", db_settings=db_settings)
    assert bad.returncode == 2 and "-3" in bad.stdout + bad.stderr


def test_siting_and_what_if_commands(engine: Engine, db_settings: DatabaseSettings, tmp_path: Path) -> None:
    cands = tmp_path / "c.geojson"
    point = {"type": "Feature", "properties": {"name": "东门"}, "geometry": {"type": "Point"}}
    cands.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {**point, "geometry": {"type": "Point", "coordinates": [104.1017943, 30.6431749]}},
                    {**point, "geometry": {"type": "Point", "coordinates": [104.0993242, 30.6385203]}},
                ],
            }
        ),
        encoding="utf-8",
    )
    res = _run(
        "siting",
        "--k",
        "1",
        "--threshold",
        "gb5",
        "--candidates",
        str(cands),
        "--json",
        db_settings=db_settings,
    )
    assert res.returncode == 0, res.stderr
    body = json.loads(res.stdout)
    assert body["candidates"] == 2 and len(body["recommendations"]) == 1
    assert body["recommendations"][0]["name"] == "东门" and body["newly_covered_households"] > 0
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({"open": [{"kind": "outpost", "lon": 104.1017943, "lat": 30.6431749}]}))
    res = _run(
        "what-if",
        "--scenario",
        str(scenario),
        "--close",
        "S001",
        "--threshold",
        "gb5",
        "--json",
        db_settings=db_settings,
    )
    assert res.returncode == 0, res.stderr
    body = json.loads(res.stdout)
    assert body["scenario"]["close"] == ["S001"] and len(body["scenario"]["open"]) == 1
    bad = _run("what-if", "--close", "S999", db_settings=db_settings)
    assert bad.returncode == 2 and "S999" in bad.stdout + bad.stderr
