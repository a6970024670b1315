"""Write checked records of a layer into PostGIS, resolving references; all inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from geoalchemy2.shape import from_shape
from pyproj import Geod
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from gisgrid.db import models as m
from gisgrid.io.records import Problem, Record
from gisgrid.io.spec import LayerSpec

TABLES: dict[str, Any] = {
    "grids": m.GridUnit,
    "special_grids": m.SpecialGrid,
    "compounds": m.Compound,
    "buildings": m.Building,
    "sites": m.ServiceSite,
    "rivers": m.River,
    "bank_segments": m.BankSegment,
    "walk_edges": m.WalkEdge,
    "workers": m.Worker,
}
# Rows that must go with a removed feature; a replace that would orphan them is refused instead.
DEPENDANTS: dict[str, tuple[Any, Any, str]] = {
    "compounds": (m.Building, m.Building.compound_id, "buildings"),
    "rivers": (m.BankSegment, m.BankSegment.river_id, "bank_segments"),
}
# Node matching of the walking network: endpoints equal to 1e-7 degrees (~1 cm) are the same node.
NODE_DIGITS = 7
BATCH = 5000
GEOD = Geod(ellps="WGS84")
Storer = Callable[[Session, LayerSpec, list[Record], dict[str, int]], list[Problem]]


def _base_row(spec: LayerSpec, rec: Record, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    row = {fs.col: rec.attrs.get(fs.name) for fs in spec.fields if fs.name not in skip}
    if "length_m" in rec.attrs:
        row["length_m"] = rec.attrs["length_m"]
    if spec.geometry is not None and rec.geom is not None:
        row["geom"] = from_shape(rec.geom, srid=m.SRID)
    return row


def _insert(session: Session, model: type[m.Base], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start : start + BATCH])


def _save(session: Session, spec: LayerSpec, rows: list[dict[str, Any]], existing: dict[str, int]) -> None:
    """Insert new rows; update rows whose key exists in place, so that what refers to them stays linked."""
    model, key_col = TABLES[spec.name], spec.field(spec.key).col
    updates = [{**row, "id": existing[row[key_col]]} for row in rows if row[key_col] in existing]
    for start in range(0, len(updates), BATCH):
        session.execute(update(model), updates[start : start + BATCH])  # ORM bulk update by primary key
    _insert(session, model, [row for row in rows if row[key_col] not in existing])


def _lookup(session: Session, model: Any, key_col: str = "ext_id") -> dict[str, int]:
    return {k: i for k, i in session.execute(select(getattr(model, key_col), model.id))}


def existing_keys(session: Session, spec: LayerSpec) -> dict[str, int]:
    """Keys of the layer's features in the database (grids: the current generation) and their row ids."""
    model = TABLES[spec.name]
    stmt = select(getattr(model, spec.field(spec.key).col), model.id)
    if spec.name == "grids":
        stmt = stmt.where(m.GridUnit.valid_to.is_(None))
    return {k: i for k, i in session.execute(stmt) if k is not None}


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
    if spec.name in DEPENDANTS and absent:
        model, fk, layer = DEPENDANTS[spec.name]
        counted = select(fk, func.count()).where(fk.in_(absent.values())).group_by(fk)
        counts: dict[int, int] = {i: n for i, n in session.execute(counted)}
        problems = [
            Problem(
                -1,
                k,
                spec.key,
                f"is not in the file but {counts[i]} of {layer} refer to it; replace {layer} first",
            )
            for k, i in absent.items()
            if counts.get(i)
        ]
        if problems:
            return problems
    if absent:
        model = TABLES[spec.name]
        ids = list(absent.values())
        for start in range(0, len(ids), BATCH):
            session.execute(delete(model).where(model.id.in_(ids[start : start + BATCH])))
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
        session.execute(delete(TABLES[layer]))


def _store_with_ref(ref_field: str, ref_model: Any, ref_col: str, required: bool) -> Storer:
    def store(
        session: Session, spec: LayerSpec, records: list[Record], existing: dict[str, int]
    ) -> list[Problem]:
        ids = _lookup(session, ref_model)
        problems, rows = [], []
        for rec in records:
            ref = rec.attrs.get(ref_field)
            row = _base_row(spec, rec, skip=(ref_field,))
            if ref is None and not required:
                row[ref_col] = None
            elif ref not in ids:
                problems.append(Problem(rec.index, rec.key, ref_field, f"{ref!r} not found"))
                continue
            else:
                row[ref_col] = ids[ref]
            rows.append(row)
        if not problems:
            _save(session, spec, rows, existing)
        return problems

    return store


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
    ids = _lookup(session, m.Worker)
    links = [
        {"worker_id": ids[str(r.key)], "grid_code": c}
        for r in records
        for c in dict.fromkeys(r.attrs["grid_codes"] or [])
    ]
    _insert(session, m.WorkerGrid, links)
    return []


def store_plain(
    session: Session, spec: LayerSpec, records: list[Record], existing: dict[str, int]
) -> list[Problem]:
    """Insert records whose attributes map straight onto columns."""
    _save(session, spec, [_base_row(spec, r) for r in records], existing)
    return []


def store_bank_segments(
    session: Session, spec: LayerSpec, records: list[Record], existing: dict[str, int]
) -> list[Problem]:
    """Insert bank segments (river by its id in the file) with lengths in metres."""
    for rec in records:
        rec.attrs["length_m"] = GEOD.geometry_length(rec.geom) if rec.geom is not None else 0.0
    return _store_with_ref("river_id", m.River, "river_id", True)(session, spec, records, existing)


STORERS: dict[str, Storer] = {
    "special_grids": store_plain,
    "compounds": store_plain,
    "buildings": _store_with_ref("compound_id", m.Compound, "compound_id", True),
    "sites": _store_with_ref("compound_id", m.Compound, "compound_id", False),
    "rivers": store_plain,
    "bank_segments": store_bank_segments,
    "walk_edges": store_walk_edges,
    "workers": store_workers,
}
