"""A small city-scale run: FlatGeobuf layers, non-overlapping subdistricts, deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from gisgrid.demo import generate
from tests.demo.conftest import metric


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int], list]:
    out = tmp_path_factory.mktemp("city")
    stages: list = []
    counts = generate(
        seed=7,
        scale="city",
        out_dir=out,
        subdistricts=2,
        progress=lambda stage, done, total: stages.append((stage, done, total)),
    )
    return out, counts, stages


def test_city_layers_and_counts(city) -> None:
    out, counts, stages = city
    names = {p.name for p in out.iterdir()}
    assert {"grids.fgb", "compounds.fgb", "walk_edges.fgb", "workers.csv", "manifest.json"} <= names
    grids = pyogrio.read_dataframe(out / "grids.fgb")
    assert len(grids) == counts["grids"]
    levels = grids["level"].value_counts().to_dict()
    assert levels["subdistrict"] == 2 and levels["community"] == 20 and levels["micro"] >= 1100
    assert grids["code"].is_unique
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"] == counts and manifest["scale"] == "city"
    assert ("subdistricts", 2, 2) in stages and stages[-1][0] == "write"


def test_city_subdistricts_do_not_overlap(city) -> None:
    out, _, _ = city
    grids = pyogrio.read_dataframe(out / "grids.fgb")
    subs = grids[grids["level"] == "subdistrict"]
    a, b = metric(np.asarray(subs.geometry.values, dtype=object))
    assert a.intersection(b).area == 0.0 and a.distance(b) > 100
    assert all(1e6 < g.area < 4e6 for g in (a, b))
    micro = grids[grids["level"] == "micro"]
    for code, sub in zip(subs["code"], (a, b), strict=True):
        mine = metric(np.asarray(micro[micro["code"].str.startswith(code)].geometry.values, dtype=object))
        assert abs(sum(shapely.area(mine)) - sub.area) < 0.05


def test_city_is_deterministic(city, tmp_path: Path) -> None:
    out, _, _ = city
    generate(seed=7, scale="city", out_dir=tmp_path, subdistricts=2)
    for p in sorted(out.iterdir()):
        assert p.read_bytes() == (tmp_path / p.name).read_bytes(), p.name
