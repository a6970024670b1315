"""Write grid units: an import's units become a new current generation; with `replace` the current units are
retired (grid units are versioned by valid_from/valid_to, never overwritten)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from gisgrid.db import models as m
from gisgrid.io.records import Problem, Record
from gisgrid.io.spec import LayerSpec
from gisgrid.io.store import _base_row, _insert, existing_keys


def store_grids(
    session: Session, spec: LayerSpec, records: list[Record], *, valid_from: datetime | None, replace: bool
) -> list[Problem]:
    """Insert grid units as a new current generation; with `replace` the old current generation is retired."""
    by_code = select(m.GridUnit.code, func.max(m.GridUnit.version)).group_by(m.GridUnit.code)
    versions: dict[str, int] = {c: v for c, v in session.execute(by_code)}
    current = set() if replace else set(existing_keys(session, spec))
    problems = _parent_problems(records, known={str(r.key) for r in records} | current)
    if problems:
        return problems
    if replace:
        retire_current_grids(session)
    rows = [_base_row(spec, r) for r in records]
    for row in rows:
        row["version"] = versions.get(row["code"], 0) + 1
        if valid_from is not None:
            row["valid_from"] = valid_from
    _insert(session, m.GridUnit, rows)
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


def retire_current_grids(session: Session) -> None:
    """End the current generation now; units that began in this same transaction never were, so go."""
    current = m.GridUnit.valid_to.is_(None)
    session.execute(delete(m.GridUnit).where(current, m.GridUnit.valid_from >= func.now()))
    session.execute(update(m.GridUnit).where(current).values(valid_to=func.now()))
