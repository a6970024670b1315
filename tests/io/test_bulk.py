"""The COPY-based bulk loader gives the same database as the row-wise importer, and refuses bad sets whole."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gisgrid.config import DatabaseSettings, Settings
from gisgrid.db import migrate
from gisgrid.db.engine import drop_database, ensure_database, make_engine
from gisgrid.errors import InvalidInput
from gisgrid.io.bulk import bulk_load

DEMO = Settings().data.demo_dir
SNAPSHOT = {
    "grid_unit": "SELECT code, level, parent_code, name, households, population, ST_AsText(geom) FROM grid_unit",
    "compound": "SELECT ext_id, name, aliases, households, ST_AsText(geom) FROM compound",
    "building": "SELECT b.ext_id, c.ext_id, b.label, b.households FROM building b JOIN compound c ON c.id = b.compound_id",
    "service_site": "SELECT s.ext_id, s.kind, s.services, c.ext_id, ST_AsText(s.geom) FROM service_site s "
    "LEFT JOIN compound c ON c.id = s.compound_id",
    "walk_edge": "SELECT e.ext_id, ST_AsText(a.geom), ST_AsText(b.geom), round(e.length_m::numeric, 1) "
    "FROM walk_edge e JOIN walk_node a ON a.id = e.source JOIN walk_node b ON b.id = e.target",
    "bank_segment": "SELECT code, side, round(length_m::numeric, 1) FROM bank_segment",
    "worker_grid": "SELECT w.ext_id, g.grid_code FROM worker_grid g JOIN worker w ON w.id = g.worker_id",
}


@pytest.fixture
def bulk_engine(db_settings: DatabaseSettings) -> Iterator[Engine]:
    url = db_settings.admin_url(dbname=f"gisgrid_bulk_test_{os.getpid()}")  # a bulk load is the admin's
    drop_database(url)
    ensure_database(url)
    eng = make_engine(url, pool_size=1)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()
    drop_database(url)


def _snapshot(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {k: sorted(tuple(map(str, r)) for r in conn.execute(text(sql))) for k, sql in SNAPSHOT.items()}


def test_bulk_load_equals_row_wise_import(bulk_engine: Engine, engine: Engine) -> None:
    result = bulk_load(bulk_engine, folder=DEMO)
    assert result["counts"]["grids"] > 700 and set(result["seconds"]) >= {"grids", "walk_edges"}
    with bulk_engine.connect() as conn:
        generation = conn.execute(text("SELECT id, source, units_added FROM grid_generation")).one()
        unlinked = conn.execute(
            text("SELECT count(*) FROM grid_unit WHERE generation_id IS DISTINCT FROM :g"),
            {"g": generation.id},
        ).scalar_one()
        audited = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE entity = 'grid_generation'")
        ).scalar()
    assert (generation.source, generation.units_added, unlinked, audited) == (
        "import",
        result["counts"]["grids"],
        0,
        1,
    )
    # Lengths differ below 0.1 m between geodesic (importer) and EPSG:4544 (bulk) measures; rounding hides it.
    bulk, rows = _snapshot(bulk_engine), _snapshot(engine)
    for table in SNAPSHOT:
        if table in ("walk_edge", "bank_segment"):
            assert len(bulk[table]) == len(rows[table])
            continue
        assert bulk[table] == rows[table], table


def test_bulk_load_refuses_an_invalid_set_and_keeps_what_was_there(
    bulk_engine: Engine, tmp_path: Path
) -> None:
    bulk_load(bulk_engine, folder=DEMO)
    broken = tmp_path / "broken"
    shutil.copytree(DEMO, broken)
    doc = json.loads((broken / "compounds.geojson").read_text(encoding="utf-8"))
    doc["features"][3]["geometry"] = {
        "type": "Polygon",
        "coordinates": [
            [[104.1, 30.64], [104.101, 30.641], [104.101, 30.64], [104.1, 30.641], [104.1, 30.64]]
        ],
    }
    (broken / "compounds.geojson").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        bulk_load(bulk_engine, folder=broken)
    assert "#3" in exc.value.message and "Self-intersection" in exc.value.message
    with bulk_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM compound")).scalar() == len(doc["features"])
        assert conn.execute(text("SELECT count(*) FROM grid_unit")).scalar_one() > 700


def test_bulk_load_names_a_missing_layer(bulk_engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as exc:
        bulk_load(bulk_engine, folder=tmp_path)
    assert "grids" in exc.value.message


def test_bulk_load_refuses_a_database_with_incidents(bulk_engine: Engine) -> None:
    bulk_load(bulk_engine, folder=DEMO)
    with bulk_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO incident (category_code, title, geom) VALUES ('xiaofang', '测试', ST_SetSRID(ST_MakePoint(104.105, 30.64), 4326))"
            )
        )
    with pytest.raises(InvalidInput) as exc:
        bulk_load(bulk_engine, folder=DEMO)
    assert "1 incidents" in exc.value.message
    with bulk_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident")).scalar() == 1
