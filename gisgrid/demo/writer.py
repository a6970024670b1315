"""Writers: RFC 7946 GeoJSON (one feature per line), FlatGeobuf via pyogrio, the workers CSV and the manifest."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from gisgrid.layers.registry import REGISTRY

WORKER_FIELDS = tuple(fs.name for fs in REGISTRY.datasets["workers"].fields)


def _multi(name: str) -> bool:
    """Polygons of this layer are written as MultiPolygons (the registry's geometry type)."""
    return REGISTRY.datasets[name].geometry == "MultiPolygon"


def _geometry_json(geom: Any) -> str:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        geom = shapely.orient_polygons(geom, exterior_cw=False)  # RFC 7946: exterior rings counterclockwise
    return json.dumps(mapping(geom), separators=(",", ":"))


def write_geojson(path: Path, *, name: str, wkb: list[bytes], props: list[dict]) -> None:
    """A FeatureCollection with one feature per line, UTF-8, coordinates as stored (7 decimals)."""
    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object))
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(f'{{"type":"FeatureCollection","name":"{name}","features":[\n')
        last = len(props) - 1
        for i, (g, p) in enumerate(zip(geoms, props, strict=True)):
            f.write(
                '{"type":"Feature","properties":'
                + json.dumps(p, ensure_ascii=False, separators=(",", ":"))
                + ',"geometry":'
                + _geometry_json(g)
                + "}"
                + (",\n" if i < last else "\n")
            )
        f.write("]}\n")


def write_fgb(path: Path, *, name: str, wkb: list[bytes], props: list[dict]) -> None:
    """A FlatGeobuf layer; list-valued fields are stored as JSON strings."""
    from pyogrio.raw import write

    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object))
    if _multi(name):
        single = shapely.get_type_id(geoms) == 3
        geoms[single] = shapely.multipolygons(geoms[single].reshape(-1, 1).tolist())
    fields = list(props[0]) if props else []
    data = [_column([p[k] for p in props]) for k in fields]
    gtype = "MultiPolygon" if _multi(name) else geoms[0].geom_type
    write(
        str(path),
        shapely.to_wkb(geoms),
        data,
        fields,
        crs="EPSG:4326",
        driver="FlatGeobuf",
        geometry_type=gtype,
        layer=name,
        encoding="UTF-8",
        SPATIAL_INDEX="YES",
    )


def _column(values: list[Any]) -> np.ndarray:
    if any(isinstance(v, list) for v in values):
        return np.array([json.dumps(v, ensure_ascii=False) for v in values], dtype=object)
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int} and None not in values:
        return np.asarray(values, dtype=np.int64)
    if kinds <= {float, int} and None not in values:
        return np.asarray(values, dtype=np.float64)
    return np.array(values, dtype=object)


def write_workers(path: Path, rows: list[dict]) -> None:
    """workers.csv: UTF-8 with a header row."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=WORKER_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(path: Path, manifest: dict) -> None:
    """manifest.json, pretty-printed, keys in a fixed order."""
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
