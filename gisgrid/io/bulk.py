"""Bulk load of a whole generated data set (GeoJSON or FlatGeobuf layers + workers.csv) with COPY.

For city-scale sets (100,000+ micro-grids) the row-wise importer is too slow; this path reads each layer with
pyogrio, checks it with vectorised shapely calls, and streams it into PostGIS with COPY, all in one transaction
that first empties every layer (the same all-or-nothing contract as `load_dataset`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gisgrid.crs import projector
from gisgrid.db.copy import copy_rows
from gisgrid.errors import InvalidInput
from gisgrid.grids import generations
from gisgrid.io.spec import LayerSpec
from gisgrid.jobs import derived as derived_data
from gisgrid.layers.registry import REGISTRY

Progress = Callable[[str, int, int], None]
NODE_DIGITS = 7
# Tables that hang on the layers and go with them: derived access data and incidents (a bulk load is for an
# empty incident table, checked first).
HANGING = ("walk_site_access", "incident_event", "incident")


def _truncated() -> tuple[str, ...]:
    # Accounts point at workers (ON DELETE SET NULL), so workers are deleted, not truncated with CASCADE (which
    # would empty the accounts too); every other layer table is truncated in one statement.
    layers = [d.table for d in reversed(REGISTRY.datasets.values()) if d.name != "workers"]
    return (*HANGING, *layers, "walk_node")


def _sequenced() -> tuple[str, ...]:
    return (*[d.table for d in REGISTRY.datasets.values()], "walk_node")


def _layer_path(folder: Path, name: str) -> Path:
    for ext in ("fgb", "geojson", "gpkg"):
        path = folder / f"{name}.{ext}"
        if path.exists():
            return path
    raise InvalidInput(
        f"Layer {name!r} not found in {folder}.",
        field="folder",
        value=str(folder),
        expected=f"{name}.fgb, {name}.geojson or {name}.gpkg",
    )


def _read(folder: Path, name: str, geom_types: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Attributes and geometries of one layer, checked: CRS WGS 84, geometry type, validity."""
    path = _layer_path(folder, name)
    meta = pyogrio.read_info(path)
    crs = (meta.get("crs") or "EPSG:4326").upper()
    if crs not in ("EPSG:4326", "OGC:CRS84"):
        raise InvalidInput(
            f"{path.name} is in {crs}; the bulk loader takes WGS 84 only.",
            field="crs",
            value=crs,
            expected="EPSG:4326 (use `gisgrid import --crs` for other systems)",
        )
    df = pyogrio.read_dataframe(path, use_arrow=False, read_geometry=True)
    geoms = np.asarray(df.geometry.values, dtype=object)
    kinds = shapely.get_type_id(geoms)
    wanted = {shapely.GeometryType[t.upper()].value for t in geom_types}
    bad = np.flatnonzero(~np.isin(kinds, list(wanted)))
    if bad.size:
        raise InvalidInput(
            f"{path.name}: feature #{bad[0]} is a {shapely.get_type_id(geoms[bad[0]])} geometry.",
            field="geometry",
            value=int(bad[0]),
            expected=" or ".join(geom_types),
        )
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if invalid.size:
        reason = shapely.is_valid_reason(geoms[invalid[0]])
        raise InvalidInput(
            f"{path.name}: {invalid.size} invalid geometries, first feature #{invalid[0]}: {reason}.",
            field="geometry",
            value=int(invalid[0]),
            expected="valid geometries",
        )
    return pd.DataFrame(df.drop(columns="geometry")), geoms


def _ewkb(geoms: np.ndarray, *, multi: bool = False) -> np.ndarray:
    if multi:
        single = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON.value
        if single.any():
            geoms = geoms.copy()
            geoms[single] = [shapely.MultiPolygon([g]) for g in geoms[single]]
    return shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)


def _metres(geoms: np.ndarray) -> np.ndarray:
    return shapely.length(shapely.transform(geoms, projector(srid=4544)))


def _array_literal(value: Any) -> str:
    # FlatGeobuf keeps lists as JSON text; GeoJSON string lists come back from pyogrio as arrays.
    if isinstance(value, str):
        items = json.loads(value) if value.startswith("[") else [v for v in value.split(";") if v]
    else:
        items = [] if value is None else list(value)
    quoted = ['"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in items]
    return "{" + ",".join(quoted) + "}"


def _col(df: pd.DataFrame, name: str) -> list[Any]:
    if name not in df.columns:
        return [None] * len(df)
    return [None if (isinstance(v, float) and np.isnan(v)) else v for v in df[name].tolist()]


def _ids(n: int) -> np.ndarray:
    return np.arange(1, n + 1)


GEOMETRY_TYPES = {
    "MultiPolygon": ("Polygon", "MultiPolygon"),
    "Polygon": ("Polygon",),
    "Point": ("Point",),
    "LineString": ("LineString",),
}
Keys = dict[str, dict[str, int]]  # layer -> its features' keys -> row ids


def _field_values(df: pd.DataFrame, spec: LayerSpec, keys: Keys) -> list[tuple[str, list[Any]]]:
    """(column, values) of every field: lists as array literals, references as the referred row ids."""
    out = []
    for fs in spec.fields:
        values = _col(df, fs.name)
        if fs.ref is not None:
            ids = keys[fs.ref]
            values = [None if v is None and not fs.required else ids[v] for v in values]
        elif fs.kind == "list":
            values = [_array_literal(v) for v in values]
        out.append((fs.col, values))
    return out


def _load_features(
    conn: Any,
    folder: Path,
    spec: LayerSpec,
    keys: Keys,
    valid_from: str,
    grid_columns: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """COPY one layer's features as its registry entry describes them; remember key -> id for references."""
    assert spec.geometry is not None
    df, geoms = _read(folder, spec.name, GEOMETRY_TYPES[spec.geometry])
    ids = _ids(len(df))
    columns: list[tuple[str, Any]] = [("id", ids.tolist()), *_field_values(df, spec, keys)]
    for col, how in spec.derived_from_geometry.items():
        if how != "length_m":
            raise ValueError(f"unknown derivation {how!r}")
        columns.append((col, _metres(geoms).tolist()))
    if spec.name == "grids":
        columns.append(("valid_from", [valid_from] * len(df)))
        columns += [(col, [value] * len(df)) for col, value in (grid_columns or {}).items()]
    columns.append(("geom", _ewkb(geoms, multi=spec.geometry == "MultiPolygon")))
    names = [c for c, _ in columns]
    n = copy_rows(conn, spec.table, names, zip(*(v for _, v in columns), strict=True))
    keys[spec.name] = dict(zip(_col(df, spec.key), ids.tolist(), strict=True))
    return {spec.name: n}


def _load_walk(conn: Any, folder: Path) -> dict[str, int]:
    df, geoms = _read(folder, "walk_edges", ("LineString",))
    ends = np.vstack(
        [
            shapely.get_coordinates(shapely.get_point(geoms, 0)),
            shapely.get_coordinates(shapely.get_point(geoms, -1)),
        ]
    )
    keys = np.round(ends, NODE_DIGITS)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    nodes = copy_rows(
        conn,
        "walk_node",
        ("id", "geom"),
        ((i + 1, f"SRID=4326;POINT({x!r} {y!r})") for i, (x, y) in enumerate(uniq.tolist())),
    )
    n_edges = len(df)
    source, target = inverse[:n_edges] + 1, inverse[n_edges:] + 1
    rows = zip(
        _col(df, "id"),
        source.tolist(),
        target.tolist(),
        _col(df, "kind"),
        _col(df, "name"),
        _metres(geoms).tolist(),
        _ewkb(geoms),
        strict=True,
    )
    e = copy_rows(conn, "walk_edge", ("ext_id", "source", "target", "kind", "name", "length_m", "geom"), rows)
    return {"walk_nodes": nodes, "walk_edges": e}


def _load_workers(conn: Any, folder: Path) -> dict[str, int]:
    df = pd.read_csv(folder / "workers.csv", dtype=str, keep_default_na=False)
    ids = _ids(len(df))
    n = copy_rows(
        conn,
        "worker",
        ("id", "ext_id", "name", "role", "title", "phone"),
        zip(ids, df["id"], df["name"], df["role"], df["title"], df["phone"], strict=True),
    )
    links = (
        (wid, code)
        for wid, codes in zip(ids.tolist(), df["grid_codes"], strict=True)
        for code in dict.fromkeys(c for c in codes.split(";") if c)
    )
    g = copy_rows(conn, "worker_grid", ("worker_id", "grid_code"), links)
    return {"workers": n, "worker_grids": g}


def bulk_load(
    engine: Engine,
    *,
    folder: Path,
    valid_from: str = "2023-01-01T00:00:00+08:00",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Replace every layer with the data set in `folder` in one transaction; return counts and seconds per step."""
    report = progress or (lambda stage, done, total: None)
    keys: Keys = {}
    grid_columns: dict[str, Any] = {}  # the generation's id, once it has one
    special: dict[str, Callable[[Any], dict[str, int]]] = {
        "walk_edges": lambda c: _load_walk(c, folder),
        "workers": lambda c: _load_workers(c, folder),
    }
    steps: list[tuple[str, Callable[[Any], dict[str, int]]]] = [
        (
            spec.name,
            special.get(spec.name)
            or partial(
                _load_features,
                folder=folder,
                spec=spec,
                keys=keys,
                valid_from=valid_from,
                grid_columns=grid_columns,
            ),
        )
        for spec in REGISTRY.datasets.values()
    ]
    counts: dict[str, int] = {}
    seconds: dict[str, float] = {}
    with engine.begin() as conn:
        incidents = conn.execute(text("SELECT count(*) FROM incident")).scalar_one()
        if incidents:
            raise InvalidInput(
                f"The database holds {incidents} incidents that refer to its grids; a bulk load replaces them all.",
                field="folder",
                value=str(folder),
                expected="an empty incident table (bulk loads are for fresh or benchmark databases); "
                "use `gisgrid import` to update layers of a database in use",
            )
        conn.execute(text("DELETE FROM worker_grid"))
        conn.execute(text("DELETE FROM worker"))
        conn.execute(text("TRUNCATE " + ", ".join(_truncated()) + " RESTART IDENTITY"))
        # The grids come in as one generation (the earlier ones stay listed, their units are gone).
        session = Session(bind=conn)
        provenance = generations.Provenance(
            source="import",
            reason=f"批量载入 bulk load of {folder.name}",
            detail={"folder": folder.name, "replaced_all_layers": True},
        )
        generation = generations.begin(session, provenance)
        grid_columns["generation_id"] = generation.id
        for i, (name, step) in enumerate(steps):
            report(name, i, len(steps) + 1)
            start = time.perf_counter()
            counts.update(step(conn))
            seconds[name] = time.perf_counter() - start
        generations.finish(session, generation, provenance, added=counts.get("grids", 0))
        start = time.perf_counter()
        derived_data.rebuild(Session(bind=conn))
        seconds["walk_site_access"] = time.perf_counter() - start
        report("analyze", len(steps), len(steps) + 1)
        for table in _sequenced():
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
            )
    start = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
        # Sets grid_unit's visibility map, so the locate query walks the grid path by index-only scans at once
        # (migration 0004) instead of waiting for autovacuum.
        conn.execute(text("VACUUM grid_unit"))
    seconds["analyze"] = time.perf_counter() - start
    report("done", len(steps) + 1, len(steps) + 1)
    return {"counts": counts, "seconds": seconds}
