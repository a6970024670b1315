"""Helpers of the import/export tests: small files written per test, counts, record comparison."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.io.records import Record
from gisgrid.io.spec import LayerSpec

MAX_VERTEX_DIFF_DEG = 1e-7
# A micro-grid-sized square near 牛市口 (WGS 84), and its corners.
SQUARE = [(104.100, 30.640), (104.101, 30.640), (104.101, 30.641), (104.100, 30.641), (104.100, 30.640)]
BOWTIE = [(104.100, 30.640), (104.101, 30.641), (104.101, 30.640), (104.100, 30.641), (104.100, 30.640)]


def row_count(session: Session, table: str, where: str = "TRUE") -> int:
    """Rows of a table (tests only: names are literals of the tests)."""
    return int(session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one())  # noqa: S608


def grid_feature(
    code: str, *, level: str = "micro", parent: str | None = None, ring: Any = None
) -> dict[str, Any]:
    """A grid GeoJSON feature with valid attributes."""
    return {
        "type": "Feature",
        "properties": {
            "code": code,
            "level": level,
            "parent_code": parent,
            "name": f"测试网格 {code}",
            "name_en": None,
            "households": 40,
            "population": 100,
        },
        "geometry": {"type": "Polygon", "coordinates": [ring or SQUARE]},
    }


def write_geojson(path: Path, features: list[dict[str, Any]], crs: str | None = None) -> Path:
    """A FeatureCollection file, with a legacy crs member when `crs` is given."""
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def micro_parent(session: Session) -> str:
    """The code of a current general grid of the loaded demo data (a parent for new micro-grids)."""
    code = session.execute(
        text("SELECT code FROM grid_unit WHERE level = 'general' AND valid_to IS NULL ORDER BY code LIMIT 1")
    ).scalar_one_or_none()
    assert code is not None, "the demo data has no general grids"
    return str(code)


def assert_same_records(spec: LayerSpec, expected: list[Record], actual: list[Record]) -> None:
    """Same keys in the same order, equal attributes, geometries equal to 1e-7 degrees per vertex."""
    assert [r.key for r in actual] == [r.key for r in expected]
    for want, got in zip(expected, actual, strict=True):
        for fs in spec.fields:
            a, b = want.attrs.get(fs.name), got.attrs.get(fs.name)
            if fs.kind == "float" and a is not None and b is not None:
                assert math.isclose(a, b, rel_tol=1e-12), (want.key, fs.name, a, b)
            elif fs.kind == "list":
                assert list(a or []) == list(b or []), (want.key, fs.name, a, b)
            else:
                assert a == b, (want.key, fs.name, a, b)
        if spec.geometry is not None:
            assert_same_geometry(want, got)


def assert_same_geometry(want: Record, got: Record) -> None:
    """Same type and parts, every vertex within 1e-7 degrees."""
    assert want.geom is not None and got.geom is not None, want.key
    assert got.geom.geom_type == want.geom.geom_type, (want.key, want.geom.geom_type, got.geom.geom_type)
    a, b = shapely.get_coordinates(want.geom), shapely.get_coordinates(got.geom)
    assert a.shape == b.shape, (want.key, a.shape, b.shape)
    diff = float(np.abs(a - b).max()) if a.size else 0.0
    assert diff <= MAX_VERTEX_DIFF_DEG, (want.key, diff)
