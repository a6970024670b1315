"""Read one grid unit (as of a time) and edit its attributes with a version check, audited."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gisgrid.auth import audit
from gisgrid.auth.policy import Principal, require_scope
from gisgrid.db.models import GridUnit
from gisgrid.errors import Conflict, InvalidInput, NotFound
from gisgrid.grids import generations
from gisgrid.times import aware

EDITABLE = {"name": str, "name_en": str, "households": int, "population": int}


def _find(session: Session, code: str, at: datetime | None) -> GridUnit:
    stmt = select(GridUnit).where(GridUnit.code == code)
    if at is None:
        stmt = stmt.where(GridUnit.valid_to.is_(None))
    else:
        stmt = stmt.where(GridUnit.valid_from <= at, (GridUnit.valid_to.is_(None)) | (GridUnit.valid_to > at))
    unit = session.scalars(stmt.limit(1)).first()
    if unit is None:
        when = "now" if at is None else f"at {at.isoformat()}"
        raise NotFound(
            f"没有该网格 No grid unit {code!r} {when}.",
            field="code",
            value=code,
            expected="the code of a grid unit in force at that time",
        )
    return unit


def unit_dict(session: Session, unit: GridUnit, *, private: bool) -> dict[str, Any]:
    """A grid unit as JSON (households and population only when `private`)."""
    out: dict[str, Any] = {
        "code": unit.code,
        "level": unit.level,
        "parent_code": unit.parent_code,
        "name": unit.name,
        "name_en": unit.name_en,
        "version": unit.version,
        "valid_from": unit.valid_from.isoformat(),
        "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
        "geometry": json.loads(session.scalar(select(func.ST_AsGeoJSON(unit.geom, 7))) or "null"),
    }
    if private:
        out.update(households=unit.households, population=unit.population)
    return out


def get_unit(
    session: Session, *, code: str, at: datetime | None = None, private: bool = False
) -> dict[str, Any]:
    """One grid unit, current or as of `at` (with its UTC offset)."""
    return unit_dict(session, _find(session, code, aware(at, field="at")), private=private)


def _clean(changes: dict[str, Any]) -> dict[str, Any]:
    """Refuse empty required values; an empty English name means none."""
    out = dict(changes)
    for key in ("name", "households", "population"):
        if key in out and (out[key] is None or (isinstance(out[key], str) and not out[key].strip())):
            raise InvalidInput(
                f"{key} cannot be empty.",
                field=key,
                value=out[key],
                expected="a name" if key == "name" else "a whole number ≥ 0",
            )
    if "name" in out:
        out["name"] = out["name"].strip()
    if "name_en" in out:
        out["name_en"] = (out["name_en"] or "").strip() or None
    return out


def update_attributes(
    session: Session,
    *,
    code: str,
    changes: dict[str, Any],
    expected_version: int | None,
    actor: Principal,
    ip: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Change name/name_en/households/population of the current unit; a stale version is a Conflict. The edit
    is saved as a generation of its own (source "edit", with `reason`), in place: the row keeps its validity."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown or not changes:
        raise InvalidInput(
            f"Cannot edit {', '.join(unknown) or 'nothing'}.",
            field="body",
            value=",".join(unknown),
            expected="one or more of: " + ", ".join(EDITABLE),
        )
    changes = _clean(changes)
    unit = session.scalars(
        select(GridUnit).where(GridUnit.code == code, GridUnit.valid_to.is_(None)).with_for_update()
    ).first()
    if unit is None:
        raise NotFound(
            f"No current grid unit {code!r}.", field="code", value=code, expected="an existing code"
        )
    require_scope(actor, unit.code)
    if expected_version is None:
        raise InvalidInput(
            "The If-Match header with the unit's version is required.",
            field="If-Match",
            expected=f'"{unit.version}" (the version you edited)',
        )
    if expected_version != unit.version:
        raise Conflict(
            f"Grid unit {code} was changed by someone else (version {unit.version}, yours "
            f"{expected_version}).",
            field="If-Match",
            value=expected_version,
            expected=f'"{unit.version}": reload and apply your change again',
            details={"current_version": unit.version},
        )
    before = {k: getattr(unit, k) for k in changes}
    for key, value in changes.items():
        setattr(unit, key, value)
    unit.version += 1
    session.flush()
    after = {**changes, "version": unit.version}
    edit = {
        "code": code,
        "unit_id": unit.id,
        "before": {**before, "version": unit.version - 1},
        "after": after,
    }
    provenance = generations.Provenance(
        source="edit", actor=actor, reason=reason, ip=ip, detail={"edits": [edit]}
    )
    generation = generations.begin(session, provenance)
    generations.finish(session, generation, provenance, changed=1)
    audit.record(
        session,
        actor=actor,
        action="update",
        entity="grid_unit",
        key=code,
        before=before,
        after=after,
        ip=ip,
        detail={"generation_id": generation.id},
    )
    return unit_dict(session, unit, private=True)
