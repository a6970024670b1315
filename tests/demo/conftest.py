"""Fixtures for the demo data generator: one generated Niushikou set per session, loaded into shapely."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gisgrid.demo import generate
from gisgrid.demo.subdistrict import LAYERS

TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:4544", always_xy=True)


def metric(geoms: Sequence[BaseGeometry] | np.ndarray) -> np.ndarray:
    """WGS 84 geometries to EPSG:4544, independently of the generator's own helpers."""

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = TO_METRIC.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), fn)


@dataclass
class Layer:
    """A GeoJSON layer as WGS 84 geometries, EPSG:4544 geometries and properties."""

    geoms: np.ndarray
    metric: np.ndarray
    props: list[dict]


def load_layer(path: Path) -> Layer:
    """Read one GeoJSON layer written by the generator."""
    fc = json.loads(path.read_text(encoding="utf-8"))
    geoms = np.array([shape(f["geometry"]) for f in fc["features"]], dtype=object)
    return Layer(geoms, metric(geoms), [f["properties"] for f in fc["features"]])


@dataclass
class DemoSet:
    """The generated demo data set."""

    path: Path
    layers: dict[str, Layer]
    workers: list[dict]
    manifest: dict

    def level(self, level: str) -> tuple[np.ndarray, np.ndarray, list[dict]]:
        """(wgs geoms, metric geoms, props) of the grid units of one level."""
        grids = self.layers["grids"]
        idx = [i for i, p in enumerate(grids.props) if p["level"] == level]
        return grids.geoms[idx], grids.metric[idx], [grids.props[i] for i in idx]


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly generated demo data set (seed 7)."""
    out = tmp_path_factory.mktemp("demo")
    generate(seed=7, scale="niushikou", out_dir=out)
    return out


@pytest.fixture(scope="session")
def demo(demo_dir: Path) -> DemoSet:
    """The demo data set loaded into memory."""
    layers = {n: load_layer(demo_dir / f"{n}.geojson") for n in LAYERS}
    with (demo_dir / "workers.csv").open(encoding="utf-8", newline="") as f:
        workers = list(csv.DictReader(f))
    manifest = json.loads((demo_dir / "manifest.json").read_text(encoding="utf-8"))
    return DemoSet(demo_dir, layers, workers, manifest)
