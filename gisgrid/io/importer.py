"""Import a layer file (all-or-nothing) and load a whole data set such as the demo."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gisgrid.db import models as m
from gisgrid.db.engine import session_scope
from gisgrid.errors import InvalidInput
from gisgrid.io import store
from gisgrid.io.records import (
    ImportRejected,
    Problem,
    Record,
    check_records,
    geojson_records,
    read_geojson,
    read_workers_csv,
)
from gisgrid.io.spec import SPECS, LayerSpec

Progress = Callable[[str, int, int], None]
DEMO_VALID_FROM = datetime.fromisoformat("2023-01-01T00:00:00+08:00")


def get_spec(layer: str) -> LayerSpec:
    """The spec of an importable layer, or InvalidInput listing them."""
    if layer not in SPECS:
        raise InvalidInput(f"Unknown layer {layer!r}.", field="layer", value=layer, expected=", ".join(SPECS))
    return SPECS[layer]


def read_records(
    spec: LayerSpec, path: Path, *, crs: str | None = None, make_valid: bool = False
) -> list[Record]:
    """Read and check a layer file; raise ImportRejected naming every bad feature."""
    if not path.exists():
        raise InvalidInput(
            f"File not found: {path}", field="file", value=str(path), expected="an existing file"
        )
    if spec.geometry is None:
        records = read_workers_csv(path)
        problems: list[Problem] = []
    else:
        features, in_crs = read_geojson(path, crs=crs)
        records, problems = geojson_records(spec, features, in_crs)
    problems += check_records(spec, records, make_valid=make_valid)
    if problems:
        raise ImportRejected(layer=spec.name, path=str(path), problems=problems)
    return records


def store_records(
    session: Session,
    spec: LayerSpec,
    records: list[Record],
    *,
    path: Path,
    replace: bool = False,
    valid_from: datetime | None = None,
) -> int:
    """Write checked records in the session's transaction; raise ImportRejected on reference problems."""
    if replace:
        store.clear_layer(session, spec.name)
    if spec.name == "grids":
        problems = store.store_grids(session, spec, records, valid_from=valid_from)
    else:
        problems = store.STORERS[spec.name](session, spec, records)
    if problems:
        raise ImportRejected(layer=spec.name, path=str(path), problems=problems)
    return len(records)


def import_layer(
    engine: Engine,
    *,
    layer: str,
    path: Path,
    crs: str | None = None,
    make_valid: bool = False,
    replace: bool = False,
) -> int:
    """Import one layer file in one transaction: all features or none; return the count."""
    spec = get_spec(layer)
    records = read_records(spec, path, crs=crs, make_valid=make_valid)
    with session_scope(engine) as session:
        return store_records(session, spec, records, path=path, replace=replace)


@dataclass
class LoadResult:
    """What a data-set load did."""

    loaded: bool
    counts: dict[str, int]
    files_hash: str


def dataset_hash(folder: Path) -> str:
    """SHA-256 over the data set's layer files (names and bytes)."""
    digest = hashlib.sha256()
    for spec in SPECS.values():
        path = folder / spec.file_name
        if path.exists():
            digest.update(spec.file_name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def load_dataset(
    engine: Engine,
    *,
    folder: Path,
    name: str = "demo",
    if_changed: bool = True,
    progress: Progress | None = None,
) -> LoadResult:
    """Replace all layers with the files in `folder`, in one transaction; skip if already loaded unchanged."""
    files_hash = dataset_hash(folder)
    with session_scope(engine) as session:
        last = session.scalars(select(m.DatasetLoad).order_by(m.DatasetLoad.id.desc()).limit(1)).first()
        if if_changed and last is not None and last.name == name and last.files_hash == files_hash:
            return LoadResult(False, dict(last.counts), files_hash)
        for layer in reversed(SPECS):
            store.clear_layer(session, layer)
        counts: dict[str, int] = {}
        specs = [s for s in SPECS.values() if (folder / s.file_name).exists()]
        for i, spec in enumerate(specs):
            if progress:
                progress(spec.name, i, len(specs))
            path = folder / spec.file_name
            records = read_records(spec, path)
            counts[spec.name] = store_records(session, spec, records, path=path, valid_from=DEMO_VALID_FROM)
        session.add(m.DatasetLoad(name=name, files_hash=files_hash, counts=counts))
    if progress:
        progress("done", len(specs), len(specs))
    return LoadResult(True, counts, files_hash)
