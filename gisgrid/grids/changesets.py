"""Change sets: boundary edits drafted, previewed with their impact, and saved as one grid generation.

A draft holds the operations (gisgrid.grids.edits) and the version of every grid they read when the draft was
made. Drafts lock nothing. Saving locks the grids in code order, compares their versions with the draft's (a
grid changed meanwhile is a 409 naming who changed it, when and why; `rebase` takes the new state), applies the
operations again on the locked state, checks them (errors refuse, warnings need `confirm_warnings`) and writes
one generation: old rows end, new rows begin, in the same transaction, audited with before and after. A revert
is a change set too (the operation `restore`), checked the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gisgrid.auth import audit
from gisgrid.auth.policy import Principal
from gisgrid.config import GridRuleSettings
from gisgrid.db.models import GridChangeSet, GridGeneration, GridUnit
from gisgrid.errors import Conflict, Forbidden, InvalidInput, NotFound
from gisgrid.grids import edits, generations
from gisgrid.grids.edits import Outcome, Unit, Workspace

MAX_LISTED = 200  # places, incidents … listed in a preview (the counts are complete)


@dataclass(frozen=True)
class Context:
    """Who edits, with which rules, from where."""

    actor: Principal
    rules: GridRuleSettings
    srid: int = 4544
    ip: str | None = None


# -- the preview -----------------------------------------------------------------------------------------------


def _geojson(geom: BaseGeometry | None) -> dict[str, Any] | None:
    if geom is None or geom.is_empty:
        return None
    return json.loads(shapely.to_geojson(shapely.set_precision(geom, edits.GRID)))


def _unit_change(ws: Workspace, code: str) -> str:
    if code in ws.retired:
        return "recoded" if code in ws.recoded else "retired"
    if code in ws.created:
        unit = ws.units[code]
        if unit.restored_from is not None:
            return "restored"
        return "recoded" if code in ws.recoded.values() else "added"
    return "changed"


def _households_of(ws: Workspace, codes: list[str], units: dict[str, Unit]) -> int:
    return sum(units[c].households for c in codes if c in units and units[c].level == "micro")


def build_preview(ws: Workspace, outcome: Outcome) -> dict[str, Any]:
    """What the change set does, for the planner to confirm: per grid the figures before and after, the places
    and workers that change grid, the open incidents in the area that changes hands, and the issues."""
    after = ws.current()
    codes = sorted(ws.changed | set(ws.created) | ws.retired)
    units = []
    for code in codes:
        old, new = ws.before.get(code), after.get(code)
        unit = new or old
        assert unit is not None
        units.append(
            {
                "code": code,
                "level": unit.level,
                "name": unit.name,
                "parent_code": unit.parent_code,
                "change": _unit_change(ws, code),
                "new_code": ws.recoded.get(code),
                "version_before": old.version if old else None,
                "households_before": old.households if old else None,
                "households_after": new.households if new else None,
                "population_before": old.population if old else None,
                "population_after": new.population if new else None,
                "area_m2_before": round(ws.area_m2(old.geom), 1) if old else None,
                "area_m2_after": round(ws.area_m2(new.geom), 1) if new else None,
                "geometry_before": _geojson(old.geom) if old else None,
                "geometry_after": _geojson(new.geom) if new else None,
            }
        )
    moved_area = _moved_area(ws)
    places = _moved_places(ws, moved_area)
    workers = []
    for w in sorted(ws.workers().values(), key=lambda w: w.ext_id):
        if w.before == w.after and not any(c in ws.changed or c in ws.retired for c in w.before):
            continue
        before_units = {**ws.before}
        workers.append(
            {
                "ext_id": w.ext_id,
                "name": w.name,
                "grids_before": w.before,
                "grids_after": [c for c in w.after if c not in ws.retired],
                "households_before": _households_of(ws, w.before, before_units),
                "households_after": _households_of(ws, w.after, after),
            }
        )
    specials = [
        {
            "code": code,
            "kind": sp.kind,
            "name": sp.name,
            "change": "retired" if sp.retired else ("added" if sp.version == 0 or sp.revived else "changed"),
            "version_before": sp.version or None,
            "area_m2_before": round(ws.area_m2(ws.specials_before[code].geom), 1)
            if code in ws.specials_before
            else None,
            "area_m2_after": None if sp.retired else round(ws.area_m2(sp.geom), 1),
            "geometry_before": _geojson(ws.specials_before[code].geom)
            if code in ws.specials_before
            else None,
            "geometry_after": None if sp.retired else _geojson(sp.geom),
        }
        for code, sp in sorted(ws.specials.items())
    ]
    incidents = _open_incidents(ws, moved_area)
    coverage = sorted({c for p in places["buildings"] for c in (p["from"], p["to"]) if c})
    return {
        "results": outcome.results,
        "units": units,
        "specials": specials,
        "compounds": places["compounds"][:MAX_LISTED],
        "compounds_total": len(places["compounds"]),
        "buildings_moved": len(places["buildings"]),
        "workers": workers,
        "incidents": incidents[:MAX_LISTED],
        "incidents_total": len(incidents),
        "incidents_note": "案件保留原网格 open incidents keep the grid they were reported in",
        "coverage_changed": coverage,
        "errors": [i.public() for i in outcome.errors],
        "warnings": [i.public() for i in outcome.warnings],
        "notes": ws.notes,
        "changed_area": _geojson(moved_area),
    }


def _moved_area(ws: Workspace) -> BaseGeometry:
    """The area whose micro-grid changes (the parts of old micro-grids now in another code)."""
    after = {c: u for c, u in ws.current().items() if u.level == "micro"}
    pieces = []
    for code, old in ws.before.items():
        if old.level != "micro":
            continue
        new = after.get(code)
        lost = old.geom if new is None else shapely.difference(old.geom, new.geom, grid_size=edits.GRID)
        if not lost.is_empty and ws.area_m2(lost) >= edits.NOISE_M2:
            pieces.append(lost)
    return shapely.union_all(pieces) if pieces else shapely.Polygon()


def _micro_at(units: list[Unit], point: BaseGeometry) -> str | None:
    for u in units:
        if u.geom.contains(point):
            return u.code
    return None


def _moved_places(ws: Workspace, area: BaseGeometry) -> dict[str, list[dict[str, Any]]]:
    if area.is_empty:
        return {"compounds": [], "buildings": []}
    before = [u for u in ws.before.values() if u.level == "micro"]
    after = [u for u in ws.current().values() if u.level == "micro"]
    out: dict[str, list[dict[str, Any]]] = {}
    for table in ("compound", "building"):
        rows = ws.session.execute(text(PLACES_IN[table]), {"g": shapely.to_wkb(area)}).all()
        moved = []
        for ext_id, name, households, raw in rows:
            point = shapely.from_wkb(bytes(raw))
            was, now = _micro_at(before, point), _micro_at(after, point)
            if was != now:
                moved.append(
                    {"ext_id": ext_id, "name": name, "households": households, "from": was, "to": now}
                )
        out[table + "s"] = moved
    return out


PLACES_IN = {
    "compound": "SELECT ext_id, name, households, ST_AsBinary(ST_PointOnSurface(geom)) FROM compound "
    "WHERE geom && ST_GeomFromWKB(:g, 4326) AND ST_Intersects(geom, ST_GeomFromWKB(:g, 4326))",
    "building": "SELECT ext_id, label, households, ST_AsBinary(ST_PointOnSurface(geom)) FROM building "
    "WHERE geom && ST_GeomFromWKB(:g, 4326) AND ST_Intersects(geom, ST_GeomFromWKB(:g, 4326))",
}


def _open_incidents(ws: Workspace, area: BaseGeometry) -> list[dict[str, Any]]:
    if area.is_empty:
        return []
    rows = ws.session.execute(
        text(
            "SELECT id, title, status, micro_code FROM incident "
            "WHERE status NOT IN ('closed', 'rejected') AND geom && ST_GeomFromWKB(:g, 4326) "
            "AND ST_Intersects(geom, ST_GeomFromWKB(:g, 4326)) ORDER BY id"
        ),
        {"g": shapely.to_wkb(area)},
    ).all()
    return [{"id": i, "title": t, "status": s, "micro_code": m} for i, t, s, m in rows]


# -- drafts ----------------------------------------------------------------------------------------------------


def _refuse_errors(outcome: Outcome, preview: dict[str, Any]) -> None:
    if outcome.errors:
        first = outcome.errors[0]
        raise edits.EditRefused(
            f"变更违反规则 The change breaks {len(outcome.errors)} rule(s): {first.detail}"
            + (f" ({first.code})" if first.code else "")
            + ".",
            field="operations",
            value=first.code,
            expected="an edit that keeps every level tiled, nothing cut, nothing outside its parent",
            details={
                "rule": first.rule,
                "issues": preview["errors"][:50],
                "location": preview["errors"][0]["location"],
            },
        )


def _evaluate(session: Session, operations: Any, ctx: Context, *, lock: bool = False) -> tuple[Outcome, dict]:
    """Apply and check in memory: nothing is written."""
    outcome = edits.run(session, operations, actor=ctx.actor, rules=ctx.rules, srid=ctx.srid, lock=lock)
    return outcome, build_preview(outcome.workspace, outcome)


def preview(session: Session, operations: Any, ctx: Context) -> dict[str, Any]:
    """Check operations and show their impact without keeping anything (422 when they break a rule)."""
    _require_edit(ctx.actor)
    outcome, shown = _evaluate(session, operations, ctx)
    _refuse_errors(outcome, shown)
    return shown


def _require_edit(actor: Principal) -> None:
    if not actor.can("grids.edit"):
        raise Forbidden(
            "只有规划员和管理员可以修改网格 Only planners and admins edit grids.",
            field="role",
            value=actor.role,
            expected="planner or admin",
        )


SPECIAL_KEY = "special:"  # base_versions keys of special grids (grid codes have no colon)


def _versions(ws: Workspace) -> dict[str, int]:
    """The version of every grid the change set changes (the units it loaded but left alone are checked again
    when it is saved, under lock, so they need not be current)."""
    touched = ws.changed | ws.retired | (set(ws.created) & set(ws.before))
    out = {code: ws.before[code].version for code in sorted(touched) if code in ws.before}
    out.update({SPECIAL_KEY + code: sp.version for code, sp in ws.specials_before.items()})
    return out


def _clean_reason(reason: Any) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str) or len(reason) > 500:
        raise InvalidInput(
            "原因至多 500 字 reason has at most 500 characters.",
            field="reason",
            value=str(reason)[:100],
            expected="a reason of up to 500 characters",
        )
    return reason.strip() or None


def create(session: Session, *, operations: Any, reason: Any, ctx: Context) -> GridChangeSet:
    """A new draft: the operations checked (422 when they break a rule) and their preview kept with it."""
    _require_edit(ctx.actor)
    outcome, shown = _evaluate(session, operations, ctx)
    _refuse_errors(outcome, shown)
    cs = GridChangeSet(
        status="draft",
        created_by_id=ctx.actor.user_id,
        created_by=ctx.actor.username,
        reason=_clean_reason(reason),
        operations=operations,
        base_versions=_versions(outcome.workspace),
        preview=shown,
    )
    session.add(cs)
    session.flush()
    return cs


def _draft(session: Session, change_set_id: int, ctx: Context, *, lock: bool = False) -> GridChangeSet:
    stmt = select(GridChangeSet).where(GridChangeSet.id == change_set_id)
    if lock:
        stmt = stmt.with_for_update()
    cs = session.scalars(stmt).first()
    if cs is None:
        raise NotFound(
            f"没有该变更 No change set {change_set_id}.",
            field="id",
            value=change_set_id,
            expected="the id of a change set (GET /api/grids/changes)",
        )
    return cs


def _owned_draft(
    session: Session, change_set_id: int, ctx: Context, expected_version: int | None
) -> GridChangeSet:
    _require_edit(ctx.actor)
    cs = _draft(session, change_set_id, ctx, lock=True)
    if cs.status != "draft":
        raise Conflict(
            f"变更 {cs.id} 已{'保存' if cs.status == 'saved' else '取消'} Change set {cs.id} is "
            f"{cs.status}, no longer a draft.",
            field="id",
            value=cs.id,
            expected="a draft",
        )
    if cs.created_by_id != ctx.actor.user_id and ctx.actor.role != "admin":
        raise Forbidden(
            f"变更 {cs.id} 属于 {cs.created_by} Change set {cs.id} is {cs.created_by}'s draft.",
            field="id",
            value=cs.id,
            expected="your own draft (admins may act on any)",
        )
    if expected_version is not None and expected_version != cs.version:
        raise Conflict(
            f"草稿已被修改 Draft {cs.id} changed meanwhile (version {cs.version}, yours {expected_version}).",
            field="version",
            value=expected_version,
            expected=f"{cs.version}: reload the draft",
            details={"current_version": cs.version},
        )
    return cs


def update_draft(
    session: Session,
    change_set_id: int,
    *,
    operations: Any,
    reason: Any,
    expected_version: int | None,
    ctx: Context,
) -> GridChangeSet:
    """Replace a draft's operations (the page's undo/redo sends the whole list); checked like a new draft.
    Grids the draft already read keep the version they had then."""
    cs = _owned_draft(session, change_set_id, ctx, expected_version)
    outcome, shown = _evaluate(session, operations, ctx)
    _refuse_errors(outcome, shown)
    cs.operations = operations
    if reason is not None:
        cs.reason = _clean_reason(reason)
    cs.base_versions = {**_versions(outcome.workspace), **cs.base_versions}
    cs.preview = shown
    cs.version += 1
    cs.updated_at = func.now()
    session.flush()
    return cs


def rebase(session: Session, change_set_id: int, *, ctx: Context) -> GridChangeSet:
    """Take the current state as the draft's starting point (after a conflict): the operations are checked
    again on it and every grid's version is taken anew."""
    cs = _owned_draft(session, change_set_id, ctx, None)
    outcome, shown = _evaluate(session, cs.operations, ctx)
    _refuse_errors(outcome, shown)
    cs.base_versions = _versions(outcome.workspace)
    cs.preview = shown
    cs.version += 1
    cs.updated_at = func.now()
    session.flush()
    return cs


def cancel(session: Session, change_set_id: int, *, ctx: Context) -> GridChangeSet:
    """Drop a draft (it stays listed as cancelled)."""
    cs = _owned_draft(session, change_set_id, ctx, None)
    cs.status = "cancelled"
    cs.updated_at = func.now()
    session.flush()
    return cs


def get(session: Session, change_set_id: int, *, ctx: Context) -> GridChangeSet:
    """One change set."""
    return _draft(session, change_set_id, ctx)


def list_change_sets(
    session: Session, *, status: str | None = None, code: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[int, list[GridChangeSet]]:
    """Change sets, newest first; `code`: those whose preview touched that grid."""
    stmt = select(GridChangeSet)
    if status:
        stmt = stmt.where(GridChangeSet.status == status)
    if code:
        stmt = stmt.where(GridChangeSet.base_versions.has_key(code))  # type: ignore[attr-defined]
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(GridChangeSet.id.desc()).limit(limit).offset(offset)).all()
    return total, list(rows)


# -- saving ----------------------------------------------------------------------------------------------------


# The grids a save will read under lock, besides those it changes: their siblings (a parent's tiling is checked
# over all its children) and the neighbours of the same level (overlaps, shared nodes). Three index lookups, not
# one OR: that scanned every grid of a city (0.7 s on 135k units, against 0.6 ms).
NEIGHBOURHOOD = """
WITH base AS MATERIALIZED (
    SELECT level, parent_code, geom FROM grid_unit WHERE code = ANY(:codes) AND valid_to IS NULL
)
SELECT u.id FROM grid_unit u
 WHERE u.id IN (
       SELECT id FROM grid_unit WHERE code = ANY(:codes) AND valid_to IS NULL
       UNION ALL
       SELECT c.id FROM base b JOIN grid_unit c ON c.parent_code = b.parent_code AND c.valid_to IS NULL
       UNION ALL
       SELECT n.id FROM base b JOIN grid_unit n ON n.geom && ST_Expand(b.geom, 1e-7) AND n.level = b.level
          AND n.valid_to IS NULL AND ST_DWithin(n.geom, b.geom, 1e-7))
 ORDER BY u.code
   FOR UPDATE OF u
"""


def _lock_and_compare(session: Session, base: dict[str, int]) -> None:
    """Lock the draft's grids and their neighbourhood in code order and refuse (409) when any of its grids
    changed since the draft read it. All in one ordered statement: a save that took its own grids first and its
    neighbours while checking could wait for a neighbour another save holds while that one waits for one of its
    grids — a deadlock, which the database breaks by failing one of them with no word of what changed."""
    specials = sorted(k for k in base if k.startswith(SPECIAL_KEY))
    codes = sorted(k for k in base if not k.startswith(SPECIAL_KEY))
    session.execute(text(NEIGHBOURHOOD), {"codes": codes}).all()
    rows = {
        r.code: r
        for r in session.execute(
            select(GridUnit.code, GridUnit.version, GridUnit.generation_id)
            .where(GridUnit.code.in_(codes), GridUnit.valid_to.is_(None))
            .order_by(GridUnit.code)
            .with_for_update()
        )
    }
    stale = []
    for code in codes:
        row = rows.get(code)
        if row is None or row.version != base[code]:
            stale.append(_what_changed(session, code, base[code], row))
    for key in specials:
        now = session.execute(
            text("SELECT version, retired_at FROM special_grid WHERE code = :c FOR UPDATE"),
            {"c": key[len(SPECIAL_KEY) :]},
        ).first()
        if now is None or now[1] is not None or now[0] != base[key]:
            stale.append(
                {
                    "code": key[len(SPECIAL_KEY) :],
                    "base_version": base[key],
                    "current_version": now[0] if now else None,
                    "retired": bool(now and now[1]),
                    "generation_id": None,
                    "changed_by": None,
                    "changed_at": None,
                    "reason": None,
                }
            )
    if stale:
        raise Conflict(
            f"网格已被他人修改 {len(stale)} grid(s) changed since the draft was made: "
            + ", ".join(s["code"] for s in stale[:10])
            + ". Reload the draft on the new state (rebase) and check it again.",
            field="base_versions",
            value=stale[0]["code"],
            expected="the versions the draft started from",
            details={"stale": stale},
        )


def _what_changed(session: Session, code: str, version: int, row: Any) -> dict[str, Any]:
    gen_id = (
        row.generation_id
        if row is not None
        else session.scalar(
            select(GridUnit.retired_generation_id).where(GridUnit.code == code, GridUnit.version == version)
        )
    )
    gen = session.get(GridGeneration, gen_id) if gen_id else None
    return {
        "code": code,
        "base_version": version,
        "current_version": row.version if row is not None else None,
        "retired": row is None,
        "generation_id": gen_id,
        "changed_by": gen.created_by if gen else None,
        "changed_at": gen.created_at.isoformat() if gen and gen.created_at else None,
        "reason": gen.reason if gen else None,
    }


def save(
    session: Session,
    change_set_id: int,
    *,
    confirm_warnings: bool,
    expected_version: int | None,
    ctx: Context,
) -> GridChangeSet:
    """Save a draft as one generation (see the module's description). A clash with another editor's save that
    the database detects (a deadlock, a code taken at the same instant) is a 409 to try again, never a 500."""
    try:
        return _save(
            session,
            change_set_id,
            confirm_warnings=confirm_warnings,
            expected_version=expected_version,
            ctx=ctx,
        )
    except DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) in RETRYABLE:
            raise Conflict(
                "另一位规划员正在保存相邻网格 Another planner saved neighbouring grids at the same moment: try again.",
                field="id",
                value=change_set_id,
                expected="a retry (rebase the draft if it is refused as stale)",
            ) from exc
        raise


# deadlock, serialization failure, lock not available, unique violation, exclusion violation
RETRYABLE = ("40P01", "40001", "55P03", "23505", "23P01")


def _save(
    session: Session,
    change_set_id: int,
    *,
    confirm_warnings: bool,
    expected_version: int | None,
    ctx: Context,
) -> GridChangeSet:
    cs = _owned_draft(session, change_set_id, ctx, expected_version)
    _lock_and_compare(session, cs.base_versions)
    outcome = edits.run(session, cs.operations, actor=ctx.actor, rules=ctx.rules, srid=ctx.srid, lock=True)
    shown = build_preview(outcome.workspace, outcome)
    _refuse_errors(outcome, shown)
    planned = [r.get("codes") or r.get("code") for r in (cs.preview or {}).get("results", [])]
    now_codes = [r.get("codes") or r.get("code") for r in outcome.results]
    if planned != now_codes:
        raise Conflict(
            "新编码已被占用 The new codes the draft showed were taken meanwhile; rebase the draft.",
            field="operations",
            value=str(planned)[:200],
            expected=str(now_codes)[:200],
            details={"planned": planned, "now": now_codes},
        )
    if outcome.warnings and not confirm_warnings:
        raise InvalidInput(
            f"请确认 {len(outcome.warnings)} 条警告 {len(outcome.warnings)} warning(s) need your confirmation: "
            + "; ".join(w.detail for w in outcome.warnings[:5]),
            field="confirm_warnings",
            value=False,
            expected="confirm_warnings=true after reading the warnings",
            details={"warnings": shown["warnings"]},
        )
    restores = [op for op in cs.operations if isinstance(op, dict) and op.get("op") == "restore"]
    provenance = generations.Provenance(
        source="revert" if restores and len(restores) == len(cs.operations) else "edit",
        actor=ctx.actor,
        reason=cs.reason,
        ip=ctx.ip,
        detail={"change_set": cs.id},
    )
    generation = write(session, outcome.workspace, provenance)
    cs.status = "saved"
    cs.generation_id = generation.id
    cs.saved_at = func.now()
    cs.updated_at = func.now()
    cs.preview = shown
    cs.version += 1
    session.flush()
    return cs


def write(session: Session, ws: Workspace, provenance: generations.Provenance) -> GridGeneration:
    """Write a checked workspace as one generation: changed and retired units end, changed and new ones begin,
    workers' grids follow; audited with before and after."""
    after = ws.current()
    generation = generations.begin(session, provenance)
    # One instant for the rows that end and those that begin: the clock, not the transaction's start, so that
    # saves in one transaction (a script, a test) each get their own instant.
    at = session.scalar(select(func.clock_timestamp()))
    ending = sorted((ws.changed | ws.retired | set(ws.created)) & set(ws.before))
    for code in ending:
        session.execute(
            update(GridUnit)
            .where(GridUnit.code == code, GridUnit.valid_to.is_(None))
            .values(valid_to=at, retired_generation_id=generation.id)
        )
    beginning = sorted(ws.changed | set(ws.created))
    beginning = [c for c in beginning if c in after]
    for code in beginning:
        unit = after[code]
        version = (session.scalar(select(func.max(GridUnit.version)).where(GridUnit.code == code)) or 0) + 1
        session.execute(
            text(
                "INSERT INTO grid_unit (code, level, parent_code, name, name_en, households, population, geom, "
                "version, generation_id, valid_from) VALUES (:code, :level, :parent, :name, :name_en, :hh, :pop, "
                "ST_Multi(ST_GeomFromWKB(:g, 4326)), :version, :gen, :at)"
            ),
            {
                "code": code,
                "level": unit.level,
                "parent": unit.parent_code,
                "name": unit.name,
                "name_en": unit.name_en,
                "hh": unit.households,
                "pop": unit.population,
                "g": shapely.to_wkb(shapely.set_precision(unit.geom, edits.GRID)),
                "version": version,
                "gen": generation.id,
                "at": at,
            },
        )
    specials = _write_specials(session, ws, at)
    workers = _write_workers(session, ws)
    added = len([c for c in beginning if c not in ws.before])
    changed = len([c for c in beginning if c in ws.before])
    retired = len([c for c in ws.retired if c in ws.before])
    generation.detail = {
        **(generation.detail or {}),
        "workers": workers,
        "codes": beginning,
        "retired": sorted(ws.retired),
        "recoded": ws.recoded,
        "specials": specials,
    }
    generations.finish(session, generation, provenance, added=added, retired=retired, changed=changed)
    audit.record(
        session,
        actor=provenance.actor,
        action="update",
        entity="grid_boundaries",
        key=str(generation.id),
        ip=provenance.ip,
        before={c: _figures(ws, ws.before[c]) for c in ending},
        after={c: _figures(ws, after[c]) for c in beginning},
        detail={
            "change_set": provenance.detail.get("change_set"),
            "generation_id": generation.id,
            "recoded": ws.recoded,
            "workers": workers,
        },
    )
    return generation


def _figures(ws: Workspace, unit: Unit) -> dict[str, Any]:
    return {
        "version": unit.version or None,
        "parent_code": unit.parent_code,
        "name": unit.name,
        "households": unit.households,
        "population": unit.population,
        "area_m2": round(ws.area_m2(unit.geom), 2),
        "wkt": shapely.to_wkt(unit.geom, rounding_precision=7),
    }


def _write_specials(session: Session, ws: Workspace, at: Any) -> list[dict[str, Any]]:
    out = []
    for code, sp in sorted(ws.specials.items()):
        wkb_ = shapely.to_wkb(shapely.set_precision(sp.geom, edits.GRID))
        if sp.version == 0:
            session.execute(
                text(
                    "INSERT INTO special_grid (code, kind, name, community_code, geom, version) VALUES "
                    "(:c, :k, :n, :cc, ST_Multi(ST_GeomFromWKB(:g, 4326)), 1)"
                ),
                {"c": code, "k": sp.kind, "n": sp.name, "cc": sp.community_code, "g": wkb_},
            )
            out.append({"code": code, "change": "added", "version_after": 1})
        elif sp.retired:
            session.execute(
                text("UPDATE special_grid SET retired_at = :at, version = version + 1 WHERE code = :c"),
                {"c": code, "at": at},
            )
            out.append({"code": code, "change": "retired", "version_after": sp.version + 1})
        elif sp.revived:
            session.execute(
                text("UPDATE special_grid SET retired_at = NULL, version = version + 1 WHERE code = :c"),
                {"c": code},
            )
            out.append({"code": code, "change": "added", "version_after": sp.version + 1})
        else:
            session.execute(
                text(
                    "UPDATE special_grid SET name = :n, geom = ST_Multi(ST_GeomFromWKB(:g, 4326)), "
                    "version = version + 1 WHERE code = :c"
                ),
                {"c": code, "n": sp.name, "g": wkb_},
            )
            before = ws.specials_before[code]
            out.append(
                {
                    "code": code,
                    "change": "changed",
                    "name_before": before.name,
                    "wkt_before": shapely.to_wkt(before.geom, rounding_precision=7),
                }
            )
    return out


def _write_workers(session: Session, ws: Workspace) -> list[dict[str, Any]]:
    out = []
    for w in sorted(ws.workers().values(), key=lambda w: w.ext_id):
        after = sorted(c for c in w.after if c not in ws.retired)
        if after == sorted(w.before):
            continue
        session.execute(text("DELETE FROM worker_grid WHERE worker_id = :w"), {"w": w.worker_id})
        for code in after:
            session.execute(
                text("INSERT INTO worker_grid (worker_id, grid_code) VALUES (:w, :c)"),
                {"w": w.worker_id, "c": code},
            )
        out.append({"ext_id": w.ext_id, "name": w.name, "before": sorted(w.before), "after": after})
    return out


def revert(session: Session, *, generation_id: int, reason: Any, ctx: Context) -> GridChangeSet:
    """A draft that restores the state before a generation (checked like any edit; saved with `save`)."""
    return create(
        session, operations=[{"op": "restore", "generation": generation_id}], reason=reason, ctx=ctx
    )


# -- reading a grid's edges and history ------------------------------------------------------------------------


def edges(session: Session, *, code: str, ctx: Context) -> dict[str, Any]:
    """The edges a micro-grid shares with each neighbour (the lines the page makes draggable), with whether the
    caller may edit each, and the grid's own outline."""
    ws = Workspace(session, actor=ctx.actor, rules=ctx.rules, srid=ctx.srid)
    unit = ws.get(code)
    out = []
    for other in ws.neighbours(unit.geom, unit.level):
        if other.code == unit.code:
            continue
        for edge in edits.shared_edges(unit.geom, other.geom):
            out.append(
                {
                    "neighbour": other.code,
                    "neighbour_name": other.name,
                    "same_parent": other.parent_code == unit.parent_code,
                    "editable": unit.level == "micro"
                    and ctx.actor.in_scope(unit.code)
                    and ctx.actor.in_scope(other.code)
                    and ctx.actor.can("grids.edit"),
                    "length_m": round(ws.length_m(edge), 2),
                    "line": _geojson(edge),
                }
            )
    return {
        "code": unit.code,
        "name": unit.name,
        "level": unit.level,
        "parent_code": unit.parent_code,
        "version": unit.version,
        "geometry": _geojson(unit.geom),
        "edges": out,
    }


def history(session: Session, *, code: str, limit: int = 100) -> list[dict[str, Any]]:
    """Every version of a code, newest first, with the generation that began it and its shape."""
    rows = (
        session.execute(
            text(
                "SELECT u.version, u.name, u.parent_code, u.households, u.population, u.valid_from, u.valid_to, "
                "u.generation_id, u.retired_generation_id, g.created_by, g.source, g.reason, "
                "ST_AsGeoJSON(u.geom, 7) AS geometry FROM grid_unit u LEFT JOIN grid_generation g "
                "ON g.id = u.generation_id WHERE u.code = :c ORDER BY u.valid_from DESC, u.version DESC LIMIT :n"
            ),
            {"c": code, "n": limit},
        )
        .mappings()
        .all()
    )
    if not rows:
        raise NotFound(
            f"没有该网格 No grid unit {code!r}.",
            field="code",
            value=code,
            expected="the code of a grid unit, current or retired",
        )
    return [
        {
            **r,
            "valid_from": r["valid_from"].isoformat(),
            "valid_to": r["valid_to"].isoformat() if r["valid_to"] else None,
            "geometry": json.loads(r["geometry"]),
        }
        for r in rows
    ]


def view(cs: GridChangeSet) -> dict[str, Any]:
    """A change set as the API and CLI show it."""
    return {
        "id": cs.id,
        "status": cs.status,
        "version": cs.version,
        "created_at": cs.created_at.isoformat(),
        "updated_at": cs.updated_at.isoformat(),
        "created_by": cs.created_by,
        "reason": cs.reason,
        "operations": cs.operations,
        "base_versions": cs.base_versions,
        "generation_id": cs.generation_id,
        "saved_at": cs.saved_at.isoformat() if cs.saved_at else None,
        "preview": cs.preview,
    }
