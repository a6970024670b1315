"""Export a layer from PostGIS to a file: exactly the spec's fields, so that the file imports again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from geoalchemy2.shape import to_shape
from sqlalchemy import Engine, Select, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by, array_agg
from sqlalchemy.orm import Session

from gisgrid.db import models as m
from gisgrid.db.engine import session_scope
from gisgrid.io.formats import check_layer_format, detect_format
from gisgrid.io.importer import Progress, get_spec
from gisgrid.io.records import Record
from gisgrid.io.spec import LayerSpec
from gisgrid.io.store import table_of
from gisgrid.io.writers import write_file
from gisgrid.layers.registry import REGISTRY

EXPORT_STEPS = 3


def export_select(spec: LayerSpec) -> Select[Any]:
    """The query of a layer's features as the spec's fields (grids: the current generation), by key.

    A reference field (the registry's `ref`) is exported as the referred feature's key, so the file imports again.
    """
    t = table_of(spec).alias("t")
    columns: list[Any] = []
    joins = []
    for fs in spec.fields:
        if fs.ref is not None:
            target_spec = REGISTRY.datasets[fs.ref]
            target = table_of(target_spec).alias(f"ref_{fs.name}")
            columns.append(target.c[target_spec.field(target_spec.key).col].label(fs.name))
            joins.append((target, target.c.id == t.c[fs.col]))
        elif fs.name == "grid_codes":
            codes = select(array_agg(aggregate_order_by(m.WorkerGrid.grid_code, m.WorkerGrid.grid_code)))
            columns.append(codes.where(m.WorkerGrid.worker_id == t.c.id).scalar_subquery().label(fs.name))
        else:
            columns.append(t.c[fs.col].label(fs.name))
    if spec.geometry is not None:
        columns.append(t.c.geom.label("geom"))
    stmt = select(*columns).select_from(t)
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    return stmt.where(text(spec.current)).order_by(t.c[spec.field(spec.key).col])


def layer_records(session: Session, spec: LayerSpec) -> list[Record]:
    """A layer's features from the database as records (WGS 84), in key order."""
    records = []
    for i, row in enumerate(session.execute(export_select(spec)).mappings()):
        attrs = {fs.name: row[fs.name] for fs in spec.fields}
        for fs in spec.fields:
            if fs.kind == "list":
                attrs[fs.name] = list(attrs[fs.name] or [])
        geom = to_shape(row["geom"]) if spec.geometry is not None and row["geom"] is not None else None
        key = attrs.get(spec.key)
        records.append(Record(index=i, key=None if key is None else str(key), attrs=attrs, geom=geom))
    return records


def export_file(
    session: Session, *, layer: str, path: Path, fmt: str | None = None, progress: Progress | None = None
) -> int:
    """Write one layer to a file (format from `fmt` or the extension); return the number of features."""
    spec = get_spec(layer)
    name = detect_format(path, fmt)
    check_layer_format(spec, name)
    step = progress or (lambda stage, done, total: None)
    step(f"查询 reading {layer}", 0, EXPORT_STEPS)
    records = layer_records(session, spec)
    step(f"写出 writing {len(records)} feature(s)", 1, EXPORT_STEPS)
    write_file(spec, records, path, fmt=name)
    step("完成 done", EXPORT_STEPS, EXPORT_STEPS)
    return len(records)


def export_layer(
    engine: Engine, *, layer: str, path: Path, fmt: str | None = None, progress: Progress | None = None
) -> int:
    """Export one layer in its own (read-only) transaction."""
    with session_scope(engine) as session:
        return export_file(session, layer=layer, path=path, fmt=fmt, progress=progress)
