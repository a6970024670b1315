"""Write grid units: an import's units become a new generation; with `replace` the current units are retired.

Grid units are versioned, not updated: a code keeps its rows, each in force from valid_from to valid_to, so that
incidents keep the grid that was in force when they were reported (see gisgrid.grids.generations)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from gisgrid.db import models as m
from gisgrid.grids import generations
from gisgrid.grids.generations import Provenance
from gisgrid.io.records import Problem, Record
from gisgrid.io.spec import LayerSpec
from gisgrid.io.store import _base_row, _insert, existing_keys


def store_grids(
    session: Session,
    spec: LayerSpec,
    records: list[Record],
    *,
    valid_from: datetime | None,
    replace: bool,
    provenance: Provenance | None = None,
) -> list[Problem]:
    """Insert grid units as one new generation; with `replace` the old current units are retired by it."""
    by_code = select(m.GridUnit.code, func.max(m.GridUnit.version)).group_by(m.GridUnit.code)
    versions: dict[str, int] = {c: v for c, v in session.execute(by_code)}
    current = set(existing_keys(session, spec))
    problems = _parent_problems(
        records, known={str(r.key) for r in records} | (set() if replace else current)
    )
    if problems:
        return problems
    provenance = provenance or Provenance()
    generation = generations.begin(session, provenance)
    if replace:
        retire_current_grids(session, generation_id=generation.id)
    rows = [_base_row(spec, r) for r in records]
    for row in rows:
        row["version"] = versions.get(row["code"], 0) + 1
        row["generation_id"] = generation.id
        if valid_from is not None:
            row["valid_from"] = valid_from
    _insert(session, m.GridUnit, rows)
    in_file = {str(r.key) for r in records}
    kept = in_file & current if replace else set()
    generations.finish(
        session,
        generation,
        provenance,
        added=len(in_file - kept),
        changed=len(kept),
        retired=len(current - in_file) if replace else 0,
    )
    return []


def _parent_problems(records: list[Record], *, known: set[str]) -> list[Problem]:
    problems = []
    for rec in records:
        parent = rec.attrs.get("parent_code")
        if rec.attrs.get("level") != "subdistrict" and not parent:
            problems.append(
                Problem(rec.index, rec.key, "parent_code", "missing: every level below subdistrict needs one")
            )
        elif parent and parent not in known:
            problems.append(
                Problem(
                    rec.index,
                    rec.key,
                    "parent_code",
                    f"parent {parent!r} not found in the file or the database",
                )
            )
    return problems


def retire_current_grids(session: Session, *, generation_id: int | None = None) -> None:
    """End the current units now (by `generation_id`); units that began in this same transaction never were,
    so go."""
    current = m.GridUnit.valid_to.is_(None)
    session.execute(delete(m.GridUnit).where(current, m.GridUnit.valid_from >= func.now()))
    session.execute(
        update(m.GridUnit).where(current).values(valid_to=func.now(), retired_generation_id=generation_id)
    )
