"""Bulk load of a whole generated data set (GeoJSON or FlatGeobuf layers + workers.csv) with COPY.

For city-scale sets (100,000+ micro-grids) the row-wise importer is too slow; this path reads each layer with
pyogrio, checks it with vectorised shapely calls, and streams it into PostGIS with COPY, all in one transaction
that first empties every layer (the same all-or-nothing contract as `load_dataset`).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gisgrid.crs import projector
from gisgrid.errors import InvalidInput
from gisgrid.jobs import derived as derived_data

Progress = Callable[[str, int, int], None]
NULL = "\\N"
NODE_DIGITS = 7
# Accounts point at workers (ON DELETE SET NULL), so workers are deleted, not truncated with CASCADE (which
# would empty the accounts too); every other layer table is truncated in one statement.
TRUNCATED = (
    "walk_site_access",
    "walk_edge",
    "walk_node",
    "bank_segment",
    "river",
    "service_site",
    "building",
    "compound",
    "special_grid",
    "grid_unit",
    "incident_event",
    "incident",
)
SEQUENCED = (
    "grid_unit",
    "special_grid",
    "compound",
    "building",
    "service_site",
    "walk_node",
    "walk_edge",
    "river",
    "bank_segment",
    "worker",
)


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


def _copy(conn: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows (None = NULL) into table; return the count."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    count = 0
    for row in rows:
        writer.writerow([NULL if v is None else v for v in row])
        count += 1
    buf.seek(0)
    cols = ", ".join(columns)
    with conn.connection.dbapi_connection.cursor() as cur:
        cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '{NULL}')", buf)
    return count


def _col(df: pd.DataFrame, name: str) -> list[Any]:
    if name not in df.columns:
        return [None] * len(df)
    return [None if (isinstance(v, float) and np.isnan(v)) else v for v in df[name].tolist()]


def _ids(n: int) -> np.ndarray:
    return np.arange(1, n + 1)


def _load_grids(conn: Any, folder: Path, valid_from: str) -> dict[str, int]:
    df, geoms = _read(folder, "grids", ("Polygon", "MultiPolygon"))
    rows = zip(
        _col(df, "code"),
        _col(df, "level"),
        _col(df, "parent_code"),
        _col(df, "name"),
        _col(df, "name_en"),
        _col(df, "households"),
        _col(df, "population"),
        _ewkb(geoms, multi=True),
        [valid_from] * len(df),
        strict=True,
    )
    n = _copy(
        conn,
        "grid_unit",
        ("code", "level", "parent_code", "name", "name_en", "households", "population", "geom", "valid_from"),
        rows,
    )
    df2, geoms2 = _read(folder, "special_grids", ("Polygon", "MultiPolygon"))
    rows2 = zip(
        _col(df2, "code"),
        _col(df2, "kind"),
        _col(df2, "name"),
        _col(df2, "community_code"),
        _ewkb(geoms2, multi=True),
        strict=True,
    )
    m = _copy(conn, "special_grid", ("code", "kind", "name", "community_code", "geom"), rows2)
    return {"grids": n, "special_grids": m}


def _load_compounds(conn: Any, folder: Path) -> tuple[dict[str, int], dict[str, int]]:
    df, geoms = _read(folder, "compounds", ("Polygon", "MultiPolygon"))
    ids = _ids(len(df))
    rows = zip(
        ids,
        _col(df, "id"),
        _col(df, "name"),
        [_array_literal(v) for v in _col(df, "aliases")],
        _col(df, "buildings"),
        _col(df, "households"),
        _col(df, "population"),
        _ewkb(geoms, multi=True),
        strict=True,
    )
    n = _copy(
        conn,
        "compound",
        ("id", "ext_id", "name", "aliases", "buildings", "households", "population", "geom"),
        rows,
    )
    lookup = dict(zip(_col(df, "id"), ids.tolist(), strict=True))
    bdf, bgeoms = _read(folder, "buildings", ("Polygon",))
    brows = zip(
        _col(bdf, "id"),
        [lookup[c] for c in _col(bdf, "compound_id")],
        _col(bdf, "label"),
        _col(bdf, "floors"),
        _col(bdf, "households"),
        _ewkb(bgeoms),
        strict=True,
    )
    b = _copy(conn, "building", ("ext_id", "compound_id", "label", "floors", "households", "geom"), brows)
    return {"compounds": n, "buildings": b}, lookup


def _load_sites_rivers(conn: Any, folder: Path, compounds: dict[str, int]) -> dict[str, int]:
    df, geoms = _read(folder, "sites", ("Point",))
    rows = zip(
        _col(df, "id"),
        _col(df, "kind"),
        _col(df, "name"),
        _col(df, "brand"),
        [_array_literal(v) for v in _col(df, "services")],
        _col(df, "opening_hours"),
        _col(df, "address"),
        _col(df, "community_code"),
        [compounds.get(c) if c else None for c in _col(df, "compound_id")],
        _ewkb(geoms),
        strict=True,
    )
    n = _copy(
        conn,
        "service_site",
        (
            "ext_id",
            "kind",
            "name",
            "brand",
            "services",
            "opening_hours",
            "address",
            "community_code",
            "compound_id",
            "geom",
        ),
        rows,
    )
    rdf, rgeoms = _read(folder, "rivers", ("LineString",))
    rids = _ids(len(rdf))
    r = _copy(
        conn,
        "river",
        ("id", "ext_id", "name", "width_m", "geom"),
        zip(rids, _col(rdf, "id"), _col(rdf, "name"), _col(rdf, "width_m"), _ewkb(rgeoms), strict=True),
    )
    river_ids = dict(zip(_col(rdf, "id"), rids.tolist(), strict=True))
    sdf, sgeoms = _read(folder, "bank_segments", ("LineString",))
    srows = zip(
        _col(sdf, "code"),
        [river_ids[x] for x in _col(sdf, "river_id")],
        _col(sdf, "side"),
        _col(sdf, "seq"),
        _col(sdf, "name"),
        _metres(sgeoms),
        _ewkb(sgeoms),
        strict=True,
    )
    s = _copy(conn, "bank_segment", ("code", "river_id", "side", "seq", "name", "length_m", "geom"), srows)
    return {"sites": n, "rivers": r, "bank_segments": s}


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
    nodes = _copy(
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
    e = _copy(conn, "walk_edge", ("ext_id", "source", "target", "kind", "name", "length_m", "geom"), rows)
    return {"walk_nodes": nodes, "walk_edges": e}


def _load_workers(conn: Any, folder: Path) -> dict[str, int]:
    df = pd.read_csv(folder / "workers.csv", dtype=str, keep_default_na=False)
    ids = _ids(len(df))
    n = _copy(
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
    g = _copy(conn, "worker_grid", ("worker_id", "grid_code"), links)
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
    steps: list[tuple[str, Callable[[Any], dict[str, int]]]] = []
    compounds: dict[str, int] = {}

    def load_compounds(conn: Any) -> dict[str, int]:
        counts, lookup = _load_compounds(conn, folder)
        compounds.update(lookup)
        return counts

    steps = [
        ("grids", lambda c: _load_grids(c, folder, valid_from)),
        ("compounds", load_compounds),
        ("sites_rivers", lambda c: _load_sites_rivers(c, folder, compounds)),
        ("walk_edges", lambda c: _load_walk(c, folder)),
        ("workers", lambda c: _load_workers(c, folder)),
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
        conn.execute(text("TRUNCATE " + ", ".join(TRUNCATED) + " RESTART IDENTITY"))
        for i, (name, step) in enumerate(steps):
            report(name, i, len(steps) + 1)
            start = time.perf_counter()
            counts.update(step(conn))
            seconds[name] = time.perf_counter() - start
        start = time.perf_counter()
        derived_data.rebuild(Session(bind=conn))
        seconds["walk_site_access"] = time.perf_counter() - start
        report("analyze", len(steps), len(steps) + 1)
        for table in SEQUENCED:
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
