"""Import a layer file (all-or-nothing) and load a whole data set such as the demo."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from gisgrid.auth import audit
from gisgrid.auth.policy import Principal
from gisgrid.db import models as m
from gisgrid.db.engine import session_scope
from gisgrid.errors import InvalidInput
from gisgrid.grids import store as grid_store
from gisgrid.grids.generations import Provenance
from gisgrid.io import store
from gisgrid.io.formats import detect_format
from gisgrid.io.readers import read_file
from gisgrid.io.records import ImportRejected, Problem, Record, check_records
from gisgrid.io.spec import SPECS, LayerSpec
from gisgrid.jobs import derived as derived_data

Progress = Callable[[str, int, int], None]
DEMO_VALID_FROM = datetime.fromisoformat("2023-01-01T00:00:00+08:00")
IMPORT_STEPS = 2
# What happens to the data derived from an imported layer (gisgrid/jobs/derived.py): rebuilt at once in the
# import's transaction, enqueued as a job in it, or left alone.
DerivedMode = Literal["now", "queue", "none"]


@dataclass
class ImportResult:
    """What an import did: features in the file, and how they met the layer's existing ones."""

    layer: str
    format: str
    imported: int
    added: int
    updated: int
    removed: int
    derived_jobs: list[int] = field(default_factory=list)
    # grids: the warnings the import was confirmed with (or, in a dry run, would need confirming)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    # walk_edges from road lines (roads=True): duplicates dropped, ends snapped, nodes, components (gisgrid.io.roads)
    network: dict[str, Any] | None = None

    def summary(self) -> str:
        """One line for people."""
        done = "Would import" if self.dry_run else "Imported"
        return (
            f"{done} {self.imported} feature(s) into {self.layer} ({self.format}): "
            f"{self.added} new, {self.updated} replaced, {self.removed} removed."
            + (f" {len(self.warnings)} warning(s)." if self.warnings else "")
        )


def get_spec(layer: str) -> LayerSpec:
    """The spec of an importable layer, or InvalidInput listing them."""
    if layer not in SPECS:
        raise InvalidInput(f"Unknown layer {layer!r}.", field="layer", value=layer, expected=", ".join(SPECS))
    return SPECS[layer]


def read_records(
    spec: LayerSpec, path: Path, *, crs: str | None = None, make_valid: bool = False, fmt: str | None = None
) -> list[Record]:
    """Read and check a layer file of any format; raise ImportRejected naming every bad feature."""
    records, problems = read_file(spec, path, fmt=fmt, crs=crs)
    read_faults = {(p.index, p.field) for p in problems}
    # A geometry that could not be read is reported once, not again as "missing".
    problems += [
        p
        for p in check_records(spec, records, make_valid=make_valid)
        if (p.index, p.field) not in read_faults
    ]
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
    provenance: Provenance | None = None,
    confirm_warnings: bool = True,
) -> ImportResult:
    """Write checked records in a savepoint of the session's transaction: all of them, or (ImportRejected) none.
    Grids pass the topology gate (gisgrid.grids.store): errors refuse, warnings need `confirm_warnings`."""
    warnings: list[str] = []
    in_file = {r.key for r in records}
    with session.begin_nested():
        existing = store.existing_keys(session, spec)
        if not replace:
            problems = store.key_clashes(spec, records, existing)
        elif spec.name in ("walk_edges", "grids"):
            problems = []  # the network is rebuilt whole; grids begin a new generation in store_grids
            if spec.name == "walk_edges":
                store.clear_layer(session, spec.name)
        else:
            problems = store.remove_absent(session, spec, records, existing)
        if not problems:
            problems = _store(
                session,
                spec,
                records,
                existing if replace else {},
                replace,
                valid_from,
                provenance,
                confirm_warnings=confirm_warnings,
                warnings=warnings,
            )
        if problems:
            raise ImportRejected(layer=spec.name, path=str(path), problems=problems)
    updated = len(in_file & existing.keys()) if replace else 0
    return ImportResult(
        layer=spec.name,
        format="",
        imported=len(records),
        added=len(records) - updated,
        updated=updated,
        removed=len(existing.keys() - in_file) if replace else 0,
        warnings=warnings,
    )


def _store(
    session: Session,
    spec: LayerSpec,
    records: list[Record],
    existing: dict[str, int],
    replace: bool,
    valid_from: datetime | None,
    provenance: Provenance | None = None,
    *,
    confirm_warnings: bool = True,
    warnings: list[str] | None = None,
) -> list[Problem]:
    try:
        if spec.name == "grids":
            return grid_store.store_grids(
                session,
                spec,
                records,
                valid_from=valid_from,
                replace=replace,
                provenance=provenance,
                confirm_warnings=confirm_warnings,
                warnings=warnings,
            )
        return store.storer(spec)(session, spec, records, existing)
    except (DataError, IntegrityError) as exc:
        # The checks should have caught it; a constraint of the schema is the last line, never a 500.
        raise InvalidInput(
            f"The database refused layer {spec.name!r}: {str(exc.orig).splitlines()[0]}",
            field=spec.name,
            expected="features that satisfy the schema's constraints",
        ) from exc


def import_file(
    session: Session,
    *,
    layer: str,
    path: Path,
    crs: str | None = None,
    make_valid: bool = False,
    replace: bool = False,
    fmt: str | None = None,
    progress: Progress | None = None,
    actor: Principal | None = None,
    ip: str | None = None,
    reason: str | None = None,
    derived: DerivedMode = "now",
    confirm_warnings: bool = False,
    dry_run: bool = False,
    roads: bool = False,
) -> ImportResult:
    """Import one layer file in the session's transaction: all features or none; audited (grids: as one new
    generation of the units that changed, with `reason`, through the topology gate: errors refuse, warnings
    need `confirm_warnings`). The data derived from the layer is rebuilt at once (derived="now"), enqueued as
    jobs ("queue") or left alone ("none"). A `dry_run` does all of it, answers what it would do (with the
    warnings) and keeps nothing."""
    if dry_run:
        nested = session.begin_nested()
        try:
            result = import_file(
                session,
                layer=layer,
                path=path,
                crs=crs,
                make_valid=make_valid,
                replace=replace,
                fmt=fmt,
                progress=progress,
                actor=actor,
                ip=ip,
                reason=reason,
                derived="none",
                confirm_warnings=True,
                roads=roads,
            )
        finally:
            nested.rollback()
        result.dry_run = True
        return result
    spec = get_spec(layer)
    fmt = detect_format(path, fmt)
    step = progress or (lambda stage, done, total: None)
    step(f"读取 reading {path.name}", 0, IMPORT_STEPS)
    network = None
    if roads:
        records, network = _road_records(spec, path, crs=crs, fmt=fmt)
        replace = True  # the walking network is rebuilt whole from the road lines
    else:
        records = read_records(spec, path, crs=crs, make_valid=make_valid, fmt=fmt)
    step(f"写入 writing {len(records)} feature(s)", 1, IMPORT_STEPS)
    provenance = Provenance(
        source="import",
        actor=actor,
        reason=reason,
        ip=ip,
        detail={"file": path.name, "format": fmt, "crs": crs, "replace": replace},
    )
    result = store_records(
        session,
        spec,
        records,
        path=path,
        replace=replace,
        provenance=provenance,
        confirm_warnings=confirm_warnings,
    )
    result.format = fmt
    result.network = network
    if derived == "now":
        derived_data.rebuild_after(session, [spec.name])
    elif derived == "queue":
        result.derived_jobs = derived_data.enqueue_after(session, [spec.name], actor=actor)
    audit.record(
        session,
        actor=actor,
        action="import",
        entity=spec.name,
        key=path.name,
        ip=ip,
        detail={
            "format": fmt,
            "crs": crs,
            "replace": replace,
            "make_valid": make_valid,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None,
            "imported": result.imported,
            "added": result.added,
            "updated": result.updated,
            "removed": result.removed,
            "warnings": result.warnings[:50],
            **({"roads": network} if network else {}),
        },
    )
    step("完成 done", IMPORT_STEPS, IMPORT_STEPS)
    return result


def _road_records(
    spec: LayerSpec, path: Path, *, crs: str | None, fmt: str | None
) -> tuple[list[Record], dict[str, Any]]:
    """Walk-edge records from a road-line file (gisgrid.io.roads), checked like any walk_edges file."""
    from gisgrid.config import GeoSettings
    from gisgrid.io import roads

    if spec.name != "walk_edges":
        raise InvalidInput(
            f"道路线只能导入步行网络 Road lines make the walking network only, not {spec.name!r}.",
            field="roads",
            value=spec.name,
            expected="layer walk_edges with roads=true, or roads=false",
        )
    raw, problems = read_file(roads.ROAD_LINES, path, fmt=fmt, crs=crs)
    bad = [r for r in raw if r.geom is None or r.geom.geom_type not in ("LineString", "MultiLineString")]
    problems += [Problem(r.index, r.key, "geometry", "not a LineString") for r in bad]
    if problems:
        raise ImportRejected(layer=spec.name, path=str(path), problems=problems)
    geo = GeoSettings()
    records, report = roads.to_walk_records(
        raw, srid=geo.metric_srid, duplicate_m=geo.road_duplicate_m, snap_m=geo.road_snap_m
    )
    problems = check_records(spec, records, make_valid=False)
    if problems or not records:
        raise ImportRejected(
            layer=spec.name,
            path=str(path),
            problems=problems or [Problem(0, None, "geometry", "no line left after the clean-up")],
        )
    return records, report.as_dict()


def import_layer(
    engine: Engine,
    *,
    layer: str,
    path: Path,
    crs: str | None = None,
    make_valid: bool = False,
    replace: bool = False,
    fmt: str | None = None,
    progress: Progress | None = None,
    confirm_warnings: bool = False,
    dry_run: bool = False,
    reason: str | None = None,
    roads: bool = False,
) -> ImportResult:
    """Import one layer file in its own transaction: all features or none."""
    with session_scope(engine) as session:
        return import_file(
            session,
            layer=layer,
            path=path,
            crs=crs,
            make_valid=make_valid,
            replace=replace,
            fmt=fmt,
            progress=progress,
            confirm_warnings=confirm_warnings,
            dry_run=dry_run,
            reason=reason,
            roads=roads,
        )


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
        provenance = Provenance(
            source="demo" if name == "demo" else "import",
            reason=f"数据集 data set {name}",
            detail={"folder": folder.name, "files_hash": files_hash, "replaced_all_layers": True},
        )
        specs = [s for s in SPECS.values() if (folder / s.file_name).exists()]
        for i, spec in enumerate(specs):
            if progress:
                progress(spec.name, i, len(specs))
            path = folder / spec.file_name
            records = read_records(spec, path)
            result = store_records(
                session, spec, records, path=path, valid_from=DEMO_VALID_FROM, provenance=provenance
            )
            counts[spec.name] = result.imported
        if progress:
            progress("walk_site_access", len(specs), len(specs))
        derived_data.rebuild(session)  # every derived data set, in the load's transaction
        session.add(m.DatasetLoad(name=name, files_hash=files_hash, counts=counts))
    if progress:
        progress("done", len(specs), len(specs))
    return LoadResult(True, counts, files_hash)
