"""Grid generations: each set of grid changes saved together (an import, an edit, a revert, the demo load) with
who, when and why, audited; and reading them back (the list, and what one changed).

A grid_unit row is one version of a code, in force from valid_from to valid_to. A generation that replaces
units ends the old rows (valid_to, retired_generation_id) and begins new ones (generation_id); an attribute edit
changes the current row in place and keeps its before/after values in the generation's detail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gisgrid.auth import audit
from gisgrid.auth.policy import Principal
from gisgrid.db import sql
from gisgrid.db.models import GENERATION_SOURCES, GridGeneration, GridUnit
from gisgrid.errors import InvalidInput, NotFound

UNITS_SQL = sql.load(__file__, "generation_units.sql")


@dataclass(frozen=True)
class Provenance:
    """Where a set of grid changes comes from: what its generation records (source, who, why, the file)."""

    source: str = "import"
    actor: Principal | None = None
    reason: str | None = None
    ip: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def begin(session: Session, provenance: Provenance) -> GridGeneration:
    """A new generation (its id assigned) for changes about to be written in the caller's transaction."""
    if provenance.source not in GENERATION_SOURCES:
        raise InvalidInput(
            f"Unknown generation source {provenance.source!r}.",
            field="source",
            value=provenance.source,
            expected=", ".join(GENERATION_SOURCES),
        )
    actor = provenance.actor
    generation = GridGeneration(
        created_by_id=actor.user_id if actor else None,
        created_by=actor.username if actor and not actor.anonymous else None,
        source=provenance.source,
        reason=(provenance.reason or "").strip() or None,
        detail=provenance.detail or None,
    )
    session.add(generation)
    session.flush()
    return generation


def finish(
    session: Session,
    generation: GridGeneration,
    provenance: Provenance,
    *,
    added: int = 0,
    retired: int = 0,
    changed: int = 0,
) -> GridGeneration:
    """Record a generation's counts and put it in the audit trail."""
    generation.units_added, generation.units_retired, generation.units_changed = added, retired, changed
    audit.record(
        session,
        actor=provenance.actor,
        action="create",
        entity="grid_generation",
        key=str(generation.id),
        ip=provenance.ip,
        after={
            "source": generation.source,
            "reason": generation.reason,
            "units_added": added,
            "units_retired": retired,
            "units_changed": changed,
        },
        detail=generation.detail,
    )
    session.flush()  # the bulk loader's session is a helper on its COPY connection: nothing may stay pending
    return generation


@dataclass
class Generation:
    """A generation as the API and CLI show it."""

    id: int
    created_at: datetime
    created_by: str | None
    source: str
    reason: str | None
    units_added: int
    units_retired: int
    units_changed: int
    detail: dict[str, Any] | None


@dataclass
class UnitChange:
    """One grid unit a generation added, changed (a new version), retired, or edited in place."""

    code: str
    level: str
    name: str
    change: str
    version: int
    valid_from: datetime
    valid_to: datetime | None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass
class GenerationPage:
    """Generations, newest first, and how many there are in all."""

    total: int
    items: list[Generation]


@dataclass
class GenerationChanges:
    """A generation and the units it changed (paged: `total` units in all)."""

    generation: Generation
    total: int
    units: list[UnitChange]


def _public(g: GridGeneration) -> Generation:
    return Generation(
        id=g.id,
        created_at=g.created_at,
        created_by=g.created_by,
        source=g.source,
        reason=g.reason,
        units_added=g.units_added,
        units_retired=g.units_retired,
        units_changed=g.units_changed,
        detail=g.detail,
    )


def list_generations(session: Session, *, limit: int = 50, offset: int = 0) -> GenerationPage:
    """Generations, newest first."""
    total = session.scalar(select(func.count()).select_from(GridGeneration)) or 0
    rows = session.scalars(
        select(GridGeneration).order_by(GridGeneration.id.desc()).limit(limit).offset(offset)
    )
    return GenerationPage(total=total, items=[_public(g) for g in rows])


def get_changes(
    session: Session, *, generation_id: int, limit: int = 500, offset: int = 0
) -> GenerationChanges:
    """One generation and what it changed: units added, changed (a new version), retired, or edited in place."""
    generation = session.get(GridGeneration, generation_id)
    if generation is None:
        raise NotFound(
            f"没有该网格版本 No grid generation {generation_id}.",
            field="generation_id",
            value=generation_id,
            expected="the id of a generation (GET /api/grids/generations)",
        )
    edits = [_edited(session, generation, e) for e in (generation.detail or {}).get("edits", [])]
    params = {"generation": generation_id, "limit": limit, "offset": offset}
    rows = sql.run(session, UNITS_SQL, params).mappings().all()
    counted = rows or (
        sql.run(session, UNITS_SQL, {**params, "offset": 0}).mappings().all() if offset else []
    )
    total = int(counted[0]["total"]) if counted else 0
    units = [UnitChange(**{k: r[k] for k in UNIT_COLUMNS}) for r in rows]
    # Attribute edits change a row in place: they are listed from the generation's own record, first page only.
    return GenerationChanges(
        generation=_public(generation),
        total=total + len(edits),
        units=(edits if offset == 0 else []) + units,
    )


UNIT_COLUMNS = ("code", "level", "name", "change", "version", "valid_from", "valid_to")


def _edited(session: Session, generation: GridGeneration, edit: dict[str, Any]) -> UnitChange:
    unit = session.get(GridUnit, edit["unit_id"])
    return UnitChange(
        code=edit["code"],
        level=unit.level if unit else "",
        name=unit.name if unit else str(edit["after"].get("name", "")),
        change="edited",
        version=int(edit["after"]["version"]),
        valid_from=unit.valid_from if unit else generation.created_at,
        valid_to=unit.valid_to if unit else None,
        before=edit["before"],
        after=edit["after"],
    )
