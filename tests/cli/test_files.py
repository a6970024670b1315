"""`gisgrid export` and `gisgrid import` run as a user runs them (a real process on the test database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gisgrid.config import DatabaseSettings
from tests.io.conftest import BOWTIE, grid_feature, write_geojson

GISGRID = str(Path(sys.executable).parent / "gisgrid")


@pytest.fixture
def env(db_settings: DatabaseSettings, engine: Engine) -> dict[str, str]:
    """The CLI's environment, pointing at the (loaded) test database."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("GISGRID_")}
    out["GISGRID_DATABASE_URL"] = db_settings.url()
    return out


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run gisgrid with arguments."""
    return subprocess.run([GISGRID, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def count(engine: Engine, table: str) -> int:
    """Committed rows of a table."""
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def test_export_writes_the_layer(env: dict[str, str], engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "compounds.geojson"
    proc = run(env, "export", "compounds", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"Exported {count(engine, 'compound')} feature(s)" in proc.stdout
    assert len(json.loads(out.read_text(encoding="utf-8"))["features"]) == count(engine, "compound")


def test_refused_import_prints_each_problem_and_changes_nothing(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    path = write_geojson(tmp_path / "g.geojson", [grid_feature("T01", parent="510104003", ring=BOWTIE)])
    before = count(engine, "grid_unit")
    proc = run(env, "import", "grids", str(path))
    assert proc.returncode == 2
    for words in (
        "feature #",
        "T01",
        "geometry",
        "Self-intersection",
        "--make-valid",
        "nothing was imported",
    ):
        assert words in " ".join(proc.stderr.split()), proc.stderr
    assert count(engine, "grid_unit") == before


def test_csv_import_without_crs_is_refused_naming_crs(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("id,kind,name,lon,lat\nT1,outpost,x,104.1,30.64\n", encoding="utf-8")
    proc = run(env, "import", "sites", str(path))
    assert proc.returncode == 2 and "--crs" in proc.stderr and "Traceback" not in proc.stderr


def test_replacing_with_the_exported_file_replaces_every_feature(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "sites.data"
    assert run(env, "export", "sites", str(out), "--format", "gpkg").returncode == 0
    proc = run(env, "import", "sites", str(out), "--format", "gpkg", "--replace")
    assert proc.returncode == 0, proc.stderr
    n = count(engine, "service_site")
    assert f"Imported {n} feature(s) into sites (gpkg): 0 new, {n} replaced, 0 removed." in proc.stdout
