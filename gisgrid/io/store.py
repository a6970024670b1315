"""Write checked records of a layer into PostGIS, resolving references; all inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from geoalchemy2.shape import from_shape
from pyproj import Geod
from sqlalchemy import Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from gisgrid.db import models as m
from gisgrid.io.records import Problem, Record
from gisgrid.io.spec import LayerSpec
from gisgrid.layers.registry import REGISTRY

# ORM models of the layers whose storing needs more than their fields (grids, the network, workers).
MODELS: dict[str, Any] = {"grids": m.GridUnit, "walk_edges": m.WalkEdge, "workers": m.Worker}
_TABLES: dict[str, tuple[LayerSpec, Table]] = {}


def table_of(spec: LayerSpec) -> Table:
    """The layer's table as a SQLAlchemy Core table built from the registry (cached per dataset)."""
    cached = _TABLES.get(spec.name)
    if cached is None or cached[0] is not spec:
        cached = _TABLES[spec.name] = (spec, spec.table_object())
    return cached[1]


def dependants(spec: LayerSpec) -> list[tuple[LayerSpec, str]]:
    """(dataset, column) of every required reference to this layer: rows that cannot outlive its features."""
    return [
        (other, fs.col)
        for other in REGISTRY.datasets.values()
        for fs in other.fields
        if fs.ref == spec.name and fs.required
    ]


# Node matching of the walking network: endpoints equal to 1e-7 degrees (~1 cm) are the same node.
NODE_DIGITS = 7
BATCH = 5000
GEOD = Geod(ellps="WGS84")
Storer = Callable[[Session, LayerSpec, list[Record], dict[str, int]], list[Problem]]


def _base_row(spec: LayerSpec, rec: Record, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    row = {fs.col: rec.attrs.get(fs.name) for fs in spec.fields if fs.name not in skip}
    for col in spec.stored:
        if col in rec.attrs:
            row[col] = rec.attrs[col]
    if spec.geometry is not None and rec.geom is not None:
        row["geom"] = from_shape(rec.geom, srid=m.SRID)
    return row


def _insert(session: Session, target: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(target), rows[start : start + BATCH])


def _save(session: Session, spec: LayerSpec, rows: list[dict[str, Any]], existing: dict[str, int]) -> None:
    """Insert new rows; update rows whose key exists in place, so that what refers to them stays linked."""
    table, key_col = table_of(spec), spec.field(spec.key).col
    updates = [{**row, "row_id": existing[row[key_col]]} for row in rows if row[key_col] in existing]
    if updates:
        stmt = update(table).where(table.c.id == bindparam("row_id"))
        stmt = stmt.values({c: bindparam(c) for c in updates[0] if c != "row_id"})
        for start in range(0, len(updates), BATCH):
            session.execute(stmt, updates[start : start + BATCH])
    _insert(session, table, [row for row in rows if row[key_col] not in existing])


def _lookup(session: Session, spec: LayerSpec) -> dict[str, int]:
    """Key -> row id of a layer's current features."""
    t = table_of(spec).alias("t")
    stmt = select(t.c[spec.field(spec.key).col], t.c.id).where(text(spec.current))
    return {k: i for k, i in session.execute(stmt) if k is not None}


def existing_keys(session: Session, spec: LayerSpec) -> dict[str, int]:
    """Keys of the layer's features in the database (grids: the current generation) and their row ids."""
    return _lookup(session, spec)


def key_clashes(spec: LayerSpec, records: list[Record], existing: dict[str, int]) -> list[Problem]:
    """A problem for each record whose key is already in the layer (an import without --replace)."""
    what = "a current grid unit" if spec.name == "grids" else f"a feature of {spec.name}"
    return [
        Problem(
            r.index,
            r.key,
            spec.key,
            f"{what} with {spec.key} {r.key!r} already exists; use --replace (API: replace=true) to replace",
        )
        for r in records
        if r.key in existing
    ]


def remove_absent(
    session: Session, spec: LayerSpec, records: list[Record], existing: dict[str, int]
) -> list[Problem]:
    """For --replace: delete features not in the file, unless other layers still hang on them."""
    in_file = {r.key for r in records}
    absent = {k: i for k, i in existing.items() if k not in in_file}
    for other, col in dependants(spec) if absent else []:
        fk = table_of(other).c[col]
        counted = select(fk, func.count()).where(fk.in_(absent.values())).group_by(fk)
        counts: dict[int, int] = {i: n for i, n in session.execute(counted)}
        problems = [
            Problem(
                -1,
                k,
                spec.key,
                f"is not in the file but {counts[i]} of {other.name} refer to it; replace {other.name} first",
            )
            for k, i in absent.items()
            if counts.get(i)
        ]
        if problems:
            return problems
    if absent:
        table = table_of(spec)
        ids = list(absent.values())
        for start in range(0, len(ids), BATCH):
            session.execute(delete(table).where(table.c.id.in_(ids[start : start + BATCH])))
    return []


def clear_layer(session: Session, layer: str) -> None:
    """Delete every row of a layer (and what hangs on it)."""
    if layer == "walk_edges":
        session.execute(delete(m.WalkEdge))
        session.execute(delete(m.WalkNode))
    elif layer == "workers":
        session.execute(delete(m.WorkerGrid))
        session.execute(delete(m.Worker))
    else:
        session.execute(delete(table_of(REGISTRY.datasets[layer])))


def store_features(
    session: Session, spec: LayerSpec, records: list[Record], existing: dict[str, int]
) -> list[Problem]:
    """Insert or update records field by field; a reference field (`ref`) stores the referred feature's row id."""
    refs = {fs.name: _lookup(session, REGISTRY.datasets[fs.ref]) for fs in spec.fields if fs.ref}
    problems, rows = [], []
    for rec in records:
        for col, how in spec.derived_from_geometry.items():
            rec.attrs[col] = derived_value(how, rec.geom)
        row = _base_row(spec, rec)
        for name, ids in refs.items():
            ref = rec.attrs.get(name)
            if ref is None and not spec.field(name).required:
                continue
            if ref not in ids:
                problems.append(Problem(rec.index, rec.key, name, f"{ref!r} not found"))
                continue
            row[spec.field(name).col] = ids[ref]
        rows.append(row)
    if not problems:
        _save(session, spec, rows, existing)
    return problems


def derived_value(how: str, geom: Any) -> Any:
    """A stored value derived from a feature's geometry (the registry's `derived_from_geometry`)."""
    if how == "length_m":
        return GEOD.geometry_length(geom) if geom is not None else 0.0
    raise ValueError(f"unknown derivation {how!r}")


def store_walk_edges(
    session: Session, spec: LayerSpec, records: list[Record], existing: dict[str, int]
) -> list[Problem]:
    """Insert edges with nodes made by matching endpoints, and lengths in metres."""
    nodes: dict[tuple[float, float], int] = {}
    next_id = int(session.execute(text("SELECT coalesce(max(id), 0) FROM walk_node")).scalar_one()) + 1
    for nid, x, y in session.execute(text("SELECT id, ST_X(geom), ST_Y(geom) FROM walk_node")):
        nodes[(round(x, NODE_DIGITS), round(y, NODE_DIGITS))] = nid
    node_rows: list[dict[str, Any]] = []
    edge_rows: list[dict[str, Any]] = []

    def node(xy: tuple[float, float]) -> int:
        nonlocal next_id
        key = (round(xy[0], NODE_DIGITS), round(xy[1], NODE_DIGITS))
        if key not in nodes:
            nodes[key] = next_id
            node_rows.append({"id": next_id, "geom": f"SRID=4326;POINT({key[0]} {key[1]})"})
            next_id += 1
        return nodes[key]

    for rec in records:
        coords = list(rec.geom.coords) if rec.geom is not None else []
        edge = _base_row(spec, rec)
        edge.update(source=node(coords[0][:2]), target=node(coords[-1][:2]), length_m=0.0)
        edge_rows.append(edge)
    _insert(session, m.WalkNode, node_rows)
    _insert(session, m.WalkEdge, edge_rows)
    session.execute(text("UPDATE walk_edge SET length_m = ST_Length(geom::geography) WHERE length_m = 0"))
    return []


def store_workers(
    session: Session, spec: LayerSpec, records: list[Record], existing: dict[str, int]
) -> list[Problem]:
    """Insert workers and the grid codes they serve (codes must be current grids or special grids)."""
    known = set(session.scalars(select(m.GridUnit.code).where(m.GridUnit.valid_to.is_(None))))
    known |= set(session.scalars(select(m.SpecialGrid.code)))
    problems = [
        Problem(r.index, r.key, "grid_codes", f"grid code {c!r} not found")
        for r in records
        for c in r.attrs.get("grid_codes") or []
        if c not in known
    ]
    if problems:
        return problems
    _save(session, spec, [_base_row(spec, r, skip=("grid_codes",)) for r in records], existing)
    if existing:
        session.execute(delete(m.WorkerGrid).where(m.WorkerGrid.worker_id.in_(existing.values())))
    ids = _lookup(session, spec)
    links = [
        {"worker_id": ids[str(r.key)], "grid_code": c}
        for r in records
        for c in dict.fromkeys(r.attrs["grid_codes"] or [])
    ]
    _insert(session, m.WorkerGrid, links)
    return []


# Layers whose storing needs more than their fields; every other layer is stored by store_features.
STORERS: dict[str, Storer] = {"walk_edges": store_walk_edges, "workers": store_workers}


def storer(spec: LayerSpec) -> Storer:
    """How a layer's records are written."""
    return STORERS.get(spec.name, store_features)
