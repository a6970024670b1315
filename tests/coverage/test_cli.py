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
